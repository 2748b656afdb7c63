"""``add_items`` throughput with a large vocabulary (the compact map: rows for the attributes in use).

Two workloads, 256 factors, a model fitted on 4,000 items / 2,000 users:
- ``words20k``: one ``add_items`` of 950,000 items, 20 attributes each from a 20,000-word
  vocabulary (98 % of it seen in training);
- ``scale50k``: the scale benchmark's kind of attributes (10-50 per item from a 50,000-word
  vocabulary), 950,000 items.
The issue's target: both ≥ 200k items/s. Prints items/s, wall and CPU seconds, the load
average and the peak RSS and writes ``benchmarks/results/embed_speed.json``;
``benchmarks/scale.py`` runs it too (its "add_items of 950k items" section).

Usage: ``python benchmarks/embed_speed.py [--items 950000] [--workloads words20k,scale50k] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart import ColdStartRecommender  # noqa: E402


def rows(rng, n, vocab, lo, hi, used=None):
    counts = rng.integers(lo, hi + 1, size=n)
    pool = np.arange(vocab) if used is None else used
    cols = pool[rng.integers(len(pool), size=counts.sum())]
    X = sp.csr_matrix((np.ones(cols.size, np.float32), (np.repeat(np.arange(n), counts), cols)), shape=(n, vocab))
    X.sum_duplicates()
    return X


def run(name: str, vocab: int, lo: int, hi: int, n_new: int) -> dict:
    rng = np.random.default_rng(0)
    n_items, n_users = 4000, 2000
    X = rows(rng, n_items, vocab, lo, hi, used=rng.choice(vocab, int(0.98 * vocab), replace=False))
    r, c = rng.integers(n_users, size=60000), rng.integers(n_items, size=60000)
    ui = sp.csr_matrix((np.ones(r.size, np.float32), (r, c)), shape=(n_users, n_items))
    ui.sum_duplicates()
    ui.data[:] = 1
    m = ColdStartRecommender(factors=256, iterations=2, random_state=0).fit(ui, X)
    new = rows(rng, n_new, vocab, lo, hi)
    load = os.getloadavg()[0]
    cpu0 = time.process_time()
    t = time.perf_counter()
    m.add_items(new)
    dt = time.perf_counter() - t
    out = {"workload": name, "items": n_new, "vocabulary": vocab, "attributes_per_item": [lo, hi],
           "seconds": round(dt, 2), "cpu_seconds": round(time.process_time() - cpu0, 2),
           "items_per_second": round(n_new / dt), "load_average_1min": round(load, 2),
           "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    print(f"{name}: {out['items_per_second']:,} items/s ({n_new:,} items in {dt:.2f} s, CPU {out['cpu_seconds']} s, "
          f"load {load:.1f}, peak RSS {out['peak_rss_gb']} GB)", flush=True)
    return out


WORKLOADS = {"words20k": (20_000, 20, 20), "scale50k": (50_000, 10, 50)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--items", type=int, default=950_000)
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of " + ", ".join(WORKLOADS))
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embed_speed.json")
    args = p.parse_args(argv)
    names = args.workloads.split(",")
    if unknown := [w for w in names if w not in WORKLOADS]:
        p.error(f"unknown workloads {unknown}; expected some of {list(WORKLOADS)}")
    res = [run(w, *WORKLOADS[w], args.items) for w in names]
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
