"""The shared baseline plumbing: ``fit`` validates with the core's checks (the main model's), so
every recommender accepts and refuses the same input; ``fit`` leaves the caller's matrices alone.

The recommend / similar_items contract every model shares (padding, liked-last, error texts,
implicit's evaluation) is tested once, for every recommender, in tests/core/test_recommend_contract.py.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldstart.core.model import ColdStartRecommender
from coldstart.evaluation.baselines import ContentProfileRecommender, LightFMRecommender, PopularityRecommender

from .conftest import FACTORIES, HAS_LIGHTFM, NAMES


def test_feature_models_need_features(data):
    split, F = data
    with pytest.raises(TypeError, match="item_features is required"):
        ContentProfileRecommender().fit(split.train)
    with pytest.raises(ValueError, match="expected 60 rows"):
        ContentProfileRecommender().fit(split.train, F[:10])
    PopularityRecommender().fit(split.train)  # features optional


def _bad_interactions(train):
    coo = train.tocoo()
    dup = sp.coo_matrix((np.r_[coo.data, 1.0], (np.r_[coo.row, coo.row[0]], np.r_[coo.col, coo.col[0]])),
                        shape=train.shape)
    neg, nan = train.copy(), train.copy()
    neg.data[0], nan.data[0] = -1.0, np.nan
    return [(dup, ValueError, "duplicate \\(user, item\\) entries"),
            (neg, ValueError, "negative weights"),
            (nan, ValueError, "NaN or infinite"),
            (train.toarray(), TypeError, "must be a scipy sparse matrix")]


@pytest.mark.parametrize("name", NAMES + ["coldstart"])
def test_every_recommender_refuses_the_same_interactions(name, data):
    split, F = data
    make = FACTORIES.get(name) or (lambda: ColdStartRecommender(factors=8, iterations=2, num_threads=1))
    for bad, exc, match in _bad_interactions(split.train):
        with pytest.raises(exc, match=match):
            make().fit(bad, F)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("random", "popularity")])
def test_attribute_models_refuse_bad_features(name, data):
    split, F = data
    neg = F.copy()
    neg.data[0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        FACTORIES[name]().fit(split.train, neg)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        FACTORIES[name]().fit(split.train, pd.DataFrame(F.toarray()))
    # a dense matrix is accepted and gives the same model as the sparse one
    a = FACTORIES[name]().fit(split.train, F).recommend(np.arange(5), split.train[:5], N=4)
    b = FACTORIES[name]().fit(split.train, F.toarray()).recommend(np.arange(5), split.train[:5], N=4)
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("name", NAMES)
def test_fit_leaves_the_callers_matrices_unchanged(name, data):
    split, F = data
    X = split.train.copy()
    X.data[:] = 2.0  # weighted: LightFM binarises its own copy
    X0, F0 = X.copy(), F.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # implicit's OpenBLAS advice
        FACTORIES[name]().fit(X, F)
    assert (X != X0).nnz == 0 and (F != F0).nnz == 0


@pytest.mark.skipif(not HAS_LIGHTFM, reason="lightfm is not installed (the benchmark extra)")
def test_lightfm_two_fits_with_one_seed_are_identical(data):
    split, F = data
    # num_threads=0 (every core) is only the top-k's: training runs on one thread
    a = LightFMRecommender(no_components=8, epochs=5, random_state=7).fit(split.train, F)
    b = LightFMRecommender(no_components=8, epochs=5, random_state=7).fit(split.train, F)
    np.testing.assert_array_equal(a.item_embeddings_, b.item_embeddings_)
    np.testing.assert_array_equal(a.user_embeddings_, b.user_embeddings_)
    c = LightFMRecommender(no_components=8, epochs=5, random_state=8).fit(split.train, F)
    assert not np.array_equal(a.item_embeddings_, c.item_embeddings_)
