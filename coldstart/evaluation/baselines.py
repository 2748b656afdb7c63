"""Reference models for the cold-start protocol.

Every baseline follows one contract, close to implicit's and scikit-learn's:

- ``__init__`` only stores its arguments; ``fit(user_items, item_features)`` validates,
  learns attributes ending in ``_`` and returns ``self``; an unfitted model raises
  :class:`sklearn.exceptions.NotFittedError`.
- ``recommend(userid, user_items, N=10, filter_already_liked_items=True, filter_items=None,
  recalculate_user=False, items=None)`` and ``similar_items(itemid, N=10, ...)`` behave like
  implicit's: a scalar id gives 1-D ``(ids, scores)``, an array gives 2-D; ``items=``
  restricts the candidates (it cannot be combined with ``filter_items``). Rows always have
  ``N`` columns; slots without a candidate hold id ``-1`` and score ``-inf``.
- ``item_features`` (shape (n_items, n_features)) holds the attributes of *every* item,
  including items without training interactions: that is how a cold item gets a score.

Models
------
:class:`RandomRecommender`
    Uniform scores from a hash of (seed, user, item), so lists do not depend on batching.
:class:`PopularityRecommender`
    Training interaction counts; ties by lower item index. Cold items all score 0.
:class:`ContentProfileRecommender`
    tf-idf of the attributes (scikit-learn ``TfidfTransformer``, L2 rows); the user profile
    is the sum of the user's training items' vectors; score = cosine. Sparse end to end.
:class:`ALSRidgeRecommender`
    implicit ALS factors plus a ``sklearn.linear_model.Ridge`` from tf-idf attributes to item
    factors, used for items without training interactions (the naive design).
:class:`LightFMRecommender`
    LightFM WARP with tf-idf item features (needs the ``benchmark`` extra).
"""

from __future__ import annotations

import numbers
import os
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from coldstart.core.contract import candidates, check_n, finish, query_rows, width
from coldstart.core.validation import check_ids
from coldstart.evaluation.metrics import top_k

__all__ = [
    "RandomRecommender",
    "PopularityRecommender",
    "ContentProfileRecommender",
    "ALSRidgeRecommender",
    "LightFMRecommender",
]

_FLT_MAX = float(np.finfo(np.float32).max)
_BLOCK_ROWS = 256  # users per dense score block


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------
def _check_user_items(user_items: Any, name: str = "user_items") -> sp.csr_matrix:
    if not sp.issparse(user_items):
        raise TypeError(
            f"{name} must be a scipy sparse matrix of shape (n_users, n_items); received "
            f"{type(user_items).__name__}"
        )
    X = sp.csr_matrix(user_items, dtype=np.float32)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    if X.nnz and (not np.all(np.isfinite(X.data)) or X.data.min() < 0):
        raise ValueError(f"{name} must hold finite, non-negative weights")
    if X.nnz == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}, no stored interaction); expected interactions")
    return X


def _check_item_features(item_features: Any, n_items: int, required: bool,
                         name: str = "item_features") -> sp.csr_matrix | None:
    if item_features is None:
        if required:
            raise TypeError(
                f"{name} is required: a sparse matrix of shape (n_items={n_items}, n_features) "
                "with the attributes of every item; received None"
            )
        return None
    if sp.issparse(item_features):
        X = sp.csr_matrix(item_features, dtype=np.float32)
    else:
        arr = np.asarray(item_features)
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(
                f"{name} must be a numeric matrix of shape (n_items, n_features); received "
                f"{type(item_features).__name__} of shape {arr.shape}, dtype {arr.dtype}"
            )
        X = sp.csr_matrix(arr, dtype=np.float32)
    if X.shape[0] != n_items:
        raise ValueError(
            f"{name} must have one row per item: expected {n_items} rows (user_items' columns), "
            f"received shape {X.shape}"
        )
    if X.nnz and (not np.all(np.isfinite(X.data)) or X.data.min() < 0):
        raise ValueError(f"{name} must hold finite, non-negative counts or weights (tf-idf input)")
    return X


