"""Issue 15: a catalog that declares 5,000,000 attribute columns but uses a few per item.

2,000 items with 20 attributes each drawn from the 5M declared columns, 1,000 users; fit the
default model, save, load, add 1,000 items. The map keeps coefficients for the active columns
only, so memory and file size follow the attributes in use, not the declared width.

    python benchmarks/wide_attributes.py   # also writes benchmarks/results/wide_attributes.json
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

from coldstart import ColdStartRecommender

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "wide_attributes.json")


def main(d: int = 5_000_000, n_items: int = 2_000, n_users: int = 1_000, per_item: int = 20) -> None:
    rng = np.random.default_rng(0)
    cols = rng.integers(d, size=(n_items, per_item))
    X = sp.csr_matrix((np.ones(n_items * per_item, np.float32), (np.repeat(np.arange(n_items), per_item),
                       cols.ravel())), shape=(n_items, d))
    X.sum_duplicates()
    rows = rng.integers(n_users, size=30_000)
    items = rng.integers(n_items - 200, size=30_000)  # the last 200 items stay cold
    ui = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, items)), shape=(n_users, n_items))
    ui.sum_duplicates()
    ui.data[:] = 1
    t = time.perf_counter()
    m = ColdStartRecommender(random_state=0).fit(ui, X)
    fit_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "wide.npz")
        m.save(p)
        size = os.path.getsize(p)
        back = ColdStartRecommender.load(p)
    assert np.array_equal(back.item_factors_, m.item_factors_)
    new = sp.csr_matrix((np.ones(1000 * per_item, np.float32), (np.repeat(np.arange(1000), per_item),
                         rng.integers(d, size=1000 * per_item))), shape=(1000, d))
    new.sum_duplicates()
    idx = back.add_items(new)
    assert np.all(np.isfinite(back.item_factors_[idx]))
    mp = m.mapper_
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    active = len(mp.columns_) if mp.columns_ is not None else d
    result = {"declared_columns": d, "active_columns": active, "map_shape": list(mp.coef_active_.shape),
              "map_mib": round(mp.coef_active_.nbytes / 2**20, 1),
              "dense_map_gib": round(d * mp.coef_active_.shape[1] * 4 / 2**30, 1), "fit_seconds": round(fit_s, 1),
              "file_mib": round(size / 2**20, 1), "peak_rss_mib": round(peak),
              "command": "python benchmarks/wide_attributes.py"}
    print(f"declared columns {d:,}; active columns {active:,}; stored map {mp.coef_active_.shape} "
          f"({result['map_mib']} MiB; dense would be {result['dense_map_gib']} GiB); fit {fit_s:.1f} s; "
          f"file {result['file_mib']} MiB; peak RSS {peak:.0f} MiB", file=sys.stdout)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split())).parse_args()  # no options; --help answers
    main()
