"""Item cold start in index space on the bundled citeulike-t data.

Fits the default model (its settings chosen on an internal split of the training pairs) on
the fixed training split,
evaluates it on cold, warm and hybrid items (Recall@20 / NDCG@20), adds brand-new articles
from their words, and saves/loads the model (one pickle-free file).

Run from the repository root (about 15 s on 2 cores)::

    python examples/citeulike_cold_start.py [--factors 256] [--iterations 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from coldstart.evaluation import evaluate, load_dataset


def describe(ds, row: sp.csr_matrix, n: int = 8) -> str:
    """The words (most frequent first) and tags of one attribute row, as text."""
    names = ds.feature_names[row.indices]
    is_tag = np.char.startswith(names.astype(str), "tag:")
    order = np.argsort(-row.data[~is_tag], kind="stable")
    text = "words: " + ", ".join(names[~is_tag][order][:n])
    if is_tag.any():
        text += " | tags: " + ", ".join(t[4:] for t in names[is_tag][:n])
    return text


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = ColdStartRecommender().get_params()  # the library's defaults
    ap.add_argument("--factors", type=int, default=defaults["factors"])
    ap.add_argument("--iterations", type=int, default=defaults["iterations"])
    args = ap.parse_args(argv)

    ds = load_dataset("citeulike-t")          # data/citeulike-t, read from the repository root
    split = ds.load_split()
    print(f"citeulike-t: {ds.shape[0]} users x {ds.shape[1]} articles, "
          f"{ds.item_features.shape[1]} attributes (word counts of the abstracts)")
    print(split.summary().to_string(), "\n")

    # ------------------------------------------------------------------ fit
    t0 = time.perf_counter()
    model = ColdStartRecommender(factors=args.factors, iterations=args.iterations, random_state=0)
    model.fit(split.train, ds.item_features)
    print(f"fitted in {time.perf_counter() - t0:.0f}s; the {model.is_zero_shot_.sum()} articles "
          "without training interactions (cold val + cold test) hold zero-shot vectors\n")

    # ------------------------------------------------------------------ evaluate
    t0 = time.perf_counter()
    res = evaluate(model, split, settings=("cold", "warm", "hybrid"), K=20,
                   metrics=("recall", "ndcg", "coverage", "new_share"))
    print(f"evaluation ({time.perf_counter() - t0:.0f}s):")
    print(res.round(4).to_string(), "\n")

    # ------------------------------------------------------------------ brand-new articles
    # The two most-saved cold test articles arrive again as brand-new items, from their
    # attributes alone.
    saved = np.asarray(split.cold_test.sum(axis=0)).ravel()
    src = np.sort(split.cold_test_items[np.argsort(-saved[split.cold_test_items], kind="stable")[:2]])
    new = model.add_items(ds.item_features[src])
    print(f"added articles {new.tolist()} (copies of cold articles {src.tolist()}) -> "
          f"n_items = {model.n_items_}")
    for i, s in zip(new, src):
        print(f"  {i}: {describe(ds, ds.item_features[s])}")
        np.testing.assert_allclose(model.item_factors_[i], model.item_factors_[s], rtol=1e-5, atol=1e-6)
    similar, scores = model.similar_items(int(new[0]), N=4, items=split.warm_items)
    print(f"established articles most similar to {new[0]}:")
    for j, sc in zip(similar, scores):
        print(f"  {j} ({sc:.2f}): {describe(ds, ds.item_features[j], 5)}")
    truth = split.cold_test[:, src[0]].toarray().ravel() > 0
    scores_u = model.user_factors_ @ model.item_factors_[new[0]]
    top = np.argsort(-scores_u)[:50]
    print(f"of the 50 users it would be shown to first, {truth[top].sum()} saved the original "
          f"article in the held-out test data ({truth.sum()} of {len(truth)} users saved it; "
          f"{50 * truth.mean():.1f} expected by chance)")
    ex = model.explain_item(ds.item_features[src[0]], feature_names=ds.feature_names, top=5)
    print("attributes behind its vector:", ", ".join(ex["attribute"]), "\n")

    # ------------------------------------------------------------------ save / load
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "citeulike-model.npz"
        model.save(path)
        back = ColdStartRecommender.load(path)
        users = np.arange(100)
        a, _ = model.recommend(users, sp.csr_matrix((100, model.n_items_), dtype=np.float32), N=10,
                               filter_already_liked_items=False)
        b, _ = back.recommend(users, sp.csr_matrix((100, back.n_items_), dtype=np.float32), N=10,
                              filter_already_liked_items=False)
        print(f"saved ({path.stat().st_size / 1e6:.1f} MB, no pickle) and loaded: "
              f"{back.n_items_} items, same top-10 for 100 users = {bool((a == b).all())}")
        assert (a == b).all()


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    main()