def _check_int(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; received {value!r}")
    return int(value)


def _check_ids(ids: Any, n: int, name: str, kind: str) -> tuple[np.ndarray, bool]:
    scalar = np.isscalar(ids) or (isinstance(ids, np.ndarray) and ids.ndim == 0)
    arr = np.atleast_1d(np.asarray(ids))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be an int or a 1-D array of ints; received shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer {kind} indices; received dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[(arr < 0) | (arr >= n)][0]
        raise IndexError(f"{name} contains {kind} {bad}, outside the fitted range [0, {n})")
    return arr.astype(np.int64), scalar


def _tfidf(X: sp.csr_matrix, sublinear_tf: bool, smooth_idf: bool) -> tuple[TfidfTransformer, sp.csr_matrix]:
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


# --------------------------------------------------------------------------------------
# shared recommend / similar_items plumbing
# --------------------------------------------------------------------------------------
class _Baseline(BaseEstimator):
    """Shared implicit-style API. Subclasses implement ``_fit`` and either ``_score_block``
    (dense scores for a user block) or ``_query_vectors`` + ``_candidate_vectors``
    (factor models, ranked with implicit's ``topk``)."""

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
        X = _check_user_items(user_items)
        F = _check_item_features(item_features, X.shape[1], self._requires_features)
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
        rows = query_rows(user_items, users.size, self.n_items_,
                          needed=bool(filter_already_liked_items or recalculate_user))
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
        """Dense-block ranking with :func:`coldstart.evaluation.metrics.top_k`."""
        n = users.size
        ids = np.full((n, N), -1, dtype=np.int64)
        scores = np.full((n, N), -np.inf, dtype=np.float32)
        n_cand = self.n_items_ if cand is None else cand.size
        if n_cand == 0:
            return ids, scores
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, n)
            block = self._score_block(users[start:stop],
                                      None if rows is None else rows[start:stop], cand)
            block = np.array(block, dtype=np.float32, copy=True)
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
        n_cand = self.n_items_ if cand is None else cand.size
        N = width(N, cand)
        ids = np.full((qitems.size, N), -1, dtype=np.int64)
        scores = np.full((qitems.size, N), -np.inf, dtype=np.float32)
        if N == 0:
            return finish(ids, scores, 0, scalar=scalar)
        for start in range(0, qitems.size, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, qitems.size)
            block = np.array(self._similarity_block(qitems[start:stop], cand), dtype=np.float32)
            if filter_pos is not None:
                block[:, filter_pos] = -np.inf
            pos, val = top_k(block, min(N, n_cand))
            item = pos if cand is None else np.where(pos >= 0, cand[np.maximum(pos, 0)], -1)
            ids[start:stop, :pos.shape[1]] = item
            scores[start:stop, :pos.shape[1]] = val
        return finish(ids, scores, N, cand=cand, banned=filter_pos, scalar=scalar)

    def _similarity_block(self, qitems, cand) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class _FactorBaseline(_Baseline):
    """Models scoring ``user_vector . item_vector``: ranked with implicit's ``topk``."""

    num_threads: int = 0

    def _user_vectors(self, users, rows) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _item_vectors(self) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _rank(self, users, rows, cand, N, liked, filter_pos):
        from implicit.cpu.topk import topk

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
        got_ids, got_scores = topk(items, query, k, filter_query_items=liked,
                                   filter_items=None if filter_pos is None else filter_pos.astype(np.int32),
                                   num_threads=self.num_threads)
        got_ids = got_ids.astype(np.int64)
        pad = got_scores <= -_FLT_MAX
        if cand is not None:
            got_ids = cand[got_ids]
        got_ids[pad] = -1
        got_scores = np.where(pad, -np.inf, got_scores).astype(np.float32)
        ids[:, :k] = got_ids
        scores[:, :k] = got_scores
        return ids, scores

    def _similarity_block(self, qitems, cand):
        V = np.asarray(self._item_vectors(), dtype=np.float32)
        norms = np.linalg.norm(V, axis=1)
        norms[norms == 0] = 1e-10
        C = V if cand is None else V[cand]
        cn = norms if cand is None else norms[cand]
        return (V[qitems] @ C.T) / norms[qitems][:, None] / cn[None, :]


