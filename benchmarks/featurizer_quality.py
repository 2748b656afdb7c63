"""Cold-start quality: ``ItemFeaturizer`` defaults vs hand-built indicator features.

The claim under test (issue): *a real catalog with a title, a multi-label genre column, a
numeric year with gaps and a list-of-tags column becomes features in one call with defaults,
and the model trained on it is at least as good on cold items as one trained on hand-built
indicator features of the same columns.*

No movie-like catalog is available offline, so two catalogs are used:

``citeulike-t`` (real)
    The catalog DataFrame of ``benchmarks/featurizer_citeulike.py``: ``doc_id`` (id-like,
    auto-ignored), ``abstract`` (text rebuilt from ``mult.dat``), ``tags`` (list of tags) and
    ``n_links`` (citation count); the fixed split of ``split/``.  Hand-built: binary word
    indicators + tag indicators + the raw ``n_links`` column.
``citeulike-t (no tags)``
    The same without ``tags``.  CiteULike tags are assigned by the users who save an article --
    the users whose libraries are predicted -- so they partly encode who saved it (their count
    has Spearman ~0.68 with the article's number of interactions) and
    :func:`~coldstart.evaluation.datasets.load_citeulike` leaves them out by default; this is the
    leakage-free check (binary word indicators + raw ``n_links`` by hand).
``synthetic`` (``make_world()`` defaults, ``informativeness=0.8``)
    A catalog with exactly the issue's column kinds, derived from the world's raw attributes:
    ``title`` (the first 6 words of the world's text), ``description`` (the remaining words),
    ``genres`` (``"cat_XX|genre_YY"``: the world's category plus a coarse genre of the item's
    most likely tag), ``year`` (15 % set missing), ``price`` (the world's, ~10 % missing) and
    ``tags`` (list).  Hand-built: one-hot/indicators of every column (binary words of
    title and description, genre and tag indicators), ``year``/``price`` raw with NaN -> 0.
    Split: ``protocol_split(user_items, random_state=0)``.
``synthetic-world``
    The same world's own 8 raw columns (``item_attributes``: price, duration, score, year,
    category, brand, tags, text) vs the generator's own hand-built ``item_features``
    (standardised numbers + missing indicators, one-hots, tag indicators, word counts).

Compared models: ``ColdStartRecommender(random_state=0)`` on the hand-built matrix vs
``ColdStartRecommender(featurizer=ItemFeaturizer(), random_state=0)`` on the DataFrame, every
model fitted from scratch with the library defaults (the default fit learns the factors
content-constrained, so the attributes shape the ALS too and no factors are shared).  Metrics:
Recall@20 and NDCG@20 on the ``cold`` (test) and ``cold-val`` settings of
:func:`coldstart.evaluation.protocol.evaluate`.

Unless ``--quick``, diagnostics follow (why the featurizer wins or loses):

* ``min_count=1``: the featurizer's previous default (keeps labels seen on a single item);
* one column at a time (is the combination better than its best column?);
* ``weighting=UnitEnergy()``: the proposed model default on top of a featurizer (no per-row
  L2 normalisation, one global scale to unit mean squared row norm, see :class:`UnitEnergy`);
* block weights selected on ``cold-val`` (one coordinate pass over {0.5, 1, 2} per block, on
  top of ``UnitEnergy``): how much is left in the block balance.  Its ``cold-val`` numbers are
  optimistic (selected on them); read its ``cold`` column.

Usage::

    python benchmarks/featurizer_quality.py [--data PATH] [--quick] [--out benchmarks/results]

Writes ``<out>/featurizer_quality.json`` and ``<out>/featurizer_quality.md``.  About 12 minutes
on 2 cores (``--quick``: about 3).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from featurizer_citeulike import DEFAULT_DATA, load_catalog  # noqa: E402

from coldstart import ColdStartRecommender, ItemFeaturizer  # noqa: E402
from coldstart.evaluation.datasets import load_citeulike  # noqa: E402
from coldstart.evaluation.protocol import evaluate  # noqa: E402
from coldstart.evaluation.splits import protocol_split  # noqa: E402
from coldstart.features.featurizer import ColumnIgnoredWarning  # noqa: E402
from coldstart.simulation.synthetic import make_world  # noqa: E402

SETTINGS = ("cold", "cold-val")
K = 20
COLS = [f"{m}@{K} {s}" for s in SETTINGS for m in ("recall", "ndcg")]


class UnitEnergy(TransformerMixin, BaseEstimator):
    """Proposed default ``weighting`` of ``ColdStartRecommender`` when it holds a featurizer.

    ``ItemFeaturizer`` already normalises its sparse blocks per row and balances the blocks;
    the model's current default on top of it (``AttributeWeighting(scheme="none")``) then
    L2-normalises whole rows, which couples every block to the dense ones: an item whose
    numeric value is 4 standard deviations out has its text and tags shrunk 2.5x.  This
    transformer drops the per-row normalisation and applies one global scale instead, so that
    the mean squared row norm of the training items is 1 -- the scale ``RidgeMap``'s
    ``alpha`` is calibrated for (L2-normalised rows).
    """

    def fit(self, X, y=None):
        X = sp.csr_matrix(X, dtype=np.float32)
        energy = float(X.multiply(X).sum()) / max(X.shape[0], 1)
        self.scale_ = 1.0 / np.sqrt(energy) if energy > 0 else 1.0
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = sp.csr_matrix(X, dtype=np.float32, copy=True)
        X.data *= np.float32(self.scale_)
        return X


# --------------------------------------------------------------------------- data


def binary(X: sp.spmatrix) -> sp.csr_matrix:
    X = sp.csr_matrix(X, dtype=np.float32, copy=True)
    X.data[:] = 1.0
    return X


def indicators(values) -> sp.csr_matrix:
    """Label lists -> binary indicator matrix."""
    values = list(values)
    vocab = {t: j for j, t in enumerate(sorted({t for v in values for t in v}))}
    rows = [i for i, v in enumerate(values) for _ in set(v)]
    cols = [vocab[t] for v in values for t in set(v)]
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(values), len(vocab)))


def raw_numbers(df: pd.DataFrame, cols: list[str]) -> sp.csr_matrix:
    return sp.csr_matrix(df[cols].astype(float).fillna(0.0).to_numpy(np.float32))


def citeulike(data: Path) -> tuple[dict, dict]:
    """The catalog with tags, and without them (tags are user-assigned: see the docstring)."""
    ds = load_citeulike(data, tags=True)
    catalog = load_catalog(data)
    words = np.array([not str(n).startswith("tag:") for n in ds.feature_names])
    assert (~words).sum() > 0, "no tag columns read"
    W, T = binary(ds.item_features[:, words]), binary(ds.item_features[:, ~words])
    links = raw_numbers(catalog, ["n_links"])
    split = ds.load_split()
    full = {"name": "citeulike-t", "split": split, "catalog": catalog,
            "hand": sp.hstack([W, T, links], format="csr"),
            "hand_desc": "binary word indicators + tag indicators + raw n_links"}
    no_tags = {"name": "citeulike-t (no tags)", "split": split,
               "catalog": catalog.drop(columns=["tags"]),
               "hand": sp.hstack([W, links], format="csr"),
               "hand_desc": "binary word indicators + raw n_links"}
    return full, no_tags


def synthetic_catalog(world, seed: int = 1) -> pd.DataFrame:
    """The issue's column kinds from a synthetic world (see the module docstring)."""
    A = world.item_attributes
    rng = np.random.default_rng(seed)
    words = A["text"].str.split()
    tag_vocab = sorted({t for ts in A["tags"] for t in ts})
    coarse = {t: j % 12 for j, t in enumerate(tag_vocab)}
    year = A["year"].astype(float)
    year[rng.random(len(A)) < 0.15] = np.nan
    return pd.DataFrame({
        "title": words.str[:6].str.join(" "),
        "description": words.str[6:].str.join(" "),
        "genres": [f"{c}|genre_{coarse[ts[0]]:02d}" for c, ts in zip(A["category"], A["tags"])],
        "year": year,
        "price": A["price"],
        "tags": A["tags"],
    }, index=A.index)


