"""Contract suite of ColdStartRecommender: sklearn conventions, implicit's recommend semantics,
zero-shot items, add_items, partial_fit_items (files: test_persistence.py)."""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered, without_interactions

SMALL = dict(factors=8, iterations=10, regularization=0.05, random_state=0)


@pytest.fixture(scope="module")
def fitted(clustered):
    """SMALL fitted on the clustered world; tests that change the model work on a deep copy."""
    ui, X, uc, ic = clustered
    return ColdStartRecommender(**SMALL).fit(ui, X)


def test_fit_returns_self_and_sets_fitted_state(clustered):
    ui, X, _, _ = clustered
    m = ColdStartRecommender(**SMALL)
    assert m.fit(ui, X) is m
    assert m.user_factors_.shape == (ui.shape[0], 8)
    assert m.item_factors_.shape == (ui.shape[1], 8)
    assert m.user_factors_.dtype == np.float32 and m.item_factors_.dtype == np.float32
    assert m.n_items_ == ui.shape[1] and m.n_users_ == ui.shape[0] and m.n_features_in_ == X.shape[1]


def test_unfitted_raises_not_fitted(clustered):
    ui, X, _, _ = clustered
    m = ColdStartRecommender()
    for call in (lambda: m.recommend(0, ui[0]), lambda: m.embed_items(X[:1]), lambda: m.add_items(X[:1]),
                 lambda: m.similar_items(0), lambda: m.item_factors_, lambda: m.save("x.npz")):
        with pytest.raises(NotFittedError):
            call()


def test_clone_and_get_params():
    m = ColdStartRecommender(factors=16, map_alpha=3.0, random_state=7)
    params = m.get_params()
    assert params["factors"] == 16 and params["map_alpha"] == 3.0 and params["random_state"] == 7
    c = clone(m)
    assert c.get_params() == params and c is not m
    c.set_params(factors=4)
    assert c.factors == 4 and m.factors == 16


def test_random_state_makes_fit_deterministic(fitted, clustered):
    ui, X, _, _ = clustered
    a = fitted  # fitted the same way in the module fixture
    b = ColdStartRecommender(**SMALL).fit(ui, X)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)


def test_batch_equals_scalar(fitted, clustered):
    ui = clustered[0]
    users = np.array([3, 0, 17])
    ids, scores = fitted.recommend(users, ui[users], N=7)
    assert ids.shape == (3, 7) and scores.shape == (3, 7)
    for row, u in enumerate(users):
        i1, s1 = fitted.recommend(int(u), ui[u], N=7)
        assert i1.shape == (7,)
        np.testing.assert_array_equal(i1, ids[row])
        np.testing.assert_allclose(s1, scores[row], rtol=1e-6)


def test_recommend_scores_are_dot_products_and_sorted(fitted, clustered):
    ui = clustered[0]
    ids, scores = fitted.recommend(5, ui[5], N=10)
    expected = fitted.item_factors_[ids] @ fitted.user_factors_[5]
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.diff(scores) <= 1e-7)
    # exhaustive check: no unfiltered item scores higher than the last returned one
    all_scores = fitted.item_factors_ @ fitted.user_factors_[5]
    all_scores[ui[5].indices] = -np.inf
    assert np.sort(all_scores)[-10:].min() == pytest.approx(scores[-1], rel=1e-5)


def test_filter_already_liked_and_filter_items(fitted, clustered):
    ui = clustered[0]
    ids, _ = fitted.recommend(2, ui[2], N=50)
    assert not set(ids) & set(ui[2].indices)
    ids2, _ = fitted.recommend(2, ui[2], N=50, filter_already_liked_items=False)
    assert set(ids2) & set(ui[2].indices)
    banned = ids[:3]
    ids3, _ = fitted.recommend(2, ui[2], N=50, filter_items=banned)
    assert not set(ids3) & set(banned)


