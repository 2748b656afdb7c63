"""Spark path vs local path on citeulike-t: fit time and cold Recall@20.

Rows (all fitted on ``split.train``, scored with ``evaluate(..., settings=("cold",), K=20)``):

* ``local default``   ``ColdStartRecommender(random_state=0).fit`` (content-constrained ALS).
* ``spark``           ``SparkColdStartRecommender(random_state=0).fit`` in ``local[N]``: Spark's
                      ALS + the distributed map, scored after ``to_local()``; its time is split
                      into ALS and map.
* ``map only``        the attribute map alone on the same (Spark ALS) item factors: the local
                      ``AttributeWeighting`` + ``RidgeMap`` vs :class:`coldstart.spark.SparkAttributeMap`,
                      with the largest difference between their zero-shot vectors.

Prints a table and writes ``benchmarks/results/spark_fit.json``.

Usage::

    python benchmarks/spark_fit.py                      # local[2], ALS rank 128, 10 sweeps
    python benchmarks/spark_fit.py --factors 64 --iterations 4
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart import AttributeWeighting, ColdStartRecommender, RidgeMap  # noqa: E402
from coldstart.datasets import load_citeulike  # noqa: E402
from coldstart.evaluation import evaluate  # noqa: E402

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

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from coldstart.spark import (SparkAttributeMap, SparkColdStartRecommender, csr_to_spark,
                                 interactions_to_spark, spark_to_factors)

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

    model = SparkColdStartRecommender(factors=args.factors, iterations=args.iterations, random_state=0,
                                      num_blocks=n_cores)
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
    rows.append({"path": "spark", "fit_s": end - t, "recall@20": _recall(exported, split),
                 "detail": f"{args.master}: Spark ALS {als_s:.1f} s ({args.factors} factors, {args.iterations} "
                           f"sweeps) + map {map_s:.1f} s ({model.map_.n_iter_} CG iterations)"})

    # the map alone on the same item factors (Spark ALS's), local vs Spark
    ids, V = spark_to_factors(model.item_factors_)
    t = time.perf_counter()
    wl = AttributeWeighting().fit(X[ids])
    rl = RidgeMap(alpha=model.map_.mapper_.alpha).fit(wl.transform(X[ids]), V)
    local_map_s = time.perf_counter() - t
    zs_local = rl.predict(wl.transform(X))
    t = time.perf_counter()
    sm = SparkAttributeMap(alpha=model.map_.mapper_.alpha).fit(model.item_factors_, attrs)
    spark_map_s = time.perf_counter() - t
    zs_spark = sm.embed(X)
    diff = float(np.abs(zs_spark - zs_local).max() / np.abs(zs_local).max())
    rows.append({"path": "map only, local", "fit_s": local_map_s, "recall@20": None,
                 "detail": f"AttributeWeighting + RidgeMap, {rl.n_iter_} CG iterations"})
    rows.append({"path": "map only, spark", "fit_s": spark_map_s, "recall@20": None,
                 "detail": f"SparkAttributeMap, {sm.n_iter_} CG iterations; max |Δ zero-shot| / max = {diff:.1e}"})
    spark.stop()

    print(f"\nciteulike-t: {split.n_users} users, {split.n_items} items, {X.shape[1]} attributes, "
          f"{split.train.nnz} training interactions; Spark {args.master} (start-up {start_s:.0f} s)\n")
    print(f"{'path':<18} {'fit (s)':>8} {'cold R@20':>10}  detail")
    for r in rows:
        rec = "" if r["recall@20"] is None else f"{r['recall@20']:.4f}"
        print(f"{r['path']:<18} {r['fit_s']:>8.1f} {rec:>10}  {r['detail']}")
    result = {"dataset": "citeulike-t", "master": args.master, "factors": args.factors,
              "iterations": args.iterations, "spark_start_s": start_s, "rows": rows,
              "zero_shot_max_rel_diff": diff,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