def synthetic() -> tuple[dict, dict]:
    world = make_world(random_state=0)
    split = protocol_split(world.user_items, random_state=0)
    cat = synthetic_catalog(world)
    hand = sp.hstack([
        CountVectorizer(binary=True, dtype=np.float32).fit_transform(cat["title"]),
        CountVectorizer(binary=True, dtype=np.float32).fit_transform(cat["description"]),
        indicators(cat["genres"].str.split("|")),
        indicators(cat["tags"]),
        raw_numbers(cat, ["year", "price"]),
    ], format="csr")
    issue = {"name": "synthetic", "split": split, "catalog": cat, "hand": hand,
             "hand_desc": "binary words of title/description + genre and tag indicators + "
                          "raw year/price (NaN -> 0)"}
    own = {"name": "synthetic-world", "split": split, "catalog": world.item_attributes,
           "hand": world.item_features,
           "hand_desc": "the generator's own item_features (standardised numbers + missing "
                        "indicators, one-hots, tag indicators, word counts)"}
    return issue, own


# --------------------------------------------------------------------------- runs


def score(model, split, settings=SETTINGS) -> dict:
    res = evaluate(model, split, settings=settings, K=K, metrics=("recall", "ndcg"))
    return {f"{m}@{K} {s}": float(res.loc[s, f"{m}@{K}"]) for s in settings for m in ("recall", "ndcg")}


