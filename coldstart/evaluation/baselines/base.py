"""The one ``fit`` / ``recommend`` / ``similar_items`` implementation behind every baseline.

Every baseline follows one contract, close to implicit's and scikit-learn's:

- ``__init__`` only stores its arguments; ``fit(user_items, item_features)`` validates with
  the core's checks (:mod:`coldstart.core.validation`, the same as the main model's), learns
  attributes ending in ``_`` and returns ``self``; an unfitted model raises
  :class:`sklearn.exceptions.NotFittedError`.
- ``recommend(userid, user_items, N=10, filter_already_liked_items=True, filter_items=None,
  recalculate_user=False, items=None)`` and ``similar_items(itemid, N=10, ...)`` behave like
  implicit's (:mod:`coldstart.core.contract`, ``docs/recommend_contract.md``): a scalar id
  gives 1-D ``(ids, scores)``, an array gives 2-D; ``items=`` restricts the candidates (it
  cannot be combined with ``filter_items``). Rows always have ``N`` columns; slots without a
  candidate hold id ``-1`` and score ``-inf``.
- ``item_features`` (shape (n_items, n_features)) holds the attributes of *every* item,
  including items without training interactions: that is how a cold item gets a score.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils.validation import check_is_fitted

from coldstart.core.contract import FLT_MAX, asked_by, candidates, check_n, finish, query_rows, width
from coldstart.core.topk import top_k, topk_batched
from coldstart.core.validation import check_ids, check_item_features, check_user_items

#: Users (or query items) per dense score block: bounds the block at BLOCK_ROWS x n_items.
BLOCK_ROWS = 256


def check_features(item_features: Any, n_items: int, required: bool) -> sp.csr_matrix | None:
    """The core's attribute check, as CSR of shape (n_items, n_features) with non-negative values.

    The baselines tf-idf their attributes, which needs counts or weights >= 0. None is allowed
    when the model does not use attributes (``required=False``).
    """
    if item_features is None and not required:
        return None
    F = sp.csr_matrix(check_item_features(item_features, n_rows=n_items), dtype=np.float32)
    if F.nnz and F.data.min() < 0:
        raise ValueError(f"item_features must hold non-negative counts or weights (tf-idf input); "
                         f"received a minimum of {F.data.min():g}")
    return F


def store_params(estimator: BaseEstimator, params: dict[str, Any]) -> None:
    """Store every ``__init__`` argument unchanged (``store_params(self, locals())``), as
    scikit-learn's ``get_params`` / ``clone`` expect."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def tfidf(X: sp.csr_matrix, sublinear_tf: bool, smooth_idf: bool) -> tuple[TfidfTransformer, sp.csr_matrix]:
    """scikit-learn's ``TfidfTransformer`` (L2 rows) fitted on every item: (transformer, float32 CSR
    of shape (n_items, n_features))."""
    tf = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=smooth_idf, sublinear_tf=sublinear_tf)
    Xw = tf.fit_transform(X)
    return tf, sp.csr_matrix(Xw, dtype=np.float32)


def _restrict_columns(rows: sp.csr_matrix, position: np.ndarray | None,
                      n_cand: int) -> sp.csr_matrix:
    """Map the columns of ``rows`` (item ids) to candidate positions, dropping the others."""
    coo = rows.tocoo()
    keep = coo.data != 0
    row, col, data = coo.row[keep], coo.col[keep], coo.data[keep]
    if position is not None:
        pos = position[col]
        keep = pos >= 0
        row, col, data = row[keep], pos[keep], data[keep]
    return sp.csr_matrix((data, (row, col)), shape=(rows.shape[0], n_cand), dtype=np.float32)



