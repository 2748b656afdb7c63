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

from coldstart.core.constants import (
    MIN_VALIDATION_USERS,
    PROBE_ITEM_FRACTION,
    PROBE_PAIR_FRACTION,
    VALIDATION_K,
    VALIDATION_PAIRS,
)
from coldstart.core.runtime import map_row_slices, n_workers
from coldstart.core.topk import metric_from_hits, top_k

#: Score blocks: at most this many scores each; threads only from this many scores in all.
_BLOCK_SCORES, _PARALLEL_SCORES = 1 << 22, 1 << 20


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
    """Users with at least one relevant item in ``truth`` (n_users, n_items): all of them, or a
    random ``MIN_VALIDATION_USERS`` and, while they hold fewer than ``VALIDATION_PAIRS`` relevant
    pairs, more users drawn at random until they do (a sparse catalog's users hold one or two
    pairs each; never more than ``VALIDATION_PAIRS`` users then). Sorted int64."""
    per_user = np.diff(truth.indptr)
    users = np.flatnonzero(per_user > 0)
    if users.size > MIN_VALIDATION_USERS:
        picked = rng.choice(users, size=MIN_VALIDATION_USERS, replace=False)
        short = VALIDATION_PAIRS - int(per_user[picked].sum())
        if short > 0:
            rest = rng.permutation(np.setdiff1d(users, picked))
            n_more = int(np.searchsorted(np.cumsum(per_user[rest]), short)) + 1
            picked = np.concatenate([picked, rest[:n_more]])
        users = np.sort(picked)
    return users.astype(np.int64)


