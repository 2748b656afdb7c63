"""Baselines: per-model known answers (the shared contract: test_recommend_contract.py)."""

import importlib.util
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from coldstart.evaluation.baselines import (
    ALSRidgeRecommender,
    ContentProfileRecommender,
    LightFMRecommender,
    PopularityRecommender,
    RandomRecommender,
)
from coldstart.evaluation.splits import protocol_split

HAS_LIGHTFM = importlib.util.find_spec("lightfm") is not None

FACTORIES = {
    "random": lambda: RandomRecommender(random_state=3),
    "popularity": lambda: PopularityRecommender(),
    "content": lambda: ContentProfileRecommender(),
    "als-ridge": lambda: ALSRidgeRecommender(factors=8, iterations=3, num_threads=1),
    "lightfm": lambda: LightFMRecommender(no_components=8, epochs=2, num_threads=1),
}
NAMES = [n for n in FACTORIES if n != "lightfm" or HAS_LIGHTFM]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n_users, n_items, n_feat = 80, 60, 25
    F = sp.random(n_items, n_feat, density=0.2, random_state=1, format="csr")
    F.data = np.ceil(F.data * 3)
    # users like items that share features with a random "taste" vector
    taste = rng.random((n_users, n_feat))
    affinity = taste @ F.toarray().T + 0.3 * rng.random((n_users, n_items))
    X = sp.csr_matrix((affinity > np.quantile(affinity, 0.85)).astype(np.float32))
    split = protocol_split(X, random_state=0)
    return split, F


@pytest.fixture(scope="module")
def fitted(data):
    split, F = data
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # implicit's OpenBLAS advice
        for name in NAMES:
            out[name] = FACTORIES[name]().fit(split.train, F)
    return out


# --------------------------------------------------------------------------- contract
# The recommend / similar_items contract every model shares (padding, liked-last, error texts,
# implicit's evaluation) is tested once, for every recommender, in test_recommend_contract.py.


def test_feature_models_need_features(data):
    split, F = data
    with pytest.raises(TypeError, match="item_features is required"):
        ContentProfileRecommender().fit(split.train)
    with pytest.raises(ValueError, match="expected 60 rows"):
        ContentProfileRecommender().fit(split.train, F[:10])
    PopularityRecommender().fit(split.train)  # features optional


# --------------------------------------------------------------------------- known answers
def test_popularity_counts_and_ties():
    X = sp.csr_matrix(np.array([[1, 1, 0, 0, 1], [0, 1, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=np.float32))
    m = PopularityRecommender().fit(X)
    np.testing.assert_array_equal(m.item_popularity_, [1, 2, 0, 0, 2])
    ids, scores = m.recommend(2, X[2], N=5)
    np.testing.assert_array_equal(ids, [1, 4, 0, 2, 3])  # 1 and 4 tie: lower index first
    ids, scores = m.recommend(0, X[0], N=3)
    np.testing.assert_array_equal(ids, [2, 3, 0])  # then the liked items, ranked last (-inf)
    assert np.isneginf(scores[2])


def test_random_is_batch_independent_and_seeded(data):
    split, _ = data
    m = RandomRecommender(random_state=1).fit(split.train)
    users = np.arange(10)
    together, _ = m.recommend(users, split.train[users], N=6)
    alone = np.stack([m.recommend(int(u), split.train[[u]], N=6)[0] for u in users])
    np.testing.assert_array_equal(together, alone)
    other, _ = RandomRecommender(random_state=2).fit(split.train).recommend(users, split.train[users], N=6)
    assert not np.array_equal(together, other)
    # roughly uniform: every item is ranked first for someone over many users
    firsts = m.recommend(np.arange(80), split.train, N=1, filter_already_liked_items=False)[0]
    assert np.unique(firsts).size > 30


def test_content_profile_equals_dense_cosine(data):
    split, F = data
    m = ContentProfileRecommender(sublinear_tf=True).fit(split.train, F)
    V = TfidfTransformer(sublinear_tf=True).fit_transform(F).toarray()
    P = split.train.toarray() @ V
    norms = np.linalg.norm(P, axis=1, keepdims=True)
    S = P / np.where(norms > 0, norms, 1) @ V.T
    users = np.arange(40)
    ids, scores = m.recommend(users, split.train[users], N=5, filter_already_liked_items=False)
    np.testing.assert_allclose(scores, np.take_along_axis(S[users], ids, axis=1), rtol=1e-5, atol=1e-6)
    ref = np.argsort(-S[users], axis=1, kind="stable")[:, :5]
    np.testing.assert_allclose(np.take_along_axis(S[users], ref, axis=1), scores, rtol=1e-5, atol=1e-6)


def test_content_profile_known_neighbour():
    # items 0 and 2 share feature 0; item 1 has feature 1 only
    F = sp.csr_matrix(np.array([[1, 0], [0, 1], [2, 0]], dtype=np.float32))
    X = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    m = ContentProfileRecommender().fit(X, F)
    ids, scores = m.recommend(0, X[0], N=2)
    np.testing.assert_array_equal(ids, [2, 1])
    np.testing.assert_allclose(scores, [1.0, 0.0], atol=1e-6)


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
