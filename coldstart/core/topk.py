"""Top-K, in one place: over a factor matrix for many queries (``topk_batched``, implicit's
compiled kernel on all cores) and over dense score blocks (``top_k``, the numpy fallback with
ties to the lower index, which the baselines, the simulation, the integrations and the
self-tuning's probes use), and the ranking metrics of such lists (``metric_from_hits``: the
protocol's metrics and the probes' scores are one computation).

implicit's ``topk`` scores a batch with one BLAS product per block and then selects in
parallel; on a large catalog the product is the bottleneck and OpenBLAS leaves a core idle
on these shapes. Cutting the queries into one slice per thread, each running ``topk``
single-threaded with single-threaded BLAS, keeps every core busy (and avoids BLAS and OpenMP
oversubscribing each other). The results are identical to one ``topk`` call.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coldstart.core.runtime import map_row_slices, n_workers
from coldstart.core.validation import check_int

_MIN_QUERIES_PER_THREAD = 64

#: Names accepted by :func:`metric_from_hits` (and ``coldstart.evaluation.metrics.ranking_metrics``).
RANKING_METRICS: tuple[str, ...] = ("recall", "precision", "ndcg", "map", "hit_rate")


def topk_batched(factors: np.ndarray, queries: np.ndarray, k: int, item_norms: np.ndarray | None = None,
                 filter_query_items: sp.csr_matrix | None = None, filter_items: np.ndarray | None = None,
                 num_threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """implicit's ``topk`` for queries (n_queries, k_factors) over factors (n_items, k_factors).

    Returns ``(ids, scores)`` of shape (n_queries, k), exactly as ``implicit.cpu.topk.topk``.
    """
    from implicit.cpu.topk import topk

    factors = np.ascontiguousarray(factors, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    norms = None if item_norms is None else np.ascontiguousarray(item_norms, dtype=np.float32)
    threads = min(n_workers(num_threads), len(queries) // _MIN_QUERIES_PER_THREAD)
    if threads <= 1:
        return topk(factors, queries, k, item_norms=norms, filter_query_items=filter_query_items,
                    filter_items=filter_items, num_threads=num_threads)
    def part(sl):
        fq = None if filter_query_items is None else filter_query_items[sl]
        return topk(factors, queries[sl], k, item_norms=norms, filter_query_items=fq,
                    filter_items=filter_items, num_threads=1)

    parts = map_row_slices(part, np.linspace(0, len(queries), threads + 1).astype(int), threads)
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` highest scores of each row, deterministic under ties.

    The result equals the first ``k`` entries of a stable sort on the score, higher first:
    equal scores are ordered by lower column index first. Entries scored ``-inf`` or NaN are
    never returned (use ``-inf`` to filter items out); rows with fewer than ``k`` such
    entries, or ``k > n_columns``, are padded with index ``-1`` and score ``-inf``.

    Works in O(n_rows * n_columns) with ``numpy.argpartition``; no full sort of the rows.

    Parameters
    ----------
    scores : array-like of shape (n_rows, n_columns) or (n_columns,)
        Dense score block, e.g. one batch of users against the candidate items.
    k : int
        Number of entries to return per row (``k >= 1``).

    Returns
    -------
    ids : ndarray of shape (n_rows, k) or (k,), int64
        Column indices, best first, ``-1`` for padding.
    values : ndarray of shape (n_rows, k) or (k,)
        Their scores (float dtype of ``scores``, at least float32), ``-inf`` for padding.

    Examples
    --------
    >>> top_k(np.array([[0.5, 1.0, 1.0, -np.inf]]), 3)[0]
    array([[1, 2, 0]])
    """
    k = check_int(k, "k")
    arr = np.asarray(scores)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"scores must be a numeric array; received dtype {arr.dtype}")
    one_d = arr.ndim == 1
    if one_d:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"scores must be 2-D of shape (n_rows, n_columns) or 1-D; received shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    n_rows, n_cols = arr.shape
    out_ids = np.full((n_rows, k), -1, dtype=np.int64)
    out_val = np.full((n_rows, k), -np.inf, dtype=arr.dtype)
    if n_rows == 0 or n_cols == 0:
        return (out_ids[0], out_val[0]) if one_d else (out_ids, out_val)

    work = arr
    if np.isnan(arr).any():
        work = np.where(np.isnan(arr), -np.inf, arr)
    kk = min(k, n_cols)
    if kk < n_cols:
        # the kk largest entries of each row (ties at the cut taken in no set order)
        cols = np.argpartition(work, n_cols - kk, axis=1)[:, n_cols - kk:]
        taken = np.take_along_axis(work, cols, axis=1)
        kth = taken.min(axis=1, keepdims=True)
        # rows where more entries tie with the kk-th value than were taken: the ties straddle
        # the cut, and among them the lowest column indices are kept
        over = np.flatnonzero(np.count_nonzero(work == kth, axis=1) > np.count_nonzero(taken == kth, axis=1))
        if over.size:
            sub, sub_kth = work[over], kth[over]
            greater, tie = sub > sub_kth, sub == sub_kth
            room = kk - np.count_nonzero(greater, axis=1)
            r, c = np.nonzero(tie)  # row-major: columns ascending within each row
            rank = np.arange(r.size) - np.searchsorted(r, r)  # place of each tie within its row
            first = rank < room[r]
            greater[r[first], c[first]] = True
            cols[over] = np.nonzero(greater)[1].reshape(over.size, kk)
        cols = np.sort(cols, axis=1)  # columns ascending: the stable sort below puts ties lower first
    else:
        cols = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    vals = np.take_along_axis(work, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    cols = np.take_along_axis(cols, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    valid = np.isfinite(vals) | (vals == np.inf)
    out_ids[:, :kk] = np.where(valid, cols, -1)
    out_val[:, :kk] = np.where(valid, vals, -np.inf)
    return (out_ids[0], out_val[0]) if one_d else (out_ids, out_val)


def metric_from_hits(name: str, hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """Per-user ranking metric ``name`` (n_users,) float64 from ``hits`` (n_users, k) bool (whether
    each position of a top-k list is relevant, in rank order) and each user's number of relevant
    items ``n_rel`` (n_users,); NaN where a recall-type metric has no relevant item. NDCG uses
    binary gains, the ideal list holding ``min(k, n_rel)`` hits."""
    n_hits = hits.sum(axis=1).astype(np.float64)
    has_rel = n_rel > 0
    safe_rel = np.where(has_rel, n_rel, 1.0)
    if name == "recall":
        return np.where(has_rel, n_hits / safe_rel, np.nan)
    if name == "precision":
        return n_hits / k
    if name == "hit_rate":
        return (n_hits > 0).astype(np.float64)
    if name == "ndcg":
        disc = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
        dcg = hits @ disc
        ideal = np.concatenate([[0.0], np.cumsum(disc)])
        idcg = ideal[np.minimum(n_rel, k).astype(np.int64)]
        return np.where(has_rel, dcg / np.where(has_rel, idcg, 1.0), np.nan)
    if name == "map":
        ranks = np.arange(1, k + 1, dtype=np.float64)
        prec_at_j = np.cumsum(hits, axis=1) / ranks
        ap = (prec_at_j * hits).sum(axis=1)
        return np.where(has_rel, ap / np.minimum(safe_rel, k), np.nan)
    raise ValueError(f"unknown metric {name!r}; expected one of {RANKING_METRICS}")
