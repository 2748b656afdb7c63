"""Plug-in mode's settings: fixed, or chosen on a private copy of the backend.

Next to a fitted implicit ALS (128 factors, 15 iterations, ``regularization=0.1``) at ``alpha`` 1
(implicit's default) and 20 (the protocol's ALS + ridge), on each catalog of the collection
(reference features, the fixed split), the plug-in model is fitted twice: with the fixed
settings plug-in mode used before it chose them (``map_alpha=3, zero_shot_scale=2``) and with
the defaults (both "auto": chosen on an internal split of the training pairs, with a copy of the
backend refitted there; the backend's own factors are untouched either way). Cold Recall@20 and
NDCG@20, warm and hybrid Recall@20, the plug-in fit's seconds and the backend's. Writes
``benchmarks/results/plugin_tuning.{json,md}``.

    python benchmarks/plugin_tuning.py [--catalogs ...] [--alphas 1 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from citeulike import hardware  # noqa: E402
from collection import CATALOGS, load  # noqa: E402

from coldstart import ColdStartRecommender  # noqa: E402
from coldstart.evaluation import evaluate  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
MODES = {"fixed": {"map_alpha": 3.0, "zero_shot_scale": 2.0}, "chosen": {}}
COLUMNS = (("cold", "recall@20"), ("cold", "ndcg@20"), ("warm", "recall@20"), ("hybrid", "recall@20"))


def main() -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--catalogs", default=",".join(CATALOGS))
    p.add_argument("--alphas", type=float, nargs="+", default=[1.0, 20.0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    rows = []
    for cat in args.catalogs.split(","):
        ds, split = load(cat, Path(args.data_dir))
        for alpha in args.alphas:
            with threadpool_limits(1, "blas"):
                als = AlternatingLeastSquares(factors=128, iterations=15, alpha=alpha, regularization=0.1,
                                              random_state=0)
                t = time.perf_counter()
                als.fit(split.train.astype(np.float32), show_progress=False)
                backend_s = time.perf_counter() - t
            row = {"catalog": cat, "alpha": alpha, "backend_fit_s": round(backend_s, 2)}
            for mode, kw in MODES.items():
                t = time.perf_counter()
                m = ColdStartRecommender(collaborative=als, random_state=0, **kw).fit(split.train, ds.item_features)
                fit_s = time.perf_counter() - t
                res = evaluate(m, split, settings=("cold", "warm", "hybrid"), K=20, metrics=("recall", "ndcg"))
                row[mode] = {f"{s} {k}": float(res.loc[s, k]) for s, k in COLUMNS}
                row[mode].update(map_alpha=m.map_alpha_, zero_shot_scale=m.zero_shot_scale_, fit_s=round(fit_s, 2))
            rows.append(row)
            print(f"{cat} alpha {alpha:g}: " + " | ".join(
                f"{mode} " + " ".join(f"{row[mode][f'{s} {k}']:.4f}" for s, k in COLUMNS)
                + f" ({row[mode]['map_alpha']:g}, {row[mode]['zero_shot_scale']:g}, {row[mode]['fit_s']} s)"
                for mode in MODES), flush=True)
    result = {"rows": rows, "hardware": hardware(), "command": "python benchmarks/plugin_tuning.py"}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "plugin_tuning.json").write_text(json.dumps(result, indent=1))
    (OUT / "plugin_tuning.md").write_text(render(result))
    return 0


def render(result: dict) -> str:
    lines = ["# Plug-in mode: fixed settings against settings chosen on a copy of the backend", "",
             "implicit ALS (128 factors, 15 iterations, regularization 0.1) fitted on each catalog's training "
             "pairs; the plug-in model with `map_alpha=3, zero_shot_scale=2` (fixed, plug-in mode's settings "
             "before) and with the defaults (chosen: an internal split, a copy of the backend refitted on it). "
             "Ratio: chosen over fixed.", "",
             "| catalog | backend alpha | setting | cold R@20 | cold NDCG@20 | warm R@20 | hybrid R@20 | "
             "map_alpha / scale | plug-in fit s (backend fit s) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        for mode in MODES:
            v = r[mode]
            lines.append(f"| {r['catalog']} | {r['alpha']:g} | {mode} | " + " | ".join(
                f"{v[f'{s} {k}']:.4f}" for s, k in COLUMNS)
                + f" | {v['map_alpha']:g} / {v['zero_shot_scale']:g} | {v['fit_s']} ({r['backend_fit_s']}) |")
        lines.append(f"| {r['catalog']} | {r['alpha']:g} | ratio | " + " | ".join(
            f"{r['chosen'][f'{s} {k}'] / max(r['fixed'][f'{s} {k}'], 1e-12):.2f}" for s, k in COLUMNS) + " | | |")
    lines += ["", f"Hardware: {result['hardware']}.", "", f"Command: `{result['command']}`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
