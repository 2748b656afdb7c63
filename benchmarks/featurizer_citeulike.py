"""Real-data check of :class:`coldstart.features.featurizer.ItemFeaturizer` on citeulike-t.

MovieLens-like catalogs are not available offline, so this builds a realistic
article catalog from citeulike-t (25,975 articles):

* ``doc_id``    0..n-1 (should be ignored as id-like),
* ``abstract``  pseudo title/abstract: the ``mult.dat`` bag of words turned back
  into a string, each vocabulary word repeated by its count (text),
* ``tags``      list of tag names per article from ``tag-item.dat``/``tags.dat``
  (multilabel, 52,946 tags, heavy tail),
* ``n_links``   number of citation links in ``citations.dat`` (a skewed count -> numeric:
  quantile bins, ties merged).

It fits ``ItemFeaturizer()`` with default inference, prints the block table and
checks that the blocks are sensible: the expected kinds, equal energy per
block, and that nearest neighbours by the *text* block share far more *tags*
than random pairs (the two blocks describe the same items consistently).

Usage::

    python benchmarks/featurizer_citeulike.py [--data /work/shared/data/citeulike-t]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer  # noqa: E402

DEFAULT_DATA = next((p for p in (ROOT.parent / "shared" / "data" / "citeulike-t",
                                 ROOT / "data" / "citeulike-t") if p.is_dir()),
                    ROOT.parent / "shared" / "data" / "citeulike-t")


def _lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def load_catalog(data: Path) -> pd.DataFrame:
    """citeulike-t as a one-row-per-article DataFrame (see module docstring)."""
    vocab = [w.strip() for w in _lines(data / "vocabulary.dat")]
    docs = []
    for line in _lines(data / "mult.dat"):
        parts = line.split()
        words = []
        for p in parts[1:]:
            w, c = p.split(":")
            words.extend([vocab[int(w)]] * int(c))
        docs.append(" ".join(words))
    n = len(docs)

    tag_names = [t.strip() for t in _lines(data / "tags.dat")]
    tags: list[list[str]] = [[] for _ in range(n)]
    for t, line in enumerate(_lines(data / "tag-item.dat")):
        for item in line.split()[1:]:
            tags[int(item)].append(tag_names[t])

    links = np.zeros(n, dtype=np.int64)
    cit = _lines(data / "citations.dat")
    for i, line in enumerate(cit[:n]):
        parts = line.split()
        links[i] = int(parts[0]) if parts else 0

    return pd.DataFrame({"doc_id": np.arange(n), "abstract": docs, "tags": tags,
                         "n_links": links})


def _tag_sets(df: pd.DataFrame) -> list[set]:
    return [set(t) for t in df["tags"]]


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a or b) else 0.0


def neighbour_tag_overlap(X: sp.csr_matrix, tags: list[set], n_queries: int = 500,
                          seed: int = 0) -> tuple[float, float]:
    """Mean tag Jaccard of each query's cosine-nearest neighbour in ``X`` vs a random item."""
    rng = np.random.default_rng(seed)
    has = np.flatnonzero(np.diff(X.indptr) > 0)
    q = rng.choice(has, size=min(n_queries, has.size), replace=False)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    Xn = sp.diags(1.0 / norms) @ X
    S = (Xn[q] @ Xn.T).toarray()
    S[np.arange(q.size), q] = -np.inf
    nn = S.argmax(axis=1)
    rand = rng.integers(0, X.shape[0], q.size)
    return (float(np.mean([_jaccard(tags[a], tags[b]) for a, b in zip(q, nn)])),
            float(np.mean([_jaccard(tags[a], tags[b]) for a, b in zip(q, rand)])))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    df = load_catalog(args.data)
    t_load = time.perf_counter() - t0
    n_words = df["abstract"].str.split().str.len()
    n_tags = df["tags"].str.len()
    print(f"loaded {len(df):,} articles in {t_load:.1f}s: {n_words.mean():.0f} words/abstract, "
          f"{n_tags.mean():.1f} tags/article ({(n_tags == 0).mean():.1%} untagged), "
          f"n_links median {df['n_links'].median():.0f} max {df['n_links'].max()}")

    feat = ItemFeaturizer()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always", ColumnIgnoredWarning)
        X = feat.fit_transform(df)
    t_fit = time.perf_counter() - t0
    for w in rec:
        print(f"warning: {w.message}")
    print(f"fit_transform {t_fit:.1f}s -> {X.shape[0]:,} x {X.shape[1]:,}, "
          f"{X.nnz / X.shape[0]:.0f} nnz/row, {X.dtype}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(feat.describe())

    checks: dict[str, bool] = {}
    checks["kinds"] = feat.kinds_ == {"doc_id": "ignore", "abstract": "text",
                                      "tags": "multilabel", "n_links": "numeric"}
    links_block = next(b for b in feat.blocks_ if b.name == "n_links")
    # quantile bins of a skewed count: ties merged (median 1), every bin used
    used = np.diff(X[:, feat.block_slices_["n_links"]].tocsc().indptr) > 0
    checks["n_links in quantile bins"] = bool(links_block.cuts is not None and 2 <= links_block.cuts.size + 1 <= 10
                                              and used.all())
    per_block = {}
    for name, sl in feat.block_slices_.items():
        B = X[:, sl]
        qb = np.asarray(B.multiply(B).sum(axis=1)).ravel()
        per_block[name] = float(qb[qb > 0].mean())
    checks["balanced (mean sq norm 1 per block)"] = all(abs(v - 1) < 1e-3
                                                        for v in per_block.values())
    checks["no empty rows"] = not feat.empty_rows(df).any()
    tags = _tag_sets(df)
    text = X[:, feat.block_slices_["abstract"]]
    nn_j, rand_j = neighbour_tag_overlap(text, tags)
    print(f"tag Jaccard with nearest neighbour by abstract: {nn_j:.3f} "
          f"(random pair: {rand_j:.4f})")
    checks["text neighbours share tags (>10x random)"] = nn_j > 10 * max(rand_j, 1e-4)
    full_j, _ = neighbour_tag_overlap(X, tags)
    print(f"tag Jaccard with nearest neighbour by all blocks: {full_j:.3f}")
    top = feat.get_feature_names_out()[feat.block_slices_["tags"]]
    counts = np.asarray((X[:, feat.block_slices_["tags"]] != 0).sum(axis=0)).ravel()
    print("most frequent tag features:", ", ".join(top[np.argsort(-counts)[:8]]))
    meta, arrays = feat.get_state()
    back = ItemFeaturizer.from_state(meta, arrays)
    checks["get_state/from_state identical"] = (back.transform(df.head(2000)) != X[:2000]).nnz == 0
    print(f"serialised arrays: {sum(a.nbytes for a in arrays.values()) / 1e6:.1f} MB")
    print()
    for k, ok in checks.items():
        print(f"[{'ok' if ok else 'FAIL'}] {k}")
    if not all(checks.values()):
        raise SystemExit(1)
    return {"checks": checks, "mean_sq_norm": per_block, "nn_tag_jaccard": nn_j,
            "random_tag_jaccard": rand_j, "fit_s": t_fit}


if __name__ == "__main__":
    main()
