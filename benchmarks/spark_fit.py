"""Spark path vs local path on citeulike-t: fit time and cold Recall@20.

Rows (all fitted on ``split.train``, scored with ``evaluate(..., settings=("cold",), K=20)``):

* ``local default``   ``ColdStartRecommender(random_state=0).fit`` (content-constrained ALS).
* ``local plug-in``   implicit's plain ALS (the local default's factors, regularization, alpha and
                      sweeps) + ``ColdStartRecommender(collaborative=<it>)``: the local
                      counterpart of the Spark path (plain ALS factors, the plug-in map).
* ``spark``           ``SparkColdStartRecommender(random_state=0).fit`` in ``local[N]``: the
                      default, the content-constrained ALS distributed (the local default's
                      recipe and defaults), scored after ``to_local()``.
* ``spark-als``       ``SparkColdStartRecommender(method="spark-als", ...)``: Spark's ALS + the
                      distributed plug-in map (ridge start refined on the ALS loss); its time
                      is split into ALS and map.
* ``map only``        the attribute map alone on the same (Spark ALS) factors and interactions,
                      local functions vs :class:`coldstart.integrations.spark.SparkAttributeMap`, with the
                      largest difference between their zero-shot vectors; ``plug-in``: the
                      weighting, the ridge start and :func:`coldstart.core.solvers.fit_map_on_interactions`
                      (confidence ``1 + alpha``, what the Spark path uses); ``ridge``: the weighting
                      and ``RidgeMap(alpha=map_alpha)`` (the family without interactions).

Prints a table and writes ``benchmarks/results/spark_fit.json``.

Usage::

    python benchmarks/spark_fit.py                      # local[2]; spark-als: rank 128, 10 sweeps
    python benchmarks/spark_fit.py --factors 64 --iterations 4   # the spark-als row's ALS
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart import AttributeWeighting, ColdStartRecommender, RidgeMap  # noqa: E402
from coldstart.core.constants import PLUGIN_INIT_ITERS, PLUGIN_MAP_ITERS  # noqa: E402
from coldstart.core.factorization import fit_collaborative, make_als  # noqa: E402
from coldstart.core.solvers import fit_map_on_interactions  # noqa: E402
from coldstart.evaluation.datasets import load_citeulike  # noqa: E402
from coldstart.evaluation.protocol import evaluate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "spark_fit.json"


def _data_dir() -> Path:
    shared = ROOT.parent / "shared" / "data" / "citeulike-t"
    return shared if shared.is_dir() else ROOT / "data" / "citeulike-t"


def _recall(model, split) -> float:
    return float(evaluate(model, split, settings=("cold",), K=20).loc["cold", "recall@20"])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_data_dir())
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--factors", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)

    ds = load_citeulike(args.data)
    split = ds.load_split()
    X = ds.item_features
    rows = []

    t = time.perf_counter()
    local = ColdStartRecommender(random_state=0).fit(split.train, X)
    rows.append({"path": "local default", "fit_s": time.perf_counter() - t, "recall@20": _recall(local, split),
                 "detail": f"ColdStartRecommender(random_state=0), {local.item_factors_.shape[1]} factors"})

    t = time.perf_counter()
    cf_alpha = local.get_state()["collaborative_meta"]["alpha"]  # the alpha "auto" chose
    als = make_als(factors=local.factors, regularization=local.regularization, alpha=cf_alpha,
                   iterations=local.iterations, random_state=0, num_threads=0)
    with threadpool_limits(1, "blas"):  # as the local model fits implicit's ALS
        col, _, _ = fit_collaborative(als, split.train)
    # the fixed settings Spark's plug-in map takes (the local default chooses them on a copy)
    plug = ColdStartRecommender(collaborative=col, map_alpha=3.0, zero_shot_scale=2.0, random_state=0).fit(split.train, X)
    rows.append({"path": "local plug-in", "fit_s": time.perf_counter() - t, "recall@20": _recall(plug, split),
                 "detail": f"implicit ALS (alpha {cf_alpha:.1f}) + ColdStartRecommender(collaborative=...)"})

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from coldstart.integrations.spark import (
        SparkAttributeMap,
        SparkColdStartRecommender,
        csr_to_spark,
        interactions_to_spark,
        spark_to_factors,
    )

    t = time.perf_counter()
    spark = (SparkSession.builder.master(args.master).appName("coldstart-spark-bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2").config("spark.driver.memory", "6g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    start_s = time.perf_counter() - t
    n_cores = spark.sparkContext.defaultParallelism
    inter = interactions_to_spark(spark, split.train, rating_col=None).cache()
    attrs = csr_to_spark(spark, X).cache()
    inter.count(), attrs.count()
    # warm the Python workers once (imports), so that the timings below are the fits'
    SparkAttributeMap().fit(spark.createDataFrame([(0, [1.0])], "id long, features array<float>"),
                            attrs.where("id = 0"))

    t = time.perf_counter()
    cc = SparkColdStartRecommender(random_state=0).fit(inter, attrs)
    cc_s = time.perf_counter() - t
    exported = cc.to_local(n_users=split.n_users, n_items=split.n_items)
    rows.append({"path": "spark", "fit_s": cc_s, "recall@20": _recall(exported, split),
                 "detail": f"{args.master}: content-constrained ALS ({cc.map_.n_factors_} factors, "
                           f"{local.iterations} sweeps, alpha {cc._fold_in_alpha():.1f}), "
                           f"{cc.map_.n_iter_} map CG steps, prior weight"})
    diffs = {}

    model = SparkColdStartRecommender(method="spark-als", factors=args.factors, iterations=args.iterations,
                                      random_state=0, num_blocks=n_cores)
    map_fit = SparkAttributeMap.fit
    timing = {}

    def timed_map_fit(self, *a, **k):  # split the fit into ALS and map
        timing["als_end"] = time.perf_counter()
        return map_fit(self, *a, **k)

    SparkAttributeMap.fit = timed_map_fit
    try:
        t = time.perf_counter()
        model.fit(inter, attrs)
        end = time.perf_counter()
    finally:
        SparkAttributeMap.fit = map_fit
    als_s, map_s = timing["als_end"] - t, end - timing["als_end"]
    exported = model.to_local(n_users=split.n_users, n_items=split.n_items)
    rows.append({"path": "spark-als", "fit_s": end - t, "recall@20": _recall(exported, split),
                 "detail": f"{args.master}: Spark ALS {als_s:.1f} s ({args.factors} factors, {args.iterations} "
                           f"sweeps) + plug-in map and prior weight {map_s:.1f} s ({model.map_.n_iter_} CG "
                           f"steps, {model.map_.n_train_pairs_} interactions)"})

    # the map alone on the same factors (Spark ALS's) and interactions, local vs Spark
    ids, V = spark_to_factors(model.item_factors_)
    order = np.argsort(ids)
    ids, V = ids[order], V[order]
    uid, Uf = spark_to_factors(model.user_factors_)
    U = np.zeros((split.n_users, Uf.shape[1]), np.float32)
    U[uid] = Uf  # users without factors: zero rows, no change to U'U
    scale, map_alpha = model._fold_in_alpha(), model.map_.mapper_.alpha
    for family in ("plug-in", "ridge"):
        t = time.perf_counter()
        wl = AttributeWeighting().fit(X[ids])
        Xw = wl.transform(X[ids])
        if family == "plug-in":
            W = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=PLUGIN_INIT_ITERS, tol=0.0).fit(Xw, V).coef_
            ciu = (scale * split.train).astype(np.float32).T.tocsr()[ids]
            W = fit_map_on_interactions(Xw, ciu, U, map_alpha, W, iters=PLUGIN_MAP_ITERS)
            rl = RidgeMap(alpha=map_alpha, fit_intercept=False)
            rl.coef_, rl.intercept_, rl.n_features_in_ = W, np.zeros(W.shape[1], np.float32), W.shape[0]
            steps, what = PLUGIN_INIT_ITERS + PLUGIN_MAP_ITERS, "ridge start + fit_map_on_interactions"
        else:
            rl = RidgeMap(alpha=map_alpha).fit(Xw, V)
            steps, what = rl.n_iter_, "RidgeMap"
        local_map_s = time.perf_counter() - t
        zs_local = rl.predict(wl.transform(X))
        refine = ({"interactions": inter, "user_factors": model.user_factors_, "confidence_scale": scale}
                  if family == "plug-in" else {})
        t = time.perf_counter()
        sm = SparkAttributeMap(alpha=map_alpha).fit(model.item_factors_, attrs, **refine)
        spark_map_s = time.perf_counter() - t
        zs_spark = sm.embed(X)
        diffs[family] = diff = float(np.abs(zs_spark - zs_local).max() / np.abs(zs_local).max())
        rows.append({"path": f"map only ({family}), local", "fit_s": local_map_s, "recall@20": None,
                     "detail": f"AttributeWeighting + {what}, {steps} CG steps"})
        rows.append({"path": f"map only ({family}), spark", "fit_s": spark_map_s, "recall@20": None,
                     "detail": f"SparkAttributeMap, {sm.n_iter_} CG steps; max |Δ zero-shot| / max = {diff:.1e}"})
    spark.stop()

    print(f"\nciteulike-t: {split.n_users} users, {split.n_items} items, {X.shape[1]} attributes, "
          f"{split.train.nnz} training interactions; Spark {args.master} (start-up {start_s:.0f} s)\n")
    print(f"{'path':<28} {'fit (s)':>8} {'cold R@20':>10}  detail")
    for r in rows:
        rec = "" if r["recall@20"] is None else f"{r['recall@20']:.4f}"
        print(f"{r['path']:<28} {r['fit_s']:>8.1f} {rec:>10}  {r['detail']}")
    result = {"dataset": "citeulike-t", "master": args.master, "factors": args.factors,
              "iterations": args.iterations, "spark_start_s": start_s, "rows": rows,
              "zero_shot_max_rel_diff": diffs,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
