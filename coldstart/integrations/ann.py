"""Fast top-N over item factors for very large catalogs.

Exact top-N (:meth:`ColdStartRecommender.recommend`) reads every item vector for every user:
O(n_items × factors) per query, 20-40 ms per user at 1M items and 128 factors. Two indexes
over the item factors cut that, both with incremental adds so zero-shot items appended with
:meth:`~coldstart.ColdStartRecommender.add_items` become recommendable without a rebuild::

    index = HNSWIndex.from_model(model)                     # or NormPrunedIndex.from_model(model)
    ids, scores = index.recommend(model.user_factors_[u], N=10, user_items=liked_row)
    new = model.add_items(attrs)
    index.sync(model)                                        # index the new rows too

* :class:`HNSWIndex` (optional ``pip install coldstart[ann]``) wraps an
  `hnswlib <https://github.com/nmslib/hnswlib>`_ graph in the inner-product space, over the
  item vectors minus their mean (same ranking, much better graphs for factors that share a
  dominant direction, as content-constrained ones do): approximate, ``ef`` trades latency for
  recall, and building the graph is the expensive part (measured recall and latency:
  ``benchmarks/ABLATION.md``).
* :class:`NormPrunedIndex` (numpy only) is **exact**: it scans items in decreasing norm and
  stops once ``||u|| * ||v||`` (the Cauchy-Schwarz bound) cannot beat the current N-th score.
  It pays off when item norms are very skewed, as with plain implicit ALS factors (plug-in
  mode: popular items are long vectors, so queries stop early); with
  near-uniform norms (the default content-constrained fit) it scans most of the catalog and
  is slower than :meth:`ColdStartRecommender.recommend`. ``scanned_fraction_`` tells.

(implicit's own ANN wrappers, ``implicit.ann.*``, need annoy/nmslib/faiss, index only the
factors present when the wrapped model is fitted, and cannot take items added later.)
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp

from coldstart.core.runtime import blas_controller
from coldstart.core.topk import top_k


def _hnswlib():
    try:
        import hnswlib
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("HNSWIndex needs hnswlib: pip install 'coldstart[ann]' (or pip install hnswlib)") from exc
    return hnswlib


def _check_vectors(V, dim: int | None) -> np.ndarray:
    """``V`` as a C-contiguous float32 array of shape (n, dim) (any width > 0 when ``dim`` is
    None), finite; ValueError otherwise."""
    V = np.ascontiguousarray(np.asarray(V, dtype=np.float32))
    if V.ndim != 2 or (dim is not None and V.shape[1] != dim) or V.shape[1] == 0:
        want = f"(n, {dim})" if dim is not None else "(n, n_factors)"
        raise ValueError(f"expected vectors of shape {want}; received shape {V.shape}")
    if V.size and not np.all(np.isfinite(V)):
        raise ValueError("vectors contain NaN or infinite values")
    return V


class _ItemIndex:
    """What both indexes share: building from a model, following its appended rows, and the
    checks of ids, queries and ``N``. Subclasses implement ``fit``, ``add_items``,
    ``recommend`` and ``_built``."""

    n_items_: int
    dim_: int

    @classmethod
    def from_model(cls, model, **params):
        """Index the item factors of a fitted :class:`~coldstart.ColdStartRecommender`."""
        return cls(**params).fit(model.item_factors_)

    def sync(self, model) -> np.ndarray:
        """Index the rows of ``model.item_factors_`` added since the last build/sync; returns their ids."""
        self._check_fitted()
        factors = model.item_factors_
        if factors.shape[0] < self.n_items_:
            raise ValueError(f"model has {factors.shape[0]} items, fewer than the {self.n_items_} indexed")
        return self.add_items(factors[self.n_items_:])

    def __len__(self) -> int:
        return self.n_items_ if self._built() else 0

    def _check_fitted(self) -> None:
        if not self._built():
            name = type(self).__name__
            raise RuntimeError(f"{name} is not built yet; call fit(item_factors) or {name}.from_model(model)")

    def _item_ids(self, ids, n: int, distinct: bool) -> np.ndarray:
        """Ids of ``n`` vectors to add: ``n_items_, n_items_ + 1, ...`` when ``ids`` is None, else
        ``ids`` checked to be ``n`` non-negative integers (``distinct``: all different), each an
        existing id or one of the next consecutive ones."""
        if ids is None:
            return np.arange(self.n_items_, self.n_items_ + n, dtype=np.int64)
        ids = np.atleast_1d(np.asarray(ids))
        kind = "distinct non-negative" if distinct else "non-negative"
        if not np.issubdtype(ids.dtype, np.integer) or ids.shape != (n,) or (ids.size and ids.min() < 0) \
                or (distinct and len(np.unique(ids)) != len(ids)):
            raise ValueError(f"ids must be {n} {kind} integers, one per vector; received {ids!r}")
        ids = ids.astype(np.int64)
        if ids.size and ids.max() > self.n_items_ + n - 1:
            raise ValueError(f"ids must be existing item ids or the next consecutive ones (< "
                             f"{self.n_items_ + n}); received {ids.max()}")
        return ids

    def _queries(self, user_vectors, N) -> tuple[np.ndarray, bool]:
        """(queries of shape (n_users, dim_), whether one 1-D query was given); checks ``N``."""
        self._check_fitted()
        if not (isinstance(N, (int, np.integer)) and N > 0):
            raise ValueError(f"N must be a positive integer; received {N!r}")
        Q = np.asarray(user_vectors, dtype=np.float32)
        single = Q.ndim == 1
        return _check_vectors(Q[None, :] if single else Q, dim=self.dim_), single

    def _liked(self, user_items, n_queries: int) -> sp.csr_matrix | None:
        """``user_items`` as CSR with one row per query (None stays None); ValueError otherwise."""
        if user_items is None:
            return None
        if not sp.issparse(user_items) or user_items.shape[0] != n_queries:
            raise ValueError(f"user_items must be a sparse matrix with one row per query ({n_queries}); "
                             f"received {getattr(user_items, 'shape', type(user_items).__name__)}")
        return sp.csr_matrix(user_items)


class HNSWIndex(_ItemIndex):
    """Approximate maximum-inner-product search over item vectors (hnswlib, ``space='ip'``).

    Parameters
    ----------
    M : int
        Graph degree; higher gives better recall and more memory (about ``M * 8`` bytes per item).
    ef_construction : int
        Search width while building; higher builds slower and better.
    ef : int
        Search width at query time (raised to ``N`` when smaller); the recall/latency knob.
    num_threads : int
        Threads for building and batch queries (0 = all cores).
    center : bool
        Index ``v - mean`` instead of ``v`` (the mean of the vectors given to :meth:`fit`) and add
        ``<u, mean>`` back to the scores: the same ranking, but a graph that works when the item
        vectors share a dominant common direction (content-constrained factors do): without it
        the graph's neighbourhoods all point along that direction and recall collapses.
    random_state : int

    Attributes
    ----------
    n_items_ : int
        Items indexed; item ids are the row indices given to :meth:`fit` / :meth:`add_items`.
    dim_ : int
    offset_ : ndarray of shape (dim_,)
        The vector subtracted from every item (zeros without ``center``).
    """

    def __init__(self, M: int = 16, ef_construction: int = 200, ef: int = 100, num_threads: int = 0,
                 center: bool = True, random_state: int = 0):
        self.M = M
        self.ef_construction = ef_construction
        self.ef = ef
        self.num_threads = num_threads
        self.center = center
        self.random_state = random_state
        self._index = None

    # ------------------------------------------------------------------ building
    def fit(self, item_factors) -> "HNSWIndex":
        """Build the graph over ``item_factors`` of shape (n_items, n_factors); item i gets id i."""
        V = _check_vectors(item_factors, dim=None)
        for name in ("M", "ef_construction", "ef"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and v > 0):
                raise ValueError(f"{name} must be a positive integer; received {v!r}")
        index = _hnswlib().Index(space="ip", dim=V.shape[1])
        index.init_index(max_elements=max(len(V), 16), ef_construction=int(self.ef_construction),
                         M=int(self.M), random_seed=int(self.random_state))
        self._index = index
        self.dim_ = V.shape[1]
        self.offset_ = (V.mean(axis=0) if self.center and len(V) else np.zeros(V.shape[1])).astype(np.float32)
        self.n_items_ = 0
        if len(V):
            self.add_items(V)
        return self

    def add_items(self, vectors, ids=None) -> np.ndarray:
        """Insert vectors of shape (n, n_factors); returns their ids.

        ``ids=None`` appends them as ``n_items_, n_items_ + 1, ...`` (the indices
        :meth:`ColdStartRecommender.add_items` gives); existing ids are re-inserted with the new
        vector (e.g. after :meth:`~coldstart.ColdStartRecommender.partial_fit_items`).
        Capacity grows geometrically, so adding items one at a time is amortised O(1) copies.
        """
        self._check_fitted()
        V = _check_vectors(vectors, dim=self.dim_)
        ids = self._item_ids(ids, len(V), distinct=False)
        if not len(V):
            return ids
        top = int(max(self.n_items_, ids.max() + 1))
        cap = self._index.get_max_elements()
        if top > cap:
            self._index.resize_index(max(top, int(cap * 1.5) + 16))
        self._index.add_items(V - self.offset_, ids.astype(np.uint64), num_threads=self._threads())
        self.n_items_ = top
        return ids

    # ------------------------------------------------------------------ queries
    def recommend(self, user_vectors, N: int = 10, filter_items=None, user_items=None):
        """Approximate top-N items by inner product with each user vector.

        Parameters
        ----------
        user_vectors : array of shape (n_factors,) or (n_users, n_factors)
        N : int
        filter_items : array-like of item ids, optional
            Items never to return.
        user_items : csr_matrix of shape (n_users, >= n_items_), optional
            Each user's already-liked items, filtered out (rows in the order of ``user_vectors``).

        Filtered items are removed by fetching ``N + (number filtered)`` neighbours, so long
        filter lists cost proportionally more.

        Returns
        -------
        (ids, scores) : 1-D arrays of length ≤ N for a 1-D query; otherwise 2-D arrays of shape
            (n_users, N) padded with id -1 and score -inf, like ``ColdStartRecommender.recommend``.
        """
        Q, single = self._queries(user_vectors, N)
        fixed = np.unique(np.asarray(filter_items, dtype=np.int64)) if filter_items is not None else None
        user_items = self._liked(user_items, len(Q))
        if user_items is not None:
            liked = np.diff(user_items.indptr)
        else:
            liked = np.zeros(len(Q), dtype=np.int64)
        n_fixed = 0 if fixed is None else len(fixed)
        k = int(min(self.n_items_, N + n_fixed + (liked.max() if len(liked) else 0)))
        out_ids = np.full((len(Q), N), -1, dtype=np.int64)
        out_scores = np.full((len(Q), N), -np.inf, dtype=np.float32)
        if k > 0 and len(Q):
            self._index.set_ef(max(int(self.ef), k))
            labels, dist = self._index.knn_query(Q, k=k, num_threads=self._threads())
            labels = labels.astype(np.int64)
            scores = (1.0 - dist) + (Q @ self.offset_)[:, None]  # hnswlib's 'ip' distance is 1 - <q, v>
            drop = np.zeros(labels.shape, dtype=bool)
            if fixed is not None and n_fixed:
                drop |= np.isin(labels, fixed)
            if user_items is not None:
                for r in np.flatnonzero(liked):
                    drop[r] |= np.isin(labels[r], user_items.indices[user_items.indptr[r]:user_items.indptr[r + 1]])
            for r in range(len(Q)):  # keep the first N survivors, best first (hnswlib sorts them)
                keep = np.flatnonzero(~drop[r])[:N]
                out_ids[r, :len(keep)] = labels[r, keep]
                out_scores[r, :len(keep)] = scores[r, keep]
        if single:
            keep = out_ids[0] >= 0
            return out_ids[0][keep], out_scores[0][keep]
        return out_ids, out_scores

    # ------------------------------------------------------------------ helpers
    def _built(self) -> bool:
        return self._index is not None

    def _threads(self) -> int:
        return -1 if not self.num_threads else int(self.num_threads)


class NormPrunedIndex(_ItemIndex):
    """Exact top-N by inner product, pruned by item norm (Cauchy-Schwarz).

    Items live in segments sorted by decreasing norm; :meth:`recommend` scores them block by
    block and stops, per user, once ``||u|| * ||v_next||`` is no larger than its current N-th
    best score. Results equal brute force up to the order of exactly tied scores.

    Parameters
    ----------
    block_size : int
        Items scored per step (one BLAS product for all still-active users).
    merge_ratio : float
        Appended items form new sorted segments; all segments are merged (re-sorted) once the
        appended ones hold more than this fraction of the items, so each add costs amortised
        O(log n) per item and a query visits few segments.

    Attributes
    ----------
    n_items_ : int
    dim_ : int
    scanned_fraction_ : float
        Share of (query, item) pairs scored by the last :meth:`recommend` call.
    """

    def __init__(self, block_size: int = 1024, merge_ratio: float = 0.1):
        self.block_size = block_size
        self.merge_ratio = merge_ratio
        self._segments = None

    def fit(self, item_factors) -> "NormPrunedIndex":
        """Index ``item_factors`` of shape (n_items, n_factors); item i gets id i."""
        if not (isinstance(self.block_size, (int, np.integer)) and self.block_size > 0):
            raise ValueError(f"block_size must be a positive integer; received {self.block_size!r}")
        if not (np.isscalar(self.merge_ratio) and self.merge_ratio >= 0):
            raise ValueError(f"merge_ratio must be a non-negative number; received {self.merge_ratio!r}")
        V = _check_vectors(item_factors, dim=None)
        self.dim_ = V.shape[1]
        self.n_items_ = len(V)
        self._segments = []
        self._seg = np.empty(0, dtype=np.int32)  # id -> segment, row: where each live vector is
        self._row = np.empty(0, dtype=np.int64)
        self._main = 0
        self._add_segment(V, np.arange(len(V), dtype=np.int64))
        self.scanned_fraction_ = 0.0
        return self

    def add_items(self, vectors, ids=None) -> np.ndarray:
        """Add vectors of shape (n, n_factors); returns their ids.

        ``ids=None`` appends them as ``n_items_, n_items_ + 1, ...`` (the indices
        :meth:`ColdStartRecommender.add_items` gives); existing ids get the new vector.
        """
        self._check_fitted()
        V = _check_vectors(vectors, dim=self.dim_)
        ids = self._item_ids(ids, len(V), distinct=True)
        if not len(V):
            return ids
        old = ids[ids < self.n_items_]
        for si in np.unique(self._seg[old]):  # retire the replaced vectors
            sel = old[self._seg[old] == si]
            self._segments[si]["alive"][self._row[sel]] = False
        self.n_items_ = int(max(self.n_items_, ids.max() + 1))
        self._add_segment(V, ids)
        appended = sum(len(s["ids"]) for s in self._segments) - self._main
        if len(self._segments) > 1 and appended > self.merge_ratio * self._main:
            self._merge()
        return ids

    def recommend(self, user_vectors, N: int = 10, filter_items=None, user_items=None):
        """Exact top-N items by inner product; same arguments and results as :meth:`HNSWIndex.recommend`."""
        Q, single = self._queries(user_vectors, N)
        n_q = len(Q)
        # excluded (query, item) pairs, located by (segment, row)
        ex_q = np.empty(0, dtype=np.int64)
        ex_i = np.empty(0, dtype=np.int64)
        user_items = self._liked(user_items, n_q)
        if user_items is not None:
            ex_q = np.repeat(np.arange(n_q), np.diff(user_items.indptr))
            ex_i = user_items.indices.astype(np.int64)
        if filter_items is not None:
            f = np.unique(np.asarray(filter_items, dtype=np.int64))
            ex_q = np.concatenate([ex_q, np.repeat(np.arange(n_q), len(f))])
            ex_i = np.concatenate([ex_i, np.tile(f, n_q)])
        keep = (ex_i >= 0) & (ex_i < self.n_items_)
        ex_q, ex_i = ex_q[keep], ex_i[keep]
        ex_seg, ex_row = self._seg[ex_i], self._row[ex_i]

        # a few queries make small products, where BLAS threads only add hand-off latency
        with blas_controller().limit(limits=1, user_api="blas") if n_q <= 16 else contextlib.nullcontext():
            best_i, best_s, scanned = self._search(Q, N, ex_q, ex_seg, ex_row)
        self.scanned_fraction_ = scanned / max(1, n_q * self.n_items_)
        if single:
            keep = best_i[0] >= 0
            return best_i[0][keep], best_s[0][keep]
        return best_i, best_s

    def _search(self, Q, N, ex_q, ex_seg, ex_row):
        n_q = len(Q)
        best_s = np.full((n_q, N), -np.inf, dtype=np.float32)
        best_i = np.full((n_q, N), -1, dtype=np.int64)
        qnorm = np.linalg.norm(Q, axis=1)
        scanned = 0
        bs = int(self.block_size)
        for si, seg in enumerate(self._segments):
            V, norms, ids, alive = seg["V"], seg["norms"], seg["ids"], seg["alive"]
            in_seg = ex_seg == si
            s_q, s_row = ex_q[in_seg], ex_row[in_seg]
            for start in range(0, len(V), bs):
                stop = min(start + bs, len(V))
                active = np.flatnonzero(qnorm * norms[start] > best_s[:, -1])
                if not len(active):
                    break
                S = Q[active] @ V[start:stop].T
                scanned += S.size
                dead = ~alive[start:stop]
                if dead.any():
                    S[:, dead] = -np.inf
                sel = (s_row >= start) & (s_row < stop)
                if sel.any():
                    pos = np.full(n_q, -1, dtype=np.int64)
                    pos[active] = np.arange(len(active))
                    r = pos[s_q[sel]]
                    S[r[r >= 0], s_row[sel][r >= 0] - start] = -np.inf
                cand_s = np.concatenate([best_s[active], S], axis=1)
                cand_i = np.concatenate([best_i[active], np.broadcast_to(ids[start:stop], S.shape)], axis=1)
                top, best_s[active] = top_k(cand_s, N)  # -1 / -inf where fewer than N are finite
                best_i[active] = np.take_along_axis(cand_i, np.maximum(top, 0), 1)
        best_i[np.isneginf(best_s)] = -1
        return best_i, best_s, scanned

    # ------------------------------------------------------------------ helpers
    def _built(self) -> bool:
        return self._segments is not None

    def _add_segment(self, V: np.ndarray, ids: np.ndarray) -> None:
        norms = np.linalg.norm(V, axis=1)
        order = np.argsort(-norms, kind="stable")
        si = len(self._segments)
        self._segments.append(dict(V=np.ascontiguousarray(V[order]), norms=norms[order], ids=ids[order],
                                   alive=np.ones(len(V), dtype=bool)))
        top = int(ids.max()) + 1 if len(ids) else 0
        if top > len(self._seg):  # amortised growth of the id -> (segment, row) maps
            cap = max(top, int(len(self._seg) * 1.5) + 16)
            self._seg = np.resize(self._seg, cap)
            self._row = np.resize(self._row, cap)
        self._seg[ids[order]] = si
        self._row[ids[order]] = np.arange(len(V))
        if si == 0:
            self._main = len(V)

    def _merge(self) -> None:
        segs = self._segments
        V = np.concatenate([s["V"][s["alive"]] for s in segs])
        ids = np.concatenate([s["ids"][s["alive"]] for s in segs])
        self._segments = []
        self._add_segment(V, ids)