class RankingProbe:
    """Recall@K of a fixed set of users ranking a fixed candidate set, for many factor pairs.

    The top K of each user are :func:`~coldstart.core.topk.top_k`'s (ties to the lower
    candidate position) over the scores ``u . v`` of the candidates, the excluded items never.
    Scored in row blocks on all cores, the exclusions written into each block in place
    (implicit's ``topk`` loops over the excluded rows in Python, which costs more than the
    ranking on a probe of a few thousand candidates).

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
        # the excluded (user, candidate) pairs, row-major
        self.filt_rows = self.filt_cols = np.zeros(0, np.int64)
        if exclude is not None:
            E = exclude[self.users].tocsr()
            E.sort_indices()
            r = np.repeat(np.arange(self.users.size, dtype=np.int64), np.diff(E.indptr))
            ok = pos[E.indices] >= 0
            self.filt_rows, self.filt_cols = r[ok], pos[E.indices[ok]]

    def chance(self) -> float:
        """The mean Recall@K of a random ranking of the candidates (what useless vectors get)."""
        has = self.n_rel > 0
        if self.K == 0 or not has.any():
            return 0.0
        in_cand = np.bincount(self.truth_key // self.cand.size, minlength=self.users.size)
        return float(np.mean(in_cand[has] * (self.K / self.cand.size) / self.n_rel[has]))

    def _blocks(self, U: np.ndarray, V: np.ndarray, fn) -> list:
        """``fn(lo, S)`` for row blocks ``lo:lo + len(S)`` of the users' scores ``S`` against the
        candidates (excluded pairs at ``-inf``), on all cores when there is work for two."""
        Vc = np.ascontiguousarray(V[self.cand], dtype=np.float32)
        Uq = np.ascontiguousarray(U[self.users], dtype=np.float32)
        n, n_cand = Uq.shape[0], self.cand.size
        # row blocks of at most ~4M scores, one per thread at least when there is work for two
        threads = n_workers(0) if n * n_cand >= _PARALLEL_SCORES else 1
        step = max(1, min(-(-n // threads), _BLOCK_SCORES // max(n_cand, 1)))

        def block(sl):
            S = Uq[sl] @ Vc.T
            a, b = np.searchsorted(self.filt_rows, [sl.start, sl.stop])
            S[self.filt_rows[a:b] - sl.start, self.filt_cols[a:b]] = -np.inf
            return fn(sl.start, S)

        return map_row_slices(block, list(range(0, n, step)) + [n], threads)

    def score(self, U: np.ndarray, V: np.ndarray) -> float:
        """Mean Recall@K for user factors U (n_users, k) and item factors V (n_items, k).

        Without listing the top K: a relevant candidate is in it when it scores above its row's
        K-th largest score, out of it below that, and at a tie with it when fewer than K
        candidates score more or as much at a lower position (top_k's order, NaN as ``-inf``)."""
        if self.K == 0 or not (self.n_rel > 0).any():
            return 0.0
        n_cand, K = self.cand.size, self.K

        def block(lo, S):  # the hits of each row lo:lo + len(S)
            nan = np.isnan(S)
            if nan.any():
                S[nan] = -np.inf
            a, b = np.searchsorted(self.truth_key, [lo * n_cand, (lo + len(S)) * n_cand])
            r, c = np.divmod(self.truth_key[a:b] - lo * n_cand, n_cand)
            s = S[r, c]
            kth = (np.partition(S, n_cand - K, axis=1)[:, n_cand - K] if K < n_cand
                   else np.full(len(S), -np.inf, S.dtype))[r]
            hit = s > kth  # excluded (-inf) candidates never
            for j in np.flatnonzero((s == kth) & (s > -np.inf)):  # ties at the cut
                row = S[r[j]]
                hit[j] = np.count_nonzero(row > s[j]) + np.count_nonzero(row[:c[j]] == s[j]) < K
            return np.bincount(r[hit], minlength=len(S))

        n_hits = np.concatenate(self._blocks(U, V, block))
        has = self.n_rel > 0
        return float(np.mean(n_hits[has] / self.n_rel[has]))

    def _recall(self, hits: np.ndarray) -> float:
        """The users' mean recall from their hits (n_users, K) bool (the protocol's metric), users
        without a relevant item left out."""
        has = self.n_rel > 0
        return float(np.mean(metric_from_hits("recall", hits[has], self.n_rel[has], self.K)))

    def scaled(self, U: np.ndarray, V: np.ndarray, items: np.ndarray):
        """``z -> `` Mean Recall@K with the rows ``items`` of ``V`` scaled by ``z > 0``, from one
        product: each user's top K among the other candidates and among ``items`` (a positive
        scale keeps the order within each) are kept, and each ``z`` merges the two lists
        (ties to the lower candidate position within them)."""
        if self.K == 0 or not (self.n_rel > 0).any():
            return lambda z: 0.0
        n_cand = self.cand.size
        in_b = np.isin(self.cand, items)
        parts = [np.flatnonzero(~in_b), np.flatnonzero(in_b)]

        def block(lo, S):  # per part: (positions, values, relevant) of each row's top K
            rows = np.arange(lo, lo + S.shape[0], dtype=np.int64)[:, None]
            out = []
            for cols in parts:
                if cols.size == 0:
                    empty = np.zeros((S.shape[0], 0))
                    out.append((empty.astype(np.int64), empty.astype(np.float32), empty.astype(bool)))
                    continue
                ids, vals = top_k(S[:, cols], min(self.K, cols.size))
                pos = np.where(ids >= 0, cols[np.maximum(ids, 0)], -1)
                rel = (ids >= 0) & np.isin(rows * n_cand + pos, self.truth_key)
                out.append((pos, vals.astype(np.float32), rel))
            return out

        got = self._blocks(U, V, block)
        pa, va, ra = (np.vstack([g[0][i] for g in got]) for i in range(3))
        pb, vb, rb = (np.vstack([g[1][i] for g in got]) for i in range(3))
        pos = np.hstack([pa, pb])
        by_pos = np.argsort(np.where(pos < 0, n_cand, pos), axis=1, kind="stable")
        pos_rel = np.take_along_axis(np.hstack([ra, rb]), by_pos, axis=1)

        def at(z: float) -> float:
            vals = np.take_along_axis(np.hstack([va, np.float32(z) * vb]), by_pos, axis=1)
            best = np.argsort(-vals, axis=1, kind="stable")[:, :self.K]
            hit = np.take_along_axis(pos_rel, best, axis=1) & np.isfinite(np.take_along_axis(vals, best, axis=1))
            return self._recall(hit)

        return at
