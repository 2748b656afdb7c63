"""The one ``recommend`` / ``similar_*`` contract, shared by the model and every baseline.

Written out for users in ``docs/recommend_contract.md``; the helpers below implement the
parts that are not model-specific (argument checks with one error text each, and turning a
raw top-k into the returned lists), so that every recommender behaves, and fails, alike.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from coldstart.core.constants import FLT_MAX
from coldstart.core.validation import check_ids, check_query_items, describe


def check_n(N: Any) -> int:
    """``N``: an integer >= 1."""
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or N < 1:
        raise ValueError(f"N must be an integer >= 1; received {N!r}")
    return int(N)


def query_rows(user_items: Any, n_rows: int, n_items: int, needed: bool, rows_of: str = "user in userid",
               name: str = "user_items", cols_of: str = "item", why: str | None = None) -> sp.csr_matrix | None:
    """The per-query rows of a serving call, or None when the call does not use them.

    Needed (filtering or recalculation): a CSR matrix of shape (n_rows, <= n_items) (narrower
    = no interactions with the items added since; see :func:`check_query_items`); anything
    else is a ValueError, as in implicit. Not needed: ignored, as in implicit.
    """
    if not needed:
        return None
    if not (sp.issparse(user_items) and user_items.format == "csr"):
        when = why if why is not None else " when filtering or recalculating"
        raise ValueError(
            f"{name} needs to be a CSR sparse matrix with one row per {rows_of}{when}; received "
            f"{describe(user_items) if user_items is not None else None}"
            + (" (convert it with .tocsr())" if sp.issparse(user_items) else "")
        )
    return check_query_items(user_items, n_rows, n_items, name=name, rows_of=rows_of, cols_of=cols_of)


def asked_by(**options: bool) -> tuple[bool, str]:
    """Whether a serving call reads ``user_items``, and the reason its errors give (the options
    that ask for it, in the caller's words): one text from every model."""
    asking = [name for name, on in options.items() if on]
    return bool(asking), f" (needed by {', '.join(asking)})"


def candidates(items: Any, filter_items: Any, n_items: int, call: str = "recommend",
               name: str = "items", filter_name: str = "filter_items", kind: str = "item"
               ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(sorted unique candidates or None for all, sorted unique banned ids or None)."""
    banned = None
    if filter_items is not None and np.size(filter_items):
        if items is not None:
            raise ValueError(f"Can't set both {name} and {filter_name} in {call} call")
        banned = np.unique(check_ids(filter_items, n_items, filter_name, kind=kind)[0])
    cand = None
    if items is not None:
        cand = np.unique(check_ids(items, n_items, name, kind=kind)[0])
    return cand, banned


def width(N: int, cand: np.ndarray | None) -> int:
    """Columns of the result: ``N``, or the number of candidates when ``items=`` holds fewer."""
    return N if cand is None else min(N, cand.size)


def finish(ids: np.ndarray, scores: np.ndarray, n_cols: int, liked: sp.csr_matrix | None = None,
           cand: np.ndarray | None = None, banned: np.ndarray | None = None,
           scalar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Raw top-k -> the contract's lists.

    Parameters
    ----------
    ids, scores : ndarray of shape (n, k)
        Best first, in item (not candidate) space. Entries with ``id < 0``, a score
        ``<= -FLT_MAX`` (implicit's filtered items) or NaN are dropped.
    n_cols : int
        Width of the result (:func:`width`).
    liked : csr_matrix of shape (n, n_items), optional
        The already-liked items that were filtered (``filter_already_liked_items``): they are
        ranked after every other candidate, in ascending id order, with score ``-inf``
        (implicit returns them last too), never dropped.
    cand, banned : ndarray, optional
        Candidates (``items=``) and never-returned items (``filter_items``).
    scalar : bool
        Return the single row as 1-D arrays.

    Returns
    -------
    ids : ndarray of int32, shape (n, n_cols) or (n_cols,)
        ``-1`` where fewer candidates remain.
    scores : ndarray of float32, same shape; ``-inf`` for liked-last entries and padding.
    """
    ids = np.asarray(ids)
    scores = np.asarray(scores, dtype=np.float32)
    n = ids.shape[0]
    valid = (ids >= 0) & (scores > -FLT_MAX) & ~np.isnan(scores)
    out_ids = np.full((n, n_cols), -1, dtype=np.int32)
    out_scores = np.full((n, n_cols), -np.inf, dtype=np.float32)
    if ids.size:
        order = np.argsort(~valid, axis=1, kind="stable")  # valid entries first, order kept
        ids = np.take_along_axis(ids, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        valid = np.take_along_axis(valid, order, axis=1)
        m = min(n_cols, ids.shape[1])
        keep = valid[:, :m]
        out_ids[:, :m] = np.where(keep, ids[:, :m], -1)
        out_scores[:, :m] = np.where(keep, scores[:, :m], -np.inf)
    if liked is not None and liked.nnz:
        n_valid = (out_ids >= 0).sum(axis=1)
        for r in np.flatnonzero(n_valid < n_cols):
            tail = np.unique(liked.indices[liked.indptr[r]:liked.indptr[r + 1]])
            if cand is not None:
                tail = tail[np.isin(tail, cand)]
            if banned is not None:
                tail = tail[~np.isin(tail, banned)]
            tail = tail[~np.isin(tail, out_ids[r, :n_valid[r]])][:n_cols - n_valid[r]]
            out_ids[r, n_valid[r]:n_valid[r] + tail.size] = tail
    if scalar:
        return out_ids[0], out_scores[0]
    return out_ids, out_scores


def self_first(ids: np.ndarray, scores: np.ndarray, qids: np.ndarray, own: np.ndarray,
               cand: np.ndarray | None = None, banned: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Cosine lists: clip scores to [-1, 1] and put each query first among its ties.

    A query's cosine with itself is 1, the maximum; rounding can score an item of the same
    direction 1.0000001 and list it before the query (or push the query out of a list full of
    ties). Each query with a non-zero vector (``own[r]``) that is an allowed candidate is
    moved, or inserted, first with score 1 when the best score does not exceed it.

    ids, scores : ndarray of shape (n, w) (contract output, 2-D); returned modified.
    """
    scores = np.where(np.isfinite(scores), np.clip(scores, -1.0, 1.0), scores).astype(np.float32)
    if ids.shape[1] == 0:
        return ids, scores
    for r, q in enumerate(np.asarray(qids)):
        if not own[r] or (cand is not None and not np.isin(q, cand)) or \
                (banned is not None and np.isin(q, banned)) or ids[r, 0] == q:
            continue
        hit = np.flatnonzero(ids[r] == q)
        p = hit[0] if hit.size else ids.shape[1] - 1
        ids[r, 1:p + 1] = ids[r, :p].copy()
        scores[r, 1:p + 1] = scores[r, :p].copy()
        ids[r, 0], scores[r, 0] = q, 1.0
    return ids, scores