def test_items_restricts_candidates_and_short_rows_are_padded(fitted, clustered):
    ui = clustered[0]
    cand = np.array([10, 50, 3, 77])
    ids, scores = fitted.recommend(1, ui[1], N=10, items=cand, filter_already_liked_items=False)
    assert set(ids) == set(cand) and len(ids) == 4
    liked = ui[1].indices[:2]
    cand2 = np.concatenate([liked, [150, 151, 152]])
    ids, scores = fitted.recommend(np.array([1, 2]), ui[[1, 2]], N=5, items=cand2)
    assert ids.shape == (2, 5) and set(ids[0]) == set(cand2)
    # already-liked candidates are ranked last (score -inf), as implicit does, not dropped
    assert set(ids[0][3:]) == set(liked) and np.isneginf(scores[0][3:]).all()
    assert np.isfinite(scores[0][:3]).all()
    s_ids, s_scores = fitted.recommend(1, ui[1], N=5, items=cand2)
    np.testing.assert_array_equal(s_ids, ids[0])  # a single user's list: the batch row, not trimmed
    np.testing.assert_allclose(s_scores, scores[0], rtol=1e-5)  # BLAS: gemv vs gemm
    ids, scores = fitted.recommend(1, ui[1], N=5, items=[7, 7, 8])  # duplicates count once
    assert ids.shape == (2,)
    with pytest.raises(ValueError, match="items and filter_items"):
        fitted.recommend(1, ui[1], items=cand, filter_items=[1])


def test_recalculate_user_serves_unknown_users(fitted, clustered):
    ui = clustered[0]
    # recalculated vector of a known user from their own history: the user's implicit-ALS solve
    # against the items (unobserved term over the items with interactions), here in float64
    ids_a, scores_a = fitted.recommend(4, ui[4], N=10, recalculate_user=True)
    V = fitted.item_factors_.astype(np.float64)
    known = V[~fitted.is_zero_shot_]
    row = ui[4].tocsr()
    c = fitted._alpha() * row.data.astype(np.float64)
    F = V[row.indices]
    A = known.T @ known + fitted._reg() * np.eye(V.shape[1]) + (F * (c - 1.0)[:, None]).T @ F
    expected = V @ np.linalg.solve(A, c @ F)
    expected[row.indices] = -np.inf  # already liked
    top = np.argsort(-expected, kind="stable")[:10]
    np.testing.assert_allclose(scores_a, expected[top], rtol=1e-3, atol=1e-5)
    assert set(ids_a) == set(top)
    # an unknown user (id beyond the model) who liked cluster-0 items gets cluster-0 items
    ic = clustered[3]
    hist = np.flatnonzero(ic == 0)[:6]
    row = sp.csr_matrix((np.ones(6, np.float32), (np.zeros(6, int), hist)), shape=(1, ui.shape[1]))
    ids, _ = fitted.recommend(10_000, row, N=10, recalculate_user=True)
    assert np.mean(ic[ids] == 0) >= 0.8
    with pytest.raises(IndexError, match="userid"):
        fitted.recommend(10_000, row, N=10)


def test_cold_columns_get_zero_shot_vectors(clustered):
    ui, X, uc, ic = clustered
    cold = np.arange(0, ui.shape[1], 10)
    train = without_interactions(ui, cold)
    m = ColdStartRecommender(**SMALL).fit(train, X)
    assert m.is_zero_shot_[cold].all() and m.is_zero_shot_.sum() == len(cold)
    np.testing.assert_allclose(m.item_factors_[cold], m.embed_items(X[cold]), rtol=1e-5, atol=1e-6)


def test_known_answer_new_item_goes_to_its_cluster(fitted, clustered):
    """A tiny world with a known answer: a new item carrying cluster c's attribute is ranked
    first, among fresh items of the other clusters, for almost every user of cluster c."""
    ui, X, uc, ic = clustered
    m = copy.deepcopy(fitted)
    n_clusters = 4
    new = np.zeros((n_clusters, X.shape[1]), np.float32)
    new[np.arange(n_clusters), np.arange(n_clusters)] = 1.0
    new[:, n_clusters] = 1.0  # one shared noise attribute
    idx = m.add_items(new)
    users = np.arange(ui.shape[0])
    empty = sp.csr_matrix((len(users), m.n_items_), dtype=np.float32)
    ids, _ = m.recommend(users, empty, N=1, items=idx)
    top_cluster = ids[:, 0] - idx[0]
    assert np.mean(top_cluster == uc) >= 0.9


