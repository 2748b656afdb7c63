"""Issue 15: state, ids and threads under hostile input (files: test_persistence.py). All or nothing;
one error type per failure; nothing lost, nothing garbled."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender, FrameRecommender


def _frames(small_world, item_ids=None, user_ids=None):
    ui, X = small_world
    coo = ui.tocoo()
    n_users, n_items = ui.shape
    user_ids = np.arange(n_users) * 10 + 10 if user_ids is None else user_ids
    item_ids = np.array([f"doc-{i}" for i in range(n_items)], dtype=object) if item_ids is None else item_ids
    inter = pd.DataFrame({"user_id": np.asarray(user_ids, dtype=object)[coo.row],
                          "item_id": np.asarray(item_ids, dtype=object)[coo.col]})
    attrs = pd.DataFrame(X.toarray(), index=pd.Index(item_ids, name="item_id"),
                         columns=[f"a{j}" for j in range(X.shape[1])])
    return inter, attrs


def _frame_model(small_world, **kw):
    inter, attrs = _frames(small_world, **kw)
    rec = FrameRecommender(ColdStartRecommender(factors=8, iterations=3, random_state=0)).fit(inter, attrs)
    return rec, inter, attrs


def _snapshot(rec):
    m = rec.model_
    return (list(rec.item_ids_.external_ids), list(rec.user_ids_.external_ids), m.n_items_, m.n_users_,
            m.item_factors_.copy(), m.user_factors_.copy(), rec.user_items_.shape, rec.user_items_.nnz)


def _same(a, b):
    assert a[:4] == b[:4] and a[6:] == b[6:]
    np.testing.assert_array_equal(a[4], b[4])
    np.testing.assert_array_equal(a[5], b[5])


# ---------------------------------------------------------------- FrameRecommender: ids and all-or-nothing
@pytest.mark.parametrize("ids", [["n1", "n1"], ["n1", None], ["n1", np.nan], [np.nan, np.nan], ["n1", 2.5]])
def test_add_items_bad_ids_refused_before_any_change(small_world, ids):
    rec, inter, attrs = _frame_model(small_world)
    before = _snapshot(rec)
    new = attrs.iloc[: len(ids)].copy()
    new.index = pd.Index(ids, dtype=object, name="item_id")
    with pytest.raises(ValueError, match="item"):
        rec.add_items(new)
    _same(before, _snapshot(rec))
    out = rec.recommend([10], N=5)  # still serves, every returned id is a known one
    assert set(out["item_id"]) <= set(rec.item_ids_.external_ids)


def test_add_items_matches_columns_by_name(small_world):
    rec, inter, attrs = _frame_model(small_world)
    new = attrs.iloc[:4].copy()
    new.index = pd.Index(["x1", "x2", "x3", "x4"], name="item_id")
    shuffled = new[list(reversed(new.columns))]
    shuffled.index = pd.Index(["y1", "y2", "y3", "y4"], name="item_id")
    a = rec.add_items(new)
    b = rec.add_items(shuffled)
    np.testing.assert_array_equal(rec.model_.item_factors_[a], rec.model_.item_factors_[b])


def test_add_items_missing_column_clear_error_extra_column_one_warning(small_world):
    rec, inter, attrs = _frame_model(small_world)
    new = attrs.iloc[:2].copy()
    new.index = pd.Index(["m1", "m2"], name="item_id")
    before = _snapshot(rec)
    with pytest.raises(ValueError, match=r"lacks.*'a3'"):
        rec.add_items(new.drop(columns=["a3"]))
    _same(before, _snapshot(rec))
    extra = new.assign(zzz=1.0, yyy=2.0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        idx = rec.add_items(extra)
    assert len([x for x in w if "zzz" in str(x.message)]) == 1
    np.testing.assert_array_equal(rec.model_.item_factors_[idx], rec.model_.embed_items(attrs.iloc[:2].to_numpy()))


def test_failed_partial_fit_leaves_id_maps_untouched(small_world):
    rec, inter, attrs = _frame_model(small_world)
    before = _snapshot(rec)
    bad = pd.DataFrame({"user_id": [99991, 99992], "item_id": ["doc-1", "no-such-item"]})
    with pytest.raises(KeyError, match="no-such-item"):
        rec.partial_fit(bad)
    _same(before, _snapshot(rec))
    assert 99991 not in rec.user_ids_


def test_partial_fit_refuses_nan_user(small_world):
    rec, inter, attrs = _frame_model(small_world)
    before = _snapshot(rec)
    with pytest.raises(ValueError, match="user"):
        rec.partial_fit(pd.DataFrame({"user_id": [np.nan], "item_id": ["doc-1"]}))
    _same(before, _snapshot(rec))


def test_mixed_int_str_ids_survive_save_load(small_world, tmp_path):
    ui, X = small_world
    item_ids = np.array([i if i % 2 else f"s{i}" for i in range(X.shape[0])], dtype=object)
    user_ids = np.array([u if u % 3 else str(u) for u in range(ui.shape[0])], dtype=object)
    rec, inter, attrs = _frame_model(small_world, item_ids=item_ids, user_ids=user_ids)
    p = tmp_path / "mixed.npz"
    rec.save(p)
    back = FrameRecommender.load(p)
    assert list(back.item_ids_.external_ids) == list(item_ids)
    assert [type(v) for v in back.item_ids_.external_ids] == [type(v) for v in item_ids]
    assert [type(v) for v in back.user_ids_.external_ids] == [type(v) for v in user_ids]
    a, b = rec.recommend([1, "3"], N=5), back.recommend([1, "3"], N=5)
    pd.testing.assert_frame_equal(a, b)
    assert back.similar_items([1], N=3)["item_id"].tolist() == rec.similar_items([1], N=3)["item_id"].tolist()


def test_int_and_str_of_same_digits_are_different_ids(small_world):
    ui, X = small_world
    item_ids = np.array([1, "1"] + [f"d{i}" for i in range(2, X.shape[0])], dtype=object)
    rec, inter, attrs = _frame_model(small_world, item_ids=item_ids)
    assert rec.item_ids_.to_internal([1, "1"]).tolist() == [0, 1]


# ---------------------------------------------------------------- model parameters
@pytest.mark.parametrize("name,value", [
    ("num_threads", -3), ("num_threads", 10**9), ("num_threads", 1.5), ("num_threads", True),
    ("random_state", "abc"), ("random_state", 1.5), ("random_state", -1),
    ("factors", 10**6), ("factors", True), ("factors", 0), ("iterations", 10**9), ("iterations", 2.0),
    ("regularization", float("nan")), ("regularization", -1.0), ("alpha", float("nan")), ("alpha", "big"),
    ("map_alpha", float("inf")), ("zero_shot_scale", -5.0), ("zero_shot_scale", float("nan")),
    ("prior_weight", -1.0), ("prior_weight", "huge"), ("zero_shot_norm_power", 2.0),
    ("show_progress", "yes"), ("weighting", "tfidf"), ("mapper", "ridge"), ("collaborative", 3),
    ("featurizer", "auto"),
])
def test_every_parameter_validated_naming_it(small_world, name, value):
    ui, X = small_world
    m = ColdStartRecommender(factors=8, iterations=2, random_state=0).set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=name):
        m.fit(ui, X)


def test_recommend_refuses_bool_n(small_fitted, small_world):
    ui, X = small_world
    for n in (True, False, 2.0):
        with pytest.raises(ValueError, match="N must be"):
            small_fitted.recommend(0, ui[0], N=n)
        with pytest.raises(ValueError, match="N must be"):
            small_fitted.similar_items(0, N=n)


def test_similar_items_empty_candidates(small_fitted):
    ids, scores = small_fitted.similar_items(0, N=5, items=[])
    assert ids.shape == (0,) and scores.shape == (0,)
    ids, scores = small_fitted.similar_items([0, 1], N=5, items=[])
    assert ids.shape == (2, 0)


def test_partial_fit_users_refuses_fractional_and_duplicate_ids(small_fitted, small_world):
    ui, X = small_world
    m = ColdStartRecommender(factors=8, iterations=2, random_state=0).fit(ui, X)
    before = m.user_factors_.copy()
    with pytest.raises((TypeError, ValueError), match="userids"):
        m.partial_fit_users([1.5], ui[[1]])
    with pytest.raises(ValueError, match="userids"):
        m.partial_fit_users([1, 1], ui[[1, 1]])
    with pytest.raises((TypeError, ValueError), match="userids"):
        m.partial_fit_users(["a"], ui[[1]])
    with pytest.raises(ValueError, match="userids"):
        m.partial_fit_users([10**12], ui[[1]])
    np.testing.assert_array_equal(before, m.user_factors_)


def test_num_threads_docstring_mentions_summation_order():
    assert "summation order" in ColdStartRecommender.__doc__


# ---------------------------------------------------------------- featurizer and readers
def test_featurizer_huge_magnitudes_no_nan():
    from coldstart.features.featurizer import ItemFeaturizer

    df = pd.DataFrame({"x": [1e308, -1e308, 1.0, 2.0, 3.0, 0.5], "c": list("ababab")})
    Z = ItemFeaturizer().fit_transform(df)
    assert np.all(np.isfinite(Z.data))
    Z2 = ItemFeaturizer().fit(df.iloc[2:]).transform(df)
    assert np.all(np.isfinite(Z2.data))


@pytest.mark.parametrize("line,what", [("2 0:1 1:-3", "negative"), ("2 0:1 1:nan", "finite"),
                                       ("2 0:1 1:inf", "finite"), ("2 0:1 1", "word:count"),
                                       ("2 0:1 x:2", "word"), ("x 0:1", "count"), ("2 0:1 9:1", "outside")])
def test_read_mult_refuses_bad_counts_naming_file_and_line(tmp_path, line, what):
    from coldstart.evaluation.datasets import read_mult

    p = tmp_path / "mult.dat"
    p.write_text("1 0:2\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"mult\.dat line 2.*{what}|mult\.dat line 2"):
        read_mult(p, 5)


# ---------------------------------------------------------------- data a real catalog brings
def test_the_weights_unit_does_not_change_the_default_fit(small_world):
    # alpha="auto" is over the median weight: durations in seconds or in hours, the same model
    ui, X = small_world
    a = ColdStartRecommender(factors=8, random_state=0).fit(ui, X)
    b = ColdStartRecommender(factors=8, random_state=0).fit(ui * 1000.0, X)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    # a given alpha is used as given
    c = ColdStartRecommender(factors=8, random_state=0, alpha=2.0).fit(ui * 3.0, X)
    assert c._alpha() == 2.0 and a._alpha() == pytest.approx(3.0 * ColdStartRecommender(
        factors=8, random_state=0).fit(ui * 3.0, X)._alpha())


def test_attributes_only_on_items_without_interactions(small_world):
    # metadata filled in for new items only: nothing for the map, said once, the model still serves
    ui, X = small_world
    X = X.tolil()
    warm = np.flatnonzero(np.diff(ui.tocsc().indptr) > 0)
    X[warm] = 0
    with pytest.warns(UserWarning, match=r"none of the \d+ items with interactions has an attribute value"):
        m = ColdStartRecommender(factors=8, random_state=0).fit(ui, X.tocsr())
    assert m.validation_ == {"skipped": "no item with interactions has an attribute value"}
    assert np.isfinite(m.item_factors_).all() and m.item_factors_[warm].any()
    ids, scores = m.recommend(0, ui[0], N=5)
    assert (ids >= 0).all() and np.isfinite(scores).all()
    with pytest.warns(UserWarning, match="no attribute the model's map learned from"):
        idx = m.add_items(X.tocsr()[:2])
    assert not m.item_factors_[idx].any()
    # explicitly stored zeros are no values either
    Z = sp.csr_matrix(X.tocsr())
    Z.data[:] = 0.0
    with pytest.warns(UserWarning, match="has an attribute value"):
        ColdStartRecommender(factors=8, random_state=0).fit(ui, Z)
    # next to a fitted backend: its factors copied and its shape checked, as in plug-in mode
    from implicit.cpu.als import AlternatingLeastSquares

    als = AlternatingLeastSquares(factors=4, iterations=2, random_state=0)
    als.fit(ui, show_progress=False)
    with pytest.warns(UserWarning, match="has an attribute value"):
        p = ColdStartRecommender(collaborative=als).fit(ui, Z)
    assert not np.shares_memory(p.user_factors_, als.user_factors)
    with pytest.raises(ValueError, match="already fitted with"):
        ColdStartRecommender(collaborative=als).fit(ui[:10], Z)


def test_a_catalog_too_small_to_tune_says_so(small_world):
    ui, X = small_world
    m = ColdStartRecommender(factors=4, random_state=0).fit(ui[:, :12].tocsr(), X[:12])
    assert "fewer than 20 items with interactions" in m.validation_["skipped"]


def test_bools_and_out_of_range_values(small_world):
    ui, X = small_world
    a = ColdStartRecommender(factors=8, random_state=0).fit(ui, X)
    b = ColdStartRecommender(factors=8, random_state=0).fit(ui > 0, X > 0)  # bool CSR both
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    with pytest.raises(ValueError, match=r"item_features holds values up to 1e\+300, beyond float32's range"):
        ColdStartRecommender(factors=8).fit(ui, X.toarray().astype(np.float64) * 1e300)
    with pytest.raises(ValueError, match=r"user_items holds values up to 1e\+300"):
        ColdStartRecommender(factors=8).fit(ui.astype(np.float64) * 1e300, X)
    with pytest.raises(ValueError, match=r"received a 1-D array of shape \(70,\) \(use \.reshape\(-1, 1\) for one "
                                         r"attribute column\)"):
        ColdStartRecommender(factors=8).fit(ui, X.toarray()[:, 0])
    with pytest.raises(ValueError, match=r"\(use \.reshape\(1, -1\) for one item\)"):
        a.add_items(X.toarray()[0])


def test_a_fit_that_breaks_down_on_outlier_weights_says_so(small_world, monkeypatch):
    ui, X = small_world
    m = ColdStartRecommender(factors=8, random_state=0).fit(ui, X)
    before = m.item_factors_.copy()

    def broken(self, *args):
        raise np.linalg.LinAlgError("Eigenvalues did not converge")

    monkeypatch.setattr(ColdStartRecommender, "_fit_state", broken)
    odd = ui.copy()
    odd.data[:3] = 1e10
    with pytest.raises(ValueError, match=r"user_items: the fit broke down \(LinAlgError.*up to 1e\+10 against a "
                                         r"median of 1.*np\.log1p"):
        m.fit(odd, X)
    with pytest.raises(np.linalg.LinAlgError):  # ordinary weights: the error as it came
        m.fit(ui, X)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="^factors must be"):  # a refusal is never re-worded
        ColdStartRecommender(factors=0).fit(odd, X)
    with pytest.raises(ValueError, match="^user_items: the fit broke down"):  # LIL input read too
        monkeypatch.setattr(ColdStartRecommender, "_fit_state", broken)
        m.fit(odd.tolil(), X)
    np.testing.assert_array_equal(m.item_factors_, before)  # nothing changed


def test_row_norms_past_float32_range_are_taken_in_float64():
    from coldstart import AttributeWeighting

    rng = np.random.default_rng(0)
    Xd = rng.standard_normal((40, 6)).astype(np.float32)
    w = AttributeWeighting().fit(Xd)
    big = np.full((1, 6), 1e20, np.float32)
    big[0, ::2] *= -1
    for Z in (w.transform(big), w.transform(sp.csr_matrix(big)).toarray()):
        assert np.isfinite(Z).all() and np.linalg.norm(Z) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_array_equal(w.transform(Xd), w.transform(Xd))
