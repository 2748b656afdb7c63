"""``coldstart demo``: fit on a catalog's training split, evaluate, then add a brand-new item."""

from __future__ import annotations

import argparse
import time

import numpy as np

from coldstart.cli.data import DataError, add_data_args, item_label, load_data, user_label
from coldstart.cli.tables import text_table


def register(sub) -> None:
    """Add the ``demo`` sub-command to the sub-parsers ``sub``."""
    p = sub.add_parser("demo", help="fit on a catalog (default: the bundled data), evaluate, add a "
                                    "brand-new item",
                       description="Fit the default model on the training part of a catalog's split "
                                   "(default: the bundled citeulike-t sample in data/), print its cold, "
                                   "warm and hybrid Recall@20 and NDCG@20, then add a held-out item from "
                                   "its attributes alone and show the users it goes to, its nearest "
                                   "items and the attributes behind it.")
    add_data_args(p)
    p.add_argument("--seed", type=int, default=0, help="picks the new item; seeds the split when the "
                                                       "data has none")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Fit on the training split, evaluate, then add a brand-new item and show who gets it."""
    from coldstart.core.model import ColdStartRecommender
    from coldstart.evaluation.protocol import evaluate

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
    print(text_table(rows, ["setting", "recall@20", "ndcg@20", "users"]))

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