class BaselineRecommender(BaseEstimator):
    """The shared implicit-style API of the baselines.

    Subclasses implement ``_fit(X, F)`` and ``_similarity_block(qitems, cand)``, and either
    ``_score_block(users, rows, cand)`` (dense scores of a block of users against the
    candidates, ranked here with :func:`coldstart.core.topk.top_k`) or, through
    :class:`FactorBaseline`, user and item vectors ranked with implicit's kernel.
    """

    _requires_features = True

    # ---- fitting ----------------------------------------------------------------------
    def fit(self, user_items: sp.spmatrix, item_features: sp.spmatrix | np.ndarray | None = None):
        """Fit on training interactions and the attributes of every item.

        Parameters
        ----------
        user_items : sparse matrix of shape (n_users, n_items)
            Training interactions (implicit's convention: users are rows).
        item_features : sparse matrix or ndarray of shape (n_items, n_features)
            Non-negative attribute counts (words, tags) of every item. Optional for models
            that do not use attributes.

        Returns
        -------
        self
        """
        X = check_user_items(user_items)
        F = check_features(item_features, X.shape[1], self._requires_features)
        start = time.perf_counter()
        self.n_users_, self.n_items_ = X.shape
        try:
            self._fit(X, F)
        except BaseException:
            del self.n_users_, self.n_items_  # leave no half-fitted state behind
            raise
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _fit(self, X: sp.csr_matrix, F: sp.csr_matrix | None) -> None:  # pragma: no cover
        raise NotImplementedError

    # ---- recommend --------------------------------------------------------------------
    def recommend(self, userid, user_items: sp.csr_matrix | None = None, N: int = 10,
                  filter_already_liked_items: bool = True, filter_items=None,
                  recalculate_user: bool = False, items=None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``N`` items for one user or a batch of users (``docs/recommend_contract.md``).

        Parameters
        ----------
        userid : int or array-like of int, shape (n,)
        user_items : csr_matrix of shape (n, m) with m <= n_items
            One row per user in ``userid``: their liked items, ranked last when
            ``filter_already_liked_items`` (and used as the profile when ``recalculate_user``).
            Ignored when neither.
        N : int, default 10
        filter_already_liked_items : bool, default True
        filter_items : array-like of int, optional
            Items never to return. Cannot be combined with ``items``.
        recalculate_user : bool, default False
            Build the user representation from ``user_items`` instead of the fitted state
            (where the model supports it).
        items : array-like of int, optional
            Rank only these items (``min(N, len(set(items)))`` columns).

        Returns
        -------
        ids : ndarray of int32, shape (N,) or (n, N)
            Best first; already-liked items after the others; ``-1`` where fewer candidates remain.
        scores : ndarray of float32, shape (N,) or (n, N)
            ``-inf`` for liked-last entries and padding.
        """
        check_is_fitted(self)
        users, scalar = check_ids(userid, self.n_users_, "userid", kind="user")
        N = check_n(N)
        needed, why = asked_by(filter_already_liked_items=filter_already_liked_items,
                               recalculate_user=recalculate_user)
        rows = query_rows(user_items, users.size, self.n_items_, needed=needed, why=why)
        if rows is not None and not rows.has_sorted_indices:
            rows = rows.sorted_indices()
        cand, position, filter_pos = self._candidates(items, filter_items)
        liked = None
        if filter_already_liked_items:
            liked = _restrict_columns(rows, position, self.n_items_ if cand is None else cand.size)
        n_cols = width(N, cand)
        if n_cols == 0:
            ids = np.full((users.size, 0), -1, dtype=np.int64)
            scores = np.full((users.size, 0), -np.inf, dtype=np.float32)
        else:
            ids, scores = self._rank(users, rows if recalculate_user else None, cand, n_cols, liked,
                                     filter_pos)
        return finish(ids, scores, n_cols, liked=rows if filter_already_liked_items else None, cand=cand,
                      banned=filter_pos, scalar=scalar)

    def _candidates(self, items, filter_items, call: str = "recommend"):
        """(candidate ids or None for all, position map or None, filter positions or None)."""
        cand, filter_pos = candidates(items, filter_items, self.n_items_, call=call)
        position = None
        if cand is not None:
            position = np.full(self.n_items_, -1, dtype=np.int64)
            position[cand] = np.arange(cand.size)
        return cand, position, filter_pos

    def _rank(self, users, rows, cand, N, liked, filter_pos):
        """Dense-block ranking of users (:meth:`_score_block`)."""
        return self._dense_top(users.size, N, cand, filter_pos, liked, lambda a, b: self._score_block(
            users[a:b], None if rows is None else rows[a:b], cand))

    def _dense_top(self, n, N, cand, filter_pos, liked, block_of):
        """Top-``N`` of ``n`` queries by dense blocks and :func:`coldstart.core.topk.top_k`.

        ``block_of(start, stop)`` gives the scores of queries ``start:stop`` against the
        candidates, shape (stop - start, n_cand); ``liked`` (CSR of shape (n, n_cand)) and
        ``filter_pos`` entries score ``-inf``. Returns ``(ids, scores)`` of shape (n, N) in item space.
        """
        ids = np.full((n, N), -1, dtype=np.int64)
        scores = np.full((n, N), -np.inf, dtype=np.float32)
        n_cand = self.n_items_ if cand is None else cand.size
        if n_cand == 0:
            return ids, scores
        for start in range(0, n, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n)
            block = np.array(block_of(start, stop), dtype=np.float32, copy=True)
            if liked is not None:
                lk = liked[start:stop].tocoo()
                block[lk.row, lk.col] = -np.inf
            if filter_pos is not None:
                block[:, filter_pos] = -np.inf
            pos, val = top_k(block, min(N, n_cand))
            item = pos if cand is None else np.where(pos >= 0, cand[np.maximum(pos, 0)], -1)
            ids[start:stop, :pos.shape[1]] = item
            scores[start:stop, :pos.shape[1]] = val
        return ids, scores

    def _score_block(self, users, rows, cand) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # ---- similar items ----------------------------------------------------------------
    def similar_items(self, itemid, N: int = 10, recalculate_item: bool = False,
                      item_users=None, filter_items=None, items=None) -> tuple[np.ndarray, np.ndarray]:
        """Most similar items to one item or a batch of items (implicit's contract).

        Parameters
        ----------
        itemid : int or array-like of int, shape (n,)
        N : int, default 10
        recalculate_item : bool, default False
            Not supported (item representations come from the attributes given to ``fit``).
        item_users : ignored
        filter_items : array-like of int, optional
        items : array-like of int, optional
            Rank only these items.

        Returns
        -------
        ids : ndarray of int64, shape (N,) or (n, N)
        scores : ndarray of float32, shape (N,) or (n, N)
            The query item itself is included, as in implicit.
        """
        check_is_fitted(self)
        if recalculate_item:
            raise NotImplementedError(
                f"{type(self).__name__} does not support recalculate_item; item representations "
                "are computed from item_features at fit"
            )
        qitems, scalar = check_ids(itemid, self.n_items_, "itemid", kind="item")
        N = check_n(N)
        cand, _, filter_pos = self._candidates(items, filter_items, call="similar_items")
        N = width(N, cand)
        ids, scores = self._dense_top(qitems.size, N, cand, filter_pos, None,
                                      lambda a, b: self._similarity_block(qitems[a:b], cand))
        return finish(ids, scores, N, cand=cand, banned=filter_pos, scalar=scalar)

    def _similarity_block(self, qitems, cand) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError



class FactorBaseline(BaselineRecommender):
    """Models scoring ``user_vector . item_vector``, ranked with implicit's ``topk`` kernel
    (:func:`coldstart.core.topk.topk_batched`). Subclasses give ``_user_vectors(users, rows)``
    of shape (n, d) and ``_item_vectors()`` of shape (n_items, d)."""

    num_threads: int = 0

    def _user_vectors(self, users, rows) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _item_vectors(self) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _rank(self, users, rows, cand, N, liked, filter_pos):
        n = users.size
        ids = np.full((n, N), -1, dtype=np.int64)
        scores = np.full((n, N), -np.inf, dtype=np.float32)
        items = self._item_vectors()
        if cand is not None:
            items = items[cand]
        if items.shape[0] == 0:
            return ids, scores
        query = np.ascontiguousarray(self._user_vectors(users, rows), dtype=np.float32)
        items = np.ascontiguousarray(items, dtype=np.float32)
        k = min(N, items.shape[0])
        got_ids, got_scores = topk_batched(items, query, k, filter_query_items=liked,
                                           filter_items=None if filter_pos is None else filter_pos.astype(np.int32),
                                           num_threads=self.num_threads)
        got_ids = got_ids.astype(np.int64)
        pad = got_scores <= -FLT_MAX
        if cand is not None:
            got_ids = cand[got_ids]
        got_ids[pad] = -1
        got_scores = np.where(pad, -np.inf, got_scores).astype(np.float32)
        ids[:, :k] = got_ids
        scores[:, :k] = got_scores
        return ids, scores

    def _similarity_vectors(self) -> np.ndarray:
        """Item vectors of shape (n_items, d) whose cosine ranks ``similar_items``."""
        return self._item_vectors()

    def _similarity_block(self, qitems, cand):
        V = np.asarray(self._similarity_vectors(), dtype=np.float32)
        norms = np.linalg.norm(V, axis=1)
        norms[norms == 0] = 1e-10
        C = V if cand is None else V[cand]
        cn = norms if cand is None else norms[cand]
        return (V[qitems] @ C.T) / norms[qitems][:, None] / cn[None, :]
