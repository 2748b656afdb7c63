"""Bad input gets a TypeError/ValueError naming the argument, what was received and what was expected."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender

SMALL = dict(factors=4, iterations=3, random_state=0)


@pytest.fixture(scope="module")
def model(clustered):
    ui, X, _, _ = clustered
    return ColdStartRecommender(**SMALL).fit(ui, X)


def _with(m: sp.csr_matrix, value: float) -> sp.csr_matrix:
    m = m.copy().astype(np.float32)
    m.data[0] = value
    return m


@pytest.mark.parametrize("value,match", [(np.nan, "NaN or infinite"), (np.inf, "NaN or infinite"),
                                         (-1.0, "negative")])
def test_bad_interaction_values(clustered, value, match):
    ui, X, _, _ = clustered
    with pytest.raises(ValueError, match=f"user_items.*{match}|{match}"):
        ColdStartRecommender(**SMALL).fit(_with(ui, value), X)


def test_duplicate_interactions_are_refused(clustered):
    ui, X, _, _ = clustered
    coo = ui.tocoo()
    dup = sp.coo_matrix((np.r_[coo.data, 1.0], (np.r_[coo.row, coo.row[0]], np.r_[coo.col, coo.col[0]])),
                        shape=ui.shape)
    with pytest.raises(ValueError, match=r"user_items has 1 duplicate \(user, item\)"):
        ColdStartRecommender(**SMALL).fit(dup, X)


def test_dense_or_empty_interactions_are_refused(clustered):
    ui, X, _, _ = clustered
    with pytest.raises(TypeError, match="user_items must be a scipy sparse matrix.*received ndarray"):
        ColdStartRecommender(**SMALL).fit(ui.toarray(), X)
    with pytest.raises(ValueError, match="user_items is empty"):
        ColdStartRecommender(**SMALL).fit(sp.csr_matrix(ui.shape, dtype=np.float32), X)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_bad_attribute_values(clustered, value):
    ui, X, _, _ = clustered
    with pytest.raises(ValueError, match="item_features contains NaN or infinite"):
        ColdStartRecommender(**SMALL).fit(ui, _with(X, value))
    dense = X.toarray()
    dense[3, 2] = value
    with pytest.raises(ValueError, match="item_features contains NaN or infinite"):
        ColdStartRecommender(**SMALL).fit(ui, dense)


def test_attribute_rows_must_match_items(clustered):
    ui, X, _, _ = clustered
    with pytest.raises(ValueError, match=r"item_features must have one row per item: expected 200 rows"):
        ColdStartRecommender(**SMALL).fit(ui, X[:150])


def test_non_numeric_attributes(clustered):
    ui, X, _, _ = clustered
    words = np.array([["a", "b"]] * ui.shape[1])
    with pytest.raises(TypeError, match="item_features must be numeric; received an array of dtype <U1"):
        ColdStartRecommender(**SMALL).fit(ui, words)
    import pandas as pd

    with pytest.raises(TypeError, match="item_features received a pandas DataFrame"):
        ColdStartRecommender(**SMALL).fit(ui, pd.DataFrame({"genre": ["x"] * ui.shape[1]}))


def test_wrong_width_in_add_and_embed(model, clustered):
    X = clustered[1]
    with pytest.raises(ValueError, match=r"item_features must have the 34 columns .* received shape \(2, 33\)"):
        model.add_items(X[:2, :33])
    with pytest.raises(ValueError, match="1-D array"):
        model.embed_items(np.ones(34))
    with pytest.raises(ValueError, match="NaN"):
        model.embed_items(np.full((1, 34), np.nan))


def test_out_of_range_ids(model, clustered):
    ui = clustered[0]
    with pytest.raises(IndexError, match=r"userid contains user index 500, outside the model's range \[0, 120\)"):
        model.recommend(500, ui[0])
    with pytest.raises(IndexError, match="items contains item index -1"):
        model.recommend(0, ui[0], items=[-1, 3])
    with pytest.raises(IndexError, match="itemid contains item index 999"):
        model.similar_items(999)
    with pytest.raises(IndexError, match="itemids"):
        model.partial_fit_items([1000], sp.csr_matrix((1, ui.shape[0]), dtype=np.float32))
    with pytest.raises(TypeError, match="integer item indices"):
        model.similar_items("article-7")


def test_user_items_rows_must_match_users(model, clustered):
    ui = clustered[0]
    with pytest.raises(ValueError, match=r"user_items must have shape \(2, 200\)"):
        model.recommend([0, 1], ui[:3])
    with pytest.raises(ValueError, match="N must be an integer >= 1; received 0"):
        model.recommend(0, ui[0], N=0)


def test_bad_hyper_parameters_are_named(clustered):
    ui, X, _, _ = clustered
    with pytest.raises(ValueError, match="factors must be a positive integer; received 0"):
        ColdStartRecommender(factors=0).fit(ui, X)
    with pytest.raises(ValueError, match="map_alpha"):
        ColdStartRecommender(map_alpha=-1.0).fit(ui, X)
    with pytest.raises(ValueError, match="weighting must be"):
        ColdStartRecommender(weighting="bm42", **SMALL).fit(ui, X)


def test_empty_attribute_rows_are_allowed_but_detectable(clustered):
    from coldstart.core.validation import empty_rows

    ui, X, _, _ = clustered
    X2 = X.tolil()
    X2[7, :] = 0
    X2 = X2.tocsr()
    assert empty_rows(X2).tolist() == [7]
    m = ColdStartRecommender(**SMALL).fit(ui, X2)
    assert np.all(np.isfinite(m.item_factors_))


def test_any_sparse_format_is_accepted():
    """DOK and LIL matrices (no ``.data``) were refused with an AttributeError."""
    import numpy as np
    import scipy.sparse as sp

    from coldstart.core.validation import check_item_features, check_user_items

    m = sp.dok_matrix((3, 4), dtype=np.float32)
    m[0, 1], m[2, 3] = 1.0, 2.0
    for fmt in (m, m.tolil(), sp.dok_array(m)):
        np.testing.assert_array_equal(check_user_items(fmt).toarray(), m.toarray())
        np.testing.assert_array_equal(check_item_features(fmt).toarray(), m.toarray())


def test_errors_speak_of_what_the_caller_passed(small_world, small_fitted):
    """User attributes are spoken of as users; repeated ids are named; outlier weights in the
    partial fits and in recalculate_user say so as fit does (nothing changed); an unfitted model's
    state and empty training sets get scikit-learn's errors."""
    import copy

    from sklearn.exceptions import NotFittedError

    from coldstart.core.mapping import RidgeMap
    from coldstart.core.weighting import AttributeWeighting

    ui, X = small_world
    XU = sp.csr_matrix(np.eye(3, dtype=np.float32)[np.arange(ui.shape[0]) % 3])
    mu = ColdStartRecommender(factors=8, iterations=3, random_state=0).fit(ui, X, user_features=XU)
    with pytest.raises(ValueError, match=r"\(n_users, n_features\).*one user\)"):
        mu.add_users(np.ones(3))
    with pytest.raises(ValueError, match="user_features contains NaN") as e:
        mu.add_users(np.full((1, 3), np.nan))
    assert "ItemFeaturizer" not in str(e.value)
    m = copy.deepcopy(small_fitted)
    with pytest.raises(ValueError, match="itemids repeats item 7"):
        m.partial_fit_items([7, 9, 7], ui.T.tocsr()[[7, 9, 7]])
    before = m.user_factors_.copy()
    row = sp.csr_matrix((np.array([1.0, 1e20], np.float32), ([0, 0], [1, 3])), shape=(1, m.n_items_))
    for call in (lambda: m.partial_fit_users([5], row), lambda: m.recommend(5, row, recalculate_user=True)):
        try:
            call()
        except ValueError as err:  # where the solve breaks down: said in the weights' terms
            assert str(err).startswith("user_items:") and "1e+20" in str(err)
    np.testing.assert_array_equal(m.user_factors_[:5], before[:5])
    with pytest.raises(NotFittedError):
        ColdStartRecommender().get_state()
    with pytest.raises(ValueError, match="no rows"):
        AttributeWeighting().fit(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="no rows"):
        RidgeMap().fit(np.zeros((0, 4)), np.zeros((0, 2)))