# --------------------------------------------------------------------------------------
# random and popularity
# --------------------------------------------------------------------------------------
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _hash_uniform(seed: int, a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
    """Uniform [0, 1) numbers from splitmix64 of (seed, a, b); shape of the broadcast."""
    with np.errstate(over="ignore"):
        x = (np.asarray(a, dtype=np.uint64)[:, None] * np.uint64(n_b)
             + np.asarray(b, dtype=np.uint64)[None, :]
             + np.uint64(seed) * _GOLD + _GOLD)
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


class RandomRecommender(_Baseline):
    """Uniformly random ranking of the candidates.

    Each (user, item) pair gets a score from a hash of ``(random_state, user, item)``, so a
    user's list is the same whatever the batch it is requested in.

    Parameters
    ----------
    random_state : int, default 0
        Non-negative seed.

    Attributes
    ----------
    n_users_, n_items_ : int
    seed_ : int
    """

    _requires_features = False

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def _fit(self, X, F):
        seed = 0 if self.random_state is None else self.random_state
        self.seed_ = _check_int(seed, "random_state", low=0)

    def _score_block(self, users, rows, cand):
        c = np.arange(self.n_items_) if cand is None else cand
        return _hash_uniform(self.seed_, users, c, self.n_items_)

    def _similarity_block(self, qitems, cand):
        c = np.arange(self.n_items_) if cand is None else cand
        return _hash_uniform(self.seed_ + 1, qitems, c, self.n_items_)


class PopularityRecommender(_Baseline):
    """Rank by the number of training interactions (ties: lower item index first).

    Items without training interactions (every cold item) score 0, so in the cold setting
    the list is simply the lowest item indices.

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items,)
        Users with a stored interaction, per item.
    n_users_, n_items_ : int
    """

    _requires_features = False

    def __init__(self):
        pass

    def _fit(self, X, F):
        self.item_popularity_ = np.diff(X.tocsc().indptr).astype(np.float32)

    def _score_block(self, users, rows, cand):
        pop = self.item_popularity_ if cand is None else self.item_popularity_[cand]
        return np.broadcast_to(pop, (users.size, pop.size))

    def _similarity_block(self, qitems, cand):
        return self._score_block(qitems, None, cand)


# --------------------------------------------------------------------------------------
# content profile
# --------------------------------------------------------------------------------------
class ContentProfileRecommender(_Baseline):
    """Cosine between a tf-idf user profile and the items' tf-idf attribute vectors.

    Item vectors are scikit-learn ``TfidfTransformer`` (``norm="l2"``) of the attribute
    counts, fitted on every item. A user's profile is the sum of the vectors of the user's
    training items; the score of an item is the cosine between profile and item vector.
    Scores are computed sparse (profile x item vectors) one user block at a time; nothing of
    size n_items x n_features is densified.

    The defaults reproduce the protocol's reference row on ``citeulike-t`` (word counts of
    ``mult.dat`` only, sublinear tf: cold Recall@20 0.3837).

    Parameters
    ----------
    sublinear_tf : bool, default True
        ``1 + log(tf)`` term frequencies.
    smooth_idf : bool, default True
        scikit-learn's smoothed idf, ``log((1 + n) / (1 + df)) + 1``.

    Attributes
    ----------
    tfidf_ : sklearn.feature_extraction.text.TfidfTransformer
    item_vectors_ : csr_matrix of shape (n_items, n_features)
        L2-normalised tf-idf vectors.
    user_items_ : csr_matrix of shape (n_users, n_items)
        The training interactions (profiles are built from them).
    n_users_, n_items_ : int
    """

    def __init__(self, sublinear_tf: bool = True, smooth_idf: bool = True):
        self.sublinear_tf = sublinear_tf
        self.smooth_idf = smooth_idf

    def _fit(self, X, F):
        self.tfidf_, self.item_vectors_ = _tfidf(F, self.sublinear_tf, self.smooth_idf)
        self.user_items_ = X
        self._item_vectors_t = None

    def _profiles(self, users, rows) -> sp.csr_matrix:
        R = self.user_items_[users] if rows is None else sp.csr_matrix(rows, dtype=np.float32)
        P = (R @ self.item_vectors_).tocsr()
        norms = np.sqrt(np.asarray(P.multiply(P).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ P, dtype=np.float32)

    def _score_block(self, users, rows, cand):
        P = self._profiles(users, rows)
        V = self.item_vectors_ if cand is None else self.item_vectors_[cand]
        return (P @ V.T).toarray()

    def _similarity_block(self, qitems, cand):
        V = self.item_vectors_ if cand is None else self.item_vectors_[cand]
        return (self.item_vectors_[qitems] @ V.T).toarray()


# --------------------------------------------------------------------------------------
# ALS + ridge
# --------------------------------------------------------------------------------------
class ALSRidgeRecommender(_FactorBaseline):
    """implicit ALS factors, with a ridge map from tf-idf attributes for items without them.

    ALS (``implicit.als.AlternatingLeastSquares``, CPU) is fitted on the training
    interactions. A plain ``sklearn.linear_model.Ridge`` learns the item factors from the
    items' tf-idf attributes on the items that have training interactions; every item whose
    training column is empty gets the ridge prediction as its factors. Nothing puts the
    predicted factors on the scale of the learned ones: this is the naive design the
    protocol compares against.

    The defaults (``alpha=20``, ``regularization=0.1``, sublinear tf-idf of the words)
    reproduce the reference row's cold and warm figures on ``citeulike-t``; implicit's own
    defaults (``alpha=1``, ``regularization=0.01``) give a much weaker ALS there (warm
    Recall@20 0.14 instead of 0.23).

    Parameters
    ----------
    factors : int, default 128
    regularization : float, default 0.1
    alpha : float, default 20.0
        ALS confidence scale.
    iterations : int, default 15
    ridge_alpha : float, default 1.0
    sublinear_tf, smooth_idf : bool, default True, True
        tf-idf options (see :class:`ContentProfileRecommender`).
    random_state : int or None, default 0
    num_threads : int, default 0
        0 uses all cores (ALS and top-k).

    Attributes
    ----------
    als_ : implicit.cpu.als.AlternatingLeastSquares
    ridge_ : sklearn.linear_model.Ridge
    tfidf_ : TfidfTransformer
    user_factors_ : ndarray of shape (n_users, factors)
    item_factors_ : ndarray of shape (n_items, factors)
    predicted_items_ : ndarray of int64
        Items whose factors come from the ridge map.
    n_users_, n_items_ : int
    """

    def __init__(self, factors: int = 128, regularization: float = 0.1, alpha: float = 20.0,
                 iterations: int = 15, ridge_alpha: float = 1.0, sublinear_tf: bool = True,
                 smooth_idf: bool = True, random_state: int | None = 0, num_threads: int = 0):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.ridge_alpha = ridge_alpha
        self.sublinear_tf = sublinear_tf
        self.smooth_idf = smooth_idf
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, X, F):
        from implicit.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        factors = _check_int(self.factors, "factors")
        iterations = _check_int(self.iterations, "iterations")
        self.tfidf_, Fw = _tfidf(F, self.sublinear_tf, self.smooth_idf)
        als = AlternatingLeastSquares(factors=factors, regularization=self.regularization,
                                      alpha=self.alpha, iterations=iterations,
                                      random_state=self.random_state,
                                      num_threads=self.num_threads, use_gpu=False)
        with threadpool_limits(1, "blas"):
            als.fit(X, show_progress=False)
        self.als_ = als
        has_data = np.diff(X.tocsc().indptr) > 0
        item_factors = np.array(als.item_factors, dtype=np.float32, copy=True)
        self.ridge_ = Ridge(alpha=self.ridge_alpha).fit(Fw[has_data], item_factors[has_data])
        self.predicted_items_ = np.flatnonzero(~has_data)
        if self.predicted_items_.size:
            item_factors[self.predicted_items_] = self.ridge_.predict(Fw[self.predicted_items_])
        self.item_factors_ = item_factors
        self.user_factors_ = np.asarray(als.user_factors, dtype=np.float32)

    def _item_vectors(self):
        return self.item_factors_

    def _user_vectors(self, users, rows):
        if rows is None:
            return self.user_factors_[users]
        return np.asarray(self.als_.recalculate_user(users, rows), dtype=np.float32)


# --------------------------------------------------------------------------------------
# LightFM
# --------------------------------------------------------------------------------------
def _import_lightfm():
    try:
        from lightfm import LightFM
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "LightFMRecommender needs the lightfm package, which is not installed. Install the "
            "benchmark extra: pip install 'coldstart[benchmark]' (it pulls rectools-lightfm, a "
            "LightFM build that installs on current Python)"
        ) from exc
    return LightFM


