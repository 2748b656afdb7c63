"""Posterior spread of items (``item_variance_``) and the serving modes that use it:
calibrated scores for items on their attribute prior, Thompson sampling and UCB exploration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered

FIXED = dict(factors=8, iterations=10, regularization=0.05, random_state=0, zero_shot_scale=3.0,
             map_alpha=3.0, free_sweeps=0)


@pytest.fixture(scope="module")
def world():
    ui, X, uc, ic = make_clustered()
    cold = np.arange(180, 200)
    keep = np.ones(ui.shape[1], np.float32)
    keep[cold] = 0
    train = (ui @ sp.diags(keep)).tocsr()
    train.eliminate_zeros()
    m = ColdStartRecommender(**FIXED).fit(train, X)
    return m, ui, train, X, cold


def _copy(m):
    c = ColdStartRecommender(**m.get_params())
    state = m.get_state()
    c.mapper_, c.weighting_ = m.mapper_, m.weighting_
    c.set_state(state["meta"], state["collaborative_meta"], {k: v.copy() for k, v in state["arrays"].items()})
    return c


def test_zero_shot_items_are_broad_and_established_narrow(world):
    m, ui, train, X, cold = world
    v = m.item_variance_
    assert v.shape == (m.n_items_,) and np.all(np.isfinite(v)) and np.all(v > 0)
    warm = np.diff(train.tocsc().indptr) > 0
    assert np.allclose(v[cold], v[cold][0])  # one prior spread for every zero-shot item
    assert v[cold].min() > 5 * v[warm].max()
    # more interactions, narrower
    counts = np.diff(train.tocsc().indptr)[warm]
    assert np.corrcoef(counts, v[warm])[0, 1] < 0


def test_interactions_and_impressions_narrow_a_warming_item(world):
    m, ui, train, X, cold = world
    m = _copy(m)
    item = cold[:1]
    rows = ui.T.tocsr()[item]
    v0 = float(m.item_variance_[item[0]])
    m.partial_fit_items(item, rows)
    v1, s1 = float(m.item_variance_[item[0]]), float(m._share.view[item[0]])
    assert v1 < v0 and 0 < s1 < 1
    shown = sp.csr_matrix(np.ones((1, m.n_users_), np.float32))
    m.partial_fit_items(item, rows, item_exposures=shown)
    v2, s2 = float(m.item_variance_[item[0]]), float(m._share.view[item[0]])
    assert v2 < v1 and s2 < s1
    # shown to everyone: about as narrow as an established item with as many interactions
    warm = np.flatnonzero(np.diff(train.tocsc().indptr) > 0)
    assert v2 < 3 * np.median(m.item_variance_[warm])
    # no interaction and no impression: back to the prior's spread
    m.partial_fit_items(item, sp.csr_matrix((1, m.n_users_), dtype=np.float32))
    assert m.item_variance_[item[0]] == pytest.approx(v0, rel=1e-6)
    assert m._share.view[item[0]] == 1.0


def test_add_items_and_refits_keep_it_up_to_date(world):
    m, ui, train, X, cold = world
    m = _copy(m)
    idx = m.add_items(X[cold[:3]])
    np.testing.assert_allclose(m.item_variance_[idx], m.item_variance_[cold[0]])
    assert len(m.item_variance_) == m.n_items_
    # a refit with warming items and impressions: between the prior and the established items
    shown = sp.lil_matrix(ui.shape, dtype=np.float32)
    shown[:60, cold[:5]] = 1.0
    r = ColdStartRecommender(**FIXED).fit(ui, X, new_items=cold, exposures=shown.tocsr())
    v = r.item_variance_
    est = np.setdiff1d(np.flatnonzero(np.diff(ui.tocsc().indptr) > 0), cold)
    seen = cold[:5][np.diff(ui.tocsc()[:, cold[:5]].indptr) > 0]
    assert v[est].max() < v[seen].min() and v[seen].max() < m.item_variance_[cold[0]]
    assert np.all(r._share.view[est] == 0) and np.all((r._share.view[seen] > 0) & (r._share.view[seen] < 1))


def test_saved_and_loaded_with_checks(world, tmp_path):
    from coldstart.core.persistence import ModelFileError

    m, ui, train, X, cold = world
    m.save(tmp_path / "m.npz")
    back = ColdStartRecommender.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.item_variance_, m.item_variance_)
    np.testing.assert_array_equal(back._share.view, m._share.view)
    assert back._noise == m._noise
    state = m.get_state()
    arrays = dict(state["arrays"])
    for bad in (-np.ones(m.n_items_, np.float32), np.full(m.n_items_, np.nan, np.float32),
                np.ones(m.n_items_ + 1, np.float32)):
        c = ColdStartRecommender(**m.get_params())
        with pytest.raises(ValueError, match="item_variance"):
            c.set_state(state["meta"], state["collaborative_meta"], {**arrays, "item_variance": bad})
        assert not hasattr(c, "_items")  # nothing set
    with pytest.raises(ValueError, match="prior_share"):
        ColdStartRecommender(**m.get_params()).set_state(
            state["meta"], state["collaborative_meta"], {**arrays, "prior_share": np.full(m.n_items_, 2.0)})
    # files without them (older files, Spark's): zero-shot items broad, the others narrow
    old = {k: v for k, v in arrays.items() if k not in ("item_variance", "prior_share")}
    c = ColdStartRecommender(**m.get_params())
    c.set_state({k: v for k, v in state["meta"].items() if k != "noise_variance"},
                 state["collaborative_meta"], old)
    zs = c.is_zero_shot_
    assert c.item_variance_[zs].min() > c.item_variance_[~zs].max()
    np.testing.assert_array_equal(c._share.view, zs.astype(np.float32))
    # hostile files: refused with the loader's one error
    from tests.core.test_persistence import _rewrite

    for edit_meta, edit_arrays in ((lambda mt: mt["state"].update(noise_variance=-1.0), None),
                                   (lambda mt: mt["state"].update(noise_variance="big"), None),
                                   (None, lambda a: a.update(item_variance=np.full(m.n_items_, np.inf, np.float32))),
                                   (None, lambda a: a.pop("prior_share"))):
        p = tmp_path / "bad.npz"
        m.save(p)
        _rewrite(p, edit_meta=edit_meta, edit_arrays=edit_arrays)
        with pytest.raises(ModelFileError):
            ColdStartRecommender.load(p)


def _new_share(ids, cold):
    return float(np.isin(ids, cold).mean())


def test_calibrated_serving_removes_the_boost(world):
    m, ui, train, X, cold = world
    users = np.arange(m.n_users_)
    plain, _ = m.recommend(users, train, N=10)
    cal, _ = m.recommend(users, train, N=10, calibrated=True)
    assert _new_share(cal, cold) < _new_share(plain, cold)
    # scored at the attributes' estimate: the boosted score over the fitted scale
    ids, scores = m.recommend(users[:5], train[:5], N=5, items=cold, calibrated=True)
    expect = (m.user_factors_[users[:5]] @ m.item_factors_.T)[np.arange(5)[:, None], ids] / m.zero_shot_scale_
    np.testing.assert_allclose(scores, expect, rtol=1e-4, atol=1e-6)
    # a scale of at most 1 is no boost: calibrated serving changes nothing
    one = ColdStartRecommender(**{**FIXED, "zero_shot_scale": 1.0}).fit(train, X)
    a = one.recommend(users, train, N=10)
    b = one.recommend(users, train, N=10, calibrated=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5)


@pytest.mark.parametrize("options", [{}, {"filter_items": [0, 1, 2, 185]}, {"items": np.arange(100, 200)},
                                     {"filter_already_liked_items": False}, {"N": 300}])
def test_exploration_at_weight_zero_is_the_plain_ranking(world, options):
    m, ui, train, X, cold = world
    users = np.arange(0, m.n_users_, 3)
    kw = {"N": 10, **options}
    a = m.recommend(users, train[users], **kw)
    for mode in ("ucb", "thompson"):
        b = m.recommend(users, train[users], exploration=mode, exploration_weight=0.0, random_state=1, **kw)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)


def test_exploration_spends_exposure_where_the_uncertainty_is(world):
    m, ui, train, X, cold = world
    users = np.arange(m.n_users_)
    cal = _new_share(m.recommend(users, train, N=10, calibrated=True)[0], cold)
    ucb = [_new_share(m.recommend(users, train, N=10, calibrated=True, exploration="ucb",
                                  exploration_weight=w)[0], cold) for w in (0.5, 2.0, 8.0)]
    assert cal <= ucb[0] <= ucb[1] <= ucb[2] and ucb[2] > cal
    t1 = m.recommend(users, train, N=10, calibrated=True, exploration="thompson", random_state=7)
    t2 = m.recommend(users, train, N=10, calibrated=True, exploration="thompson", random_state=7)
    t3 = m.recommend(users, train, N=10, calibrated=True, exploration="thompson", random_state=8)
    np.testing.assert_array_equal(t1[0], t2[0])  # deterministic with a seed
    assert not np.array_equal(t1[0], t3[0])
    # established items are served at their mean: their relative order does not change
    est = np.setdiff1d(np.arange(m.n_items_), cold)
    p = m.recommend(users, train, N=10, items=est)[0]
    q = m.recommend(users, train, N=10, items=est, exploration="thompson", random_state=7)[0]
    np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("kw, match", [({"exploration": "greedy"}, "exploration"),
                                       ({"exploration": "ucb", "exploration_weight": -1.0}, "exploration_weight"),
                                       ({"exploration": "ucb", "exploration_weight": np.nan}, "exploration_weight"),
                                       ({"calibrated": "yes"}, "calibrated"),
                                       ({"exploration": "thompson", "random_state": -3}, "random_state")])
def test_bad_serving_options_are_refused(world, kw, match):
    m, ui, train, X, cold = world
    with pytest.raises((ValueError, TypeError), match=match):
        m.recommend(0, train[0], **kw)


def test_a_users_thompson_list_is_the_same_alone_or_in_a_batch(world):
    m, ui, train, X, cold = world
    users = np.array([4, 9, 17])
    batch = m.recommend(users, train[users], N=10, calibrated=True, exploration="thompson", random_state=5)
    for r, u in enumerate(users):
        alone = m.recommend(int(u), train[u], N=10, calibrated=True, exploration="thompson", random_state=5)
        np.testing.assert_array_equal(alone[0], batch[0][r])
        np.testing.assert_allclose(alone[1], batch[1][r], rtol=1e-6)
    # recalculated users are served too, with the same draws (the same integer ids)
    ids, _ = m.recommend(users, train[users], N=10, recalculate_user=True, exploration="thompson", random_state=5)
    assert ids.shape == (3, 10) and (ids >= 0).all()
    other, _ = m.recommend(users, train[users], N=10, recalculate_user=True, exploration="thompson", random_state=6)
    np.testing.assert_array_equal(ids, m.recommend(users, train[users], N=10, recalculate_user=True,
                                                   exploration="thompson", random_state=5)[0])
    assert (other != ids).any()  # another seed, other draws


def test_exploration_leaves_established_items_without_interactions_alone(world):
    """Items a refit calls established (not ``new_items``) without any interaction are served at
    the attributes' estimate, unboosted and unexplored (exploring them cost clicks in the
    simulation with uninformative attributes)."""
    m, ui, train, X, cold = world
    r = ColdStartRecommender(**FIXED).fit(train, X, new_items=cold[:5])
    old_cold = cold[5:]
    assert np.all(r._share.view[old_cold] == 0) and np.all(r.is_zero_shot_[old_cold])
    users = np.arange(r.n_users_)
    plain = r.recommend(users, train, N=10, items=np.setdiff1d(np.arange(r.n_items_), cold[:5]))
    ucb = r.recommend(users, train, N=10, items=np.setdiff1d(np.arange(r.n_items_), cold[:5]),
                      exploration="ucb", exploration_weight=50.0)
    np.testing.assert_array_equal(plain[0], ucb[0])
    # the new ones are explored
    assert np.isin(r.recommend(users, train, N=10, exploration="ucb", exploration_weight=50.0)[0], cold[:5]).mean() \
        > np.isin(r.recommend(users, train, N=10)[0], cold[:5]).mean()
