"""SparkAttributeMap: the local model's attribute weighting and attribute → factor map fitted over
Spark partitions, and its zero-shot transform.

The weighting statistics are one aggregation over the partitions, ``UᵀU`` another; the
interactions are joined with their users' factor vectors and grouped by item into cached item
blocks; the solvers are the local ones (:mod:`coldstart.integrations.spark.distributed`). The
fitted state *is* a local ``AttributeWeighting`` and ``RidgeMap``, and the partitions run the
local ``transform``/``predict`` code, so zero-shot vectors are the local ones.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
from sklearn.base import clone

from coldstart.core.constants import CC_MAP_ALPHA, DEFAULT_ZERO_SHOT_SCALE, PLUGIN_INIT_ITERS, PLUGIN_MAP_ITERS
from coldstart.core.mapping import RidgeMap
from coldstart.core.model import ColdStartRecommender
from coldstart.core.solvers import gram_eigen
from coldstart.core.weighting import AttributeWeighting
from coldstart.integrations.spark.arrow import (
    BLOB_SCHEMA,
    batched_blocks,
    blob,
    blobs_to_rdd,
    check_columns,
    column,
    csr_from_arrow,
    factor_array,
    factors_from_arrow,
    require_pyspark,
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
    stack_rows,
    summed_interactions,
    weighted_block,
)

try:  # pragma: no cover - exercised only without pyspark (require_pyspark says what is missing)
    import pyarrow as pa
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError:  # pragma: no cover
    pass


def local_default(name: str):
    """The local model's default of ``name``; for the settings the local default chooses on an
    internal split ("auto"), the fixed values it falls back to (Spark does not self-tune)."""
    value = ColdStartRecommender().get_params()[name]
    if isinstance(value, str) and value == "auto":
        fixed = {"map_alpha": CC_MAP_ALPHA, "zero_shot_scale": DEFAULT_ZERO_SHOT_SCALE, "free_sweeps": 0}
        value = fixed.get(name, value)
    return value


def _catalog_stats_fn(attributes_col: str):
    """mapInArrow: a partition of attribute rows → one pickled statistics dict."""

    def fn(batches):
        acc = None
        for b in batches:
            if b.num_rows == 0:
                continue
            X, width = csr_from_arrow(column(b, attributes_col))
            st = attr_stats(X)
            st["width"] = max(width, X.shape[1])
            acc = add_stats(acc, st)
        if acc is not None:
            yield blob(0, acc)

    return fn


def _pairs_from_arrow(col) -> tuple:
    """A ``list<struct<u long, r double, f array<float>>>`` column (an item's interactions, each
    with its user's factor vector; null f: a user without factors) → (pairs per row (n,),
    user ids, ratings (nnz,), user vectors (nnz, k) or None when some are null, nulls)."""
    lens = col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = col.flatten()
    f = dict(zip([flat.type.field(i).name for i in range(flat.type.num_fields)], flat.flatten()))
    u = f["u"].fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    r = f["r"].fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
    nulls = int(f["f"].null_count)
    return lens, u, r, (None if nulls else factors_from_arrow(f["f"])), nulls


def _pair_block(parts: list, scale: float, Q: np.ndarray) -> dict:
    """One block's interactions in the layout of the local map's blocks: ``C`` (n_rows,
    n_pairs) CSR of confidences ``scale * rating`` whose columns are the block's pairs (in user
    order within a row, like the local item × user matrix), and ``Ut`` (n_pairs, k), the pairs'
    user vectors in the eigenbasis ``Q`` of ``U'U``."""
    lens = np.concatenate([p[0] for p in parts])
    u = np.concatenate([p[1] for p in parts])
    r = np.concatenate([p[2] for p in parts])
    nulls = sum(p[4] for p in parts)
    ks = {p[3].shape[1] for p in parts if p[3] is not None and p[3].shape[0]}
    stats = {"pairs": int(u.size), "bad_u": nulls, "bad_r": int(np.count_nonzero(~np.isfinite(r) | (r < 0))),
             "ku": ks}
    if nulls or stats["bad_r"] or ks - {Q.shape[0]}:
        return {**stats, "C": None, "Ut": None}  # refused on the driver (_raw_check)
    ups = [p[3] for p in parts if p[3].shape[0]]
    Up = np.concatenate(ups) if ups else np.zeros((0, Q.shape[0]), np.float32)
    # the local (scale * user_items), float32
    C, order = pair_matrix(lens, u, r.astype(np.float32) * np.float32(scale))
    return {**stats, "C": C, "Ut": np.ascontiguousarray(Up[order] @ Q, dtype=np.float32)}


