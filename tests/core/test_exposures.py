"""Impressions in the warm-up posterior: users shown a new item who did not interact count
against it; users who have not seen it keep its zero-shot score."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered

SMALL = dict(factors=8, iterations=10, regularization=0.05, random_state=0)


@pytest.fixture(scope="module")
def world():
    ui, X, uc, ic = make_clustered()
    cold = np.array([3, 4, 5])
    keep = np.ones(ui.shape[1], np.float32)
    keep[cold] = 0
    train = (ui @ sp.diags(keep)).tocsr()
    train.eliminate_zeros()
    m = ColdStartRecommender(**SMALL).fit(train, X)
    return m, ui, X, uc, ic, cold


def _rows(n_users, lists):
    r = [i for i, us in enumerate(lists) for _ in us]
    c = [u for us in lists for u in us]
    return sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(lists), n_users))


def test_impressions_beyond_the_clicks_are_what_changes_something(world):
    """An impression log that holds nothing but the clicks (an interaction counts as seen) says
    nothing new: the same vectors as an empty log. Impressions move the new items only."""
    m, ui, X, uc, ic, cold = world
    none = ColdStartRecommender(**SMALL).fit(ui, X, new_items=cold)
    empty = ColdStartRecommender(**SMALL).fit(ui, X, new_items=cold,
                                              exposures=sp.csr_matrix(ui.shape, dtype=np.float32))
    clicks = ColdStartRecommender(**SMALL).fit(ui, X, new_items=cold, exposures=ui)
    np.testing.assert_array_equal(empty.item_factors_, clicks.item_factors_)
    old = np.setdiff1d(np.arange(ui.shape[1]), cold)
    np.testing.assert_array_equal(empty.item_factors_[old], none.item_factors_[old])
    np.testing.assert_array_equal(empty.user_factors_, none.user_factors_)


def test_shown_without_a_click_lowers_the_score_for_the_users_who_saw_it(world):
    m, ui, X, uc, ic, cold = world
    i = cold[:1]
    fan = np.flatnonzero(uc == ic[i[0]])
    shown = fan[:20]
    z = m.item_factors_[i].copy()
    m.partial_fit_items(i, _rows(m.n_users_, [[]]), _rows(m.n_users_, [[]]))  # nothing seen: prior
    np.testing.assert_allclose(m.item_factors_[i], z, rtol=1e-6)
    assert m.is_zero_shot_[i].all()
    m.partial_fit_items(i, _rows(m.n_users_, [[]]), _rows(m.n_users_, [shown]))
    U = m.user_factors_
    assert (U[shown] @ m.item_factors_[i].T).mean() < (U[shown] @ z.T).mean()
    assert m.is_zero_shot_[i].all()  # no interaction: still counted as zero-shot for fold-ins
    m.partial_fit_items(i, _rows(m.n_users_, [[]]))  # back to the prior
    np.testing.assert_allclose(m.item_factors_[i], z, rtol=1e-6)


def test_clicks_count_more_against_a_background_of_shown_non_clickers(world):
    """The same clicks with every user shown: the anchor is gone, the vector is the plain
    collaborative solution with the prior's pull only, so the scores of users who were shown
    the item and did not click fall toward 0."""
    m, ui, X, uc, ic, cold = world
    i = cold[1:2]
    clicks = _rows(m.n_users_, [ui.T.tocsr()[i].indices])
    everyone = _rows(m.n_users_, [np.arange(m.n_users_)])
    m.partial_fit_items(i, clicks)
    anchored = m.item_factors_[i].copy()
    m.partial_fit_items(i, clicks, everyone)
    free = m.item_factors_[i].copy()
    rest = np.setdiff1d(np.arange(m.n_users_), clicks.indices)
    U = m.user_factors_
    assert np.abs(U[rest] @ free.T).mean() < np.abs(U[rest] @ anchored.T).mean()


def test_refit_with_exposures_matches_partial_fit(world):
    m, ui, X, uc, ic, cold = world
    shown = sp.random(ui.shape[0], ui.shape[1], density=0.2, format="csr", random_state=0, dtype=np.float32)
    shown.data[:] = 1.0
    new = np.union1d(cold, np.flatnonzero(np.bincount(ui.indices, minlength=ui.shape[1]) > 0)[:8])
    a = ColdStartRecommender(**SMALL).fit(ui, X, new_items=new, exposures=shown)
    got = a.item_factors_[new].copy()
    a.partial_fit_items(new, ui.T.tocsr()[new], shown.T.tocsr()[new])
    np.testing.assert_allclose(a.item_factors_[new], got, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="exposures"):
        ColdStartRecommender(**SMALL).fit(ui, X, new_items=new, exposures=shown[:-1])
    with pytest.raises(ValueError, match="item_exposures"):
        a.partial_fit_items(new, ui.T.tocsr()[new], shown.T.tocsr()[new[:-1]])
