"""Command line: ``coldstart demo | benchmark | search | simulate``."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    line = "  ".join(c.ljust(widths[c]) for c in columns)
    out = [line, "  ".join("-" * widths[c] for c in columns)]
    for r in rows:
        out.append("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))
    return "\n".join(out)


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def cmd_demo(args: argparse.Namespace) -> int:
    """Fit on the bundled training split, evaluate, then add a brand-new article."""
    from .datasets import load_dataset
    from .evaluation import evaluate
    from .model import ColdStartRecommender

    t0 = time.perf_counter()
    ds = load_dataset(args.dataset, args.data_dir)
    split = ds.load_split()
    print(f"{ds.name}: {ds.shape[0]:,} users, {ds.shape[1]:,} items, {ds.item_features.shape[1]:,} "
          f"attributes (words); train {split.train.nnz:,} interactions, "
          f"{len(split.cold_test_items):,} cold test items ({time.perf_counter() - t0:.1f}s to load)")

    # The brand-new article of the demo: a cold test item, held out of the fit entirely.
    rng = np.random.default_rng(args.seed)
    cold_items = split.cold_test_items
    counts = np.bincount(split.cold_test.indices, minlength=ds.shape[1])[cold_items]
    new_item = int(rng.choice(cold_items[counts >= 5])) if (counts >= 5).any() else int(cold_items[0])

    print("\nfitting ColdStartRecommender (implicit ALS + attribute map) on the training split ...")
    t = time.perf_counter()
    model = ColdStartRecommender(random_state=0, show_progress=not args.quiet).fit(split.train, ds.item_features)
    print(f"fitted in {time.perf_counter() - t:.1f}s")

    print("\nevaluating (protocol of EVALUATION.md, K = 20) ...")
    summary = evaluate(model, split, settings=("cold", "warm", "hybrid"), K=20,
                       metrics=("recall", "ndcg"))
    rows = [{"setting": s, "recall@20": summary.loc[s, "recall@20"], "ndcg@20": summary.loc[s, "ndcg@20"],
             "users": int(summary.loc[s, "users"])} for s in summary.index]
    print(_table(rows, ["setting", "recall@20", "ndcg@20", "users"]))

    x = ds.item_features[new_item]
    names = ds.feature_names[x.indices[np.argsort(-x.data, kind="stable")]]
    words = [n for n in names if not n.startswith("tag:")][:10]
    tags = [n[4:] for n in names if n.startswith("tag:")][:8]
    print(f"\na brand-new article arrives (item {new_item} of the cold test set, never seen in training)")
    print(f"  its words: {', '.join(words)}")
    if tags:
        print(f"  its tags:  {', '.join(tags)}")
    [idx] = model.add_items(x)
    scores = model.user_factors_ @ model.item_factors_[idx]
    top_users = np.argsort(-scores, kind="stable")[:10]
    truth = set(split.cold_test[:, new_item].tocoo().row.tolist())
    print(f"  added as index {idx}; the 10 users it is recommended to most strongly:")
    for u in top_users:
        mark = "  <- saved it in the held-out data" if u in truth else ""
        print(f"    user {u:5d}  score {scores[u]:.3f}{mark}")
    hits = len(truth & set(top_users.tolist()))
    print(f"  {hits} of these 10 users really saved it (out of {len(truth)} who did, among "
          f"{ds.shape[0]:,} users; random would find {10 * len(truth) / ds.shape[0]:.2f})")
    near = model.nearest_established(idx, N=5)
    print(f"  its nearest established articles: {', '.join(str(i) for i in near['item'])}")
    print(f"\ndone in {time.perf_counter() - t0:.1f}s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coldstart", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="fit on the bundled data, evaluate, add a brand-new item")
    d.add_argument("--dataset", default="citeulike-t")
    d.add_argument("--data-dir", default=None, help="folder holding <dataset>/ (default: bundled data/)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)
    from . import cli_benchmark, cli_search, cli_simulate

    for mod in (cli_benchmark, cli_search, cli_simulate):
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
