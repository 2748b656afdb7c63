"""Baselines without a collaborative model: random, popularity, and the content profile.

:class:`RandomRecommender`
    Uniform scores from a hash of (seed, user, item), so lists do not depend on batching.
:class:`PopularityRecommender`
    Training interaction counts; ties by lower item index. Cold items all score 0.
:class:`ContentProfileRecommender`
    tf-idf of the attributes (scikit-learn ``TfidfTransformer``, L2 rows); the user profile
    is the sum of the user's training items' vectors; score = cosine. Sparse end to end.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coldstart.evaluation.baselines.base import BLOCK_ROWS, BaselineRecommender, tfidf
from coldstart.evaluation.metrics import check_int

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


class RandomRecommender(BaselineRecommender):
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
        self.seed_ = check_int(seed, "random_state", lo=0)

    def _score_block(self, users, rows, cand):
        c = np.arange(self.n_items_) if cand is None else cand
        return _hash_uniform(self.seed_, users, c, self.n_items_)

    def _similarity_block(self, qitems, cand):
        c = np.arange(self.n_items_) if cand is None else cand
        return _hash_uniform(self.seed_ + 1, qitems, c, self.n_items_)


class PopularityRecommender(BaselineRecommender):
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

    def _rank(self, users, rows, cand, N, liked, filter_pos):
        """Every user shares one order (popularity, ties to the lower position): a user's list
        is the first ``N`` of it that the user has not liked. The dense blocks' result
        (:meth:`_dense_top`), without ranking one row per user."""
        pop = self.item_popularity_ if cand is None else self.item_popularity_[cand]
        order = np.argsort(-pop, kind="stable")  # candidate positions, best first
        if filter_pos is not None:
            order = order[~np.isin(order, filter_pos)]
        rank = np.full(pop.size, -1, dtype=np.int64)
        rank[order] = np.arange(order.size)
        n = users.size
        ids = np.full((n, N), -1, dtype=np.int64)
        scores = np.full((n, N), -np.inf, dtype=np.float32)
        n_liked = np.zeros(n, np.int64) if liked is None else np.diff(liked.indptr)
        for start in range(0, n, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n)
            M = min(order.size, N + int(n_liked[start:stop].max(initial=0)))  # enough to skip every liked
            keep = np.ones((stop - start, M), dtype=bool)
            if liked is not None:
                lk = liked[start:stop].tocoo()
                r = rank[lk.col]
                ok = (r >= 0) & (r < M)
                keep[lk.row[ok], r[ok]] = False
            keep &= np.cumsum(keep, axis=1) <= N
            row, col = np.nonzero(keep)
            slot = np.arange(row.size) - np.searchsorted(row, row)  # place within the user's list
            pos = order[col]
            ids[start + row, slot] = pos if cand is None else cand[pos]
            scores[start + row, slot] = pop[pos]
        return ids, scores



class ContentProfileRecommender(BaselineRecommender):
    """Cosine between a tf-idf user profile and the items' tf-idf attribute vectors.

    Item vectors are scikit-learn ``TfidfTransformer`` (``norm="l2"``) of the attribute
    counts, fitted on every item. A user's profile is the sum of the vectors of the user's
    training items; the score of an item is the cosine between profile and item vector.
    Scores are computed sparse (profile x item vectors) one user block at a time; nothing of
    size n_items x n_features is densified.

    The defaults (sublinear tf) are the protocol's reference row (``EVALUATION.md``).

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
        self.tfidf_, self.item_vectors_ = tfidf(F, self.sublinear_tf, self.smooth_idf)
        self.user_items_ = X

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
