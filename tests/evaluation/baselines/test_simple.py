"""Random, popularity and content-profile baselines: known answers."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from coldstart.evaluation.baselines import ContentProfileRecommender, PopularityRecommender, RandomRecommender


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


@pytest.mark.parametrize("seed", range(9))
def test_popularity_lists_equal_the_dense_ranking(seed, monkeypatch):
    """Popularity's shared order gives what ranking one dense score row per user gives, with
    liked items, candidate subsets and banned items."""
    from coldstart.evaluation.baselines.base import BaselineRecommender

    rng = np.random.default_rng(seed)
    n_users, n_items = int(rng.integers(20, 300)), int(rng.integers(10, 200))
    X = sp.random(n_users, n_items, density=0.2, format="csr", random_state=seed)
    X.data[:] = 1.0
    m = PopularityRecommender().fit(X)
    users = rng.choice(n_users, size=n_users // 2 + 1, replace=False)
    kw = [{}, {"items": rng.choice(n_items, size=n_items // 2, replace=False)},
          {"filter_items": rng.choice(n_items, size=n_items // 3, replace=False)}][seed % 3]
    N = int(rng.integers(1, n_items + 5))
    fast = m.recommend(users, X[users], N=N, filter_already_liked_items=bool(seed % 2), **kw)
    monkeypatch.setattr(PopularityRecommender, "_rank", BaselineRecommender._rank)
    dense = m.recommend(users, X[users], N=N, filter_already_liked_items=bool(seed % 2), **kw)
    np.testing.assert_array_equal(fast[0], dense[0])
    np.testing.assert_array_equal(fast[1], dense[1])
