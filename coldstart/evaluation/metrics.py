"""Ranking metrics at K, vectorised over a batch of users.

Every per-user metric takes the same two inputs:

``recommended``
    int array of shape (n_users, >= k): item indices, best first. Short lists are padded
    with ``-1``; padding never counts as a hit. Only the first ``k`` columns are read.
    An item repeated in one row counts once (its later copies are misses).
``relevant``
    sparse matrix of shape (n_users, n_items); any stored non-zero marks a relevant item
    (binary relevance). Row ``u`` belongs to row ``u`` of ``recommended``.

Per-user functions return float64 arrays of shape (n_users,). Metrics that divide by the
number of relevant items (recall, NDCG, MAP) are ``NaN`` for users without relevant items,
so ``np.nanmean`` averages only over users that can be evaluated; precision and hit rate
are 0 for them. The protocol (``EVALUATION.md``) averages over users (macro).

Definitions, for a user with relevant set R and hits h_1..h_k (1 if the item at rank j is
relevant):

- Recall@k    = sum_j h_j / |R|                      (not min(k, |R|))
- Precision@k = sum_j h_j / k                        (k, even when the list is shorter)
- NDCG@k      = DCG / IDCG, DCG = sum_j h_j / log2(j + 1); the ideal DCG places
  min(k, |R|) hits at ranks 1..min(k, |R|)
- AP@k        = sum_j P@j * h_j / min(k, |R|)        (MAP@k is its mean over users)
- HitRate@k   = 1 if any h_j else 0
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from coldstart.core.topk import RANKING_METRICS, metric_from_hits, top_k
from coldstart.core.validation import check_int

__all__ = [
    "check_int",
    "top_k",
    "row_membership",
    "hits_at_k",
    "recall_at_k",
    "precision_at_k",
    "ndcg_at_k",
    "map_at_k",
    "hit_rate_at_k",
    "ranking_metrics",
    "catalog_coverage",
    "new_item_share",
    "new_item_mean_rank",
    "RANKING_METRICS",
]

#: Parameter text shared by the docstrings (filled in by :func:`_doc`).
_DOC = {
    "recommended": "recommended : array-like of int, shape (n_users, >= k)\n        Ranked item indices, "
                   "best first, ``-1`` padded.",
    "relevant": "relevant : sparse matrix of shape (n_users, n_items)\n        Non-zeros mark relevant items.",
    "k": "k : int\n        Cut-off.",
}
_DOC["new_items"] = ("new_items : array-like of int\n        The items that count as new (e.g. "
                    "``split.cold_test_items`` in the hybrid setting).")
_DOC["per_list"] = ("Parameters\n    ----------\n    {recommended}\n    {new_items}\n    {k}\n\n    Returns\n"
                    "    -------\n    ndarray of shape (n_users,)").format(**_DOC)
_DOC["per_user"] = ("Parameters\n    ----------\n    {recommended}\n    {relevant}\n    {k}\n\n    Returns\n"
                    "    -------\n    ndarray of shape (n_users,)").format(**_DOC)


def _doc(func):
    """Fill the ``{recommended}`` / ``{relevant}`` / ``{k}`` / ``{per_user}`` fields of a docstring."""
    if func.__doc__:
        func.__doc__ = func.__doc__.format(**_DOC)
    return func


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------
def _check_recommended(recommended, k: int, n_items: int | None = None,
                       n_users: int | None = None) -> np.ndarray:
    rec = np.asarray(recommended)
    if rec.ndim == 1:
        rec = rec[None, :]
    if rec.ndim != 2:
        raise ValueError(
            f"recommended must be a 2-D int array of shape (n_users, >= k); received shape {rec.shape}"
        )
    if rec.size and not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(
            f"recommended must hold integer item indices (-1 for padding); received dtype {rec.dtype}"
        )
    if rec.shape[1] < k:
        raise ValueError(
            f"recommended has {rec.shape[1]} columns, fewer than k={k}; pad short lists with -1 "
            "to at least k columns"
        )
    if n_users is not None and rec.shape[0] != n_users:
        raise ValueError(
            f"recommended has {rec.shape[0]} rows but relevant has {n_users}; expected one row "
            "of recommendations per row of relevant"
        )
    rec = rec[:, :k].astype(np.int64, copy=False)
    if rec.size:
        lo = rec.min()
        if lo < -1:
            raise ValueError(
                f"recommended contains {lo}; expected item indices >= 0, or -1 for padding"
            )
        if n_items is not None and rec.max() >= n_items:
            raise ValueError(
                f"recommended contains item {rec.max()}, outside relevant's {n_items} columns; "
                f"expected item indices in [0, {n_items}) or -1"
            )
    return rec


def _check_relevant(relevant) -> sp.csr_matrix:
    if not sp.issparse(relevant):
        raise TypeError(
            "relevant must be a scipy sparse matrix of shape (n_users, n_items); received "
            f"{type(relevant).__name__}"
        )
    rel = relevant.tocsr()
    if not rel.has_canonical_format:
        rel = rel.copy()
        rel.sum_duplicates()
    if rel.nnz and not np.all(rel.data != 0):
        rel = rel.copy()
        rel.eliminate_zeros()
    return rel


def row_membership(ids: np.ndarray, matrix: sp.csr_matrix) -> np.ndarray:
    """Boolean mask of shape ``ids.shape``: is ``ids[u, j]`` a stored entry of row ``u``?

    ``matrix`` must be canonical CSR (sorted indices, no duplicates, no explicit zeros).
    Negative ids are never members.
    """
    n_rows, n_cols = matrix.shape
    if ids.size == 0 or matrix.nnz == 0:
        return np.zeros(ids.shape, dtype=bool)
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(matrix.indptr))
    keys = row_of * n_cols + matrix.indices  # ascending for canonical CSR
    valid = ids >= 0
    query = np.arange(ids.shape[0], dtype=np.int64)[:, None] * n_cols + np.where(valid, ids, 0)
    pos = np.searchsorted(keys, query)
    np.minimum(pos, keys.size - 1, out=pos)
    return valid & (keys[pos] == query)


def _first_occurrence(ids: np.ndarray) -> np.ndarray:
    """Mask of entries that are the first occurrence of their value in their row."""
    if ids.shape[1] <= 1:
        return np.ones(ids.shape, dtype=bool)
    order = np.argsort(ids, axis=1, kind="stable")
    srt = np.take_along_axis(ids, order, axis=1)
    dup_sorted = np.zeros(ids.shape, dtype=bool)
    dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
    dup = np.empty_like(dup_sorted)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    return ~dup


def _n_relevant(rel: sp.csr_matrix) -> np.ndarray:
    return np.diff(rel.indptr).astype(np.float64)


@_doc
def hits_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Hit matrix: is the item at rank ``j`` relevant to user ``u``?

    Padding (``-1``) and repeated items (after their first occurrence in a row) are misses.

    Parameters
    ----------
    {recommended}
    {relevant}
    {k}

    Returns
    -------
    ndarray of bool, shape (n_users, k)
    """
    k = check_int(k, "k")
    rel = _check_relevant(relevant)
    rec = _check_recommended(recommended, k, n_items=rel.shape[1], n_users=rel.shape[0])
    return _hits(rec, rel)


