"""Spark: fit the attribute → factor map on a cluster, embed and rank items in Spark.

Optional extra ``spark`` (``pip install 'coldstart[spark]'``: pyspark ≥ 4 and pyarrow; classic
Spark, because the map and the top-K use RDDs, which Spark Connect does not offer). Importing
``coldstart`` never imports pyspark; importing this package does when it is installed.

* :class:`SparkAttributeMap` (``attribute_map``) fits the local model's attribute map from a
  DataFrame of item factors (e.g. ``ALSModel.itemFactors``) and a DataFrame of item attributes
  (Spark ML vectors), without collecting the data: given the interactions and the user factors,
  the local plug-in map (a ridge start refined on the implicit-ALS loss with the users fixed);
  without them the plain ``AttributeWeighting`` + ``RidgeMap``. :meth:`SparkAttributeMap.transform`
  gives zero-shot factors of new items as a DataFrame.
* :class:`SparkColdStartRecommender` (``recommender``) fits the local default model,
  content-constrained ALS (``content_constrained``), distributed; or (``method="spark-als"``)
  Spark's ALS and the plug-in map; :meth:`~SparkColdStartRecommender.to_local` exports a local
  :class:`~coldstart.core.model.ColdStartRecommender` for serving,
  :meth:`~SparkColdStartRecommender.from_local` imports one.
* :func:`recommend_for_all_users` (``recommend``) ranks items for every user blockwise, like
  Spark's ``ALSModel.recommendForAllUsers``.
* ``arrow``: Arrow ↔ numpy conversions and :func:`csr_to_spark`, :func:`factors_to_spark`,
  :func:`interactions_to_spark`, :func:`spark_to_csr`, :func:`spark_to_factors`;
  ``distributed``: the cached row blocks and the core solvers run on sums over partitions. The
  driver holds O(n_features × n_factors + n_factors²) numbers (and, in the content-constrained
  fit, the user factors between half-steps).

Ids: Spark's ALS needs integer user and item ids in the 32-bit range. The export uses them as
row indices of the local model (``n_users = max(user id) + 1``), so contiguous ids
``0..n-1`` (e.g. from ``StringIndexer`` or :class:`coldstart.IdMap`) are the ones to use.

Executors need ``coldstart`` (and numpy, scipy, scikit-learn, pyarrow) installed, because the
partition functions live in this package; see ``docs/spark.md``.
"""

from coldstart.integrations.spark.arrow import (
                                                csr_to_spark,
                                                factors_to_spark,
                                                interactions_to_spark,
                                                spark_to_csr,
                                                spark_to_factors,
)
from coldstart.integrations.spark.attribute_map import SparkAttributeMap
from coldstart.integrations.spark.recommend import recommend_for_all_users
from coldstart.integrations.spark.recommender import SparkColdStartRecommender

__all__ = [
    "SparkAttributeMap",
    "SparkColdStartRecommender",
    "recommend_for_all_users",
    "csr_to_spark",
    "factors_to_spark",
    "interactions_to_spark",
    "spark_to_csr",
    "spark_to_factors",
]
