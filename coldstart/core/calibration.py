"""Length calibration of zero-shot vectors: the map's predictions shrink toward the mean
(ridge), so their lengths are pulled toward the map's typical length on the established items
(``content_norm_``, the RMS of its predictions there; ``zero_shot_scale_`` then sets where that
length stands against the established items' own vectors)."""

from __future__ import annotations

import numpy as np

CALIBRATION_BLOCK_ROWS = 2048  # rows scaled per pass (2 MB at 256 factors): while they are in cache


def rms(V: np.ndarray) -> float:
    """Root mean square row length of V (n, k); 0 for no rows."""
    if len(V) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.einsum("ij,ij->i", V, V, dtype=np.float64))))


def length_factors(V: np.ndarray, ref: float | None, power: float) -> np.ndarray:
    """Per-row factors ``(ref / |v|) ** power`` (n,) that pull the lengths of V (n, k) ``power``
    of the way, in log, toward ``ref``; 1 for zero rows, and all 1 without ``ref`` or ``power``."""
    return factors_of_lengths(np.sqrt(np.einsum("ij,ij->i", V, V, dtype=np.float64)), ref, power)


def factors_of_lengths(n: np.ndarray, ref: float | None, power: float) -> np.ndarray:
    """:func:`length_factors` from the row lengths n (n,) float64."""
    out = np.ones(len(n))
    if power and ref:
        pos = n > 0
        out[pos] = (ref / n[pos]) ** power
    return out


def calibrate_lengths(V: np.ndarray, ref: float, power: float) -> np.ndarray:
    """Rows of V (n, k) with lengths pulled ``power`` of the way, in log, toward ``ref``."""
    return (V * length_factors(V, ref, power)[:, None]).astype(np.float32)


def calibrate_rows(V: np.ndarray, ref: float | None, power: float, scale: float = 1.0) -> bool:
    """Calibrate V (n, k), float32 C-contiguous, in place: ``V * (scale * length_factors(V, ref,
    power))`` (the same float32 values), one cache-sized block of rows at a time: one pass over
    memory instead of three. Returns whether every value of V is finite afterwards (from the
    row lengths already computed; the full check only runs when a row could have overflowed)."""
    bounded = True
    for a in range(0, len(V), CALIBRATION_BLOCK_ROWS):
        Vb = V[a:a + CALIBRATION_BLOCK_ROWS]
        n = np.sqrt(np.einsum("ij,ij->i", Vb, Vb, dtype=np.float64))
        g = (scale * factors_of_lengths(n, ref, power)).astype(np.float32)
        Vb *= g[:, None]
        # each new value is at most n * g (NaN/inf in a row make it NaN/inf: the test fails)
        bounded = bounded and bool(np.all(n * g < 1e38))
    return bounded or bool(np.all(np.isfinite(V)))