def test_add_items_equals_embed_items_and_is_recommendable(fitted, clustered):
    ui, X, _, _ = clustered
    m = copy.deepcopy(fitted)
    before = m.item_factors_.copy()
    feats = X[[5, 6, 7]]
    emb = m.embed_items(feats)
    idx = m.add_items(feats)
    np.testing.assert_array_equal(idx, np.arange(ui.shape[1], ui.shape[1] + 3))
    np.testing.assert_array_equal(m.item_factors_[idx], emb)
    np.testing.assert_array_equal(m.item_factors_[: ui.shape[1]], before)
    assert m.n_items_ == ui.shape[1] + 3 and m.is_zero_shot_[idx].all()
    # recommendable at once: in a user's list over the whole catalog and in similar_items
    wide = sp.csr_matrix((1, m.n_items_), dtype=np.float32)
    ids, _ = m.recommend(0, wide, N=m.n_items_)
    assert set(idx) <= set(ids)
    sim, _ = m.similar_items(int(idx[0]), N=3)
    assert sim[0] == idx[0]
    # the training matrix with the old width means "no interactions with the new items" (as in
    # implicit); a wider one is refused with a clear message
    np.testing.assert_array_equal(m.recommend(0, ui[0], N=20)[0], m.recommend(0, sp.hstack(
        [ui[0], sp.csr_matrix((1, 3))], format="csr"), N=20)[0])
    with pytest.raises(ValueError, match="shape"):
        m.recommend(0, sp.csr_matrix((1, m.n_items_ + 1)))


def test_an_item_without_known_attributes_is_added_with_a_warning(fitted, clustered):
    # nothing to place it by: a zero vector (scored 0, no direction for similar_items), said once
    ui, X, _, _ = clustered
    m = copy.deepcopy(fitted)
    feats = sp.vstack([X[5], sp.csr_matrix((1, X.shape[1]), dtype=X.dtype)], format="csr")
    with pytest.warns(UserWarning, match=r"add_items: 1 of the 2 new items \(rows \[1\] of this call\) have no "
                                         r"attribute the model's map learned from"):
        idx = m.add_items(feats)
    assert not m.item_factors_[idx[1]].any() and m.item_factors_[idx[0]].any()
    _, scores = m.similar_items(int(idx[1]), N=3)
    assert (scores == 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.add_items(X[[6]])


def test_repeated_single_adds_equal_one_batch_add(fitted, clustered):
    ui, X, _, _ = clustered
    a = copy.deepcopy(fitted)
    b = copy.deepcopy(fitted)
    for r in range(40):  # crosses several capacity growths
        a.add_items(X[r:r + 1])
    b.add_items(X[:40])
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.is_zero_shot_, b.is_zero_shot_)


def test_partial_fit_items_starts_from_zero_shot_prior(clustered):
    ui, X, uc, ic = clustered
    # the warm-up mechanism on the fixed settings (a clear zero-shot boost), not the chosen ones
    m = ColdStartRecommender(**SMALL, prior_weight=1.0, free_sweeps=0, map_alpha=3.0,
                             zero_shot_scale=2.0).fit(ui, X)
    [idx] = m.add_items(X[:1])
    prior = m.item_factors_[idx].copy()
    # no interactions: stays at the prior
    m.partial_fit_items([idx], sp.csr_matrix((1, m.n_users_), dtype=np.float32))
    np.testing.assert_allclose(m.item_factors_[idx], prior)
    # one interaction: moves, but stays close to the prior (closer than a prior-free fold-in)
    fans = np.flatnonzero(uc == ic[0])
    one = sp.csr_matrix((np.ones(1, np.float32), ([0], [fans[0]])), shape=(1, m.n_users_))
    m.partial_fit_items([idx], one)
    v1 = m.item_factors_[idx].copy()
    assert not m.is_zero_shot_[idx]
    from coldstart.core.solvers import fold_in

    free = fold_in(m.user_factors_, one, m._reg(), m._alpha())[0]
    assert np.linalg.norm(v1 - prior) < np.linalg.norm(free - prior)
    assert np.linalg.norm(v1 - prior) > 0
    # many interactions: ends near the pure collaborative solution
    many = sp.csr_matrix((np.ones(len(fans), np.float32), (np.zeros(len(fans), int), fans)),
                         shape=(1, m.n_users_))
    m.partial_fit_items([idx], many)
    free_many = fold_in(m.user_factors_, many, m._reg(), m._alpha())[0]
    cos = free_many @ m.item_factors_[idx] / np.linalg.norm(free_many) / np.linalg.norm(m.item_factors_[idx])
    assert cos > 0.9