def _raw_blocks_fn(factors_col: str, attributes_col: str, weight_col: str | None, block_rows: int,
                   pairs: tuple | None = None):
    """mapInArrow: a partition of (factors, attributes[, weight][, pairs]) rows → pickled raw blocks.

    ``pairs``: ``(column, confidence scale, Q)``, the items' interactions (:func:`_pairs_from_arrow`)
    made into each block's ``C`` and ``Ut`` (:func:`_pair_block`).
    """

    def emit(key, parts):
        X, width = stack_rows([(p[0], p[1]) for p in parts])
        block = {"X": X, "width": width, "Y": np.concatenate([p[2] for p in parts]),
                 "w": np.concatenate([p[3] for p in parts])}
        if pairs is not None:
            block.update(_pair_block([p[4] for p in parts], pairs[1], pairs[2]))
        return blob(key, block)

    def read(b):
        X, width = csr_from_arrow(column(b, attributes_col))
        w = (np.ones(b.num_rows) if weight_col is None else
             column(b, weight_col).fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64))
        return (X, width, factors_from_arrow(column(b, factors_col)), w,
                None if pairs is None else _pairs_from_arrow(column(b, pairs[0])))

    def fn(batches):
        yield from batched_blocks(batches, read, emit, block_rows)

    return fn


def _raw_check(block: dict) -> dict:
    """A raw block's checks and its weighting statistics (:func:`attr_stats`: ``n``, ``bad``...)."""
    X, Y, w = block["X"], block["Y"], block["w"]
    return {**attr_stats(X), "width": max(block["width"], X.shape[1]),
            "bad_y": int(np.count_nonzero(~np.isfinite(Y))),
            "bad_w": int(np.count_nonzero(~np.isfinite(w) | (w < 0))),
            "k": {Y.shape[1]} if Y.shape[0] else set(),
            "pairs": block.get("pairs", 0), "bad_u": block.get("bad_u", 0), "bad_r": block.get("bad_r", 0),
            "ku": block.get("ku", set())}


def _msd_part(coef_bc, intercept_bc):
    """Per partition: :func:`fit_error` of the map's float32 predictions."""

    def fn(blocks):
        coef, b = coef_bc.value, intercept_bc.value
        acc = (0.0, 0, 0.0, 0)
        for _, blk in blocks:
            acc = add_tuples(acc, fit_error(blk["Y"], np.asarray(blk["X"] @ coef[blk["cols"]]) + b))
        yield acc

    return fn


def _gram_fn(factors_col: str):
    """mapInArrow: a partition of user factor rows → one pickled ``{k: UᵀU}`` (float32 products
    summed in float64), the row count and the non-finite entries."""

    def fn(batches):
        acc: dict = {"G": {}, "n": 0, "bad": 0}
        for b in batches:
            if b.num_rows == 0:
                continue
            U = factors_from_arrow(column(b, factors_col))
            acc["n"] += U.shape[0]
            acc["bad"] += int(np.count_nonzero(~np.isfinite(U)))
            k = U.shape[1]
            acc["G"][k] = acc["G"].get(k, 0.0) + (U.T @ U).astype(np.float64)
        yield blob(0, acc)

    return fn


def _add_gram(a: dict, b: dict) -> dict:
    G = dict(a["G"])
    for k, g in b["G"].items():
        G[k] = G.get(k, 0.0) + g
    return {"G": G, "n": a["n"] + b["n"], "bad": a["bad"] + b["bad"]}


