"""The local default fit, content-constrained ALS (item vectors ``x_i W``), distributed.

See :class:`~coldstart.integrations.spark.recommender.SparkColdStartRecommender` for the recipe.
The interactions are grouped twice and cached: by item (item blocks: the items' attributes and
confidences) and by user (user blocks: the users' confidences and the attribute rows of their
items, so that ``X W`` is computed where the users are, without a shuffle per sweep).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from coldstart.core.constants import CC_INIT_ITERS, CC_MAP_ITERS
from coldstart.core.factorization import auto_alpha
from coldstart.core.solvers import gram_eigen, solve_rows
from coldstart.core.weighting import AttributeWeighting
from coldstart.integrations.spark.arrow import (
    BLOB_SCHEMA,
    batched_blocks,
    blob,
    blobs_to_rdd,
    check_columns,
    column,
    csr_from_arrow,
    ids_from_arrow,
)
from coldstart.integrations.spark.distributed import (
    DistributedRidgeCG,
    add_stats,
    add_tuples,
    attr_stats,
    fit_error,
    fitted_weighting,
    pair_matrix,
    refine_on_interactions,
    release,
    ship,
    shipped_value,
    stack_rows,
    summed_interactions,
    weighted_block,
)

try:  # pragma: no cover - exercised only without pyspark (require_pyspark says what is missing)
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError:  # pragma: no cover
    pass


def _init_rows(ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Starting vectors uniform(0, 0.01), one generator per id (the same on every partition)."""
    out = np.empty((ids.size, k), np.float32)
    for j, i in enumerate(ids.tolist()):
        out[j] = np.random.default_rng([int(seed), int(i)]).random(k, dtype=np.float32) * np.float32(0.01)
    return out


def _cc_item_blocks_fn(alpha: float, block_rows: int):
    """mapInArrow: rows ``(__id, __x, __p list<struct<u, r>>)`` of the warm items → pickled item
    blocks: ids, raw attributes, ``C`` (items × the block's pairs, confidences ``alpha * r`` in
    float32, pairs in user order within an item) and the pairs' user ids ``u``."""

    def emit(key, parts):
        X, width = stack_rows([(p[1], p[2]) for p in parts])
        ids = np.concatenate([p[0] for p in parts])
        lens = np.concatenate([p[3] for p in parts])
        u = np.concatenate([p[4] for p in parts])
        r = np.concatenate([p[5] for p in parts])
        C, order = pair_matrix(lens, u, (alpha * r).astype(np.float32))
        return blob(key, {"ids": ids, "X": X, "width": width, "C": C, "u": u[order]})

    def read(b):
        X, width = csr_from_arrow(column(b, "__x"))
        col = column(b, "__p")
        lens = col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = col.flatten()
        u = flat.field("u").to_numpy(zero_copy_only=False).astype(np.int64)
        r = flat.field("r").to_numpy(zero_copy_only=False).astype(np.float64)
        return ids_from_arrow(column(b, "__id")), X, width, lens, u, r

    def fn(batches):
        yield from batched_blocks(batches, read, emit, block_rows)

    return fn


def _cc_user_blocks_fn(alpha: float):
    """mapInArrow: a partition of ``(u, __id, r, __x)`` rows (all of its users' interactions) →
    one pickled user block: sorted user ids, ``C`` (users × the block's distinct items,
    confidences) and those items' raw attribute rows, so that a sweep computes the items'
    vectors ``X W`` where the users are."""

    def fn(batches):
        us, its, rs, xs = [], [], [], []
        for b in batches:
            if b.num_rows == 0:
                continue
            us.append(ids_from_arrow(column(b, "u")))
            its.append(ids_from_arrow(column(b, "__id")))
            rs.append(column(b, "r").to_numpy(zero_copy_only=False).astype(np.float64))
            xs.append(csr_from_arrow(column(b, "__x")))
        if not us:
            return
        u, it, r = np.concatenate(us), np.concatenate(its), np.concatenate(rs)
        X, width = stack_rows(xs)
        users, uinv = np.unique(u, return_inverse=True)
        items, first, iinv = np.unique(it, return_index=True, return_inverse=True)
        C = sp.csr_matrix(((alpha * r).astype(np.float32), (uinv, iinv)), shape=(users.size, items.size))
        C.sort_indices()
        yield blob(0, {"users": users, "items": items, "X": X[first], "width": width, "C": C})

    return fn


def _item_vectors(blk: dict, W: np.ndarray | None, k: int, seed: int, ids_key: str) -> np.ndarray:
    """A block's item vectors: ``X W``, or the random start (ids ``blk[ids_key]``) when ``W`` is None."""
    if W is None:
        return _init_rows(blk[ids_key], k, seed)
    return np.asarray(blk["X"] @ W[blk["cols"]], dtype=np.float32)