def test_partial_fit_items_counts_each_interaction_once(fitted, clustered):
    """Called again with the same (all-so-far) rows, the vectors do not move: the update starts
    from the zero-shot prior, not from the current vector; and it equals the exact posterior."""
    ui, X, uc, ic = clustered
    m = copy.deepcopy(fitted)
    idx = m.add_items(X[:3])
    fans = [np.flatnonzero(uc == ic[j])[:k] for j, k in zip(range(3), (1, 4, 12))]
    rows = sp.vstack([sp.csr_matrix((np.ones(len(f), np.float32), (np.zeros(len(f), int), f)),
                                    shape=(1, m.n_users_)) for f in fans]).tocsr()
    m.partial_fit_items(idx, rows)
    first = m.item_factors_[idx].copy()
    m.partial_fit_items(idx, rows)
    np.testing.assert_allclose(m.item_factors_[idx], first, rtol=1e-5, atol=1e-6)
    # the exact posterior: fold-in with the prior mean placed so that no interaction gives z
    z = m.embed_items(X[:3]).astype(np.float64)
    U = m.user_factors_.astype(np.float64)
    G = U.T @ U
    pw, k, reg = m.prior_weight_, G.shape[0], m._item_reg()  # every item solve's ridge (item_ridge_)
    mean = z + (z @ (G + reg * np.eye(k))) / pw
    rows = sp.csr_matrix(rows)
    exact = np.empty_like(first)
    for r in range(rows.shape[0]):  # dense normal equations, row by row
        F, c = U[rows[r].indices], m._alpha() * rows[r].data
        A = G + (reg + pw) * np.eye(k) + (F * (c - 1.0)[:, None]).T @ F
        exact[r] = np.linalg.solve(A, c @ F + pw * mean[r])
    np.testing.assert_allclose(first, exact, rtol=2e-3, atol=2e-3 * np.abs(exact).max())


def test_partial_fit_items_re_solves_established_items_without_the_boost(clustered):
    """An established item (interactions at fit, not named new) is re-solved from its rows as
    the fit solves items, not around the boosted zero-shot prior: its own training row leaves it
    where the fit put it whatever the scale, and with no interaction left it gets the attributes'
    estimate without the boost (a refit's). similar_items(recalculate_item=True) gives the same
    vector, also with zero-shot users (the same users count as unobserved)."""
    ui, X, uc, ic = clustered
    m = ColdStartRecommender(**SMALL, free_sweeps=3, map_alpha=3.0, zero_shot_scale=4.0).fit(ui, X)
    warm = np.flatnonzero(np.diff(ui.tocsc().indptr) > 0)[:20]
    before = m.item_factors_[warm].copy()
    m.partial_fit_items(warm, ui.T.tocsr()[warm])
    after = m.item_factors_[warm]
    cos = np.sum(after * before, 1) / np.linalg.norm(after, axis=1) / np.linalg.norm(before, axis=1)
    assert cos.min() > 0.98  # the boosted prior pulled them toward 4 x their attributes' image
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), np.linalg.norm(before, axis=1), rtol=0.05)
    [fresh] = m.add_items(X[:1])
    assert (m.item_variance_[warm] < m.item_variance_[fresh]).all()  # still narrow
    e = int(warm[0])
    m.partial_fit_items([e], sp.csr_matrix((1, m.n_users_), dtype=np.float32))
    np.testing.assert_allclose(m.item_factors_[e], m.embed_items(X[[e]])[0] / 4.0, rtol=1e-5, atol=1e-7)
    assert m.is_zero_shot_[e]
    # the recalculated query is the vector partial_fit_items stores, cold users or not
    XU = sp.csr_matrix(np.eye(4, dtype=np.float32)[uc])
    cold = (sp.diags((np.arange(ui.shape[0]) >= 20).astype(np.float32)) @ ui).tocsr()
    cold.eliminate_zeros()
    mu = ColdStartRecommender(**SMALL, free_sweeps=3, map_alpha=3.0, zero_shot_scale=4.0).fit(
        cold, X, user_features=XU)
    for item in (int(warm[1]), int(mu.add_items(X[:1])[0])):  # established, warming up
        row = cold.T.tocsr()[[int(warm[1])]]
        mu.partial_fit_items([item], row)
        _, stored = mu.similar_items(item, N=10)
        _, recalculated = mu.similar_items(item, N=10, recalculate_item=True, item_users=row)
        np.testing.assert_allclose(recalculated, stored, rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="itemid"):
        mu.similar_items(3.5, recalculate_item=True, item_users=row)