def fit_featurizer_model(d: dict, columns=None, **kw):
    featurizer = ItemFeaturizer(**kw.pop("featurizer_params", {}))
    model = ColdStartRecommender(featurizer=featurizer, random_state=0, **kw)
    catalog = d["catalog"] if columns is None else d["catalog"][columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnIgnoredWarning)
        return model.fit(d["split"].train, catalog)


def run_dataset(d: dict, quick: bool, log) -> list[dict]:
    """The rows of one dataset (see the module docstring)."""
    split = d["split"]
    rows: list[dict] = []

    def add(label, group, model, t0, **extra):
        r = {"dataset": d["name"], "group": group, "model": label, **score(model, split),
             "fit_s": round(time.perf_counter() - t0, 1), **extra}  # fit + evaluation
        rows.append(r)
        log(f"  {label:<58s} " + "  ".join(f"{r[c]:.4f}" for c in COLS) + f"  ({r['fit_s']}s)")
        return r

    log(f"\n== {d['name']}: {split.n_users} users x {split.n_items} items, "
        f"{len(split.cold_test_items)} cold test / {len(split.cold_val_items)} cold val items")
    log(f"  {'model':<58s} " + "  ".join(f"{c:>6s}" for c in COLS))
    t0 = time.perf_counter()
    base = ColdStartRecommender(random_state=0).fit(split.train, d["hand"])
    add(f"hand-built ({d['hand'].shape[1]} cols), default model", "claim", base, t0,
        features=d["hand_desc"])

    t0 = time.perf_counter()
    feat = fit_featurizer_model(d)
    fz = feat.featurizer_
    add(f"ItemFeaturizer() ({fz.n_features_out_} cols), default model", "claim", feat, t0,
        kinds={c: k for c, k in fz.kinds_.items()})
    if quick:
        return rows

    t0 = time.perf_counter()
    add("ItemFeaturizer(min_count=1) [previous default]", "diagnostic",
        fit_featurizer_model(d, featurizer_params={"min_count": 1}), t0)
    for col in fz.block_names_:
        t0 = time.perf_counter()
        add(f"ItemFeaturizer(), only column {col!r}", "diagnostic",
            fit_featurizer_model(d, columns=[col]), t0)
    t0 = time.perf_counter()
    unit = fit_featurizer_model(d, weighting=UnitEnergy())
    add("ItemFeaturizer(), weighting=UnitEnergy() [proposed]", "proposal", unit, t0)

    # block weights: one coordinate pass over {0.5, 1, 2}, selected on cold-val recall
    t0 = time.perf_counter()
    weights = {b: 1.0 for b in fz.block_names_}
    best_model = unit
    best = score(unit, split, ("cold-val",))[f"recall@{K} cold-val"]
    for b in fz.block_names_:
        for w in (0.5, 2.0):
            trial = {**weights, b: w}
            m = fit_featurizer_model(d, weighting=UnitEnergy(), featurizer_params={"weights": trial})
            r = score(m, split, ("cold-val",))[f"recall@{K} cold-val"]
            if r > best + 1e-4:
                best, weights, best_model = r, trial, m
    label = ", ".join(f"{b}={w:g}" for b, w in weights.items())
    add(f"  + weights selected on cold-val ({label})", "proposal", best_model, t0,
        weights=weights, note="cold-val numbers are optimistic: the weights were selected on them")
    return rows


# --------------------------------------------------------------------------- report


def verdicts(rows: list[dict]) -> dict:
    out = {}
    for name in dict.fromkeys(r["dataset"] for r in rows):
        claim = [r for r in rows if r["dataset"] == name and r["group"] == "claim"]
        hand, feat = claim
        out[name] = {c: {"featurizer": feat[c], "hand": hand[c], "delta": feat[c] - hand[c],
                         "featurizer_at_least_as_good": feat[c] >= hand[c]} for c in COLS}
        prop = [r for r in rows if r["dataset"] == name and r["group"] == "proposal"]
        if prop:  # UnitEnergy weighting, default block weights
            out[name]["proposed"] = {c: {"featurizer": prop[0][c], "delta": prop[0][c] - hand[c]}
                                     for c in COLS}
    return out


def summary_line(name: str, v: dict) -> str:
    ok = all(v[c]["featurizer_at_least_as_good"] for c in COLS[:2])
    line = (f"{name}: featurizer - hand-built on cold test: recall {v[COLS[0]]['delta']:+.4f}, "
            f"NDCG {v[COLS[1]]['delta']:+.4f} -> {'at least as good' if ok else 'WORSE'}")
    if "proposed" in v:
        p = v["proposed"]
        line += (f"; with the proposed model weighting (UnitEnergy): recall {p[COLS[0]]['delta']:+.4f}, "
                 f"NDCG {p[COLS[1]]['delta']:+.4f}")
    return line