class LightFMRecommender(_FactorBaseline):
    """LightFM with tf-idf item features (WARP by default).

    Item representations are sums of feature embeddings, so items without training
    interactions are represented through their attributes. Scores are
    ``user_embedding . item_embedding + item_bias`` (the user bias does not change a user's
    ranking). Requires ``lightfm`` (``pip install 'coldstart[benchmark]'``); the class is
    importable without it and raises ``ImportError`` at ``fit``.

    Parameters
    ----------
    no_components : int, default 64
    loss : {"warp", "bpr", "logistic", "warp-kos"}, default "warp"
    epochs : int, default 30
    learning_rate : float, default 0.05
    item_alpha, user_alpha : float, default 0.0
    max_sampled : int, default 10
    identity_features : bool, default False
        Prepend one identity feature per item, as LightFM's ``Dataset`` does by default.
        Off by default: the reference figures are reproduced by the tf-idf features alone
        (with identity features cold Recall@20 drops from 0.27 to 0.23 on ``citeulike-t``).
    sublinear_tf, smooth_idf : bool, default False, True
        scikit-learn's default tf-idf, which matches the reference row better than sublinear tf.
    random_state : int or None, default 0
    num_threads : int, default 0
        0 uses every core (training and top-k). LightFM trains lock-free in parallel, so
        with more than one thread two fits with the same ``random_state`` differ slightly
        (about +-0.005 Recall@20 on citeulike-t); use ``num_threads=1`` for exact repeats.

    Attributes
    ----------
    model_ : lightfm.LightFM
    tfidf_ : TfidfTransformer
    item_features_ : csr_matrix of shape (n_items, n_item_features)
        The feature matrix given to LightFM.
    user_embeddings_ : ndarray of shape (n_users, no_components)
    item_embeddings_ : ndarray of shape (n_items, no_components)
    item_biases_ : ndarray of shape (n_items,)
    """

    def __init__(self, no_components: int = 64, loss: str = "warp", epochs: int = 30,
                 learning_rate: float = 0.05, item_alpha: float = 0.0, user_alpha: float = 0.0,
                 max_sampled: int = 10, identity_features: bool = False, sublinear_tf: bool = False,
                 smooth_idf: bool = True, random_state: int | None = 0, num_threads: int = 0):
        self.no_components = no_components
        self.loss = loss
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.identity_features = identity_features
        self.sublinear_tf = sublinear_tf
        self.smooth_idf = smooth_idf
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, X, F):
        LightFM = _import_lightfm()
        if self.loss not in ("warp", "bpr", "logistic", "warp-kos"):
            raise ValueError(f"loss must be 'warp', 'bpr', 'logistic' or 'warp-kos'; received {self.loss!r}")
        epochs = _check_int(self.epochs, "epochs")
        self.tfidf_, Fw = _tfidf(F, self.sublinear_tf, self.smooth_idf)
        if self.identity_features:
            Fw = sp.hstack([sp.identity(self.n_items_, dtype=np.float32, format="csr"), Fw],
                           format="csr")
        self.item_features_ = Fw
        threads = self.num_threads or os.cpu_count() or 1
        model = LightFM(no_components=_check_int(self.no_components, "no_components"),
                        loss=self.loss, learning_rate=self.learning_rate,
                        item_alpha=self.item_alpha, user_alpha=self.user_alpha,
                        max_sampled=_check_int(self.max_sampled, "max_sampled"),
                        random_state=self.random_state)
        interactions = X.tocoo()
        interactions.data[:] = 1.0
        model.fit(interactions, item_features=Fw, epochs=epochs, num_threads=threads)
        self.model_ = model
        biases, emb = model.get_item_representations(Fw)
        self.item_biases_ = np.asarray(biases, dtype=np.float32)
        self.item_embeddings_ = np.asarray(emb, dtype=np.float32)
        _, uemb = model.get_user_representations()
        self.user_embeddings_ = np.asarray(uemb, dtype=np.float32)

    def _item_vectors(self):
        return np.hstack([self.item_embeddings_, self.item_biases_[:, None]])

    def _user_vectors(self, users, rows):
        if rows is not None:
            raise NotImplementedError("LightFMRecommender does not support recalculate_user")
        u = self.user_embeddings_[users]
        return np.hstack([u, np.ones((u.shape[0], 1), dtype=np.float32)])

    def _similarity_block(self, qitems, cand):
        V = self.item_embeddings_
        norms = np.linalg.norm(V, axis=1)
        norms[norms == 0] = 1e-10
        C = V if cand is None else V[cand]
        cn = norms if cand is None else norms[cand]
        return (V[qitems] @ C.T) / norms[qitems][:, None] / cn[None, :]
