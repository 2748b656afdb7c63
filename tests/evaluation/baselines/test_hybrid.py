"""ALS + ridge and LightFM baselines: known answers."""

import sys

import numpy as np
import pytest

from coldstart.evaluation.baselines import LightFMRecommender


def test_als_ridge_fills_only_empty_columns(data, fitted):
    split, F = data
    m = fitted["als-ridge"]
    empty = np.flatnonzero(np.diff(split.train.tocsc().indptr) == 0)
    np.testing.assert_array_equal(m.predicted_items_, empty)
    trained = np.setdiff1d(np.arange(split.n_items), empty)
    np.testing.assert_allclose(m.item_factors_[trained], m.als_.item_factors[trained])
    Fw = m.tfidf_.transform(F)
    np.testing.assert_allclose(m.item_factors_[empty], m.ridge_.predict(Fw[empty]), rtol=1e-5, atol=1e-6)
    assert np.isin(split.cold_test_items, empty).all()
    # recommend = user_factors . item_factors
    ids, scores = m.recommend(0, split.train[0], N=3, filter_already_liked_items=False)
    np.testing.assert_allclose(scores, m.item_factors_[ids] @ m.user_factors_[0], rtol=1e-5)


def test_lightfm_import_error_names_the_extra(monkeypatch, data):
    split, F = data
    monkeypatch.setitem(sys.modules, "lightfm", None)  # import fails
    with pytest.raises(ImportError, match=r"coldstart\[benchmark\]"):
        LightFMRecommender().fit(split.train, F)
