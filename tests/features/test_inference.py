"""Kind inference (coldstart.features.inference), through ItemFeaturizer.fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer
from tests.features.conftest import GENRES, WORDS


def test_inference_of_every_kind(items):
    with pytest.warns(ColumnIgnoredWarning) as rec:
        feat = ItemFeaturizer().fit(items)
    assert feat.kinds_ == {
        "item_id": "ignore", "title": "text", "category": "categorical",
        "genres": "multilabel", "tags": "multilabel", "year": "numeric", "views": "numeric",
        "emb": "vector", "sku": "ignore", "constant": "ignore",
    }
    msg = " ".join(str(w.message) for w in rec)
    assert "item_id" in msg and "sku" in msg and "constant" in msg
    assert feat.block_names_ == ["title", "category", "genres", "tags", "year", "views", "emb"]
    genres = next(b for b in feat.blocks_ if b.name == "genres")
    assert genres.delimiter == "|"


@pytest.mark.parametrize("delim", [";", ","])
def test_delimiter_detection(delim):
    rng = np.random.default_rng(1)
    vals = [delim.join(rng.choice(GENRES, rng.integers(1, 4), replace=False)) for _ in range(80)]
    feat = ItemFeaturizer().fit(pd.DataFrame({"g": vals}))
    assert feat.kinds_["g"] == "multilabel"
    assert feat.blocks_[0].delimiter == delim
    assert set(feat.get_feature_names_out()) == {f"g={g}" for g in GENRES}


def test_prose_with_commas_is_text_and_labels_are_categorical():
    rng = np.random.default_rng(2)
    prose = [f"{' '.join(rng.choice(WORDS, 4))}, {' '.join(rng.choice(WORDS, 5))}"
             for _ in range(60)]
    cities = rng.choice(["New York", "Paris", "Berlin"], 60)
    feat = ItemFeaturizer().fit(pd.DataFrame({"abstract": prose, "city": cities}))
    assert feat.kinds_ == {"abstract": "text", "city": "categorical"}


@pytest.mark.parametrize("placeholder", ["No description available.", "N/A"])
def test_a_placeholder_on_most_rows_does_not_hide_text(placeholder):
    """92 % of the rows hold a placeholder and the rest real descriptions: text (it was a
    category whose one-off values were dropped, with no warning); labels under a dominant
    "Unknown" that repeat stay a category, and one-off short labels too."""
    rng = np.random.default_rng(5)
    n = 1000
    real = rng.random(n) < 0.08
    desc = [" ".join(rng.choice(WORDS, 12)) if r else placeholder for r in real]
    labels = [str(rng.choice(["Drama", "Comedy", "Horror"])) if r else "Unknown" for r in real]
    brands = [f"Brand{i}" if r else "Unknown" for i, r in enumerate(real)]
    feat = ItemFeaturizer().fit(pd.DataFrame({"description": desc, "genre": labels, "brand": brands}))
    assert feat.kinds_ == {"description": "text", "genre": "categorical", "brand": "categorical"}


def test_objects_whose_text_is_blank_are_ignored():
    """Values whose str() is blank: the column is ignored (it raised ZeroDivisionError)."""
    class Blank:
        def __str__(self):
            return "  "

    with pytest.warns(ColumnIgnoredWarning):
        feat = ItemFeaturizer().fit(pd.DataFrame({"b": [Blank() for _ in range(20)],
                                                  "g": ["x", "y"] * 10}))
    assert feat.kinds_["b"] == "ignore"


def test_high_cardinality_short_labels_and_daily_dates():
    n = 400
    rng = np.random.default_rng(4)
    brands = np.array([f"Brand{i}" for i in range(300)], dtype=object)
    df = pd.DataFrame({
        "brand": rng.choice(brands, n),  # 300 distinct single tokens, repeated
        "day": pd.date_range("2001-01-01", periods=n, freq="D"),  # unique consecutive days
    })
    feat = ItemFeaturizer().fit(df)
    assert feat.kinds_ == {"brand": "categorical", "day": "numeric"}


def test_numeric_like_inference():
    n = 50
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "studio_id": rng.integers(0, 5, n),                    # int codes, id-like name
        "price": [f"{v:.2f}" for v in rng.uniform(1, 50, n)],   # numbers stored as strings
        "released": pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, n), "D"),
        "flag": rng.random(n) < 0.5,
        "cat": pd.Categorical(rng.choice(["a", "b"], n)),
        "empty": [None] * n,
    })
    with pytest.warns(ColumnIgnoredWarning, match="empty"):
        feat = ItemFeaturizer().fit(df)
    assert feat.kinds_ == {"studio_id": "categorical", "price": "numeric",
                           "released": "numeric", "flag": "numeric", "cat": "categorical",
                           "empty": "ignore"}
    X = feat.transform(df)
    assert np.isfinite(X.data).all()
