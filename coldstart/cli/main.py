"""Command line: ``coldstart demo | benchmark | search | simulate | split``."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from coldstart.cli.data import DataError


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
    """Fit on the training split, evaluate, then add a brand-new item."""
    from coldstart.cli.data import item_label, load_data, user_label
    from coldstart.evaluation.protocol import evaluate
    from coldstart.core.model import ColdStartRecommender

    t0 = time.perf_counter()
    data = load_data(args)
    ds, split = data.dataset, data.split
    features, feature_names = data.model_features, data.model_feature_names
    print(f"{data.label}: {ds.shape[0]:,} users, {ds.shape[1]:,} items, {features.shape[1]:,} "
          f"attributes; {data.how}: train {split.train.nnz:,} interactions, "
          f"{len(split.cold_test_items):,} cold test items ({time.perf_counter() - t0:.1f}s to load)")
    if not len(split.cold_test_items):
        raise DataError("the split has no cold test items: the catalog is too small for the demo")

    # The brand-new article of the demo: a cold test item, held out of the fit entirely.
    rng = np.random.default_rng(args.seed)
    cold_items = split.cold_test_items
    counts = np.bincount(split.cold_test.indices, minlength=ds.shape[1])[cold_items]
    new_item = int(rng.choice(cold_items[counts >= 5])) if (counts >= 5).any() else int(cold_items[0])

    print("\nfitting ColdStartRecommender (implicit ALS + attribute map) on the training split ...")
    t = time.perf_counter()
    model = ColdStartRecommender(random_state=0, show_progress=not args.quiet).fit(split.train, features)
    print(f"fitted in {time.perf_counter() - t:.1f}s")

    print("\nevaluating (protocol of EVALUATION.md, K = 20) ...")
    summary = evaluate(model, split, settings=("cold", "warm", "hybrid"), K=20,
                       metrics=("recall", "ndcg"))
    rows = [{"setting": s, "recall@20": summary.loc[s, "recall@20"], "ndcg@20": summary.loc[s, "ndcg@20"],
             "users": int(summary.loc[s, "users"])} for s in summary.index]
    print(_table(rows, ["setting", "recall@20", "ndcg@20", "users"]))

    x = features[new_item]
    names = feature_names[x.indices[np.argsort(-np.abs(x.data), kind="stable")]]
    words = [n for n in names if not n.startswith("tag:")][:10]
    tags = [n[4:] for n in names if n.startswith("tag:")][:8]
    print(f"\na brand-new item arrives (item {item_label(ds, new_item)} of the cold test set, never "
          "seen in training)")
    print(f"  its attributes: {', '.join(words)}")
    if tags:
        print(f"  its tags:  {', '.join(tags)}")
    [idx] = model.add_items(x)
    scores = model.user_factors_ @ model.item_factors_[idx]
    top_users = np.argsort(-scores, kind="stable")[:10]
    truth = set(split.cold_test[:, new_item].tocoo().row.tolist())
    print(f"  added as index {idx}; the 10 users it is recommended to most strongly:")
    for u in top_users:
        mark = "  <- saved it in the held-out data" if u in truth else ""
        print(f"    user {user_label(ds, u):>5s}  score {scores[u]:.3f}{mark}")
    hits = len(truth & set(top_users.tolist()))
    print(f"  {hits} of these 10 users really saved it (out of {len(truth)} who did, among "
          f"{ds.shape[0]:,} users; random would find {10 * len(truth) / ds.shape[0]:.2f})")
    near = model.nearest_established(idx, N=5)
    print(f"  its nearest established items: {', '.join(item_label(ds, int(i)) for i in near['item'])}")
    print(f"\ndone in {time.perf_counter() - t0:.1f}s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coldstart", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    from coldstart.cli.data import add_data_args

    d = sub.add_parser("demo", help="fit on a catalog (default: the bundled data), evaluate, add a "
                                    "brand-new item")
    add_data_args(d)
    d.add_argument("--seed", type=int, default=0, help="picks the new item; seeds the split when the "
                                                       "data has none")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)
    s = sub.add_parser("split", help="write the protocol's item cold-start split of a catalog as a folder",
                       description="Write train.csv, warm_test.csv, cold_val.csv and cold_test.csv "
                                   "(header user,item; the catalog's own ids) to --out.")
    add_data_args(s)
    s.add_argument("--out", required=True, help="split folder to write (e.g. DIR/split)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--cold-fraction", type=float, default=0.1,
                   help="share of the interacted items in each of cold validation and cold test")
    s.add_argument("--warm-test-fraction", type=float, default=0.1)
    s.set_defaults(func=cmd_split)
    from coldstart.cli import benchmark as cli_benchmark
    from coldstart.cli import search as cli_search
    from coldstart.cli import simulate as cli_simulate

    for mod in (cli_benchmark, cli_search, cli_simulate):
        mod.register(sub)
    return p


def cmd_split(args: argparse.Namespace) -> int:
    """Write the protocol's seeded split of the command line's data."""
    from coldstart.cli.data import load_data
    from coldstart.evaluation.datasets import write_split_ids
    from coldstart.evaluation.splits import protocol_split, write_split

    data = load_data(args, need_split=False)
    ds = data.dataset
    try:
        split = protocol_split(ds.user_items, cold_fraction=args.cold_fraction,
                               warm_test_fraction=args.warm_test_fraction, random_state=args.seed)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if ds.user_ids is not None:
        write_split_ids(split, args.out, ds.user_ids, ds.item_ids)
    else:
        write_split(split, args.out)
    print(split.summary().to_string())
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"coldstart {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
