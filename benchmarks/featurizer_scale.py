"""Scale benchmark for :class:`coldstart.features.featurizer.ItemFeaturizer`.

Generates a synthetic catalog (default 1,000,000 items) with

* ``item_id``  consecutive integers (auto-ignored as id-like),
* ``title``    2-9 words drawn from a Zipf vocabulary of 30,000 words (text),
* ``category`` one of 40 skewed categories (categorical),
* ``genres``   1-3 of 20 genres joined by ``|`` (multilabel, delimited string),
* ``year``     1950-2024 with 10 % missing (numeric + missing indicator),
* ``tags``     a Python list of 0-6 tags from a Zipf pool of 5,000 (multilabel, list cells),

then times ``fit``, ``transform`` (same rows; serial and ``n_jobs=2``), ``transform``
of 10 % "new" rows
with unseen values, and ``get_state``/``from_state``; optionally a per-column
breakdown (``--per-column``).  Prints a table and writes JSON to
``benchmarks/results/featurizer_scale.json``.

Usage::

    python benchmarks/featurizer_scale.py                 # 1M rows, a few minutes on 2 cores
    python benchmarks/featurizer_scale.py --rows 100000 --per-column
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "featurizer_scale.json"


def _zipf_p(n: int, a: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** a
    return p / p.sum()


def make_catalog(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic item catalog of ``n`` rows (see module docstring)."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(30_000)], dtype=object)
    n_words = rng.integers(2, 10, n)
    flat = rng.choice(words, int(n_words.sum()), p=_zipf_p(words.size))
    titles = [" ".join(chunk) for chunk in np.split(flat, np.cumsum(n_words)[:-1])]

    cats = np.array([f"category {i}" for i in range(40)], dtype=object)
    category = rng.choice(cats, n, p=_zipf_p(cats.size, 0.8))

    genre_pool = np.array(["Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
                           "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX",
                           "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
                           "Western", "Biography"], dtype=object)
    k = rng.integers(1, 4, n)
    # distinct genres per item: argsort of random keys, take the first k
    order = np.argsort(rng.random((n, genre_pool.size)), axis=1)[:, :3]
    picked = genre_pool[order]
    genres = np.where(k == 1, picked[:, 0],
                      np.where(k == 2, picked[:, 0] + "|" + picked[:, 1],
                               picked[:, 0] + "|" + picked[:, 1] + "|" + picked[:, 2]))

    year = rng.integers(1950, 2025, n).astype(np.float64)
    year[rng.random(n) < 0.10] = np.nan

    tag_pool = np.array([f"tag_{i}" for i in range(5_000)], dtype=object)
    n_tags = rng.integers(0, 7, n)
    tflat = rng.choice(tag_pool, int(n_tags.sum()), p=_zipf_p(tag_pool.size))
    tags = [t.tolist() for t in np.split(tflat, np.cumsum(n_tags)[:-1])]

    return pd.DataFrame({
        "item_id": np.arange(n, dtype=np.int64),
        "title": titles,
        "category": category,
        "genres": genres,
        "year": year,
        "tags": tags,
    })


def make_new_items(df: pd.DataFrame, frac: float = 0.1, seed: int = 1) -> pd.DataFrame:
    """A slice of rows with unseen categories/genres/tags/words sprinkled in."""
    rng = np.random.default_rng(seed)
    new = df.sample(frac=frac, random_state=seed).reset_index(drop=True)
    m = len(new)
    unseen = rng.random(m) < 0.2
    new.loc[unseen, "category"] = "brand-new category"
    new.loc[unseen, "genres"] = new.loc[unseen, "genres"] + "|Space-Opera"
    new.loc[unseen, "title"] = new.loc[unseen, "title"] + " neverseenword"
    new["tags"] = [t + ["fresh_tag"] if u else t for t, u in zip(new["tags"], unseen)]
    return new


_CPU: dict[int, float] = {}


def _time(fn, *args):
    """Run ``fn(*args)``; return (result, wall seconds).  CPU seconds of this
    process go to ``_CPU[id(result)]`` (contention-independent for serial code)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    wall = time.perf_counter() - t0
    _CPU[id(out)] = time.process_time() - c0
    return out, wall


