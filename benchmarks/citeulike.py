"""The citeulike-t benchmark: every model on the fixed split, plus an independent check.

Runs ``coldstart benchmark`` (all available models, settings cold / warm / hybrid, K = 20),
then re-scores the default model's recommendations with a deliberately simple per-user loop
written here from EVALUATION.md's definitions (no code shared with coldstart.evaluation.metrics or
coldstart.evaluation.protocol), and writes:

- ``benchmarks/results/citeulike.json``: the benchmark rows + the independent check + hardware;
- ``benchmarks/results/citeulike.md``: the table with the hardware.

Usage (from the repository root)::

    python benchmarks/citeulike.py [--data-dir ../shared/data] [--models coldstart,content-profile]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart.cli.benchmark import load_split_for, run_benchmark  # noqa: E402
from coldstart.cli.tables import markdown_table, pivot_rows  # noqa: E402


def hardware() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import implicit
    import scipy
    import sklearn

    mem = ""
    try:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "implicit": implicit.__version__,
            "scikit-learn": sklearn.__version__, "load_average_at_end": os.getloadavg()[0]}


def independent_scores(model, split, K: int = 20) -> dict:
    """Recall@K and NDCG@K by a plain loop over users, straight from EVALUATION.md."""
    n_items = split.shape[1]
    cold_val, cold_test = set(split.cold_val_items.tolist()), set(split.cold_test_items.tolist())
    warm_items = np.array([i for i in range(n_items) if i not in cold_val and i not in cold_test])
    hybrid_items = np.array([i for i in range(n_items) if i not in cold_val])
    settings = {
        "cold": (split.cold_test, np.array(sorted(cold_test)), False),
        "warm": (split.warm_test, warm_items, True),
        "hybrid": ((split.warm_test + split.cold_test).tocsr(), hybrid_items, True),
    }
    out = {}
    for name, (truth, cand, exclude_train) in settings.items():
        truth = truth.tocsr()
        recalls, ndcgs = [], []
        users = [u for u in range(truth.shape[0]) if truth.indptr[u + 1] > truth.indptr[u]]
        for start in range(0, len(users), 512):
            batch = np.array(users[start:start + 512])
            rows = split.train[batch] if exclude_train else sp.csr_matrix((len(batch), n_items), dtype=np.float32)
            ids, _ = model.recommend(batch, rows, N=K, items=cand, filter_already_liked_items=exclude_train)
            for r, u in enumerate(batch):
                relevant = set(truth.indices[truth.indptr[u]:truth.indptr[u + 1]].tolist())
                seen = set(split.train.indices[split.train.indptr[u]:split.train.indptr[u + 1]].tolist())
                ranked = [int(i) for i in ids[r] if i >= 0 and (not exclude_train or int(i) not in seen)][:K]
                hits = [1.0 if i in relevant else 0.0 for i in ranked]
                recalls.append(sum(hits) / len(relevant))
                dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
                idcg = sum(1.0 / math.log2(j + 2) for j in range(min(K, len(relevant))))
                ndcgs.append(dcg / idcg)
        out[name] = {"recall@20": float(np.mean(recalls)), "ndcg@20": float(np.mean(ndcgs)), "users": len(users)}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--data-dir", default=None, help="folder holding citeulike-t/ (default: bundled data/)")
    p.add_argument("--models", default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows, _, fitted = run_benchmark("citeulike-t", args.data_dir,
                                    args.models.split(",") if args.models else None)
    check = None
    if "coldstart" in fitted:
        _, split, _ = load_split_for("citeulike-t", args.data_dir)
        check = independent_scores(fitted["coldstart"], split)
        print("\nindependent re-scoring of the default model's recommendations:")
        for s, v in check.items():
            mine = next(r for r in rows if r["model"] == "coldstart" and r["setting"] == s)
            print(f"  {s:7s} recall@20 {v['recall@20']:.4f} (benchmark {mine['recall@20']:.4f})  "
                  f"ndcg@20 {v['ndcg@20']:.4f} (benchmark {mine['ndcg@20']:.4f})")
    hw = hardware()
    table = markdown_table(pivot_rows(rows))
    print("\n" + table)
    (out / "citeulike.json").write_text(json.dumps({"rows": rows, "independent_check": check,
                                                    "hardware": hw}, indent=1) + "\n")
    (out / "citeulike.md").write_text(
        "# citeulike-t benchmark (EVALUATION.md protocol, K = 20, words as attributes)\n\n"
        f"{table}\n\nCommand: `python benchmarks/citeulike.py`; {time.perf_counter() - t:.0f} s in all.\n\n"
        f"Hardware: {hw['cpu']}, {hw['cores']} cores, {hw['memory']}; Python {hw['python']}, numpy "
        f"{hw['numpy']}, scipy {hw['scipy']}, implicit {hw['implicit']}, scikit-learn {hw['scikit-learn']}; "
        f"1-min load average at the end {hw['load_average_at_end']:.1f}.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