def _hits(rec: np.ndarray, rel: sp.csr_matrix) -> np.ndarray:
    return row_membership(rec, rel) & _first_occurrence(rec)


def _per_user_metric(name: str, doc: str):
    """The public per-user function of metric ``name``: ``f(recommended, relevant, k)`` -> (n_users,)."""
    def metric(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
        k = check_int(k, "k")
        rel = _check_relevant(relevant)
        rec = _check_recommended(recommended, k, n_items=rel.shape[1], n_users=rel.shape[0])
        return metric_from_hits(name, _hits(rec, rel), _n_relevant(rel), k)

    metric.__name__ = metric.__qualname__ = f"{name}_at_k"
    metric.__doc__ = doc
    return _doc(metric)


recall_at_k = _per_user_metric("recall", """Recall@k per user: hits in the top ``k`` / number of relevant items.

    The denominator is ``|R|``, not ``min(k, |R|)``, as in the protocol, so a user with more
    than ``k`` relevant items cannot reach 1.

    {per_user}
        ``NaN`` for users without relevant items.
    """)
precision_at_k = _per_user_metric("precision", """Precision@k per user: hits in the top ``k`` / ``k``
    (padding counts as a miss).

    {per_user}
        0 for users without relevant items.
    """)
ndcg_at_k = _per_user_metric("ndcg", """NDCG@k per user with binary relevance.

    ``DCG = sum_j h_j / log2(j + 1)`` over ranks ``j = 1..k``; the ideal DCG places
    ``min(k, |R|)`` hits at the top, so a user with 2 relevant items who gets both at ranks
    1 and 2 scores 1.0.

    {per_user}
        ``NaN`` for users without relevant items.
    """)
map_at_k = _per_user_metric("map", """Average precision at k per user (MAP@k is the mean over users).

    ``AP@k = sum_{{j<=k}} P@j * h_j / min(k, |R|)``: the precision at each hit's rank,
    summed, normalised by the most hits a list of length ``k`` can hold. A perfect list
    scores 1 even when ``|R| > k``.

    {per_user}
        ``NaN`` for users without relevant items.
    """)
hit_rate_at_k = _per_user_metric("hit_rate", """Hit rate@k per user: 1.0 if any of the top ``k`` is relevant, else 0.0.

    {per_user}
    """)


@_doc
def ranking_metrics(recommended: np.ndarray, relevant: sp.spmatrix, k: int,
                    metrics: Iterable[str] = RANKING_METRICS) -> dict[str, np.ndarray]:
    """Several per-user metrics from one hit computation.

    Parameters
    ----------
    {recommended}
    {relevant}
    {k}
    metrics : iterable of str
        Any of ``"recall"``, ``"precision"``, ``"ndcg"``, ``"map"``, ``"hit_rate"``.

    Returns
    -------
    dict of str to ndarray of shape (n_users,)
    """
    k = check_int(k, "k")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    bad = [m for m in names if m not in RANKING_METRICS]
    if bad:
        raise ValueError(f"metrics contains unknown names {bad}; expected any of {RANKING_METRICS}")
    rel = _check_relevant(relevant)
    rec = _check_recommended(recommended, k, n_items=rel.shape[1], n_users=rel.shape[0])
    hits = _hits(rec, rel)
    n_rel = _n_relevant(rel)
    return {m: metric_from_hits(m, hits, n_rel, k) for m in names}


# --------------------------------------------------------------------------------------
# list-level measures
# --------------------------------------------------------------------------------------
@_doc
def catalog_coverage(recommended: np.ndarray, k: int,
                     candidates: int | Sequence[int] | np.ndarray) -> float:
    """Share of the candidate items that appear in at least one top-``k`` list.

    Parameters
    ----------
    {recommended}
    {k}
    candidates : int or array-like of int
        The candidate items (their number is the denominator), or just their number.
        When items are given, recommended items outside them are not counted.

    Returns
    -------
    float
        ``distinct recommended candidates / n_candidates`` in [0, 1]; NaN if there are no
        candidates.
    """
    k = check_int(k, "k")
    rec = _check_recommended(recommended, k)
    distinct = np.unique(rec[rec >= 0])
    if np.isscalar(candidates):
        n_cand = int(candidates)
        if n_cand < 0:
            raise ValueError(f"candidates must be a non-negative count or an item array; received {n_cand}")
    else:
        cand = np.unique(np.asarray(candidates, dtype=np.int64))
        n_cand = cand.size
        distinct = distinct[np.isin(distinct, cand)]
    if n_cand == 0:
        return float("nan")
    return distinct.size / n_cand


def _new_in_lists(recommended, new_items, k) -> tuple[np.ndarray, np.ndarray]:
    """(checked lists of shape (n_users, k), mask of their new items)."""
    rec = _check_recommended(recommended, check_int(k, "k"))
    return rec, (rec >= 0) & np.isin(rec, np.asarray(new_items, dtype=np.int64).ravel())


@_doc
def new_item_share(recommended: np.ndarray, new_items: Sequence[int] | np.ndarray,
                   k: int) -> np.ndarray:
    """Share of new (cold) items in each user's top-``k`` list.

    {per_list}
        ``#new items in the list / #non-padding items in the list``; NaN for empty lists.
    """
    rec, is_new = _new_in_lists(recommended, new_items, k)
    n_listed = (rec >= 0).sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_listed > 0, is_new.sum(axis=1) / np.where(n_listed > 0, n_listed, 1), np.nan)


@_doc
def new_item_mean_rank(recommended: np.ndarray, new_items: Sequence[int] | np.ndarray,
                       k: int) -> np.ndarray:
    """Mean 1-based rank of the new (cold) items within each user's top-``k`` list.

    {per_list}
        NaN for users whose list holds no new item (average with ``np.nanmean``).
    """
    rec, is_new = _new_in_lists(recommended, new_items, k)
    n_new = is_new.sum(axis=1)
    rank_sum = is_new @ np.arange(1, rec.shape[1] + 1, dtype=np.float64)
    return np.where(n_new > 0, rank_sum / np.maximum(n_new, 1), np.nan)
