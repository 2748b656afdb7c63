"""coldstart.integrations.ann: exact norm-pruned top-N (numpy) and HNSW top-N (needs the optional hnswlib)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from coldstart.integrations.ann import HNSWIndex, NormPrunedIndex
from tests.conftest import make_clustered

try:
    import hnswlib  # noqa: F401
    HAVE_HNSWLIB = True
except ImportError:
    HAVE_HNSWLIB = False
needs_hnswlib = pytest.mark.skipif(not HAVE_HNSWLIB, reason="hnswlib is not installed (optional extra: "
                                   "pip install 'coldstart[ann]')")


def _exact(F, Q, N):
    return np.argsort(-(Q @ F.T), axis=1, kind="stable")[:, :N]


def _recall(got, exact):
    return np.mean([len(np.intersect1d(g[g >= 0], e)) / len(e) for g, e in zip(got, exact)])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((2000, 16)).astype(np.float32) * rng.lognormal(0, 0.5, (2000, 1)).astype(np.float32)
    Q = rng.standard_normal((100, 16)).astype(np.float32)
    return F, Q


@needs_hnswlib
def test_recall_against_exact_top_n(data):
    F, Q = data
    index = HNSWIndex(ef=200, random_state=1).fit(F)
    assert len(index) == 2000
    ids, scores = index.recommend(Q, N=10)
    assert ids.shape == scores.shape == (100, 10)
    assert _recall(ids, _exact(F, Q, 10)) >= 0.95
    # scores are the inner products, best first
    np.testing.assert_allclose(scores, np.take_along_axis(Q @ F.T, ids, 1), rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    one_ids, one_scores = index.recommend(Q[0], N=10)
    assert one_ids.shape == (10,)
    np.testing.assert_array_equal(one_ids, ids[0])


@needs_hnswlib
def test_incremental_adds_are_found(data):
    F, Q = data
    rng = np.random.default_rng(3)
    index = HNSWIndex(ef=100).fit(F[:1000])
    added = []
    for start in range(1000, 2000, 137):  # uneven chunks, crossing the capacity several times
        added.append(index.add_items(F[start:start + 137]))
    added = np.concatenate(added)
    np.testing.assert_array_equal(added, np.arange(1000, 2000))
    assert len(index) == 2000
    assert _recall(index.recommend(Q, N=10)[0], _exact(F, Q, 10)) >= 0.9
    # new items that are by construction the unique best answer to a query come back first
    dirs = rng.standard_normal((20, 16)).astype(np.float32)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    big = 20.0 * dirs
    ids = index.add_items(big)
    got, _ = index.recommend(dirs, N=1)
    np.testing.assert_array_equal(got[:, 0], ids)


@needs_hnswlib
def test_reinserting_an_id_replaces_its_vector(data):
    F, _ = data
    index = HNSWIndex().fit(F[:500])
    q = np.zeros(16, np.float32)
    q[0] = 1.0
    v = np.zeros((1, 16), np.float32)
    v[0, 0] = 100.0
    index.add_items(v, ids=[7])
    assert len(index) == 500
    assert index.recommend(q, N=1)[0][0] == 7
    index.add_items(-v, ids=[7])
    assert 7 not in index.recommend(q, N=10)[0]


@needs_hnswlib
def test_filters_and_padding(data):
    F, Q = data
    index = HNSWIndex(ef=400).fit(F[:300])
    exact = _exact(F[:300], Q[:5], 20)
    liked = sp.csr_matrix((np.ones(15), (np.repeat(np.arange(5), 3), exact[:, :3].ravel())), shape=(5, 300))
    banned = exact[:, 3]
    ids, scores = index.recommend(Q[:5], N=10, user_items=liked, filter_items=banned)
    for r in range(5):
        assert not np.isin(ids[r], exact[r, :3]).any() and not np.isin(ids[r], banned).any()
        assert _recall(ids[r:r + 1], exact[r:r + 1, 4:14]) >= 0.9
    small = HNSWIndex().fit(F[:5])
    ids, scores = small.recommend(Q[:2], N=10)
    assert ids.shape == (2, 10) and np.all(ids[:, 5:] == -1) and np.all(np.isneginf(scores[:, 5:]))
    assert small.recommend(Q[0], N=10)[0].shape == (5,)


@needs_hnswlib
def test_follows_a_model_through_add_items(clustered_model):
    model, ui, X = clustered_model
    index = HNSWIndex.from_model(model, ef=200)
    assert len(index) == model.n_items_
    grown = copy.deepcopy(model)
    new = grown.add_items(X[:40])
    np.testing.assert_array_equal(index.sync(grown), new)
    assert len(index) == grown.n_items_
    assert index.sync(grown).size == 0
    users = np.arange(80)
    exact, _ = grown.recommend(users, None, N=10, filter_already_liked_items=False)
    got, _ = index.recommend(grown.user_factors_[users], N=10)
    assert _recall(got, exact) >= 0.95
    # with the already-liked filter, like the model's recommend
    ui_ext = sp.hstack([ui, sp.csr_matrix((80, 40), dtype=np.float32)]).tocsr()
    exact, _ = grown.recommend(users, ui_ext, N=10)
    got, _ = index.recommend(grown.user_factors_[users], N=10, user_items=ui_ext)
    assert _recall(got, exact) >= 0.95


@needs_hnswlib
def test_bad_input():
    index = HNSWIndex()
    with pytest.raises(RuntimeError, match="not built"):
        index.recommend(np.zeros(4), N=1)
    index.fit(np.ones((10, 4), np.float32))
    with pytest.raises(ValueError, match="shape"):
        index.add_items(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        index.add_items(np.full((1, 4), np.nan, np.float32))
    with pytest.raises(ValueError, match="N must be"):
        index.recommend(np.ones(4), N=0)
    with pytest.raises(ValueError, match="ids"):
        index.add_items(np.ones((1, 4), np.float32), ids=[100])
    with pytest.raises(ValueError, match="M must be"):
        HNSWIndex(M=0).fit(np.ones((3, 4), np.float32))


# ---------------------------------------------------------------------------------------------- exact
@pytest.fixture(scope="module")
def skewed():
    """Factors with ALS-like norm skew (a few long vectors), plus users."""
    rng = np.random.default_rng(7)
    F = rng.standard_normal((5000, 12)).astype(np.float32)
    F *= (1.0 / (1.0 + np.arange(5000)) ** 0.7)[rng.permutation(5000), None].astype(np.float32) * 10
    U = rng.standard_normal((60, 12)).astype(np.float32)
    return F, U


def _check_exact(F, Q, ids, scores, N, excluded=None):
    S = Q @ F.T
    for r in range(len(Q)):
        s = S[r].copy()
        if excluded is not None:
            s[excluded[r]] = -np.inf
        ref = np.sort(s)[::-1][:N]
        ref = ref[np.isfinite(ref)]
        got = scores[r][ids[r] >= 0]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(S[r, ids[r][ids[r] >= 0]], got, rtol=1e-5, atol=1e-5)


def test_norm_pruned_is_exact_and_prunes(skewed):
    F, U = skewed
    index = NormPrunedIndex(block_size=256).fit(F)
    ids, scores = index.recommend(U, N=10)
    _check_exact(F, U, ids, scores, 10)
    assert index.scanned_fraction_ < 0.5  # the norm bound stopped most of the scan
    one_ids, one_scores = index.recommend(U[3], N=10)
    np.testing.assert_array_equal(one_ids, ids[3])
    # a query whose best scores are negative cannot prune: it scans everything, still exact
    P = np.abs(F)
    q = -np.ones((1, F.shape[1]), np.float32)
    positive = NormPrunedIndex(block_size=256).fit(P)
    ids, scores = positive.recommend(q, N=5)
    _check_exact(P, q, ids, scores, 5)
    assert positive.scanned_fraction_ == 1.0


def test_norm_pruned_filters_adds_updates_and_merges(skewed):
    F, U = skewed
    rng = np.random.default_rng(8)
    index = NormPrunedIndex(block_size=128, merge_ratio=0.2).fit(F[:3000])
    for start in range(3000, 5000, 97):  # many small appends: segments, then merges
        np.testing.assert_array_equal(index.add_items(F[start:start + 97]), np.arange(start, min(start + 97, 5000)))
    assert len(index) == 5000
    ids, scores = index.recommend(U, N=10)
    _check_exact(F, U, ids, scores, 10)
    # already-liked and filter_items, over old and appended items
    liked = sp.random(len(U), 5000, density=0.01, format="csr", random_state=1)
    banned = np.concatenate([ids[:, 0], rng.choice(5000, 40)])
    ids, scores = index.recommend(U, N=10, user_items=liked, filter_items=banned)
    excluded = [np.union1d(liked[r].indices, banned) for r in range(len(U))]
    _check_exact(F, U, ids, scores, 10, excluded)
    # replacing vectors (e.g. after partial_fit_items) retires the old ones
    G = F.copy()
    G[[5, 4000]] = -G[[5, 4000]] * 100
    index.add_items(G[[5, 4000]], ids=[5, 4000])
    assert len(index) == 5000
    ids, scores = index.recommend(U, N=10)
    _check_exact(G, U, ids, scores, 10)
    # fewer candidates than N: padded rows
    small = NormPrunedIndex().fit(F[:4])
    ids, scores = small.recommend(U[:2], N=10, filter_items=[0])
    assert np.all(ids[:, 3:] == -1) and np.all(np.isneginf(scores[:, 3:]))
    assert small.recommend(U[0], N=10, filter_items=[0])[0].shape == (3,)


@pytest.fixture(scope="module")
def clustered_model():
    ui, X, _, _ = make_clustered(n_users=80, n_items=150, seed=5)
    model = ColdStartRecommender(factors=8, iterations=5, regularization=0.05, random_state=0).fit(ui, X)
    return model, ui, X


def test_norm_pruned_follows_a_model(clustered_model):
    model, ui, X = clustered_model
    index = NormPrunedIndex.from_model(model)
    grown = copy.deepcopy(model)
    new = grown.add_items(X[:30])
    np.testing.assert_array_equal(index.sync(grown), new)
    users = np.arange(ui.shape[0])
    ui_ext = sp.hstack([ui, sp.csr_matrix((ui.shape[0], 30), dtype=np.float32)]).tocsr()
    exact_ids, exact_scores = grown.recommend(users, ui_ext, N=10)
    ids, scores = index.recommend(grown.user_factors_[users], N=10, user_items=ui_ext)
    # same scores as the model's exact top-N, and each id carries its true score (ids may differ
    # only between exactly tied items, e.g. an added copy of a cold item's attributes)
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-5, atol=1e-6)
    true = np.take_along_axis(grown.user_factors_[users] @ grown.item_factors_.T, ids, 1)
    np.testing.assert_allclose(true, scores, rtol=1e-5, atol=1e-6)
    for r in users:
        assert not np.isin(ids[r], ui_ext[r].indices).any()


def test_norm_pruned_bad_input():
    with pytest.raises(RuntimeError, match="not built"):
        NormPrunedIndex().recommend(np.zeros(4), N=1)
    index = NormPrunedIndex().fit(np.ones((10, 4), np.float32))
    with pytest.raises(ValueError, match="shape"):
        index.add_items(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="N must be"):
        index.recommend(np.ones(4), N=0)
    with pytest.raises(ValueError, match="ids"):
        index.add_items(np.ones((2, 4), np.float32), ids=[3, 3])
    with pytest.raises(ValueError, match="block_size"):
        NormPrunedIndex(block_size=0).fit(np.ones((3, 4), np.float32))