def test_auto_prior_weight_is_ten_typical_interactions(fitted, clustered):
    ui, X, uc, ic = clustered
    m = fitted
    U = m.user_factors_.astype(np.float64)
    rows = np.repeat(np.arange(ui.shape[0]), np.diff(ui.indptr))
    # a pair counts for at least one unit of confidence (c - 1 is 0 at implicit's alpha = 1)
    per = np.mean(np.maximum(m._alpha() * ui.data - 1.0, 1.0) * (U[rows] ** 2).sum(1)) / U.shape[1]
    assert m.prior_weight_ == pytest.approx(10.0 * per, rel=1e-4)
    assert ColdStartRecommender(**SMALL, prior_weight=5.0).fit(ui, X).prior_weight_ == 5.0


def test_fit_new_items_get_the_partial_fit_posterior(fitted, clustered):
    """Items passed as new_items keep the warm-up estimate through a refit: the same vectors
    partial_fit_items gives; the other items are those of a plain fit."""
    ui, X, uc, ic = clustered
    counts = np.bincount(ui.indices, minlength=ui.shape[1])
    new = np.flatnonzero(counts > 0)[:5]
    plain = fitted
    m = ColdStartRecommender(**SMALL).fit(ui, X, new_items=new)
    rest = np.setdiff1d(np.arange(ui.shape[1]), new)
    np.testing.assert_allclose(m.item_factors_[rest], plain.item_factors_[rest], rtol=1e-6, atol=1e-7)
    assert not np.allclose(m.item_factors_[new], plain.item_factors_[new])
    before = m.item_factors_[new].copy()
    m.partial_fit_items(new, ui.T.tocsr()[new])
    np.testing.assert_allclose(m.item_factors_[new], before, rtol=1e-5, atol=1e-6)
    assert not m.is_zero_shot_[new].any()
    with pytest.raises(IndexError, match="new_items"):
        ColdStartRecommender(**SMALL).fit(ui, X, new_items=[ui.shape[1]])
    # items without interactions that are not new are established: no zero-shot boost
    keep = np.ones(ui.shape[1], np.float32)
    keep[[7, 8]] = 0
    ui2 = (ui @ sp.diags(keep)).tocsr()
    ui2.eliminate_zeros()
    a = ColdStartRecommender(**SMALL).fit(ui2, X)
    b = ColdStartRecommender(**SMALL).fit(ui2, X, new_items=[7])
    np.testing.assert_allclose(b.item_factors_[7], a.item_factors_[7], rtol=1e-6)
    z = a.zero_shot_scale_
    np.testing.assert_allclose(b.item_factors_[8] * z, a.item_factors_[8] * min(1.0, z), rtol=1e-5, atol=1e-7)
    assert b.is_zero_shot_[[7, 8]].all()
    # a boost is not given to the old items; a scale below 1 (attributes not trusted) still shrinks them
    for scale, kept in ((4.0, 0.25), (0.25, 1.0)):
        a = ColdStartRecommender(**SMALL, zero_shot_scale=scale).fit(ui2, X)
        b = ColdStartRecommender(**SMALL, zero_shot_scale=scale).fit(ui2, X, new_items=[7])
        np.testing.assert_allclose(b.item_factors_[7], a.item_factors_[7], rtol=1e-6)
        np.testing.assert_allclose(b.item_factors_[8], a.item_factors_[8] * kept, rtol=1e-5, atol=1e-7)


def test_partial_fit_users_adds_new_users(fitted, clustered):
    ui, X, uc, ic = clustered
    m = copy.deepcopy(fitted)
    hist = np.flatnonzero(ic == 1)[:5]
    row = sp.csr_matrix((np.ones(5, np.float32), (np.zeros(5, int), hist)), shape=(1, m.n_items_))
    m.partial_fit_users([m.n_users_], row)
    assert m.n_users_ == ui.shape[0] + 1
    ids, _ = m.recommend(m.n_users_ - 1, row, N=10)
    assert np.mean(ic[ids] == 1) >= 0.8