def _cpu(obj) -> float:
    return _CPU.get(id(obj), float("nan"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(rows: int, per_column: bool, seed: int = 0) -> dict:
    print(f"generating {rows:,} synthetic items ...", flush=True)
    df, t_gen = _time(make_catalog, rows, seed)
    new = make_new_items(df)
    print(f"  generated in {t_gen:.1f}s", flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnIgnoredWarning)  # item_id
        feat, t_fit = _time(ItemFeaturizer().fit, df)
    cpu_fit = _cpu(feat)
    X, t_tr = _time(feat.transform, df)
    cpu_tr = _cpu(X)
    feat.set_params(n_jobs=2)
    Xp, t_par = _time(feat.transform, df)
    feat.set_params(n_jobs=None)
    assert (Xp != X).nnz == 0, "parallel transform differs"
    del Xp
    Xn, t_new = _time(feat.transform, new)
    cpu_new = _cpu(Xn)
    (meta, arrays), t_dump = _time(feat.get_state)
    feat2, t_load = _time(ItemFeaturizer.from_state, json.loads(json.dumps(meta)), arrays)
    Xn2 = feat2.transform(new)
    same = (Xn2 != Xn).nnz == 0
    assert same, "get_state / from_state round trip changed the output"
    assert X.shape[1] == Xn.shape[1] == feat.n_features_out_

    stages = [
        ("fit", rows, t_fit, cpu_fit),
        ("transform (fit rows)", rows, t_tr, cpu_tr),
        ("transform (fit rows, n_jobs=2)", rows, t_par, float("nan")),
        ("transform (new rows, 20% unseen values)", len(new), t_new, cpu_new),
        ("get_state", None, t_dump, float("nan")),
        ("from_state", None, t_load, float("nan")),
    ]
    per_col = []
    if per_column:
        for col in ["title", "category", "genres", "year", "tags"]:
            sub = df[[col]]
            f1, tf = _time(ItemFeaturizer().fit, sub)
            Z, tt = _time(f1.transform, sub)
            per_col.append({"column": col, "kind": f1.kinds_[col], "fit_s": tf,
                            "fit_cpu_s": _cpu(f1), "transform_s": tt,
                            "transform_cpu_s": _cpu(Z), "n_features": f1.n_features_out_})

    desc = feat.describe()
    result = {
        "rows": rows,
        "generate_s": t_gen,
        "stages": [{"stage": s, "rows": r, "seconds": t,
                    "cpu_seconds": (None if c != c else c),
                    "rows_per_s": (r / t if r else None)} for s, r, t, c in stages],
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "per_column": per_col,
        "n_features_out": int(feat.n_features_out_),
        "nnz": int(X.nnz),
        "nnz_per_row": X.nnz / rows,
        "kinds": feat.kinds_,
        "blocks": desc.reset_index().drop(columns=["reason"]).to_dict(orient="records"),
        "npz_bytes": int(sum(a.nbytes for a in arrays.values())),
        "roundtrip_identical": bool(same),
        "peak_rss_mb": _peak_rss_mb(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }

    print()
    print(f"ItemFeaturizer on {rows:,} items -> {X.shape[1]:,} features, "
          f"{X.nnz / rows:.1f} nnz/row, peak RSS {result['peak_rss_mb']:.0f} MB")
    print(f"(load average {result['load_average_1min']:.1f} on {os.cpu_count()} cores; "
          "'cpu s' = CPU time of this process, i.e. the uncontended serial cost)")
    print(f"{'stage':<42}{'rows':>10}{'wall s':>9}{'cpu s':>8}{'rows/s (wall)':>15}"
          f"{'rows/s (cpu)':>14}")
    for s in result["stages"]:
        r = f"{s['rows']:,}" if s["rows"] else "-"
        rps = f"{s['rows_per_s']:,.0f}" if s["rows_per_s"] else "-"
        c = s["cpu_seconds"]
        cs = f"{c:.2f}" if c is not None else "-"
        crps = f"{s['rows'] / c:,.0f}" if (c and s["rows"]) else "-"
        print(f"{s['stage']:<42}{r:>10}{s['seconds']:>9.2f}{cs:>8}{rps:>15}{crps:>14}")
    if per_col:
        print()
        print(f"{'column':<10}{'kind':<13}{'features':>9}{'fit s':>8}{'fit cpu':>9}"
              f"{'transform s':>13}{'tr. cpu':>9}{'rows/s (cpu)':>14}")
        for c in per_col:
            print(f"{c['column']:<10}{c['kind']:<13}{c['n_features']:>9,}{c['fit_s']:>8.2f}"
                  f"{c['fit_cpu_s']:>9.2f}{c['transform_s']:>13.2f}{c['transform_cpu_s']:>9.2f}"
                  f"{rows / c['transform_cpu_s']:>14,.0f}")
    print()
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(desc.drop(columns=["reason"]))
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--per-column", action="store_true",
                    help="also time each column alone (roughly doubles the run time)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    result = run(args.rows, args.per_column, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