def fit_content_constrained(interactions: "DataFrame", item_attributes: "DataFrame", *, user_col: str,
                             item_col: str, rating_col: str | None, attributes_col: str, attributes_id_col: str,
                             k: int, reg: float, alpha: Any, iterations: int, map_alpha: float,
                             weighting: AttributeWeighting | None, seed: int, num_partitions: int | None,
                             block_rows: int, depth: int, item_cg_steps: int | None) -> dict:
    """The local content-constrained fit on Spark (see
    :class:`~coldstart.integrations.spark.recommender.SparkColdStartRecommender`). Returns the fitted
    pieces: ``user_ids``, ``U`` (driver, users with interactions), ``item_factors`` (DataFrame of
    the warm items), ``weighting``, ``W`` (n_features, k), ``alpha`` (the confidence scale used)
    and counts."""
    check_columns([(interactions, [user_col, item_col] + ([rating_col] if rating_col else []), "interactions"),
                   (item_attributes, [attributes_id_col, attributes_col], "item_attributes")])
    spark = interactions.sparkSession
    sc = spark.sparkContext
    summed = summed_interactions(interactions, user_col, item_col, rating_col).persist(StorageLevel.MEMORY_AND_DISK)
    cat = item_attributes.select(F.col(attributes_id_col).cast("long").alias("__id"),
                                 F.col(attributes_col).alias("__x"))
    r, u, i = F.col("r"), F.col("u"), F.col("__id")
    bad_id = u.isNull() | i.isNull() | (u < 0) | (i < 0)
    bad_r = r.isNull() | F.isnan(r) | (r < 0) | (r == float("inf"))
    cached: list = [summed]
    shipped: list = []
    try:
        agg = summed.agg(F.count(F.when(r > 0, 1)).alias("n"), F.max(u).alias("mu"),
                         F.countDistinct(F.when(r > 0, u)).alias("au"), F.countDistinct(F.when(r > 0, i)).alias("ai"),
                         F.percentile_approx(F.when(r > 0, r.cast("float")), 0.5, 1_000_000).alias("median_r"),
                         F.sum(F.when(bad_id, 1).otherwise(0)).alias("bad_id"),
                         F.sum(F.when(bad_r, 1).otherwise(0)).alias("bad_r")).first()
        if agg["bad_id"]:
            raise ValueError(f"interactions hold {agg['bad_id']} rows with a null or negative {user_col!r} or "
                             f"{item_col!r}; expected non-negative integer ids")
        if agg["bad_r"]:
            raise ValueError(f"interactions hold {agg['bad_r']} negative, null or non-finite "
                             f"{'ratings' if rating_col is None else repr(rating_col) + ' values'}")
        if agg["n"] == 0:
            raise ValueError("interactions hold no pair with a positive rating; expected some (user, item) pairs")
        n_users = int(agg["mu"]) + 1
        if alpha == "auto":  # ColdStartRecommender._alpha_for: over the users and items with interactions
            alpha_ = auto_alpha(agg["n"], int(agg["au"]), int(agg["ai"]), typical_weight=float(agg["median_r"] or 1.0))
        else:
            alpha_ = float(alpha)
        idf = summed.groupBy("__id").agg(F.collect_list(F.struct("u", "r")).alias("__p")).join(cat, "__id", "left")
        n_parts = int(num_partitions) if num_partitions else sc.defaultParallelism
        if num_partitions:
            idf = idf.repartition(n_parts)
        raw_i = blobs_to_rdd(idf.mapInArrow(_cc_item_blocks_fn(alpha_, block_rows), BLOB_SCHEMA)).persist(
            StorageLevel.MEMORY_AND_DISK)
        udf = summed.join(cat, "__id", "left").select("u", "__id", "r", "__x").repartition(n_parts, "u")
        raw_u = blobs_to_rdd(udf.mapInArrow(_cc_user_blocks_fn(alpha_), BLOB_SCHEMA)).persist(
            StorageLevel.MEMORY_AND_DISK)
        cached += [raw_i, raw_u]
        chk = raw_i.map(lambda kb: {"n": int(kb[1]["ids"].size), "width": max(kb[1]["width"], kb[1]["X"].shape[1]),
                                    "bad": int(np.count_nonzero(~np.isfinite(kb[1]["X"].data)))}) \
            .treeReduce(add_stats, depth)
        d = int(chk["width"])
        if d <= 0:
            raise ValueError("no item with interactions has attributes (every attribute vector is null or empty)")
        if chk["bad"]:
            raise ValueError("item_attributes contain NaN or infinite values; expected finite numbers")
        weighting_ = None
        if weighting is not None:  # fitted on the warm items, as ColdStartRecommender.fit
            weighting_ = fitted_weighting(
                weighting, raw_i.map(lambda kb: attr_stats(kb[1]["X"])).treeReduce(add_stats, depth), d)
        w_bc = sc.broadcast(weighting_)
        shipped.append(w_bc)
        iblocks = raw_i.mapValues(lambda b: weighted_block(b, w_bc.value, d)).persist(StorageLevel.MEMORY_AND_DISK)
        ublocks = raw_u.mapValues(lambda b: weighted_block(b, w_bc.value, d)).persist(StorageLevel.MEMORY_AND_DISK)
        cached += [iblocks, ublocks]
        iblocks.count(), ublocks.count()
        raw_i.unpersist(), raw_u.unpersist()

        def item_gram(W):
            """``Σ_i m_i m_iᵀ`` over the warm items, m = x W (or the random start)."""
            Wv = ship(sc, W)

            def fn(it):
                W_ = shipped_value(Wv)
                acc = np.zeros((k, k))
                for _, blk in it:
                    V = _item_vectors(blk, W_, k, seed, "ids")
                    acc += (V.T @ V).astype(np.float64)
                yield acc

            try:
                return iblocks.mapPartitions(fn).treeReduce(np.add, depth)
            finally:
                release(Wv)

        def user_step(W):
            """The users' exact half-step against the warm items' ``X W`` → (user ids, U) on the driver."""
            G = item_gram(W)
            Wv = ship(sc, W)

            def fn(it):
                W_ = shipped_value(Wv)
                for _, blk in it:
                    yield blk["users"], solve_rows(_item_vectors(blk, W_, k, seed, "items"), blk["C"], reg, G)

            try:
                parts = ublocks.mapPartitions(fn).collect()
            finally:
                release(Wv)
            ids = np.concatenate([p[0] for p in parts])
            U = np.zeros((n_users, k), np.float32)
            U[ids] = np.concatenate([p[1] for p in parts])
            if not np.all(np.isfinite(U)):
                raise FloatingPointError("the content-constrained ALS produced NaN/inf user factors; raise "
                                         "regularization or lower alpha")
            return np.sort(ids), U

        def item_step(U, W, steps):
            """The warm items' half-step against U (exact, or ``steps`` CG steps from X W): blocks
            with ``Y``, the new vectors. Returns (RDD, shipped arrays to release after use)."""
            G = (U.T @ U).astype(np.float64)
            Uv, Wv = ship(sc, U), ship(sc, W)

            def fn(it):
                U_, W_ = shipped_value(Uv), shipped_value(Wv)
                for key, blk in it:
                    x0 = None if steps is None else _item_vectors(blk, W_, k, seed, "ids")
                    yield key, {**blk, "Y": solve_rows(U_[blk["u"]], blk["C"], reg, G, x0, steps)}

            return iblocks.mapPartitions(fn, preservesPartitioning=True).persist(StorageLevel.MEMORY_AND_DISK), \
                [Uv, Wv]

        # one plain sweep from the random start, then the ridge start of W on the item vectors
        _, U = user_step(None)
        yblocks, sh = item_step(U, None, None)
        solver = DistributedRidgeCG(sc, yblocks, d, 1.0, False, depth)
        n_iter = solver.solve(CC_INIT_ITERS, 0.0)
        W = solver.B.copy()
        yblocks.unpersist()
        release(*sh)
        for _ in range(int(iterations)):
            _, U = user_step(W)
            evf, Q, lam = gram_eigen(U.T @ U, float(map_alpha))
            Uv = ship(sc, U)
            ut = iblocks.mapValues(
                lambda b: {**b, "Ut": np.ascontiguousarray(shipped_value(Uv)[b["u"]] @ Q, np.float32)}
            ).persist(StorageLevel.MEMORY_AND_DISK)
            try:
                W = refine_on_interactions(sc, ut, d, W, evf, Q, lam, CC_MAP_ITERS, depth)
            finally:
                ut.unpersist()
                release(Uv)
            n_iter += CC_MAP_ITERS
        user_ids, U = user_step(W)
        vblocks, sh = item_step(U, W, item_cg_steps)
        shipped += sh
        cached.append(vblocks)
        Wv = ship(sc, W)
        shipped.append(Wv)
        total, count, sq, n_rows = vblocks.map(
            lambda kb: fit_error(kb[1]["Y"], _item_vectors(kb[1], shipped_value(Wv), k, seed, "ids"))
        ).treeReduce(add_tuples, depth)
        if not np.isfinite(total):
            raise FloatingPointError("the content-constrained ALS produced NaN/inf item factors; raise "
                                     "regularization or lower alpha")
        schema = T.StructType([T.StructField("id", T.LongType(), False),
                               T.StructField("features", T.ArrayType(T.FloatType(), False), False)])
        rows = vblocks.flatMap(lambda kb: zip(kb[1]["ids"].tolist(), kb[1]["Y"].tolist()))
        item_factors = spark.createDataFrame(rows, schema).localCheckpoint(eager=True)
        n_warm = int(chk["n"])
    finally:
        for c in cached:
            c.unpersist()
        release(*shipped)
    return {"user_ids": user_ids, "U": U[user_ids], "item_factors": item_factors, "weighting": weighting_,
            "W": W, "alpha": alpha_, "n_features": d, "n_warm": n_warm, "n_pairs": int(agg["n"]),
            "n_iter": n_iter, "msd": total / max(count, 1), "pred_rms": float(np.sqrt(sq / max(n_rows, 1)))}

