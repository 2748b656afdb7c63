"""Length calibration of zero-shot vectors: the map's predictions shrink toward the mean
(ridge), so their lengths are pulled toward the established items' typical length."""

from __future__ import annotations

import numpy as np


def rms(V: np.ndarray) -> float:
    """Root mean square row length of V (n, k); 0 for no rows."""
    if len(V) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.einsum("ij,ij->i", V, V, dtype=np.float64))))


def length_factors(V: np.ndarray, ref: float | None, power: float) -> np.ndarray:
    """Per-row factors ``(ref / |v|) ** power`` (n,) that pull the lengths of V (n, k) ``power``
    of the way, in log, toward ``ref``; 1 for zero rows, and all 1 without ``ref`` or ``power``."""
    n = np.sqrt(np.einsum("ij,ij->i", V, V, dtype=np.float64))
    out = np.ones(len(n))
    if power and ref:
        pos = n > 0
        out[pos] = (ref / n[pos]) ** power
    return out


def calibrate_lengths(V: np.ndarray, ref: float, power: float) -> np.ndarray:
    """Rows of V (n, k) with lengths pulled ``power`` of the way, in log, toward ``ref``."""
    return (V * length_factors(V, ref, power)[:, None]).astype(np.float32)