def check_weighting(weighting) -> AttributeWeighting | None:
    """``weighting`` ("auto", None or an AttributeWeighting) as an unfitted template or None."""
    if isinstance(weighting, str):
        if weighting != "auto":
            raise ValueError(f"weighting must be 'auto', None or an AttributeWeighting; received {weighting!r}")
        return AttributeWeighting()
    if weighting is None:
        return None
    if not isinstance(weighting, AttributeWeighting):
        raise TypeError("the Spark map supports coldstart.AttributeWeighting only; received "
                        f"{type(weighting).__name__}")
    return clone(weighting)


def _check_mapper(mapper, alpha: float | None) -> RidgeMap:
    if mapper is None:
        return RidgeMap() if alpha is None else RidgeMap(alpha=alpha)
    if not isinstance(mapper, RidgeMap):
        raise TypeError(f"the Spark map supports coldstart.RidgeMap only; received {type(mapper).__name__}")
    return clone(mapper)


class _MapEmbedder:
    """Picklable ``weighting.transform`` + ``mapper.predict`` for the partitions."""

    def __init__(self, weighting, mapper):
        self.weighting = None if weighting is None else (weighting.get_params(), weighting.get_state())
        self.mapper = (mapper.get_params(), mapper.get_state())

    def __call__(self, X):
        if not hasattr(self, "_objs"):
            wt = None if self.weighting is None else AttributeWeighting.from_state(*self.weighting)
            self._objs = (wt, RidgeMap.from_state(*self.mapper))
        wt, mp = self._objs
        return np.asarray(mp.predict(wt.transform(X) if wt is not None else X), dtype=np.float32)

    def __getstate__(self):
        return {"weighting": self.weighting, "mapper": self.mapper}


def embed_frame(df: "DataFrame", embedder, n_features: int, *, attributes_col: str, output_col: str,
                 keep: Iterable[str] | None) -> "DataFrame":
    """``df`` → columns ``keep`` + ``output_col`` (array<float>) = ``embedder(attributes CSR)``."""
    if attributes_col not in df.columns:
        raise ValueError(f"item_attributes lacks the column {attributes_col!r}; it has {df.columns}")
    keep = [c for c in df.columns if c != attributes_col] if keep is None else list(keep)
    sdf = df.select(*keep, attributes_col)
    schema = T.StructType([sdf.schema[c] for c in keep] +
                          [T.StructField(output_col, T.ArrayType(T.FloatType(), False), False)])
    bc = df.sparkSession.sparkContext.broadcast(embedder)

    def fn(batches):
        emb = bc.value
        for b in batches:
            X, _ = csr_from_arrow(column(b, attributes_col), n_features)
            V = np.asarray(emb(X), dtype=np.float32)
            yield pa.RecordBatch.from_arrays([column(b, c) for c in keep] + [factor_array(V)],
                                             names=keep + [output_col])

    return sdf.mapInArrow(fn, schema)


def _item_pairs(interactions: "DataFrame", user_factors: "DataFrame", user_col: str, item_col: str,
                rating_col: str | None, id_col: str, factors_col: str) -> "DataFrame":
    """``(__id, __p)``: per item, its interactions ``list<struct<u, r, f>>`` (user id, summed
    rating, the user's factor vector; null when the user has none), in Spark."""
    uf = user_factors.select(F.col(id_col).cast("long").alias("u"), F.col(factors_col).alias("f"))
    return (summed_interactions(interactions, user_col, item_col, rating_col).join(uf, on="u", how="left")
            .groupBy("__id").agg(F.collect_list(F.struct("u", "r", "f")).alias("__p")))


