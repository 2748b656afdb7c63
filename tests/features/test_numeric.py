"""Numeric blocks (coldstart.features.numeric)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer
from tests.features.conftest import block


def test_skewed_column_is_log_transformed(items):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnIgnoredWarning)
        fitted = ItemFeaturizer(numeric_bins=0).fit(items)  # the scaled encoding
    views, year = (next(b for b in fitted.blocks_ if b.name == c) for c in ("views", "year"))
    assert views.log and not year.log
    # standardised on the log scale: log1p(views) is exactly linear in the output
    X = fitted.transform(items)
    z = block(fitted, X, "views")[:, 0] / fitted.block_scales_[fitted.block_names_.index("views")]
    lv = np.log1p(items["views"].to_numpy())
    assert np.corrcoef(z, lv)[0, 1] == pytest.approx(1.0, abs=1e-5)
    assert abs(z.mean()) < 1e-4 and z.std() == pytest.approx(1.0, rel=1e-3)


def test_numeric_bins_are_quantiles_of_the_fit_values():
    """Default encoding: each value's quantile bin, one-hot. Continuous values fill the bins
    about equally; a column of few distinct values gets one bin per value (none empty); a
    constant column one bin."""
    import pandas as pd

    rng = np.random.default_rng(0)
    items = pd.DataFrame({"price": rng.lognormal(3, 2, 2000), "stars": rng.integers(1, 6, 2000),
                          "flag": rng.random(2000) < 0.3, "one": np.full(2000, 4.0)})
    feat = ItemFeaturizer(kinds=dict.fromkeys(items, "numeric")).fit(items)
    X = feat.transform(items)
    assert X.nnz == 2000 * 4  # one bin per value and column, no missing indicator
    counts = np.asarray(X[:, feat.block_slices_["price"]].astype(bool).sum(axis=0)).ravel()
    assert counts.size == 10 and counts.min() >= 190 and counts.max() <= 210
    for col, n in (("stars", 5), ("flag", 2), ("one", 1)):
        counts = np.asarray(X[:, feat.block_slices_[col]].astype(bool).sum(axis=0)).ravel()
        assert counts.size == n and counts.min() > 0, col
    assert list(feat.get_feature_names_out()[feat.block_slices_["stars"]]) == [
        "stars<2", "stars=[2,3)", "stars=[3,4)", "stars=[4,5)", "stars>=5"]


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10", None])
def test_bad_numeric_bins_is_refused_by_name(items, bad):
    with pytest.raises(ValueError, match=r"numeric_bins must be an integer in \[0, 10000\]; received"):
        ItemFeaturizer(numeric_bins=bad).fit(items)