def test_similar_items_batch_and_restriction(fitted):
    ids, scores = fitted.similar_items(np.array([0, 1]), N=4)
    assert ids.shape == (2, 4) and ids[0, 0] == 0 and ids[1, 0] == 1
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    ids, _ = fitted.similar_items(0, N=10, items=[3, 4, 5])
    assert set(ids) == {3, 4, 5}


def test_plugs_into_an_already_fitted_implicit_model(clustered):
    from implicit.cpu.als import AlternatingLeastSquares

    ui, X, uc, ic = clustered
    als = AlternatingLeastSquares(factors=8, iterations=5, random_state=0)
    als.fit(ui, show_progress=False)
    before = als.item_factors.copy()
    m = ColdStartRecommender(collaborative=als).fit(ui, X)
    np.testing.assert_array_equal(m.item_factors_, before)  # warm vectors are the backend's own
    np.testing.assert_array_equal(als.item_factors, before)  # and the backend is untouched
    np.testing.assert_array_equal(m.user_factors_, als.user_factors)
    assert m.collaborative_ is als
    # the model keeps copies: its partial fits never write into the backend's arrays
    assert not np.shares_memory(m.user_factors_, als.user_factors)
    users_before = als.user_factors.copy()
    m.partial_fit_users([3], ui[[3]][:, :ui.shape[1]] * 2.0)
    np.testing.assert_array_equal(als.user_factors, users_before)
    # implicit's widths: the backend's own matrices, narrower after add_items / new users
    idx = m.add_items(X[:2])
    m.partial_fit_users([4], ui[[4]])  # the old item width
    m.partial_fit_users([ui.shape[0]], sp.csr_matrix((1, m.n_items_)))  # a new user
    m.partial_fit_items([5], ui.T.tocsr()[[5]])  # the old user width
    ids, _ = m.recommend(2, sp.csr_array(ui[[2]]), N=5)  # a csr_array as a csr_matrix
    assert len(ids) == 5
    with pytest.raises(IndexError, match=r"add_items\(item_features\) first"):
        m.partial_fit_items([int(idx[-1]) + 1], ui.T.tocsr()[[5]])
    # implicit's own alpha = 1: a pair still weighs one unit of confidence, the prior is not void
    assert ColdStartRecommender(collaborative=als, alpha=1.0).fit(ui, X).prior_weight_ > 1.0
    # an unfitted model is fitted on a copy, the parameter is untouched
    fresh = AlternatingLeastSquares(factors=4, iterations=3, random_state=0)
    m2 = ColdStartRecommender(collaborative=fresh).fit(ui, X)
    assert fresh.item_factors is None and m2.item_factors_.shape[1] == 4
    with pytest.raises(ValueError, match="already fitted"):
        ColdStartRecommender(collaborative=als).fit(ui[:50], X)