class SparkAttributeMap:
    """Attribute weighting + attribute → factor map fitted over Spark partitions.

    Two map families, those of the local model:

    * without ``interactions`` (or with a ``mapper``): the ridge map, the same model as the local
      ``AttributeWeighting().fit(X_warm)`` followed by ``RidgeMap().fit(weighting.transform(X_warm),
      V_warm)`` (same formulas, intercept, implicit centring, penalty, float32
      Jacobi-preconditioned CG and stopping rule);
    * with ``interactions`` and ``user_factors``: the local plug-in map
      (``ColdStartRecommender(collaborative=<fitted>)``): a ridge start on the item factors
      (``RidgeMap(alpha=1, fit_intercept=False)``, ``PLUGIN_INIT_ITERS`` CG steps), then
      ``PLUGIN_MAP_ITERS`` CG steps of :func:`coldstart.core.solvers.fit_map_on_interactions`, the
      map refined on the implicit-ALS loss with the users fixed; no intercept.

    Both run the local code on cached item blocks (the local CG loops, the local block products)
    with every data product summed over the partitions; only the order of floating-point
    sums differs from the local fit.

    Parameters
    ----------
    alpha : float, optional
        Penalty of the map; ignored when ``mapper`` is given. Ridge family: ``RidgeMap``'s
        ``alpha`` (default 0.5). Refined family: relative to the mean eigenvalue of ``UᵀU``, as
        ``ColdStartRecommender(map_alpha=...)`` (default: its ``map_alpha``, 3.0).
    weighting : "auto", None or AttributeWeighting
        As ``ColdStartRecommender(weighting=...)``.
    mapper : RidgeMap, optional
        Ridge family only: template whose ``alpha``, ``fit_intercept``, ``tol`` and
        ``max_iter`` are used.
    num_partitions : int, optional
        Repartition the joined training data into this many partitions (default: as the join
        leaves it). Each conjugate-gradient iteration runs one task per partition.
    block_rows : int
        Rows per cached block inside a partition.
    tree_depth : int
        Depth of the ``treeReduce`` that sums the partitions' products.

    Attributes
    ----------
    weighting_ : fitted AttributeWeighting or None
    mapper_ : fitted RidgeMap
        Refined family: ``RidgeMap(alpha=alpha, fit_intercept=False)`` holding the refined
        coefficients and a zero intercept, as the local plug-in model's ``mapper_``.
    refined_ : bool or None
        Whether the map was refined on the interactions (the plug-in family); None when
        imported with :meth:`from_local`.
    train_msd_ : float
        Mean squared difference between the training factors and the map's predictions.
    pred_rms_ : float or None
        RMS length of the map's predictions for the training items: the reference length of
        the recommender's ``zero_shot_norm_power`` (the local model's ``content_norm_``).
    n_features_in_, n_factors_, n_train_items_ : int
    n_iter_ : int
        CG steps run (refined family: the ridge start's plus the refinement's).
    n_train_pairs_ : int
        (user, item) pairs the refinement used (0 for the ridge family, -1 when imported).
    """

    def __init__(self, alpha: float | None = None, weighting: Any = "auto", mapper: RidgeMap | None = None,
                 num_partitions: int | None = None, block_rows: int = 65536, tree_depth: int = 2):
        self.alpha = alpha
        self.weighting = weighting
        self.mapper = mapper
        self.num_partitions = num_partitions
        self.block_rows = block_rows
        self.tree_depth = tree_depth

    # ------------------------------------------------------------------ fit
    def fit(self, item_factors: "DataFrame", item_attributes: "DataFrame", *, id_col: str = "id",
            factors_col: str = "features", attributes_col: str = "attributes",
            attributes_id_col: str | None = None, weight_col: str | None = None,
            weighting_on: str = "train", interactions: "DataFrame | None" = None,
            user_factors: "DataFrame | None" = None, confidence_scale: float = 1.0, user_col: str = "user",
            item_col: str = "item", rating_col: str | None = None) -> "SparkAttributeMap":
        """Fit on the items of ``item_factors`` (the warm items) and their attributes.

        Parameters
        ----------
        item_factors : DataFrame
            ``id_col`` (integer) and ``factors_col`` (array of numbers or ML vector), e.g.
            ``ALSModel.itemFactors``. Optionally ``weight_col``, a non-negative weight per item
            (``RidgeMap.fit(sample_weight=...)``; ridge family only).
        item_attributes : DataFrame
            The catalog: ``attributes_id_col`` (default ``id_col``) and ``attributes_col``
            (Spark ML ``SparseVector``/``DenseVector``, or an array of numbers), one row per
            item; a null vector is an item without attributes (an all-zero row).
        weighting_on : {"train", "catalog"}
            Rows the weighting statistics come from: the training items (those of
            ``item_factors``, as ``ColdStartRecommender.fit`` does), or every row of
            ``item_attributes``.
        interactions : DataFrame, optional
            ``user_col``, ``item_col`` and optionally ``rating_col`` (default: every
            interaction weighs 1): refine the map on the implicit-ALS loss (the plug-in
            family). Duplicate (user, item) rows are summed; interactions of items not in
            ``item_factors`` are ignored.
        user_factors : DataFrame
            Required with ``interactions``: ``id_col`` and ``factors_col`` as ``item_factors``
            (e.g. ``ALSModel.userFactors``), every user of ``interactions`` included.
        confidence_scale : float
            Confidence of an interaction = ``confidence_scale * rating`` (implicit's convention,
            the local model's ``alpha``). For Spark ALS factors, ``1 + alpha`` (Spark's
            confidence of a rating 1) is the consistent choice;
            :class:`SparkColdStartRecommender` passes its ``fold_in_alpha``.
        """
        require_pyspark()
        weighting = check_weighting(self.weighting)
        refined = interactions is not None
        if refined:
            if self.mapper is not None:
                raise ValueError("mapper selects the ridge family, which does not use interactions; pass "
                                 "interactions without a mapper, or a mapper without interactions")
            if user_factors is None:
                raise ValueError("user_factors is required with interactions (the users the map is "
                                 "refined against)")
            if weight_col is not None:
                raise ValueError("weight_col applies to the ridge family only; the refined map weighs "
                                 "items by their interactions")
            if not (np.isscalar(confidence_scale) and np.isfinite(confidence_scale) and confidence_scale > 0):
                raise ValueError(f"confidence_scale must be a positive number; received {confidence_scale!r}")
            lam_rel = local_default("map_alpha") if self.alpha is None else self.alpha
            if not (np.isscalar(lam_rel) and lam_rel >= 0):
                raise ValueError(f"alpha must be a non-negative number; received {lam_rel!r}")
            mapper = RidgeMap(alpha=lam_rel, fit_intercept=False)
        else:
            if user_factors is not None:
                raise ValueError("user_factors is used only with interactions; pass both or neither")
            mapper = _check_mapper(self.mapper, self.alpha)
            if not (np.isscalar(mapper.alpha) and mapper.alpha >= 0):
                raise ValueError(f"alpha must be a non-negative number; received {mapper.alpha!r}")
        if weighting_on not in ("catalog", "train"):
            raise ValueError(f"weighting_on must be 'catalog' or 'train'; received {weighting_on!r}")
        aid = attributes_id_col or id_col
        frames = [(item_factors, [id_col, factors_col] + ([weight_col] if weight_col else []), "item_factors"),
                  (item_attributes, [aid, attributes_col], "item_attributes")]
        if refined:
            frames += [(interactions, [user_col, item_col] + ([rating_col] if rating_col else []), "interactions"),
                       (user_factors, [id_col, factors_col], "user_factors")]
        check_columns(frames)
        sc = item_factors.sparkSession.sparkContext
        depth = max(int(self.tree_depth), 1)
        left = item_factors.select(F.col(id_col).alias("__id"), F.col(factors_col).alias("__y"),
                                   *([F.col(weight_col).cast("double").alias("__w")] if weight_col else []))
        right = item_attributes.select(F.col(aid).alias("__id"), F.col(attributes_col).alias("__x"))
        joined = left.join(right, on="__id", how="left")
        pairs = None
        if refined:
            ev, Q, lam = self._user_eigenbasis(user_factors, id_col, factors_col, lam_rel, depth)
            joined = joined.join(_item_pairs(interactions, user_factors, user_col, item_col, rating_col, id_col,
                                             factors_col), on="__id", how="left")
            pairs = ("__p", float(confidence_scale), Q)
        joined = joined.drop("__id")
        if self.num_partitions:
            joined = joined.repartition(int(self.num_partitions))
        fn = _raw_blocks_fn("__y", "__x", "__w" if weight_col else None, int(self.block_rows), pairs)
        raw = blobs_to_rdd(joined.mapInArrow(fn, BLOB_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK)
        bcs: list = []
        weighted = None
        try:
            chk = raw.map(lambda kb: _raw_check(kb[1])).treeReduce(add_stats, depth)
            if chk["bad_y"]:
                raise ValueError("item factors contain NaN or infinite values; expected finite targets")
            if chk["bad_w"]:
                raise ValueError(f"{weight_col} has {chk['bad_w']} negative, null or non-finite weights")
            if len(chk["k"]) != 1:
                raise ValueError(f"item factors have different lengths {sorted(chk['k'])}; expected one")
            k = next(iter(chk["k"]))
            if refined:
                if chk["bad_u"]:
                    raise ValueError(f"interactions hold {chk['bad_u']} (user, item) pairs whose {user_col!r} has no "
                                     "row in user_factors (or is null); expected factors for every user")
                if chk["bad_r"]:
                    raise ValueError(f"interactions hold {chk['bad_r']} negative, null or non-finite "
                                     f"{'ratings' if rating_col is None else repr(rating_col) + ' values'}")
                if chk["ku"] - {k} or Q.shape[0] != k:
                    raise ValueError(f"user factors have length {Q.shape[0]}, item factors {k}; expected one")
            if weighting_on == "catalog":
                st = blobs_to_rdd(right.drop("__id").mapInArrow(_catalog_stats_fn("__x"), BLOB_SCHEMA)) \
                    .values().treeReduce(add_stats, depth)
                d = int(max(st["width"], st["df"].shape[0], chk["width"]))
            else:  # the training rows' statistics came with the checks
                d, st = int(chk["width"]), chk
            if d <= 0:
                raise ValueError("no item has attributes (every attribute vector is null or empty)")
            if st["bad"] or chk["bad"]:
                raise ValueError("item_attributes contain NaN or infinite values; expected finite numbers")
            weighting_ = fitted_weighting(weighting, st, d)
            w_bc = sc.broadcast(weighting_)
            bcs.append(w_bc)
            weighted = raw.mapValues(lambda b: weighted_block(b, w_bc.value, d)).persist(
                StorageLevel.MEMORY_AND_DISK)
            if refined:  # the local plug-in map: ridge start, then the refinement on the ALS loss
                solver = DistributedRidgeCG(sc, weighted, d, 1.0, False, depth)
                raw.unpersist()
                n_iter = solver.solve(PLUGIN_INIT_ITERS, 0.0)
                coef = refine_on_interactions(sc, weighted, d, solver.B, ev, Q, lam, PLUGIN_MAP_ITERS, depth)
                intercept = np.zeros(k, np.float32)
                n_iter += PLUGIN_MAP_ITERS
            else:
                solver = DistributedRidgeCG(sc, weighted, d, float(mapper.alpha), bool(mapper.fit_intercept), depth)
                raw.unpersist()
                n_iter = solver.solve(int(mapper.max_iter), float(mapper.tol))
                coef, intercept = solver.B, solver.intercept()
            coef_bc, b_bc = sc.broadcast(coef), sc.broadcast(intercept)
            bcs += [coef_bc, b_bc]
            total, count, sq, rows = weighted.mapPartitions(_msd_part(coef_bc, b_bc)).treeReduce(add_tuples, depth)
        finally:
            raw.unpersist()
            if weighted is not None:
                weighted.unpersist()
            for b in bcs:
                b.destroy()
        self.weighting_ = weighting_
        self.mapper_ = RidgeMap.from_state(mapper.get_params(), {"coef": coef, "intercept": intercept})
        self.mapper_.n_iter_ = 0 if refined else n_iter  # as the local plug-in model's mapper_
        self.refined_ = refined
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        self.n_factors_ = int(k)
        self.n_train_items_ = int(solver.n)
        self.n_train_pairs_ = int(chk["pairs"])
        self.train_msd_ = total / max(count, 1)
        self.pred_rms_ = float(np.sqrt(sq / max(rows, 1)))
        return self

    @staticmethod
    def _user_eigenbasis(user_factors: "DataFrame", id_col: str, factors_col: str, lam_rel: float,
                         depth: int) -> tuple[np.ndarray, np.ndarray, float]:
        """``G = UᵀU`` aggregated over the partitions of ``user_factors`` → ``solvers.gram_eigen``."""
        uf = user_factors.select(F.col(factors_col).alias("__f"))
        acc = blobs_to_rdd(uf.mapInArrow(_gram_fn("__f"), BLOB_SCHEMA)).values().treeReduce(_add_gram, depth)
        if acc["n"] == 0:
            raise ValueError("user_factors is empty; expected the factors of the users of interactions")
        if acc["bad"]:
            raise ValueError("user factors contain NaN or infinite values; expected finite factors")
        if len(acc["G"]) != 1:
            raise ValueError(f"user factors have different lengths {sorted(acc['G'])}; expected one")
        return gram_eigen(next(iter(acc["G"].values())), float(lam_rel))

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        if not hasattr(self, "mapper_"):
            raise RuntimeError("this SparkAttributeMap is not fitted; call fit first (or from_local)")

    def embed(self, X) -> np.ndarray:
        """The map's predictions for a local attribute matrix (n, n_features), float32."""
        self._check_fitted()
        return _MapEmbedder(self.weighting_, self.mapper_)(X)

    def transform(self, item_attributes: "DataFrame", *, attributes_col: str = "attributes",
                  output_col: str = "features", keep: Iterable[str] | None = None) -> "DataFrame":
        """The map's predictions for the items of ``item_attributes``, vectorised per Arrow batch.

        Returns the columns ``keep`` (default: every column but ``attributes_col``) followed by
        ``output_col`` (array<float>, ``n_factors_`` long). These are the raw map outputs; the
        recommender's zero-shot vectors are them length-calibrated (``zero_shot_norm_power``,
        reference ``pred_rms_``) times ``zero_shot_scale`` (:meth:`SparkColdStartRecommender.embed_items`).
        """
        require_pyspark()
        self._check_fitted()
        return embed_frame(item_attributes, _MapEmbedder(self.weighting_, self.mapper_), self.n_features_in_,
                            attributes_col=attributes_col, output_col=output_col, keep=keep)

    # ------------------------------------------------------------------ local
    @classmethod
    def from_local(cls, weighting: AttributeWeighting | None, mapper: RidgeMap,
                   pred_rms: float | None = None) -> "SparkAttributeMap":
        """Wrap a fitted local weighting (or None) and RidgeMap, e.g. ``model.weighting_, model.mapper_``
        (``pred_rms``: the model's ``content_norm_``)."""
        if not isinstance(mapper, RidgeMap) or not hasattr(mapper, "coef_"):
            raise TypeError("mapper must be a fitted coldstart.RidgeMap")
        if weighting is not None and not (isinstance(weighting, AttributeWeighting)
                                          and hasattr(weighting, "column_weight_")):
            raise TypeError("weighting must be a fitted coldstart.AttributeWeighting or None")
        obj = cls(alpha=mapper.alpha, weighting=None if weighting is None else clone(weighting),
                  mapper=clone(mapper))
        obj.weighting_ = None if weighting is None else AttributeWeighting.from_state(
            weighting.get_params(), weighting.get_state())
        obj.mapper_ = RidgeMap.from_state(mapper.get_params(), mapper.get_state())
        obj.n_iter_ = getattr(mapper, "n_iter_", 0)
        obj.mapper_.n_iter_ = obj.n_iter_
        obj.n_features_in_ = obj.mapper_.coef_.shape[0]
        obj.n_factors_ = obj.mapper_.coef_.shape[1]
        obj.n_train_items_ = obj.n_train_pairs_ = -1
        obj.refined_ = None
        obj.train_msd_ = float("nan")
        obj.pred_rms_ = None if pred_rms is None else float(pred_rms)
        return obj

