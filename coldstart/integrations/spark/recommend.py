"""Top-K for every user in Spark, blockwise (as ``ALSModel.recommendForAllUsers``).

Users and items are hashed into blocks; every (user block, item block) pair is one task that
scores ``U Iᵀ`` and keeps each user's top-K (:func:`coldstart.core.topk.top_k`, the
library's numpy top-K: score descending, ties by the lower column, i.e. the lower item id within
a block ordered by id); the partial lists of a user block are merged by ``reduceByKey``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from coldstart.core.topk import top_k
from coldstart.integrations.spark.arrow import (
    BLOB_SCHEMA,
    blob,
    blobs_to_rdd,
    column,
    factors_from_arrow,
    ids_from_arrow,
    require_pyspark,
)

try:  # pragma: no cover - exercised only without pyspark (require_pyspark says what is missing)
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError:  # pragma: no cover
    pass


def _keyed_blocks_fn(*columns: tuple[str, Callable]):
    """mapInArrow: rows ``(columns..., __b)`` of one partition → per block ``__b`` one pickled tuple
    of arrays, ``reader(column)`` for each ``(name, reader)`` of ``columns``."""

    def fn(batches):
        parts: list = [[] for _ in columns]
        keys = []
        for b in batches:
            if b.num_rows == 0:
                continue
            for acc, (name, read) in zip(parts, columns):
                acc.append(read(column(b, name)))
            keys.append(column(b, "__b").to_numpy(zero_copy_only=False).astype(np.int64))
        if not keys:
            return
        arrays, key = [np.concatenate(p) for p in parts], np.concatenate(keys)
        for blk in np.unique(key):
            m = key == blk
            yield blob(int(blk), tuple(a[m] for a in arrays))

    return fn


def _concat_blocks(a, b):
    """Two blocks' tuples of arrays concatenated array by array."""
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b))


def _sort_block(v):
    """Order a block by id, so that its layout does not depend on the shuffle's fetch order."""
    order = np.argsort(v[0], kind="stable")
    return tuple(x[order] for x in v)