def markdown(rows: list[dict], verdict: dict, meta: dict) -> str:
    lines = ["# ItemFeaturizer defaults vs hand-built indicator features (cold start)", "",
             f"`python benchmarks/featurizer_quality.py` -- {meta['date']}, {meta['machine']}; "
             f"K={K}; every model fitted from scratch with the library defaults.", ""]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == name]
        lines += [f"## {name}", "", f"Hand-built: {sub[0]['features']}.", ""]
        if "kinds" in sub[1]:
            lines += ["Featurizer kinds: " + ", ".join(f"`{c}`: {k}" for c, k in sub[1]["kinds"].items()), ""]
        lines += ["| model | " + " | ".join(COLS) + " |", "|---|" + "---:|" * len(COLS)]
        for r in sub:
            lines.append(f"| {r['model'].strip()} | " + " | ".join(f"{r[c]:.4f}" for c in COLS) + " |")
        lines += ["", "**" + summary_line(name, verdict[name]) + "**", ""]
    lines += [
        "## Reading", "",
        "* `only column` rows: what each column predicts alone. Where one column dominates "
        "(citeulike-t: the tags alone beat every combination at default weights), equal block "
        "energy dilutes it with weaker columns; the featurizer cannot know which block predicts "
        "tastes. The last row of each table (block weights selected on cold-val, one coordinate "
        "pass over {0.5, 1, 2}) shows what a data-driven balance recovers on cold test.",
        "* `UnitEnergy` rows: the model's current default on top of a featurizer L2-normalises "
        "whole rows, which lets a dense numeric block (z-scores up to ~4) shrink the sparse blocks "
        "of the same item. Clearest in `citeulike-t (no tags)`: the abstract alone beats the "
        "hand-built matrix, adding the almost uninformative `n_links` column then costs more "
        "than the whole margin under row normalisation, while with `UnitEnergy` the pair beats "
        "the abstract alone. Dropping the row normalisation (one global scale instead, so the "
        "ridge alpha keeps its calibration) is the largest gain at default settings on "
        "citeulike-t and a gain on every dataset; it lives in `coldstart/model.py` "
        "(`_make_weighting`) and is proposed there.",
        "* `min_count=1` row: labels seen on one item only (31k of citeulike-t's 53k tags) "
        "cannot generalise and let the map memorise warm items; the featurizer now drops them "
        "by default (`min_count=2`).",
        "* citeulike-t caveat: its tags are aggregated from every user who saved an article, so "
        "they partly encode who saved it and their number tracks popularity (Spearman ~0.68 with "
        "the interaction count); the `(no tags)` section is the leakage-free check. Encodings "
        "that keep the tag count in the row norm (`multilabel_norm=None`) score higher with tags "
        "for that reason alone (+0.02 cold recall over the hand-built matrix, measured with "
        "the pre-content-constrained model), which would not carry over to editorial "
        "labels, so they were not made the default.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="citeulike-t folder")
    ap.add_argument("--quick", action="store_true", help="only the featurizer-vs-hand rows")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--datasets", default="citeulike-t,synthetic,synthetic-world",
                    help="comma-separated; citeulike-t also runs 'citeulike-t (no tags)'")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="only re-render the .md (and verdicts) of an existing results JSON")
    args = ap.parse_args(argv)
    wanted = args.datasets.split(",")
    if args.render is not None:
        out = json.loads(args.render.read_text())
        out["verdict"] = verdicts(out["rows"])
        args.render.write_text(json.dumps(out, indent=2))
        args.render.with_suffix(".md").write_text(markdown(out["rows"], out["verdict"], out["meta"]))
        for name, v in out["verdict"].items():
            print(summary_line(name, v))
        return out

    t_all = time.perf_counter()
    rows: list[dict] = []
    if "synthetic" in wanted or "synthetic-world" in wanted:
        issue, own = synthetic()
        for d in (issue, own):
            if d["name"] in wanted:
                rows += run_dataset(d, args.quick, print)
    if "citeulike-t" in wanted:
        for d in citeulike(args.data):
            rows += run_dataset(d, args.quick, print)

    verdict = verdicts(rows)
    print()
    for name, v in verdict.items():
        print(summary_line(name, v))
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
            f"{__import__('os').cpu_count()} cpus", "seconds": round(time.perf_counter() - t_all, 1),
            "quick": args.quick, "K": K, "settings": list(SETTINGS)}
    out = {"meta": meta, "rows": rows, "verdict": verdict}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "featurizer_quality.json").write_text(json.dumps(out, indent=2))
    (args.out / "featurizer_quality.md").write_text(markdown(rows, verdict, meta))
    print(f"wrote {args.out / 'featurizer_quality.json'} and .md ({meta['seconds']}s)")
    return out


if __name__ == "__main__":
    main()
