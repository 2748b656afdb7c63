"""Self-tuning on the training data alone: an internal split and the scores that choose the
default model's settings (how far warm items may leave their attributes' image, the map's
penalty, the zero-shot scale).

The internal split holds out *probe items* (every training interaction of a random tenth of
the items with interactions: they play the cold items) and *probe pairs* (a random tenth of
the remaining pairs: they play the warm test), the shape of the cold-start protocol, drawn from
``user_items`` only, so a model's own test items are never part of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from coldstart.core.constants import (MAX_VALIDATION_USERS, PROBE_ITEM_FRACTION, PROBE_PAIR_FRACTION,
                                      VALIDATION_K)


@dataclass
class InternalSplit:
    """Training interactions cut into the protocol's shape.

    Attributes
    ----------
    train : csr_matrix of shape (n_users, n_items)
        What the internal fit sees.
    probe_items : ndarray of int64
        Items whose every interaction is held out (internal cold items).
    probe_pairs : csr_matrix of shape (n_users, n_items)
        Held-out pairs of the other items (internal warm test).
    probe_item_pairs : csr_matrix of shape (n_users, n_items)
        The held-out interactions of the probe items.
    """

    train: sp.csr_matrix
    probe_items: np.ndarray
    probe_pairs: sp.csr_matrix
    probe_item_pairs: sp.csr_matrix


def internal_split(user_items: sp.csr_matrix, rng: np.random.Generator) -> InternalSplit | None:
    """Probe items and probe pairs from ``user_items`` (n_users, n_items); None when the
    catalog is too small to hold any out (fewer than 20 items with interactions)."""
    X = sp.csr_matrix(user_items)
    n_items = X.shape[1]
    counts = np.bincount(X.indices, minlength=n_items)
    warm = np.flatnonzero(counts > 0)
    if warm.size < 20:
        return None
    probe = np.sort(rng.choice(warm, size=max(1, int(round(PROBE_ITEM_FRACTION * warm.size))), replace=False))
    is_probe = np.zeros(n_items, dtype=bool)
    is_probe[probe] = True
    coo = X.tocoo()
    on_probe = is_probe[coo.col]
    # as the protocol does: a random tenth of the other pairs, so that, as there, some items
    # lose every training pair and hold zero-shot vectors among the warm ones
    rest = np.flatnonzero(~on_probe)
    pick = rest[rng.random(rest.size) < PROBE_PAIR_FRACTION]
    held = np.zeros(coo.nnz, dtype=bool)
    held[pick] = True

    def part(mask):
        return sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=X.shape, dtype=np.float32)

    return InternalSplit(train=part(~on_probe & ~held), probe_items=probe, probe_pairs=part(held),
                         probe_item_pairs=part(on_probe))


def validation_users(truth: sp.csr_matrix, rng: np.random.Generator) -> np.ndarray:
    """Users with at least one relevant item, at most ``MAX_VALIDATION_USERS`` of them."""
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if users.size > MAX_VALIDATION_USERS:
        users = np.sort(rng.choice(users, size=MAX_VALIDATION_USERS, replace=False))
    return users


class RankingProbe:
    """Recall@K of a fixed set of users ranking a fixed candidate set, for many factor pairs.

    Parameters
    ----------
    truth : csr_matrix of shape (n_users, n_items)
        Relevant items.
    users : ndarray of int64
        The users scored.
    candidates : ndarray of int64
        The items ranked; relevant items outside them count as misses.
    exclude : csr_matrix of shape (n_users, n_items), optional
        Items never ranked for a user (e.g. its training pairs).
    K : int
    """

    def __init__(self, truth: sp.csr_matrix, users: np.ndarray, candidates: np.ndarray,
                 exclude: sp.csr_matrix | None = None, K: int = VALIDATION_K):
        self.users = np.asarray(users, dtype=np.int64)
        self.cand = np.asarray(candidates, dtype=np.int64)
        self.K = min(K, self.cand.size)
        pos = np.full(truth.shape[1], -1, dtype=np.int64)
        pos[self.cand] = np.arange(self.cand.size)
        T = truth[self.users].tocsr()
        self.n_rel = np.diff(T.indptr)  # relevant items, candidates or not (the protocol's recall)
        keep = pos[T.indices] >= 0
        rows = np.repeat(np.arange(self.users.size, dtype=np.int64), self.n_rel)
        self.truth_key = np.sort(rows[keep] * self.cand.size + pos[T.indices[keep]])
        self.filt = None
        if exclude is not None:
            E = exclude[self.users].tocoo()
            ok = pos[E.col] >= 0
            self.filt = sp.csr_matrix((np.ones(ok.sum(), np.float32), (E.row[ok], pos[E.col[ok]])),
                                      shape=(self.users.size, self.cand.size))

    def chance(self) -> float:
        """The mean Recall@K of a random ranking of the candidates (what useless vectors get)."""
        has = self.n_rel > 0
        if self.K == 0 or not has.any():
            return 0.0
        in_cand = np.bincount(self.truth_key // self.cand.size, minlength=self.users.size)
        return float(np.mean(in_cand[has] * (self.K / self.cand.size) / self.n_rel[has]))

    def score(self, U: np.ndarray, V: np.ndarray) -> float:
        """Mean Recall@K for user factors U (n_users, k) and item factors V (n_items, k)."""
        from coldstart.core.topk import topk_batched

        has = self.n_rel > 0
        if self.K == 0 or not has.any():
            return 0.0
        ids, scores = topk_batched(V[self.cand], U[self.users], self.K, filter_query_items=self.filt)
        rows = np.repeat(np.arange(self.users.size, dtype=np.int64), ids.shape[1])
        got = (scores > np.finfo(np.float32).min).ravel()
        key = rows[got] * self.cand.size + ids.ravel()[got]
        hits = np.bincount(rows[got][np.isin(key, self.truth_key, assume_unique=False)],
                           minlength=self.users.size)
        return float(np.mean(hits[has] / self.n_rel[has]))
