"""Exact top-K over a factor matrix for many queries on all cores.

implicit's ``topk`` scores a batch with one BLAS product per block and then selects in
parallel; on a large catalog the product is the bottleneck and OpenBLAS leaves a core idle
on these shapes. Cutting the queries into one slice per thread, each running ``topk``
single-threaded with single-threaded BLAS, keeps every core busy (and avoids BLAS and OpenMP
oversubscribing each other). The results are identical to one ``topk`` call.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from coldstart.core.runtime import blas_controller, n_workers

_MIN_QUERIES_PER_THREAD = 64


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
    cuts = np.linspace(0, len(queries), threads + 1).astype(int)
    slices = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]

    def part(sl):
        fq = None if filter_query_items is None else filter_query_items[sl]
        return topk(factors, queries[sl], k, item_norms=norms, filter_query_items=fq,
                    filter_items=filter_items, num_threads=1)

    with blas_controller().limit(limits=1, user_api="blas"):
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(part, slices))
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
