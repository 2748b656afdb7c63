"""Threads and BLAS: how many workers, the BLAS thread limit, and row blocks for a thread pool.

implicit's solvers want one BLAS thread (they parallelise over rows themselves); the map's dense
products and the batched top-k set their own limits through :func:`blas_controller`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

_controller = None
#: :class:`ItemBlocks` products below this much work (stored entries x k) run their blocks one
#: after the other on the caller's thread (the same blocks and sums: the same result).
_MIN_THREADED_WORK = 1 << 22


def blas_controller():
    """threadpoolctl's controller, created once (scanning the loaded libraries costs ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def n_workers(num_threads: int = 0) -> int:
    """Threads to use: ``num_threads``, or with 0 the cores this process may run on."""
    if num_threads and num_threads > 0:
        return int(num_threads)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)



def map_row_slices(fn, cuts, threads: int) -> list:
    """``[fn(slice(cuts[j], cuts[j + 1])) ...]``: row slices of a batch on a pool of ``threads``,
    each call on one BLAS thread (its products single-threaded, the slices in parallel: the
    cores stay busy without BLAS and the pool oversubscribing each other). In slice order."""
    slices = [slice(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]
    with blas_controller().limit(limits=1, user_api="blas"):
        if len(slices) == 1 or threads <= 1:
            return [fn(sl) for sl in slices]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(fn, slices))

class ItemBlocks:
    """Rows (items) cut into blocks of bounded size for a thread pool.

    ``X`` (n, n_features) and optionally ``C`` (n, n_users, the items' interactions) are sliced
    into one row block per thread, more when a block would exceed ``max_block_nnz`` stored
    entries; :meth:`reduce` sums a per-block (n_features, k) product and :meth:`rows` stacks a
    per-block (rows, k) product. scipy's sparse products and numpy's kernels release the GIL,
    so the threads run in parallel; each thread sums into its own accumulator. Few blocks
    matter: every block's (n_features, k) product is a fresh array to add.
    """

    def __init__(self, X, C: sp.csr_matrix | None = None, max_block_nnz: int = 1 << 24,
                 num_threads: int = 0):
        n = X.shape[0]
        cost = np.diff(X.indptr).astype(np.int64) if sp.issparse(X) else np.full(n, X.shape[1], np.int64)
        if C is not None:
            cost = cost + np.diff(C.indptr)
        cum = np.concatenate([[0], np.cumsum(cost + 1)])
        threads = n_workers(num_threads)
        # a multiple of the threads: with 3 blocks on 2 threads one thread would do two thirds
        n_blocks = threads * max(1, int(np.ceil(cum[-1] / max_block_nnz / threads)))
        edges = np.unique(np.searchsorted(cum, np.linspace(0, cum[-1], n_blocks + 1)).clip(0, n))
        edges[0], edges[-1] = 0, n
        self.slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        self.blocks = [(X[sl], None if C is None else C[sl]) for sl in self.slices]
        self.n, self.d, self.entries = n, X.shape[1], int(cum[-1])
        self.threads = max(1, min(threads, len(self.blocks)))
        self._squares = None

    def squares(self) -> dict:
        """``X_b∘X_b`` per block, keyed by the block's first row; computed once."""
        if self._squares is None:
            self._squares = {sl.start: Xb.multiply(Xb).tocsr() for (Xb, _), sl in zip(self.blocks, self.slices)}
        return self._squares

    def _run(self, work, k: int):
        if self.threads == 1 or self.entries * k < _MIN_THREADED_WORK:  # less work than starting threads
            return [work(j) for j in range(self.threads)]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(work, range(self.threads)))

    def reduce(self, fn, k: int) -> np.ndarray:
        """``sum_b fn(X_b, C_b, slice_b)``, each of shape (n_features, k); float32."""
        def work(j):
            acc = None  # the first block's product is the accumulator: no zeroed array to add
            for (Xb, Cb), sl in zip(self.blocks[j::self.threads], self.slices[j::self.threads]):
                part = np.asarray(fn(Xb, Cb, sl), dtype=np.float32)
                if acc is None:
                    acc = part if part.flags.writeable and part.flags.c_contiguous else part.copy()
                else:
                    acc += part
            return np.zeros((self.d, k), np.float32) if acc is None else acc

        parts = self._run(work, k)
        out = parts[0]
        for p in parts[1:]:
            out += p
        return out

    def rows(self, fn, k: int) -> np.ndarray:
        """``fn(X_b, C_b, slice_b)`` of shape (rows of b, k) stacked to (n, k); float32."""
        out = np.empty((self.n, k), np.float32)

        def work(j):
            for (Xb, Cb), sl in zip(self.blocks[j::self.threads], self.slices[j::self.threads]):
                out[sl] = fn(Xb, Cb, sl)

        self._run(work, k)
        return out