def test_tuning_without_attributes_among_the_split_falls_back_to_the_fixed_settings():
    """When the internal split draws every item with attributes as a probe item, there is nothing
    to tune a map on: the default and plug-in mode keep the fixed settings and say why."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from tests.conftest import make_clustered

    ui, X, _, _ = make_clustered(n_users=80, n_items=60, n_noise=5)
    one = sp.lil_matrix(X.shape, dtype=np.float32)
    one[17, :] = X[17]
    one = one.tocsr()
    als = AlternatingLeastSquares(factors=4, iterations=2, random_state=0)
    with threadpool_limits(1, "blas"):
        als.fit(ui, show_progress=False)
    reasons = set()
    for seed in range(12):
        for m in (ColdStartRecommender(collaborative=als, random_state=seed, num_threads=1),
                  ColdStartRecommender(factors=4, iterations=2, random_state=seed, num_threads=1)):
            m.fit(ui, one)
            reasons.add((m.validation_ or {}).get("skipped", "tuned")[:20])
    assert "the internal split's" in reasons and "tuned" in reasons


def test_a_new_users_outlier_weight_is_named_against_the_fits_weights(clustered):
    """One huge weight alone (a new user's single event) is an outlier against the fit's weights."""
    ui, X, _, _ = clustered
    m = ColdStartRecommender(factors=8, iterations=3, map_alpha=3.0, zero_shot_scale=2.0, free_sweeps=0,
                             random_state=0, num_threads=1).fit(ui, X)
    row = sp.csr_matrix(([1e20], ([0], [7])), shape=(1, ui.shape[1]), dtype=np.float32)
    try:
        m.partial_fit_users([m.n_users_], row)
    except ValueError as err:
        assert "1e+20 against the fit's median of 1" in str(err)
    assert m.n_users_ == ui.shape[0] or np.isfinite(m.user_factors_).all()
