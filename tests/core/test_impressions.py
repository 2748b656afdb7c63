"""Impressions in serving (``recommend(exposures=...)``): items a user was shown and did not
interact with count against the user's vector, at the confidence of one interaction."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from coldstart.core.solvers import discount_exposures, fold_in
from tests.conftest import make_clustered

SMALL = dict(factors=8, iterations=10, regularization=0.05, random_state=0)


@pytest.fixture(scope="module")
def world():
    # one free sweep given (the items off their attributes' image): serving with impressions is
    # the subject here, and on this clustered world the items a cluster shares stay so alike in
    # the content-constrained fit (what the default chooses there) that a pass-over lowers them
    # all and leaves every user's top item in place
    ui, X, uc, ic = make_clustered()
    return ColdStartRecommender(**SMALL, free_sweeps=1, map_alpha=3.0, zero_shot_scale=2.0).fit(ui, X), ui


def _direct(F, row, shown, reg, alpha):
    """The implicit-ALS solve of one row with the shown, not interacted columns at confidence alpha."""
    k = F.shape[1]
    A = F.T.astype(np.float64) @ F + reg * np.eye(k)
    b = np.zeros(k)
    pos = row.indices
    c = alpha * row.data
    A += (F[pos] * (c - 1)[:, None]).T @ F[pos]
    b += c @ F[pos]
    neg = np.setdiff1d(shown.indices, pos)
    A += (alpha - 1) * F[neg].T @ F[neg]
    return np.linalg.solve(A, b)


def test_the_update_is_the_solve_with_the_impressions():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(40, 5))
    rows = sp.random(6, 40, density=0.15, format="csr", random_state=1, dtype=np.float64)
    rows.data[:] = 1.0
    shown = sp.random(6, 40, density=0.3, format="csr", random_state=2, dtype=np.float64)
    reg, alpha = 0.1, 4.0
    U = fold_in(F, rows, reg, alpha)
    out = discount_exposures(U, F, rows, shown, reg, alpha)
    for r in range(6):
        np.testing.assert_allclose(out[r], _direct(F, rows[r], shown[r], reg, alpha), rtol=1e-4, atol=1e-5)


def test_scores_of_shown_items_fall_and_unshown_rows_stay():
    rng = np.random.default_rng(3)
    F = rng.normal(size=(30, 4))
    rows = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 1], [0, 1, 2])), shape=(3, 30))
    U = fold_in(F, rows, 0.1, 5.0)
    order = np.argsort(-(U[0] @ F.T))
    top = int(order[~np.isin(order, [0, 1])][0])  # the best item the user has not interacted with
    shown = sp.csr_matrix(([1.0, 1.0], ([0, 0], [top, 0])), shape=(3, 30))  # item 0 interacted: not counted
    out = discount_exposures(U, F, rows, shown, 0.1, 5.0)
    assert out[0] @ F[top] < U[0] @ F[top]
    np.testing.assert_array_equal(out[1:], U[1:].astype(np.float32))  # no impression, no change
    # an impression of an interacted item only: nothing changes
    same = discount_exposures(U, F, rows, sp.csr_matrix(([1.0], ([0], [0])), shape=(3, 30)), 0.1, 5.0)
    np.testing.assert_array_equal(same, U.astype(np.float32))


def _pass_over_top_items(m, ui, users):
    """Each user's top 5 without impressions, the impressions of each top item, and the top
    item's score for the user's vector discounted by them."""
    rows = ui[users]
    plain_ids, plain_scores = m.recommend(users, rows, N=5)
    shown = sp.csr_matrix((np.ones(len(users)), (users, plain_ids[:, 0])), shape=rows.shape)
    after = np.einsum("ij,ij->i", m._discounted_users(m.user_factors_[users], rows, shown),
                      m.item_factors_[plain_ids[:, 0]])
    return plain_ids, plain_scores, shown, after


def test_impressions_lower_the_shown_items_of_the_default_model():
    """The default (self-tuned) model too: a shown, passed-over top item scores lower."""
    ui, X, _, _ = make_clustered()
    m = ColdStartRecommender(**SMALL).fit(ui, X)
    _, plain_scores, _, after = _pass_over_top_items(m, ui, np.arange(12))
    assert np.all(after < plain_scores[:, 0])


def test_recommend_with_impressions(world):
    m, ui = world
    users = np.arange(12)
    rows = ui[users]
    plain_ids, plain_scores, shown, after = _pass_over_top_items(m, ui, users)
    none = m.recommend(users, rows, N=5, exposures=sp.csr_matrix(rows.shape, dtype=np.float32))
    np.testing.assert_array_equal(none[0], plain_ids)
    np.testing.assert_allclose(none[1], plain_scores, rtol=1e-5)
    ids, scores = m.recommend(users, rows, N=5, exposures=shown)
    # each user's top item, shown and passed over, now scores lower and no longer leads everywhere
    assert np.all(after < plain_scores[:, 0])
    assert (ids[:, 0] != plain_ids[:, 0]).any()
    # a matrix built before add_items (fewer columns) and the other serving modes work with it
    assert plain_ids[:, 0].max() < m.n_items_ - 1  # so that the narrow matrix drops no impression
    narrow = shown[:, :m.n_items_ - 1].tocsr()
    a = m.recommend(users, rows, N=5, exposures=narrow, calibrated=True, exploration="ucb")
    b = m.recommend(users, rows, N=5, exposures=shown, calibrated=True, exploration="ucb")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
    # recalculated users are discounted too: their passed-over top items lose the lead somewhere
    recalc_ids, _ = m.recommend(users, rows, N=5, recalculate_user=True)
    seen_ids, _ = m.recommend(users, rows, N=5, exposures=shown, recalculate_user=True)
    assert (seen_ids[:, 0] != recalc_ids[:, 0]).any()


def test_bad_impressions_are_refused(world):
    m, ui = world
    with pytest.raises(ValueError, match="exposures"):
        m.recommend(np.arange(3), ui[:3], exposures=np.ones((3, m.n_items_)))
    with pytest.raises(ValueError, match="exposures"):
        m.recommend(np.arange(3), ui[:3], exposures=ui[:2])
