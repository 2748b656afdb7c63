"""New users from their attributes: fit(user_features=), embed_users/add_users, the warm-up
from the attribute prior, all-or-nothing calls and the saved user map."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered

PARAMS = dict(factors=8, iterations=3, random_state=0, num_threads=1)


def user_attributes(uc, n_clusters=4, n_noise=10, seed=1):
    """One-hot user cluster plus two noise indicators per user (sparse, (n_users, 4 + 10))."""
    rng = np.random.default_rng(seed)
    n = len(uc)
    X = np.zeros((n, n_clusters + n_noise), np.float32)
    X[np.arange(n), uc] = 1.0
    X[np.arange(n)[:, None], n_clusters + rng.integers(n_noise, size=(n, 2))] = 1.0
    return sp.csr_matrix(X)


@pytest.fixture(scope="module")
def world():
    ui, X, uc, ic = make_clustered()
    XU = user_attributes(uc)
    cold = np.arange(0, ui.shape[0], 10)  # every tenth user: no interactions at fit
    keep = np.ones(ui.shape[0])
    keep[cold] = 0
    train = (sp.diags(keep) @ ui).tocsr()
    train.eliminate_zeros()
    model = ColdStartRecommender(**PARAMS).fit(train, X, user_features=XU)
    return model, ui, train, X, XU, uc, ic, cold


def state(model):
    return {k: np.array(v) for k, v in model.get_state()["arrays"].items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_fitted_attributes_and_zero_shot_users(world):
    model, ui, train, X, XU, uc, ic, cold = world
    assert model.n_user_features_in_ == XU.shape[1]
    assert model.user_mapper_ is not None and model.user_weighting_ is not None
    np.testing.assert_array_equal(np.flatnonzero(model.user_is_zero_shot_), cold)
    # a cold user's vector is its attributes' image
    np.testing.assert_allclose(model.user_factors_[cold], model.embed_users(XU[cold]), rtol=1e-5, atol=1e-6)
    # ... and it ranks its own cluster's items first: the attributes carry the taste
    ids, _ = model.recommend(cold, train[cold], N=10, filter_already_liked_items=False)
    share = np.mean(ic[ids] == uc[cold][:, None])
    assert share > 0.8, share


def test_without_user_features_the_factors_are_unchanged(world):
    model, ui, train, X, XU, *_ = world
    plain = ColdStartRecommender(**PARAMS).fit(train, X)
    assert plain.user_mapper_ is None and not plain.user_is_zero_shot_.any()
    warm = ~model.user_is_zero_shot_
    np.testing.assert_array_equal(plain.item_factors_, model.item_factors_)
    np.testing.assert_array_equal(plain.user_factors_[warm], model.user_factors_[warm])
    assert "user_prior" not in plain.get_state()["arrays"]
    with pytest.raises(NotFittedError, match="user_features"):
        plain.add_users(XU[:2])


def test_add_users_equals_embed_users_and_is_all_or_nothing(world):
    model, ui, train, X, XU, *_ = world
    m = ColdStartRecommender(**PARAMS).fit(train, X, user_features=XU)
    before = state(m)
    for bad, err in ((XU[:, :5], ValueError), (np.full((2, XU.shape[1]), np.nan), ValueError),
                     (np.array(["a"] * XU.shape[1])[None, :], TypeError), (None, TypeError)):
        with pytest.raises(err, match="user_features"):
            m.add_users(bad)
        assert_same_state(before, state(m))
    assert m.n_users_ == ui.shape[0]
    expected = m.embed_users(XU[:3].toarray())  # dense and sparse give the same vectors
    idx = m.add_users(XU[:3])
    np.testing.assert_array_equal(idx, np.arange(ui.shape[0], ui.shape[0] + 3))
    np.testing.assert_allclose(m.user_factors_[idx], expected, rtol=1e-6, atol=1e-7)
    assert m.user_is_zero_shot_[idx].all() and m.n_users_ == ui.shape[0] + 3
    # served like any user
    ids, _ = m.recommend(idx, sp.csr_matrix((3, m.n_items_), dtype=np.float32), N=5)
    assert ids.shape == (3, 5) and (ids >= 0).all()


def test_fit_refuses_bad_user_features_and_keeps_the_model(world):
    model, ui, train, X, XU, *_ = world
    m = ColdStartRecommender(**PARAMS).fit(train, X, user_features=XU)
    before = state(m)
    with pytest.raises(ValueError, match="user_features must have one row per user"):
        m.fit(train, X, user_features=XU[:-1])
    import pandas as pd

    with pytest.raises(TypeError, match="FrameRecommender"):
        m.fit(train, X, user_features=pd.DataFrame(XU.toarray()))
    assert_same_state(before, state(m))


def test_partial_fit_users_warms_up_from_the_prior(world):
    model, ui, train, X, XU, uc, ic, cold = world
    m = ColdStartRecommender(**PARAMS).fit(train, X, user_features=XU)
    u = cold[:3]
    prior = m.user_factors_[u].copy()
    # no interaction: the prior stays
    m.partial_fit_users(u, sp.csr_matrix((3, m.n_items_), dtype=np.float32))
    np.testing.assert_array_equal(m.user_factors_[u], prior)
    # one interaction: moves from the prior, not to the plain fold-in
    rows = ui[u][:, :]
    one = sp.csr_matrix((np.ones(3, np.float32), (np.arange(3), rows.indices[rows.indptr[:-1]])),
                        shape=(3, m.n_items_))
    folded = m._recalculate_users(one)
    m.partial_fit_users(u, one)
    got = m.user_factors_[u].copy()
    assert not m.user_is_zero_shot_[u].any()
    for a, p, f in zip(got, prior, folded):
        assert np.linalg.norm(a - p) > 1e-4 and np.linalg.norm(a - f) > 1e-4
    # the same rows again: the same vectors (nothing counted twice; still from the prior)
    m.partial_fit_users(u, one)
    np.testing.assert_allclose(m.user_factors_[u], got, rtol=1e-5, atol=1e-6)
    # an established user is folded in as without a user map
    e = np.array([1])
    m.partial_fit_users(e, ui[e])
    np.testing.assert_allclose(m.user_factors_[e], m._recalculate_users(ui[e]), rtol=1e-6, atol=1e-7)


def test_save_load_round_trip(world, tmp_path):
    model, ui, train, X, XU, *_ = world
    m = ColdStartRecommender(**PARAMS).fit(train, X, user_features=XU)
    m.add_users(XU[:2])
    path = tmp_path / "m.npz"
    m.save(path)
    back = ColdStartRecommender.load(path)
    assert_same_state(state(m), state(back))
    np.testing.assert_array_equal(back.embed_users(XU[:5]), m.embed_users(XU[:5]))
    assert back.n_user_features_in_ == m.n_user_features_in_
    assert back.user_map_alpha_ == m.user_map_alpha_
    np.testing.assert_array_equal(back.add_users(XU[5:7]), m.add_users(XU[5:7]))
    np.testing.assert_array_equal(back.user_factors_, m.user_factors_)


def test_load_refuses_a_user_map_without_its_priors(world, tmp_path):
    from coldstart.core.persistence import ModelFileError, read_archive, write_archive

    model, ui, train, X, XU, *_ = world
    path = tmp_path / "m.npz"
    model.save(path)
    meta, arrays = read_archive(path)
    del arrays["user_prior"]
    meta.pop("checksums"), meta.pop("format"), meta.pop("format_version")
    write_archive(tmp_path / "bad.npz", meta, arrays)
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(tmp_path / "bad.npz")


def test_partial_fit_users_adds_users_without_attributes_and_failures_change_nothing(world):
    model, ui, train, X, XU, *_ = world
    m = ColdStartRecommender(**PARAMS).fit(train, X, user_features=XU)
    n = m.n_users_
    before = state(m)
    with pytest.raises(ValueError, match="next indices"):
        m.partial_fit_users([n + 1], ui[:1])  # a gap: refused, nothing changed
    with pytest.raises(ValueError, match="user_items must have shape"):  # wider than the catalog
        m.partial_fit_users([n], sp.hstack([ui[:1], ui[:1, :5]], format="csr"))
    assert_same_state(before, state(m))
    m.partial_fit_users([n], ui[:1])  # a new user without attributes: folded in, no prior
    assert m.n_users_ == n + 1 and not m.user_is_zero_shot_[n]
    np.testing.assert_allclose(m.user_factors_[n], m._recalculate_users(ui[:1])[0], rtol=1e-6, atol=1e-7)
    [new] = m.add_users(XU[:1])  # the buffers stayed aligned
    assert new == n + 1 and m.user_is_zero_shot_[new]
    assert len(m.get_state()["arrays"]["user_prior"]) == n + 2