def _merge_sorted(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k best of candidates ``ids``/``scores`` (n, m) that differ row by row (two
    partial top lists side by side): score descending, ties by the lower id, so that the merge
    does not depend on the order ``reduceByKey`` combines the lists in. Padding: id -1, -inf."""
    order = np.argsort(ids, axis=1, kind="stable")  # top_k breaks ties by the lower column
    ids = np.take_along_axis(ids, order, axis=1)
    cols, top = top_k(np.take_along_axis(scores, order, axis=1), k)
    return np.where(cols >= 0, np.take_along_axis(ids, np.maximum(cols, 0), axis=1), -1), top


def _score_pair(k: int):
    def fn(pair):
        (ub, ((u_ids, U), excl)), (_, (i_ids, V)) = pair
        S = np.asarray(U @ V.T, dtype=np.float32)
        if excl is not None and len(excl[0]) and len(i_ids):
            ex_u, ex_i = excl
            uo = np.argsort(u_ids, kind="stable")
            io = np.argsort(i_ids, kind="stable")
            pu = np.searchsorted(u_ids, ex_u, sorter=uo).clip(0, len(u_ids) - 1)
            pi = np.searchsorted(i_ids, ex_i, sorter=io).clip(0, len(i_ids) - 1)
            ru, ri = uo[pu], io[pi]
            ok = (u_ids[ru] == ex_u) & (i_ids[ri] == ex_i)
            S[ru[ok], ri[ok]] = -np.inf
        cols, top_scores = top_k(S, k)  # the block is ordered by id: ties go to the lower id
        top_ids = np.where(cols >= 0, i_ids[np.maximum(cols, 0)] if len(i_ids) else -1, -1)
        return ub, (u_ids, top_ids, top_scores)
    return fn


def _merge_top(k: int):
    def fn(a, b):
        if not np.array_equal(a[0], b[0]):
            raise RuntimeError("user blocks differ between block pairs; expected a deterministic layout")
        ids = np.concatenate([a[1], b[1]], axis=1)
        scores = np.concatenate([a[2], b[2]], axis=1)
        top_ids, top_scores = _merge_sorted(ids, scores, k)
        return a[0], top_ids, top_scores
    return fn


def _to_rows():
    def fn(kv):
        _, (u_ids, ids, scores) = kv
        for u, row_i, row_s in zip(u_ids.tolist(), ids, scores):
            keep = row_i >= 0
            yield (u, [(int(i), float(s)) for i, s in zip(row_i[keep], row_s[keep])])
    return fn


def recommend_for_all_users(user_factors: "DataFrame", item_factors: "DataFrame", k: int, *,
                            exclude: "DataFrame | None" = None, user_id_col: str = "id",
                            item_id_col: str = "id", factors_col: str = "features",
                            exclude_user_col: str = "user", exclude_item_col: str = "item",
                            user_col: str = "user", block_size: int = 4096) -> "DataFrame":
    """Top-``k`` items by dot product for every user, blockwise in Spark.

    Users and items are hashed into blocks of about ``block_size`` rows; every (user block,
    item block) pair is one task computing ``U Iᵀ`` and its per-user top-k (``exclude``'d pairs
    removed first), and the partial lists of a user block are merged by ``reduceByKey``.
    Nothing but the block metadata reaches the driver.

    Parameters
    ----------
    user_factors, item_factors : DataFrame
        ``(id, factors)`` layouts (e.g. ``ALSModel.userFactors`` and warm + zero-shot items).
    k : int
    exclude : DataFrame, optional
        ``(exclude_user_col, exclude_item_col)`` pairs never to recommend (e.g. the training
        interactions, as ``filter_already_liked_items``).

    Returns
    -------
    DataFrame ``(user_col long, recommendations array<struct<item long, score float>>)``,
    best first (ties by item id), at most ``k`` per user (fewer when fewer remain).
    """
    require_pyspark()
    if not (isinstance(k, (int, np.integer)) and k > 0):
        raise ValueError(f"k must be a positive integer; received {k!r}")
    spark = user_factors.sparkSession
    nu = user_factors.count()
    ni = item_factors.count()
    schema = T.StructType([
        T.StructField(user_col, T.LongType(), False),
        T.StructField("recommendations", T.ArrayType(T.StructType([
            T.StructField("item", T.LongType(), False), T.StructField("score", T.FloatType(), False)]), False), False)])
    if nu == 0 or ni == 0:
        return spark.createDataFrame([], schema)
    nub = max(1, math.ceil(nu / block_size))
    nib = max(1, math.ceil(ni / block_size))

    def blocks(df, id_col, nb):
        sdf = df.select(F.col(id_col).cast("long").alias("__id"), F.col(factors_col).alias("__f"),
                        F.pmod(F.xxhash64(F.col(id_col).cast("long")), F.lit(nb)).alias("__b"))
        fn = _keyed_blocks_fn(("__id", ids_from_arrow), ("__f", factors_from_arrow))
        return blobs_to_rdd(sdf.mapInArrow(fn, BLOB_SCHEMA)).reduceByKey(_concat_blocks, nb).mapValues(_sort_block)

    ublocks = blocks(user_factors, user_id_col, nub)
    iblocks = blocks(item_factors, item_id_col, nib)
    if exclude is not None:
        ex = exclude.select(F.col(exclude_user_col).cast("long").alias("__u"),
                            F.col(exclude_item_col).cast("long").alias("__i"),
                            F.pmod(F.xxhash64(F.col(exclude_user_col).cast("long")), F.lit(nub)).alias("__b"))
        fn = _keyed_blocks_fn(("__u", ids_from_arrow), ("__i", ids_from_arrow))
        ex = blobs_to_rdd(ex.mapInArrow(fn, BLOB_SCHEMA)).reduceByKey(_concat_blocks, nub)
        ublocks = ublocks.leftOuterJoin(ex, nub)
    else:
        ublocks = ublocks.mapValues(lambda v: (v, None))
    scored = ublocks.cartesian(iblocks).map(_score_pair(int(k))).reduceByKey(_merge_top(int(k)), nub)
    rows = scored.flatMap(_to_rows())
    return spark.createDataFrame(rows, schema)

