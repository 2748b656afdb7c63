"""SparkColdStartRecommender: collaborative factors and the attribute map fitted together in
Spark (the local default fit distributed, or Spark's ALS with the plug-in map), zero-shot item
vectors, top-K for every user, and the export to / import from a local model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from coldstart.core.mapping import RidgeMap
from coldstart.core.model import ColdStartRecommender
from coldstart.core.warmup import prior_weight_from_precision
from coldstart.core.weighting import AttributeWeighting
from coldstart.integrations.spark.arrow import (
    BLOB_SCHEMA,
    blob,
    blobs_to_rdd,
    column,
    factors_from_arrow,
    factors_to_spark,
    require_pyspark,
    spark_to_factors,
)
from coldstart.integrations.spark.attribute_map import SparkAttributeMap, check_weighting, embed_frame, local_default
from coldstart.integrations.spark.content_constrained import fit_content_constrained
from coldstart.integrations.spark.distributed import add_stats, summed_interactions
from coldstart.integrations.spark.recommend import recommend_for_all_users

try:  # pragma: no cover - exercised only without pyspark (require_pyspark says what is missing)
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
except ImportError:  # pragma: no cover
    pass

#: Rows the recommender fits its weighting on, as ColdStartRecommender.fit does ("train": warm items).
_WEIGHTING_ON = "train"


def _pair_precision_fn(scale: float):
    """mapInArrow: (rating, user vector) rows → one pickled ``{sum of max(scale * r - 1, 1) ||u||²,
    pairs, pairs without a user vector, bad ratings}``, in ``_resolve_prior_weight``'s arithmetic."""

    def fn(batches):
        acc = {"sum": 0.0, "n": 0, "bad_u": 0, "bad_r": 0}
        for b in batches:
            if b.num_rows == 0:
                continue
            f = column(b, "f")
            r = column(b, "r").fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
            acc["bad_u"] += f.null_count
            acc["bad_r"] += int(np.count_nonzero(~np.isfinite(r) | (r < 0)))
            if f.null_count:
                continue
            U = factors_from_arrow(f)
            sq = np.einsum("ij,ij->i", U, U).astype(np.float64)
            conf = scale * r.astype(np.float32).astype(np.float64)  # the local float32 user_items
            kept = r != 0  # a zero rating is no pair (the local matrix drops it)
            acc["sum"] += float(np.sum(np.maximum(conf - 1.0, 1.0)[kept] * sq[kept]))
            acc["n"] += int(np.count_nonzero(kept))
        yield blob(0, acc)

    return fn


#: SparkColdStartRecommender's defaults with method="spark-als" (and for fit_factors' confidence).
_SPARK_ALS_DEFAULTS = {"factors": 128, "regularization": 0.01, "alpha": 40.0, "iterations": 10}


