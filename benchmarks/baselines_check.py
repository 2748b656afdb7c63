"""Reproduce the reference baseline figures of EVALUATION.md on the published citeulike-t split.

Usage (from the repository root)::

    python benchmarks/baselines_check.py                       # the reference rows
    python benchmarks/baselines_check.py --study               # + attribute / weighting study
    python benchmarks/baselines_check.py --models content,als-ridge --attributes words+tags

Prints one table: each model's cold Recall@20 / NDCG@20, warm Recall@20, hybrid Recall@20
and fit seconds, next to the reference figures. Fit seconds depend on the machine and its
load; the reference was measured on an otherwise idle 2-core machine.

Attributes: ``words`` are the word counts of ``mult.dat`` (20,000 columns), ``tags`` one
indicator per tag of ``tag-item.dat`` (52,946 columns). The reference rows are reproduced
by the words alone (see ``--study``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coldstart.evaluation.baselines import (  # noqa: E402
    ALSRidgeRecommender,
    ContentProfileRecommender,
    LightFMRecommender,
    PopularityRecommender,
    RandomRecommender,
)
from coldstart.evaluation.protocol import evaluate, setting_spec  # noqa: E402
from coldstart.evaluation.splits import read_split  # noqa: E402

DEFAULT_DATA = "/work/shared/data/citeulike-t"

#: EVALUATION.md, "Reference figures on citeulike-t"
REFERENCE = {
    "random": (0.0078, 0.0035, 0.0019, 0.0011, 0.0),
    "content": (0.3837, 0.2386, 0.1508, 0.1512, 0.05),
    "als-ridge": (0.3649, 0.2128, 0.2337, 0.1126, 6.5),
    "lightfm": (0.2763, 0.1541, 0.1827, 0.0919, 16.7),
}
COLUMNS = ("cold R@20", "cold NDCG@20", "warm R@20", "hybrid R@20", "fit s")


def load_attributes(path: str) -> tuple[sp.csr_matrix, sp.csr_matrix, tuple[int, int]]:
    """(word counts, tag indicators, (n_users, n_items)) of a CiteULike-format folder."""
    try:
        from coldstart.evaluation.datasets import load_citeulike

        ds = load_citeulike(path, tags=True)
        is_tag = np.char.startswith(ds.feature_names.astype(str), "tag:")
        F = ds.item_features.tocsc()
        return (F[:, ~is_tag].tocsr(), F[:, is_tag].tocsr(), ds.user_items.shape)
    except ImportError:  # pragma: no cover - before coldstart.evaluation.datasets exists
        return _private_loader(path)


def _private_loader(path: str):
    rows, cols, vals = [], [], []
    with open(os.path.join(path, "mult.dat")) as fh:
        for i, line in enumerate(fh):
            for tok in line.split()[1:]:
                w, c = tok.split(":")
                rows.append(i), cols.append(int(w)), vals.append(float(c))
    n_items = i + 1
    words = sp.csr_matrix((vals, (rows, cols)), shape=(n_items, 20000), dtype=np.float32)
    r, c = [], []
    with open(os.path.join(path, "tag-item.dat")) as fh:
        for t, line in enumerate(fh):
            for it in line.split()[1:]:
                r.append(int(it)), c.append(t)
    tags = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(n_items, t + 1))
    tags.data[:] = 1.0
    with open(os.path.join(path, "users.dat")) as fh:
        n_users = sum(1 for _ in fh)
    return words, tags, (n_users, n_items)


def expected_random_recall(split, setting: str, K: int = 20) -> float:
    """Mean Recall@K of a uniformly random ranking: K / (number of the user's candidates)."""
    spec = setting_spec(split, setting)
    users = np.flatnonzero(np.diff(spec.truth.indptr))
    in_cand = np.zeros(split.n_items, dtype=bool)
    in_cand[spec.candidates] = True
    train = split.train[users]
    row_of = np.repeat(np.arange(users.size), np.diff(train.indptr))
    n_cand = spec.candidates.size - np.bincount(row_of, weights=in_cand[train.indices],
                                                minlength=users.size)
    return float(np.mean(np.minimum(K, n_cand) / n_cand))


def make_model(name: str):
    return {
        "random": lambda: RandomRecommender(random_state=0),
        "popularity": lambda: PopularityRecommender(),
        "content": lambda: ContentProfileRecommender(),          # sublinear tf-idf
        "als-ridge": lambda: ALSRidgeRecommender(),              # 128 f., alpha 20, reg 0.1
        "lightfm": lambda: LightFMRecommender(),                 # WARP, 64 comp., 30 epochs
    }[name]()


def run(model, split, F) -> tuple[float, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # implicit's OpenBLAS advice
        start = time.perf_counter()
        model.fit(split.train, F)
        fit_s = time.perf_counter() - start
    res = evaluate(model, split, settings=("cold", "warm", "hybrid"), K=20,
                   metrics=("recall", "ndcg"))
    return (res.loc["cold", "recall@20"], res.loc["cold", "ndcg@20"],
            res.loc["warm", "recall@20"], res.loc["hybrid", "recall@20"], fit_s)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="CiteULike-format folder with split/")
    ap.add_argument("--models", default="random,popularity,content,als-ridge,lightfm")
    ap.add_argument("--attributes", default="words", choices=("words", "tags", "words+tags"))
    ap.add_argument("--study", action="store_true",
                    help="also run the content profile on every attribute set x tf weighting")
    ap.add_argument("--out", help="write the table as CSV here")
    args = ap.parse_args(argv)

    words, tags, shape = load_attributes(args.data)
    split = read_split(os.path.join(args.data, "split"), shape=shape)
    attrs = {"words": words, "tags": tags,
             "words+tags": sp.hstack([words, tags], format="csr", dtype=np.float32)}
    F = attrs[args.attributes]
    print(f"{split}\nattributes: {args.attributes} {F.shape}, K=20\n")

    rows = []
    for name in args.models.split(","):
        name = name.strip()
        try:
            got = run(make_model(name), split, F)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        ref = REFERENCE.get(name)
        rows.append({"model": name, **{c: g for c, g in zip(COLUMNS, got)},
                     **({f"ref {c}": r for c, r in zip(COLUMNS, ref)} if ref else {})})
        print(f"{name}: " + ", ".join(f"{c} {g:.4f}" for c, g in zip(COLUMNS, got)), flush=True)

    if "random" in args.models:
        exp = [expected_random_recall(split, s) for s in ("cold", "warm", "hybrid")]
        rows.append({"model": "random (expected)", "cold R@20": exp[0], "cold NDCG@20": np.nan,
                     "warm R@20": exp[1], "hybrid R@20": exp[2], "fit s": np.nan})
    table = pd.DataFrame(rows).set_index("model")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print("\nReproduced vs reference (EVALUATION.md):")
    show = pd.DataFrame(index=table.index)
    for c in COLUMNS:
        ref = table.get(f"ref {c}")
        fmt = "{:.2f}" if c == "fit s" else "{:.4f}"
        show[c] = [("-" if pd.isna(v) else fmt.format(v))
                   + ("" if ref is None or pd.isna(r) else f" ({fmt.format(r)})")
                   for v, r in zip(table[c], ref if ref is not None else [np.nan] * len(table))]
    print(show.to_string())
    print("(reference in parentheses; fit seconds are machine- and load-dependent)")

    if args.study:
        print("\nContent profile: attribute set x tf weighting")
        study = []
        for aname, A in attrs.items():
            for sub in (True, False):
                got = run(ContentProfileRecommender(sublinear_tf=sub), split, A)
                study.append({"attributes": aname, "tf": "sublinear" if sub else "raw",
                              **{c: round(g, 4) for c, g in zip(COLUMNS, got)}})
        print(pd.DataFrame(study).to_string(index=False))
    if args.out:
        table.to_csv(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