def test_plugin_mode_tunes_on_a_private_copy_of_the_backend(clustered):
    """Plug-in mode's "auto" settings are chosen as the default's, on an internal split with a
    copy of the backend refitted there: the backend is untouched, noise attributes get the
    smallest scale, informative ones a real one; numbers skip it; other backends keep the fixed
    settings and say why."""
    from implicit.cpu.als import AlternatingLeastSquares

    from coldstart.core.constants import MAP_ALPHA_GRID, ZERO_SHOT_SCALE_GRID

    ui, X, _, _ = clustered
    als = AlternatingLeastSquares(factors=8, iterations=5, random_state=0)
    als.fit(ui, show_progress=False)
    users, items = als.user_factors.copy(), als.item_factors.copy()
    m = ColdStartRecommender(collaborative=als, random_state=0).fit(ui, X)
    np.testing.assert_array_equal(als.user_factors, users)  # the copy is refitted, never the backend
    np.testing.assert_array_equal(als.item_factors, items)
    np.testing.assert_array_equal(m.item_factors_[np.diff(ui.tocsc().indptr) > 0],
                                  items[np.diff(ui.tocsc().indptr) > 0])
    v = m.validation_
    assert v["plugin_backend_copy"] == {"factors": 8, "alpha": 1.0, "iterations": 5}
    assert m.map_alpha_ in MAP_ALPHA_GRID and len(v["map_alpha"]) >= 2
    assert m.zero_shot_scale_ in ZERO_SHOT_SCALE_GRID and v["zero_shot_scale"]
    assert v["attribute_lift"] > 1.5 and m.zero_shot_scale_ >= 1.0
    assert set(v["seconds"]) == {"backend_copy", "map_alpha", "zero_shot_scale"}
    again = ColdStartRecommender(collaborative=als, random_state=0).fit(ui, X)
    np.testing.assert_array_equal(again.item_factors_, m.item_factors_)  # deterministic
    # noise attributes: no better than chance on the probe items, the smallest scale
    noise = sp.csr_matrix(np.random.default_rng(3).random(X.shape) < 0.05, dtype=np.float32)
    mn = ColdStartRecommender(collaborative=als, random_state=0).fit(ui, noise)
    assert mn.validation_["attribute_lift"] < 1.5 and mn.zero_shot_scale_ == ZERO_SHOT_SCALE_GRID[0]
    # numbers given: nothing to choose, no copy
    fixed = ColdStartRecommender(collaborative=als, map_alpha=3, zero_shot_scale=2).fit(ui, X)
    assert fixed.validation_ is None and (fixed.map_alpha_, fixed.zero_shot_scale_) == (3.0, 2.0)
    # the choice survives save/load
    path = str(Path(tempfile.mkdtemp()) / "plug.npz")
    m.save(path)
    back = ColdStartRecommender.load(path)
    assert (back.map_alpha_, back.zero_shot_scale_) == (m.map_alpha_, m.zero_shot_scale_)

    class Factors:  # a fitted backend that is not implicit's ALS: nothing to refit
        user_factors, item_factors = users, items

    other = ColdStartRecommender(collaborative=Factors(), random_state=0).fit(ui, X)
    assert "not implicit's" in other.validation_["skipped"]
    assert (other.map_alpha_, other.zero_shot_scale_) == (3.0, 2.0)


def test_any_sklearn_regressor_can_be_the_map(clustered):
    from sklearn.linear_model import Ridge

    ui, X, _, _ = clustered
    m = ColdStartRecommender(**SMALL, mapper=Ridge(alpha=1.0)).fit(ui, X)
    assert m.embed_items(X[:3]).shape == (3, 8)
    assert isinstance(m.mapper_, Ridge) and m.mapper_ is not m.mapper


def test_dense_and_signed_attributes_work():
    ui, _, uc, ic = make_clustered(seed=1)
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 16))
    dense = centers[ic] + 0.3 * rng.normal(size=(len(ic), 16))  # signed dense vectors
    m = ColdStartRecommender(**SMALL).fit(ui, dense)
    idx = m.add_items(centers)
    empty = sp.csr_matrix((ui.shape[0], m.n_items_), dtype=np.float32)
    ids, _ = m.recommend(np.arange(ui.shape[0]), empty, N=1, items=idx)
    assert np.mean(ids[:, 0] - idx[0] == uc) >= 0.8


def test_fit_takes_implicits_show_progress_and_callback_and_warns_on_non_csr(clustered):
    from implicit.utils import ParameterWarning

    ui, X, _, _ = clustered
    calls = []
    m = ColdStartRecommender(**SMALL).fit(ui, X, show_progress=False,
                                          callback=lambda sweep, elapsed: calls.append((sweep, elapsed)))
    assert [c[0] for c in calls] == list(range(1, len(calls) + 1))
    assert len(calls) >= SMALL["iterations"] + m.free_sweeps_
    assert all(b[1] >= a[1] for a, b in zip(calls, calls[1:]))
    assert not hasattr(m, "_run")
    with pytest.warns(ParameterWarning, match="CSR"):
        ColdStartRecommender(**SMALL).fit(ui.tocoo(), X)
    with pytest.raises(TypeError, match="callback"):
        ColdStartRecommender(**SMALL).fit(ui, X, callback=3)




def test_a_single_attribute_column_is_warned_about():
    """One raw number as the only attribute: every new item gets the same direction (after the
    row normalisation the same vector), so new items rank alike: fit says so."""
    ui, X, _, _ = make_clustered(n_users=60, n_items=90, seed=3)
    year = np.random.default_rng(0).integers(1950, 2020, size=(90, 1)).astype(np.float32)
    with pytest.warns(UserWarning, match="single column"):
        ColdStartRecommender(factors=4, iterations=2, free_sweeps=0, map_alpha=3, zero_shot_scale=2,
                             random_state=0).fit(ui, year)
