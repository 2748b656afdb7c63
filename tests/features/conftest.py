"""Shared catalog and fitted featurizer for the featurizer tests (one of every column kind)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Romance"]


WORDS = ("space war love night dark city river ghost king queen robot dream house "
         "murder secret summer winter island story road").split()


def make_items(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    year = rng.integers(1960, 2020, n).astype(float)
    year[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame({
        "item_id": np.arange(1000, 1000 + n),
        "title": [" ".join(rng.choice(WORDS, rng.integers(3, 7))) for _ in range(n)],
        "category": rng.choice(["book", "film", "game", "music"], n),
        "genres": ["|".join(rng.choice(GENRES, rng.integers(1, 4), replace=False))
                   for _ in range(n)],
        "tags": [list(rng.choice(["indie", "classic", "cult", "award", "remake"],
                                 rng.integers(0, 3), replace=False)) for _ in range(n)],
        "year": year,
        "views": rng.lognormal(5, 1.5, n).round(),
        "emb": [rng.normal(size=3) for _ in range(n)],
        "sku": [f"SKU-{i:06d}" for i in rng.permutation(n)],
        "constant": 7,
    })


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return make_items()


@pytest.fixture(scope="module")
def fitted(items):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnIgnoredWarning)
        feat = ItemFeaturizer().fit(items)
    return feat


def block(feat: ItemFeaturizer, X: sp.csr_matrix, name: str) -> np.ndarray:
    return X[:, feat.block_slices_[name]].toarray()