class SparkColdStartRecommender:
    """Collaborative factors and the attribute map fitted together in Spark.

    ``method="content-constrained"`` (default) is the local fixed-settings fit,
    ``ColdStartRecommender._fit_content_constrained`` (``free_sweeps=0, map_alpha=3,
    zero_shot_scale=2``: Spark does not self-tune), distributed, with the local defaults
    (``factors`` 256, ``regularization`` 0.1, ``alpha`` "auto" = clip(1/16 / density, 1, 1000)
    over the median rating, with implicit's confidence ``alpha * rating``, ``iterations`` 4, ``prior_weight``): item
    vectors constrained to ``x_i W``. One plain
    sweep from uniform(0, 0.01) starts it (an exact user half-step, then an exact item
    half-step), a ridge of the warm items' vectors on their attributes starts ``W`` (3 CG
    steps, alpha 1, no intercept); each of ``iterations`` sweeps solves every user exactly
    against ``M = X_warm W`` (per user ``(MᵀM + reg I + Σ_j (c_j - 1) m_j m_jᵀ) u = Σ_j c_j m_j``,
    :func:`coldstart.core.solvers.fold_in`) and refines ``W`` on the ALS loss with the users
    fixed (3 CG steps of :func:`coldstart.core.solvers.fit_map_on_interactions`, distributed); then
    the users are solved once more and the warm items get one half-step started from ``x_i W``
    (implicit's CG, ``item_cg_steps`` steps; None: exact). Cold items get ``zero_shot_scale`` ×
    ``x W`` length-calibrated as locally (``zero_shot_norm_power``). The local model solves its
    users with implicit's 3-step CG instead: the factors are not float-equal to the local ones
    (same recipe, same cold Recall@20 on citeulike-t).

    Distribution: the interactions are grouped twice and cached, by item (item blocks: the
    items' attributes and confidences) and by user (user blocks: the users' confidences and the
    attribute rows of their items, so that ``X W`` is computed where the users are, without a
    shuffle per sweep). Per sweep, ``W`` (n_features × k) is broadcast, every user block solves
    its users, and the user factors (n_users × k) are collected to the driver and broadcast to
    the item blocks for the map's refinement (the one O(n_users × k) array the driver holds);
    ``MᵀM`` and ``UᵀU`` are k × k sums. Nothing of size n_items or n_interactions reaches the
    driver; the warm items' final vectors stay in Spark (``item_factors_``, a checkpointed
    DataFrame).

    ``method="spark-als"``: the local model's *plug-in mode* (``ColdStartRecommender(
    collaborative=<fitted>)``) on Spark's ALS: the factors are taken as they are (Spark's ALS,
    or factors you bring to :meth:`fit_factors`); the weighting is fitted on the warm items and
    the map is the plug-in map, a ridge start on the warm items' factors refined on the
    implicit-ALS loss with the users fixed, both distributed (:class:`SparkAttributeMap`). With
    a ``mapper``, or :meth:`fit_factors` without interactions, the map is the plain ridge
    regression of the factors on the attributes (``ColdStartRecommender(collaborative=...,
    mapper=RidgeMap(...))``). Either way zero-shot vectors are ``zero_shot_scale`` × the map's
    length-calibrated predictions and ``prior_weight="auto"`` is estimated as locally (``PRIOR_INTERACTIONS`` ×
    the mean over the interactions of ``max(c - 1, 1) ||u||² / k``). Not reproduced:
    ``fit(new_items=...)``.

    Confidence (spark-als / fit_factors): the refinement weighs an interaction ``fold_in_alpha *
    rating`` (implicit's convention, as the exported local model folds in). With the default
    ``fold_in_alpha = 1 + alpha`` that is exactly the confidence Spark's ALS gives a rating 1
    (``1 + alpha * r``); for other ratings it is the local model's proportional convention.

    Ids: non-negative integers (Spark's ALS: in the 32-bit range), the index space :meth:`to_local`
    builds; ``alpha="auto"`` takes the density among the users and items with interactions, as
    the local model does.

    Parameters
    ----------
    factors, regularization, alpha, iterations : optional
        None takes the method's default. content-constrained: the local model's (256, 0.1,
        "auto", 4), implicit's semantics (fixed penalty, confidence ``alpha * r``). spark-als:
        Spark ALS's ``rank``, ``regParam``, ``alpha`` and ``maxIter`` (defaults 128, 0.01, 40,
        10), Spark's semantics (penalty scaled by each user's/item's number of interactions,
        confidence ``1 + alpha * r``).
    map_alpha, prior_weight, zero_shot_scale, zero_shot_norm_power : optional
        As in :class:`~coldstart.core.model.ColdStartRecommender`; ``None`` takes its default.
    weighting : "auto", None or AttributeWeighting
        As in :class:`SparkAttributeMap`.
    mapper : RidgeMap, optional
        spark-als only: use the plain ridge map with this template instead of the plug-in map.
    random_state : int, optional
        Seed of the random start (content-constrained) or of Spark's ALS.
    num_blocks : int, optional
        spark-als: ALS ``numUserBlocks``/``numItemBlocks`` (default: Spark's).
    num_partitions : int, optional
        Partitions of the map's training data (content-constrained: of the item and of the user
        blocks; default ``defaultParallelism`` for the user blocks).
    fold_in_regularization, fold_in_alpha : float, optional
        Penalty and confidence scale the exported local model uses when it folds users/items
        in (implicit's semantics); ``fold_in_alpha`` is also the confidence scale of the
        spark-als map's refinement. Default: content-constrained, the fit's ``regularization``
        and alpha; spark-als, ``regularization`` and ``1 + alpha``.
    method : {"content-constrained", "spark-als"}
        What :meth:`fit` fits (see above).
    item_cg_steps : int or None
        content-constrained: CG steps of the warm items' final half-step from ``x_i W``
        (implicit's solver, the local model's 3); None solves them exactly.

    Attributes
    ----------
    als_model_ : pyspark.ml.recommendation.ALSModel, or None (content-constrained,
        fit_factors, from_local)
    user_factors_, item_factors_ : DataFrame ``(id, features array<float>)``
        Collaborative factors; the items here are the warm ones.
    map_ : SparkAttributeMap
    prior_weight_ : float
    item_attributes_ : DataFrame ``(id, attributes)``, the catalog given to fit, or None
    """

    def __init__(self, factors: int | None = None, regularization: float | None = None, alpha: Any = None,
                 iterations: int | None = None, map_alpha: float | None = None, prior_weight: Any = None,
                 zero_shot_scale: float | None = None, zero_shot_norm_power: float | None = None,
                 weighting: Any = "auto", mapper: RidgeMap | None = None, random_state: int | None = None,
                 num_blocks: int | None = None, num_partitions: int | None = None,
                 fold_in_regularization: float | None = None, fold_in_alpha: float | None = None,
                 method: str = "content-constrained", item_cg_steps: int | None = 3):
        self.method = method
        self.item_cg_steps = item_cg_steps
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.map_alpha = map_alpha
        self.prior_weight = prior_weight
        self.zero_shot_scale = zero_shot_scale
        self.zero_shot_norm_power = zero_shot_norm_power
        self.weighting = weighting
        self.mapper = mapper
        self.random_state = random_state
        self.num_blocks = num_blocks
        self.num_partitions = num_partitions
        self.fold_in_regularization = fold_in_regularization
        self.fold_in_alpha = fold_in_alpha

    def _param(self, name: str):
        v = getattr(self, name)
        return local_default(name) if v is None else v

    def _cf_param(self, name: str, method: str | None = None):
        """``factors``, ``regularization``, ``alpha`` or ``iterations``; None takes the default of
        ``method`` (the local model's for "content-constrained", Spark ALS's for "spark-als")."""
        v = getattr(self, name)
        if v is not None:
            return v
        if (method or self.method) == "content-constrained":
            return local_default(name)
        return _SPARK_ALS_DEFAULTS[name]

    # ------------------------------------------------------------------ fitting
    def fit(self, interactions: "DataFrame", item_attributes: "DataFrame", *, user_col: str = "user",
            item_col: str = "item", rating_col: str | None = None, attributes_col: str = "attributes",
            attributes_id_col: str = "id") -> "SparkColdStartRecommender":
        """Fit the collaborative factors and the map on ``interactions`` (``method``).

        ``"content-constrained"`` (default): the local default fit, distributed (see the class
        docstring). ``"spark-als"``: Spark's ALS (implicit feedback), then the plug-in map
        (:meth:`fit_factors`).

        Parameters
        ----------
        interactions : DataFrame
            ``user_col``, ``item_col`` (non-negative integers; Spark's ALS needs them in the
            32-bit range) and optionally ``rating_col`` (default: every interaction weighs 1).
        item_attributes : DataFrame
            The catalog: ``attributes_id_col`` (item ids) and ``attributes_col`` (ML vectors),
            one row per item, warm or cold.
        """
        require_pyspark()
        if self.method not in ("content-constrained", "spark-als"):
            raise ValueError(f"method must be 'content-constrained' or 'spark-als'; received {self.method!r}")
        for name in ("factors", "iterations"):
            v = self._cf_param(name)
            if not (isinstance(v, (int, np.integer)) and v > 0):
                raise ValueError(f"{name} must be a positive integer; received {v!r}")
        if self.method == "content-constrained":
            return self._fit_content_constrained(interactions, item_attributes, user_col=user_col,
                                                 item_col=item_col, rating_col=rating_col,
                                                 attributes_col=attributes_col, attributes_id_col=attributes_id_col)
        from pyspark.ml.recommendation import ALS

        data = interactions
        if rating_col is None:
            data = data.withColumn("__rating", F.lit(1.0).cast("float"))
            rating_col = "__rating"
        als = ALS(rank=int(self._cf_param("factors")), maxIter=int(self._cf_param("iterations")),
                  regParam=float(self._cf_param("regularization")), alpha=float(self._cf_param("alpha")),
                  implicitPrefs=True, userCol=user_col, itemCol=item_col,
                  ratingCol=rating_col, nonnegative=False, coldStartStrategy="drop")
        if self.random_state is not None:
            als.setSeed(int(self.random_state))
        if self.num_blocks:
            als.setNumUserBlocks(int(self.num_blocks)).setNumItemBlocks(int(self.num_blocks))
        als_model = als.fit(data)
        self.fit_factors(als_model.userFactors, als_model.itemFactors, item_attributes,
                         attributes_col=attributes_col, attributes_id_col=attributes_id_col,
                         interactions=data, user_col=user_col, item_col=item_col, rating_col=rating_col)
        self.als_model_ = als_model
        return self

    def _fit_content_constrained(self, interactions: "DataFrame", item_attributes: "DataFrame", *,
                                 user_col: str, item_col: str, rating_col: str | None, attributes_col: str,
                                 attributes_id_col: str) -> "SparkColdStartRecommender":
        if self.mapper is not None:
            raise ValueError("mapper selects the plain ridge map, which the content-constrained fit does not "
                             "use (as ColdStartRecommender); pass method='spark-als' with a mapper")
        reg, alpha = self._cf_param("regularization"), self._cf_param("alpha")
        if not (np.isscalar(reg) and reg >= 0):
            raise ValueError(f"regularization must be a non-negative number; received {reg!r}")
        if not (alpha == "auto" or (np.isscalar(alpha) and np.isfinite(alpha) and alpha > 0)):
            raise ValueError(f"alpha must be 'auto' or a positive number; received {alpha!r}")
        steps = self.item_cg_steps
        if steps is not None and not (isinstance(steps, (int, np.integer)) and steps > 0):
            raise ValueError(f"item_cg_steps must be a positive integer or None (exact); received {steps!r}")
        map_alpha = float(self._param("map_alpha"))
        seed = (int(self.random_state) if self.random_state is not None
                else int(np.random.default_rng().integers(2**31)))
        k = int(self._cf_param("factors"))
        res = fit_content_constrained(
            interactions, item_attributes, user_col=user_col, item_col=item_col, rating_col=rating_col,
            attributes_col=attributes_col, attributes_id_col=attributes_id_col, k=k, reg=float(reg), alpha=alpha,
            iterations=int(self._cf_param("iterations")), map_alpha=map_alpha,
            weighting=check_weighting(self.weighting), seed=seed, num_partitions=self.num_partitions,
            block_rows=65536, depth=2, item_cg_steps=steps)
        spark = interactions.sparkSession
        self.als_model_ = None
        self._cc_reg, self._cc_alpha = float(reg), float(res["alpha"])
        self._content_constrained = True
        self.user_factors_ = factors_to_spark(spark, res["U"], res["user_ids"])
        self.item_factors_ = res["item_factors"]
        self.item_attributes_ = item_attributes.select(F.col(attributes_id_col).alias("id"),
                                                       F.col(attributes_col).alias("attributes"))
        self._item_priors = None
        mp = SparkAttributeMap(alpha=map_alpha, weighting=self.weighting, num_partitions=self.num_partitions)
        mp.weighting_ = res["weighting"]
        mp.mapper_ = RidgeMap.from_state(RidgeMap(alpha=map_alpha, fit_intercept=False).get_params(),
                                         {"coef": res["W"], "intercept": np.zeros(k, np.float32)})
        mp.mapper_.n_iter_ = 0
        mp.refined_ = True
        mp.n_iter_ = res["n_iter"]
        mp.n_features_in_ = res["n_features"]
        mp.n_factors_ = k
        mp.n_train_items_ = res["n_warm"]
        mp.n_train_pairs_ = res["n_pairs"]
        mp.train_msd_ = res["msd"]
        mp.pred_rms_ = res["pred_rms"]
        self.map_ = mp
        pw = self._param("prior_weight")
        self.prior_weight_ = (self._auto_prior_weight(interactions, user_col, item_col, rating_col)
                              if pw == "auto" else float(pw))
        return self

    def fit_factors(self, user_factors: "DataFrame", item_factors: "DataFrame", item_attributes: "DataFrame",
                    *, id_col: str = "id", factors_col: str = "features", attributes_col: str = "attributes",
                    attributes_id_col: str = "id", interactions: "DataFrame | None" = None,
                    user_col: str = "user", item_col: str = "item",
                    rating_col: str | None = None) -> "SparkColdStartRecommender":
        """Plug-in mode: take collaborative factors as they are (e.g. a fitted ``ALSModel``'s
        ``userFactors``/``itemFactors``) and fit only the map; the items of ``item_factors``
        are the warm ones.

        ``interactions`` (``user_col``, ``item_col``[, ``rating_col``], the data the factors
        were fitted on): the plug-in map, refined on the implicit-ALS loss with confidence
        ``fold_in_alpha * rating``, as the local ``ColdStartRecommender(collaborative=...)``,
        and ``prior_weight="auto"`` estimated from them. Without them (or with a ``mapper``)
        the plain ridge map; without them ``prior_weight`` must be a number.
        """
        require_pyspark()
        pw = self._param("prior_weight")
        if interactions is None and pw == "auto":
            raise ValueError("prior_weight='auto' is estimated from the interactions (as ColdStartRecommender "
                             "does); pass interactions= or set prior_weight to a number")
        self.als_model_ = None
        self._content_constrained = False
        self._cc_reg = self._cc_alpha = None
        self.user_factors_ = user_factors.select(F.col(id_col).alias("id"), F.col(factors_col).alias("features"))
        self.item_factors_ = item_factors.select(F.col(id_col).alias("id"), F.col(factors_col).alias("features"))
        self.item_attributes_ = item_attributes.select(F.col(attributes_id_col).alias("id"),
                                                       F.col(attributes_col).alias("attributes"))
        self._item_priors = None
        self.map_ = SparkAttributeMap(alpha=self._param("map_alpha"), weighting=self.weighting,
                                      mapper=self.mapper, num_partitions=self.num_partitions)
        refine = {}
        if interactions is not None and self.mapper is None:  # as the local plug-in with its own map
            refine = {"interactions": interactions, "user_factors": self.user_factors_,
                      "confidence_scale": self._fold_in_alpha(), "user_col": user_col, "item_col": item_col,
                      "rating_col": rating_col}
        self.map_.fit(self.item_factors_, self.item_attributes_, weighting_on=_WEIGHTING_ON, **refine)
        self.prior_weight_ = (self._auto_prior_weight(interactions, user_col, item_col, rating_col)
                              if pw == "auto" else float(pw))
        return self

    def _auto_prior_weight(self, interactions: "DataFrame", user_col: str, item_col: str,
                           rating_col: str | None) -> float:
        """``ColdStartRecommender._resolve_prior_weight`` with "auto": ``PRIOR_INTERACTIONS`` ×
        the mean over the (user, item) pairs of ``max(c - 1, 1) ||u||² / k``, ``c =
        fold_in_alpha * rating``; one aggregation over the interactions joined with the users."""
        pairs = summed_interactions(interactions, user_col, item_col, rating_col).join(
            self.user_factors_.select(F.col("id").cast("long").alias("u"), F.col("features").alias("f")),
            on="u", how="left").select("r", "f")
        acc = (blobs_to_rdd(pairs.mapInArrow(_pair_precision_fn(self._fold_in_alpha()), BLOB_SCHEMA)).values()
               .treeReduce(add_stats, max(int(self.map_.tree_depth), 1)))
        if acc["bad_u"]:
            raise ValueError(f"interactions hold {acc['bad_u']} (user, item) pairs whose {user_col!r} has no row "
                             "in user_factors (or is null); expected factors for every user")
        if acc["bad_r"]:
            raise ValueError(f"interactions hold {acc['bad_r']} negative, null or non-finite ratings")
        per = acc["sum"] / acc["n"] / self.map_.n_factors_ if acc["n"] else 0.0
        return prior_weight_from_precision(per)

    def _fold_in_alpha(self) -> float:
        """Confidence scale of the exported model's fold-ins and of the map's refinement: the
        content-constrained fit's alpha, else ``1 + alpha`` (Spark ALS's confidence of a 1)."""
        if self.fold_in_alpha is not None:
            return float(self.fold_in_alpha)
        if getattr(self, "_cc_alpha", None) is not None:
            return float(self._cc_alpha)
        return float(1.0 + self._cf_param("alpha", "spark-als"))

    def _fold_in_reg(self) -> float:
        if self.fold_in_regularization is not None:
            return float(self.fold_in_regularization)
        if getattr(self, "_cc_reg", None) is not None:
            return float(self._cc_reg)
        return float(self._cf_param("regularization", "spark-als"))

    def _check_fitted(self) -> None:
        if not hasattr(self, "map_"):
            raise RuntimeError("this SparkColdStartRecommender is not fitted; call fit, fit_factors or "
                               "from_local first")

    # ------------------------------------------------------------------ item vectors
    def _local_model(self, users=None, items=None, prior=None, zero=None):
        """A local ColdStartRecommender carrying this map (and the given vectors, default none)."""
        k = self.map_.n_factors_
        users = np.zeros((0, k), np.float32) if users is None else users
        items = np.zeros((0, k), np.float32) if items is None else items
        prior = items.copy() if prior is None else prior
        zero = np.zeros(items.shape[0], bool) if zero is None else zero
        reg = self._fold_in_reg()
        alpha = self._fold_in_alpha()
        model = ColdStartRecommender(factors=int(k), regularization=float(reg), alpha=float(alpha),
                                     iterations=int(self._cf_param("iterations")),
                                     map_alpha=float(self._param("map_alpha")),
                                     mapper=None if self.mapper is None else clone(self.mapper),
                                     prior_weight=self._param("prior_weight"),
                                     zero_shot_scale=float(self._param("zero_shot_scale")),
                                     zero_shot_norm_power=float(self._param("zero_shot_norm_power")),
                                     random_state=self.random_state)
        wt = self.map_.weighting_
        model.weighting_ = None if wt is None else AttributeWeighting.from_state(wt.get_params(), wt.get_state())
        model.mapper_ = RidgeMap.from_state(self.map_.mapper_.get_params(), self.map_.mapper_.get_state())
        model.featurizer_ = None
        model.set_state({"n_users": users.shape[0], "n_items": items.shape[0],
                          "n_features_in": self.map_.n_features_in_, "prior_weight": self.prior_weight_,
                          "content_constrained": bool(getattr(self, "_content_constrained", False)),
                          "content_norm": getattr(self.map_, "pred_rms_", None)},
                         {"regularization": float(reg), "alpha": float(alpha)},
                         {"user_factors": users, "item_factors": items, "item_prior": prior, "is_zero_shot": zero})
        return model

    def embed_items(self, item_attributes: "DataFrame", *, id_col: str = "id",
                    attributes_col: str = "attributes") -> "DataFrame":
        """Zero-shot factors ``(id, features)`` of items from their attributes: the local
        model's ``embed_items`` (length-calibrated map prediction × ``zero_shot_scale``) per Arrow
        batch."""
        self._check_fitted()
        sdf = item_attributes.select(F.col(id_col).alias("id"), F.col(attributes_col).alias("attributes"))
        shell = self._local_model()
        return embed_frame(sdf, shell.embed_items, self.map_.n_features_in_, attributes_col="attributes",
                            output_col="features", keep=["id"])

    def zero_shot_factors(self) -> "DataFrame":
        """Zero-shot (prior) vectors ``(id, features)`` of every catalog item, warm or not."""
        self._check_fitted()
        if self._item_priors is not None:
            return self._item_priors
        if self.item_attributes_ is None:
            raise RuntimeError("no item attributes are known; pass item_attributes to from_local")
        return self.embed_items(self.item_attributes_)

    def item_vectors(self, new_items: "DataFrame | None" = None, *, id_col: str = "id",
                     attributes_col: str = "attributes") -> "DataFrame":
        """``(id, features, zero_shot)`` of every item: collaborative for the warm items,
        zero-shot for the catalog's other items and for ``new_items`` (attributes)."""
        self._check_fitted()
        warm = self.item_factors_.select(F.col("id").cast("long").alias("id"), "features",
                                         F.lit(False).alias("zero_shot"))
        cold = self.zero_shot_factors().select(F.col("id").cast("long").alias("id"), "features",
                                               F.lit(True).alias("zero_shot"))
        if new_items is not None:
            cold = cold.unionByName(self.embed_items(new_items, id_col=id_col, attributes_col=attributes_col)
                                    .select(F.col("id").cast("long").alias("id"), "features",
                                            F.lit(True).alias("zero_shot")))
        cold = cold.join(warm.select("id"), on="id", how="left_anti")
        return warm.unionByName(cold)

    def recommend_for_all_users(self, k: int, *, items: "DataFrame | None" = None,
                                exclude: "DataFrame | None" = None, block_size: int = 4096,
                                exclude_user_col: str = "user", exclude_item_col: str = "item") -> "DataFrame":
        """Top-``k`` of ``items`` (default :meth:`item_vectors`: warm + zero-shot) for every user.

        ``exclude``: ``(user, item)`` pairs not to recommend, e.g. the training interactions.
        Returns ``(user, recommendations array<struct<item, score>>)``.
        """
        self._check_fitted()
        items = self.item_vectors() if items is None else items
        return recommend_for_all_users(self.user_factors_, items, k, exclude=exclude, block_size=block_size,
                                       exclude_user_col=exclude_user_col, exclude_item_col=exclude_item_col)

    # ------------------------------------------------------------------ local
    def to_local(self, n_users: int | None = None, n_items: int | None = None):
        """A local :class:`~coldstart.core.model.ColdStartRecommender` with these vectors, for serving.

        User/item ids become row indices; ``n_users``/``n_items`` (default: largest id + 1,
        items over the warm items and the catalog) size the index space, e.g. to keep users
        without interactions. Rows no id names stay zero (items: flagged zero-shot). Warm items
        get their collaborative vectors, the others their zero-shot vectors; every item's prior
        is its zero-shot vector; the weighting and map are the fitted ones, so ``add_items``,
        ``partial_fit_items`` and ``save`` work. Collects (n_users + n_items) × factors
        numbers to the driver.
        """
        self._check_fitted()
        uid, U = spark_to_factors(self.user_factors_)
        wid, W = spark_to_factors(self.item_factors_)
        pid, Pr = spark_to_factors(self.zero_shot_factors())
        k = self.map_.n_factors_
        for name, ids in (("user", uid), ("item", wid), ("item", pid)):
            if ids.size and ids.min() < 0:
                raise ValueError(f"{name} ids must be non-negative to become row indices; found {ids.min()}")
        top_u = int(uid.max()) + 1 if uid.size else 0
        top_i = int(max(wid.max() if wid.size else -1, pid.max() if pid.size else -1)) + 1
        n_users = top_u if n_users is None else int(n_users)
        n_items = top_i if n_items is None else int(n_items)
        if n_users < top_u or n_items < top_i:
            raise ValueError(f"n_users={n_users}, n_items={n_items} are too small for the largest ids "
                             f"(users up to {top_u - 1}, items up to {top_i - 1})")
        users = np.zeros((n_users, k), dtype=np.float32)
        if uid.size:
            users[uid] = U
        prior = np.zeros((n_items, k), dtype=np.float32)
        if pid.size:
            prior[pid] = Pr
        items = prior.copy()
        zero = np.ones(n_items, dtype=bool)
        if wid.size:
            items[wid] = W
            zero[wid] = False
        return self._local_model(users, items, prior, zero)

    @classmethod
    def from_local(cls, model, spark: "SparkSession", item_attributes: "DataFrame | None" = None,
                   *, id_col: str = "id", attributes_col: str = "attributes") -> "SparkColdStartRecommender":
        """Import a fitted local :class:`~coldstart.core.model.ColdStartRecommender` (index space).

        Row indices become ids; items flagged zero-shot are cold. Vectors and priors are kept
        exactly; ``item_attributes`` (optional) is the catalog, for :meth:`embed_items`-style use.
        """
        require_pyspark()
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model)
        if getattr(model, "featurizer_", None) is not None:
            raise TypeError("models with a featurizer are not supported in Spark: featurize the attributes "
                            "into ML vectors first")
        mp = SparkAttributeMap.from_local(model.weighting_, model.mapper_,
                                          pred_rms=getattr(model, "content_norm_", None))
        state = model.get_state()
        arrays, col = state["arrays"], state["collaborative_meta"]
        obj = cls(factors=int(model.item_factors_.shape[1]), regularization=float(col["regularization"]),
                  alpha=max(float(col["alpha"]) - 1.0, 0.0), iterations=int(model.iterations),
                  map_alpha=float(model.map_alpha_), prior_weight=model.prior_weight,
                  zero_shot_scale=float(model.zero_shot_scale_),
                  zero_shot_norm_power=float(model.zero_shot_norm_power), weighting=mp.weighting,
                  mapper=None if model.mapper is None else clone(model.mapper),
                  random_state=model.random_state, fold_in_regularization=float(col["regularization"]),
                  fold_in_alpha=float(col["alpha"]))
        zero = np.asarray(arrays["is_zero_shot"], dtype=bool)
        items = np.asarray(arrays["item_factors"])
        warm_ids = np.flatnonzero(~zero)
        obj.als_model_ = None
        obj.map_ = mp
        obj.prior_weight_ = float(model.prior_weight_)
        obj._content_constrained = bool(getattr(model, "content_constrained_", False))
        obj.user_factors_ = factors_to_spark(spark, arrays["user_factors"])
        obj.item_factors_ = factors_to_spark(spark, items[warm_ids], warm_ids)
        obj._item_priors = factors_to_spark(spark, arrays["item_prior"])
        obj.item_attributes_ = (None if item_attributes is None else
                                item_attributes.select(F.col(id_col).alias("id"),
                                                       F.col(attributes_col).alias("attributes")))
        return obj
