"""The DataFrame layer: external ids in, external ids out, non-contiguous ids, adding items by id."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from coldstart import ColdStartRecommender, FrameRecommender
from tests.conftest import make_clustered


@pytest.fixture(scope="module")
def frames():
    ui, X, uc, ic = make_clustered(n_users=60, n_items=90, seed=3)
    coo = ui.tocoo()
    user_ids = np.arange(60) * 10 + 10          # 10, 20, 30, ... (non-contiguous)
    item_ids = np.array([f"doc-{i * 7 + 3}" for i in range(90)])
    inter = pd.DataFrame({"user_id": user_ids[coo.row], "item_id": item_ids[coo.col], "w": 1.0})
    attrs = pd.DataFrame(X.toarray(), index=pd.Index(item_ids, name="item_id"),
                         columns=[f"a{j}" for j in range(X.shape[1])])
    return inter, attrs, user_ids, item_ids, uc, ic


def make(**kw):
    return FrameRecommender(ColdStartRecommender(factors=6, iterations=8, random_state=0), **kw)


def test_recommend_returns_external_ids(frames):
    inter, attrs, user_ids, item_ids, uc, ic = frames
    rec = make().fit(inter, attrs)
    out = rec.recommend([20, 10], N=5)
    assert list(out.columns) == ["user_id", "item_id", "score", "rank"]
    assert out["user_id"].tolist() == [20] * 5 + [10] * 5
    assert set(out["item_id"]) <= set(item_ids)
    assert out.groupby("user_id")["rank"].apply(list).loc[10] == [1, 2, 3, 4, 5]
    seen = set(inter.loc[inter.user_id == 20, "item_id"])
    assert not seen & set(out.loc[out.user_id == 20, "item_id"])
    # same answer as the index-space model
    m = rec.model_
    ids, _ = m.recommend(1, rec.user_items_[1], N=5)
    assert out.loc[out.user_id == 20, "item_id"].tolist() == list(item_ids[ids])


def test_recommend_leaves_out_seen_items_when_few_remain(frames):
    """Fewer candidates than N once the user's own items are filtered: the frame holds the
    others only (the index call puts the seen ones last at -inf; a consumer would serve them)."""
    inter, attrs, user_ids, item_ids, uc, ic = frames
    rec = make().fit(inter, attrs)
    seen = list(inter.loc[inter.user_id == 20, "item_id"])
    cand = seen + [i for i in item_ids if i not in seen][:2]
    out = rec.recommend([20], N=len(cand), items=cand)
    assert sorted(out["item_id"]) == sorted(cand[len(seen):]) and np.isfinite(out["score"]).all()
    assert out["rank"].tolist() == [1, 2]
    kept = rec.recommend([20], N=len(cand), items=cand, filter_already_liked_items=False)
    assert len(kept) == len(cand)


def test_unknown_ids_are_named(frames):
    inter, attrs, *_ = frames
    rec = make().fit(inter, attrs)
    with pytest.raises(KeyError, match=r"unknown user ids \[999\]"):
        rec.recommend([999])
    with pytest.raises(KeyError, match="unknown item ids"):
        rec.similar_items(["nope"])


def test_items_without_interactions_are_zero_shot_and_add_items_by_id(frames):
    inter, attrs, user_ids, item_ids, uc, ic = frames
    rec = make().fit(inter[inter.item_id != item_ids[0]], attrs)
    assert rec.model_.is_zero_shot_[0]
    new = attrs.iloc[:3].copy()
    new.index = pd.Index(["new-a", "new-b", "new-c"], name="item_id")
    idx = rec.add_items(new)
    assert len(idx) == 3 and rec.model_.n_items_ == 93
    out = rec.recommend([10], N=3, items=["new-a", "new-b", "new-c"])
    assert set(out["item_id"]) == {"new-a", "new-b", "new-c"}
    with pytest.raises(ValueError, match="already known"):
        rec.add_items(new)
    # first interactions of a new item, from a brand-new user too
    rec.partial_fit(pd.DataFrame({"user_id": [10, 12345], "item_id": ["new-a", "new-a"], "w": 1.0}))
    assert not rec.model_.is_zero_shot_[idx[0]]
    assert 12345 in rec.user_ids_
    assert len(rec.recommend([12345], N=4)) == 4


def test_bad_frames(frames):
    inter, attrs, *_ = frames
    with pytest.raises(ValueError, match="lacks columns"):
        make().fit(inter.rename(columns={"user_id": "u"}), attrs)
    with pytest.raises(ValueError, match="items without attributes"):
        make().fit(inter, attrs.iloc[5:])
    dup = pd.concat([inter, inter.iloc[:1]])
    with pytest.raises(ValueError, match="repeats the pair"):
        make().fit(dup, attrs)
    summed = make(duplicates="sum", weight_col="w").fit(dup, attrs)
    assert summed.user_items_.max() == 2.0
    with pytest.raises(TypeError, match="non-numeric columns"):
        make().fit(inter, attrs.assign(genre="x"))
    with pytest.raises(NotFittedError):
        make().recommend([10])
    # what a user gets wrong, said in the user's words (argument, what came, what is expected)
    with pytest.raises(ValueError, match=r"item_attributes columns \['a1'\] hold NaN or infinite values.*featurizer"):
        make().fit(inter, attrs.assign(a1=np.where(np.arange(len(attrs)) == 3, np.nan, attrs["a1"])))
    with pytest.raises(ValueError, match=r"interactions is empty; expected at least one"):
        make().fit(inter.iloc[:0], attrs)
    by_int = attrs.set_axis(np.arange(len(attrs)) * 7 + 3).rename_axis("item_id")  # ints, not "doc-3"
    with pytest.raises(ValueError, match=r"item ids are str, item_attributes' int.*astype\(str\)"):
        make().fit(inter, by_int)
    from coldstart import ItemFeaturizer
    with pytest.raises(TypeError, match=r"featurizer must be an instance \(e.g. ItemFeaturizer\(\)\)"):
        FrameRecommender(ColdStartRecommender(featurizer=ItemFeaturizer)).fit(inter, attrs)
    rec = make().fit(inter, attrs)
    with pytest.raises(ValueError, match=r"interactions lacks columns \['user_id'\]; it has \['u', 'item_id'"):
        rec.partial_fit(inter.iloc[:2].rename(columns={"user_id": "u"}))
    first = inter.iloc[:1]
    with pytest.raises(ValueError, match=r"repeats 1 pair\(s\) already seen, e.g. \(10, 'doc-\d+'\).*"
                                         r"duplicates='sum'"):
        rec.partial_fit(first)


def test_save_load_keeps_ids(tmp_path, frames):
    inter, attrs, *_ = frames
    rec = make().fit(inter, attrs)
    path = tmp_path / "frame.npz"
    rec.save(path)
    back = FrameRecommender.load(path)
    pd.testing.assert_frame_equal(rec.recommend([10, 30], N=6), back.recommend([10, 30], N=6))
    from coldstart import ModelFileError
    with pytest.raises(ModelFileError, match="holds a FrameRecommender.*FrameRecommender.load"):
        ColdStartRecommender.load(path)  # it would drop the id maps
    pd.testing.assert_frame_equal(rec.similar_items(["doc-3"], N=4), back.similar_items(["doc-3"], N=4))


def test_recommend_passes_the_serving_options(frames):
    inter, attrs, user_ids, item_ids, uc, ic = frames
    rec = make().fit(inter, attrs)
    m = rec.model_
    out = rec.recommend([20], N=5, calibrated=True, exploration="thompson", random_state=4)
    ids, _ = m.recommend(1, rec.user_items_[1], N=5, calibrated=True, exploration="thompson", random_state=4)
    assert out["item_id"].tolist() == list(item_ids[ids])
    with pytest.raises(ValueError, match="exploration"):
        rec.recommend([20], exploration="greedy")


def test_exposures_reach_the_model_and_are_kept(frames, tmp_path):
    inter, attrs, user_ids, item_ids, uc, ic = frames
    rec = make().fit(inter, attrs)
    assert rec.exposures_ is None
    new = attrs.iloc[:1].copy()
    new.index = pd.Index(["brand-new"], name="item_id")
    rec.add_items(new)
    [[idx]] = [rec.item_ids_.to_internal(["brand-new"])]
    prior = rec.model_.item_factors_[idx].copy()
    # shown to three users, clicked by none: the impressions alone move it (as the index model does)
    shown = pd.DataFrame({"user_id": user_ids[:3], "item_id": ["brand-new"] * 3})
    rec.partial_fit(inter.iloc[:0], exposures=shown)
    assert rec.exposures_.shape == rec.user_items_.shape and rec.exposures_[:, idx].nnz == 3
    moved = rec.model_.item_factors_[idx].copy()
    assert not np.allclose(moved, prior)
    # the index-space call it stands for gives the same vector
    twin = copy.deepcopy(rec.model_)
    twin.partial_fit_items([idx], rec.user_items_.T.tocsr()[[idx]], item_exposures=rec.exposures_.T.tocsr()[[idx]])
    np.testing.assert_allclose(twin.item_factors_[idx], moved, rtol=1e-6)
    # kept through save/load
    rec.save(tmp_path / "f.npz")
    back = FrameRecommender.load(tmp_path / "f.npz")
    assert (back.exposures_ != rec.exposures_).nnz == 0
    # an impression of an unknown user is refused before anything changes
    before = rec.exposures_.copy()
    with pytest.raises(KeyError):
        rec.partial_fit(inter.iloc[:0], exposures=pd.DataFrame({"user_id": [-5], "item_id": ["brand-new"]}))
    assert (rec.exposures_ != before).nnz == 0


def test_explain_by_external_id_has_a_scale(frames):
    inter, attrs, user_ids, item_ids, uc, ic = frames
    rec = make().fit(inter, attrs)
    new = attrs.iloc[:1].copy()
    new.index = pd.Index(["fresh"], name="item_id")
    rec.add_items(new)
    user = user_ids[0]
    df = rec.explain(user, "fresh", new, top=3)
    assert len(df) <= 3 and set(df.columns) >= {"attribute", "contribution"}
    assert set(df["attribute"]) <= set(attrs.columns)
    score = rec.recommend([user], N=len(rec.item_ids_), filter_already_liked_items=False)
    s = float(score.loc[score["item_id"] == "fresh", "score"].iloc[0])
    assert df.attrs["score"] == pytest.approx(s, rel=1e-5, abs=1e-6)
    assert df.attrs["score"] == pytest.approx(df["contribution"].sum() + df.attrs["remainder"])
    full = rec.explain(user, "fresh", new, top=attrs.shape[1])  # every attribute listed: only the intercept is left
    assert abs(full.attrs["remainder"]) < abs(df.attrs["remainder"]) + 1e-9


def test_recommend_with_impressions_equals_the_index_call(frames):
    inter, attrs, user_ids, item_ids, uc, ic = frames
    # alpha > 1: an impression (confidence alpha) weighs more than an unobserved pair (1)
    rec = FrameRecommender(ColdStartRecommender(factors=6, iterations=8, alpha=10.0, random_state=0))
    rec.fit(inter, attrs)
    with pytest.raises(ValueError, match="exposures=True"):
        rec.recommend([10], exposures=True)
    top = rec.recommend([10, 20], N=3)
    shown = top.loc[top.user_id == 10, ["user_id", "item_id"]]  # user 10 passed over its top 3
    out = rec.recommend([10, 20], N=3, exposures=shown)
    uidx = rec.user_ids_.to_internal([10, 20])
    S = rec._pattern(shown, rec.user_ids_, rec.item_ids_, "exposures")[uidx]
    ids, _ = rec.model_.recommend(uidx, rec.user_items_[uidx], N=3, exposures=S)
    assert out["item_id"].tolist() == list(rec.item_ids_.to_external(ids.ravel()))
    assert out.loc[out.user_id == 20, "item_id"].tolist() == top.loc[top.user_id == 20, "item_id"].tolist()
    both = top[top.user_id == 10].merge(out[out.user_id == 10], on=["user_id", "item_id"])
    assert len(both) and (both.score_y < both.score_x).all()  # what user 10 passed over scores lower
    with pytest.raises(KeyError, match="no-such-item"):
        rec.recommend([10], exposures=pd.DataFrame({"user_id": [10], "item_id": ["no-such-item"]}))
    rec.partial_fit(inter.iloc[:0], exposures=shown)
    kept = rec.recommend([10, 20], N=3, exposures=True)
    assert kept.loc[kept.user_id == 20, "item_id"].tolist() == top.loc[top.user_id == 20, "item_id"].tolist()


def test_partial_fit_is_all_or_nothing_across_users_and_items(frames, tmp_path, monkeypatch):
    """The users' and the items' updates are computed together and published together: when the
    items' step fails (any error: here a simulated MemoryError), neither the new user nor the
    changed user vectors stay, and the wrapper still saves and loads."""
    inter, attrs, user_ids, item_ids, _, _ = frames
    rec = make(weight_col="w").fit(inter, attrs)
    users, n = rec.model_.user_factors_.copy(), rec.model_.n_users_

    def boom(*a, **k):
        raise MemoryError("simulated")

    monkeypatch.setattr(type(rec.model_), "_item_step", boom)
    with pytest.raises(MemoryError):
        rec.partial_fit(pd.DataFrame({"user_id": [10, 777], "item_id": [item_ids[5]] * 2, "w": 1.0}))
    assert rec.model_.n_users_ == n == len(rec.user_ids_) == rec.user_items_.shape[0]
    np.testing.assert_array_equal(rec.model_.user_factors_, users)
    monkeypatch.undo()
    rec.save(tmp_path / "f.npz")
    back = FrameRecommender.load(tmp_path / "f.npz")
    back.partial_fit(pd.DataFrame({"user_id": [10, 777], "item_id": [item_ids[5]] * 2, "w": 1.0}))
    assert back.model_.n_users_ == n + 1


def test_partial_fit_leaves_established_items_where_a_refit_puts_them(frames):
    """One new interaction on an established item moves it a little (its own re-solve), not to
    its boosted attribute prior: its reach (users with it in their top 10) stays near a refit's."""
    inter, attrs, user_ids, item_ids, _, _ = frames

    def make(**kw):  # a clear boost (self-tuned on this small world it may be small)
        return FrameRecommender(ColdStartRecommender(factors=6, iterations=8, zero_shot_scale=3.0,
                                                     random_state=0), **kw)

    rec = make(weight_col="w").fit(inter, attrs)
    counts = inter["item_id"].value_counts()
    item = counts.index[0]
    who = [u for u in user_ids if not ((inter["user_id"] == u) & (inter["item_id"] == item)).any()][0]
    one = pd.DataFrame({"user_id": [who], "item_id": [item], "w": 1.0})

    def reach(r):
        return int((r.recommend(user_ids, N=10)["item_id"] == item).sum())

    partial = copy.deepcopy(rec).partial_fit(one)
    refit = make(weight_col="w").fit(pd.concat([inter, one]), attrs)
    # (here 7 against a refit's 8; around the boosted prior it was 12)
    assert abs(reach(partial) - reach(refit)) <= 2


def test_save_keeps_tuple_and_float_column_names_and_the_model_parameters(frames, tmp_path):
    """Attribute columns named by tuples (a flattened MultiIndex) or floats come back as they
    were (matched by name after load, never by position); names a file cannot hold exactly are
    refused at save; the loaded wrapper refits the model it was saved with; it is an estimator."""
    from sklearn.base import clone

    inter, attrs, user_ids, item_ids, _, _ = frames
    for names in ([("tag", j) for j in range(attrs.shape[1])], [float(j) + 0.5 for j in range(attrs.shape[1])]):
        a = attrs.copy()
        a.columns = pd.Index(names, tupleize_cols=False)
        rec = make(weight_col="w").fit(inter, a)
        rec.save(tmp_path / "c.npz")
        back = FrameRecommender.load(tmp_path / "c.npz")
        assert back.attribute_columns_ == names
        shuffled = a.iloc[:2][names[::-1]].set_axis(["new-1", "new-2"])  # another column order
        back.add_items(shuffled)
        rec.add_items(shuffled)
        np.testing.assert_array_equal(back.model_.item_factors_[-2:], rec.model_.item_factors_[-2:])
        with pytest.raises(ValueError, match="lacks the attribute columns"):
            back.add_items(shuffled.set_axis([f"x{j}" for j in range(len(names))], axis=1).set_axis(["n3", "n4"]))
    a = attrs.copy()
    a.columns = pd.Index([pd.Timestamp("2026-01-01") + pd.Timedelta(days=j) for j in range(attrs.shape[1])])
    rec = make(weight_col="w").fit(inter, a)
    with pytest.raises(TypeError, match="cannot be written exactly"):
        rec.save(tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()
    # the loaded wrapper's model is the saved one's parameters, and the wrapper clones
    small = FrameRecommender(ColdStartRecommender(factors=5, iterations=3, free_sweeps=0, map_alpha=3.0,
                                                  zero_shot_scale=2.0, random_state=0), weight_col="w")
    small.fit(inter, attrs).save(tmp_path / "s.npz")
    back = FrameRecommender.load(tmp_path / "s.npz")
    assert back.model.get_params() == small.model.get_params()
    assert back.fit(inter, attrs).model_.item_factors_.shape[1] == 5
    twin = clone(small)
    assert twin.get_params()["model__factors"] == 5 and twin.model is not small.model
    assert not hasattr(twin, "model_") and "weight_col='w'" in repr(twin)


def test_frame_errors_name_the_frame_arguments(frames):
    """A weight that is not a number, and an attribute matrix of the wrong width, are refused in
    the frame layer's words (the column, the value, ``item_attributes``)."""
    inter, attrs, user_ids, item_ids, _, _ = frames
    bad = inter.copy()
    bad["w"] = bad["w"].astype(object)
    bad.loc[bad.index[3], "w"] = "abc"
    with pytest.raises(ValueError, match=r"interactions\['w'\] must hold numbers; received 'abc'"):
        make(weight_col="w").fit(bad, attrs)
    neg = inter.copy()
    neg.loc[neg.index[2], "w"] = -2.0
    with pytest.raises(ValueError, match=r"\['w'\] must be finite and non-negative; received -2.0"):
        make(weight_col="w").fit(neg, attrs)
    rec = make(weight_col="w").fit(inter, attrs)
    with pytest.raises(ValueError, match="item_attributes must have the .* columns"):
        rec.add_items((["brand-new"], np.ones((1, 5), np.float32)))
    assert "brand-new" not in set(rec.item_ids_.external_ids)


def test_tuple_column_names_are_written_as_format_version_2(frames, tmp_path):
    """Readers of format version 1 would take tuple names for lists: such files say version 2."""
    import json
    import zipfile

    inter, attrs, _, _, _, _ = frames
    a = attrs.copy()
    a.columns = pd.Index([("tag", j) for j in range(attrs.shape[1])], tupleize_cols=False)
    for frame, version in ((attrs, 1), (a, 2)):
        make(weight_col="w").fit(inter, frame).save(tmp_path / "v.npz")
        with zipfile.ZipFile(tmp_path / "v.npz") as z:
            raw = np.load(z.open("__meta__.npy"))
        assert json.loads(raw.tobytes().decode())["format_version"] == version


def test_a_sparse_attribute_frame_stays_sparse(frames):
    """pandas' sparse columns go to the model as a CSR matrix (never densified): the same model as
    the (ids, matrix) tuple."""
    import scipy.sparse as sp

    inter, attrs, _, _, _, _ = frames
    X = sp.csr_matrix(attrs.to_numpy(dtype=np.float32))
    sparse = pd.DataFrame.sparse.from_spmatrix(X, index=attrs.index, columns=attrs.columns)
    a = make(weight_col="w").fit(inter, (attrs.index, X))
    b = make(weight_col="w").fit(inter, sparse)
    np.testing.assert_array_equal(a.model_.item_factors_, b.model_.item_factors_)
    ids, M = b._features_of(sparse)
    assert sp.issparse(M)


def test_index_gives_the_order_a_plug_in_backend_is_fitted_in(frames):
    """``index`` is fit's own index space: a backend fitted on its matrix serves the same vectors
    for the same ids in plug-in mode; the lists are the plug-in model's."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    inter, attrs, user_ids, item_ids, _, _ = frames
    users, items, ui = make().index(inter, attrs)
    assert list(items) == list(attrs.index) and users[0] == inter["user_id"].iloc[0]
    assert ui.shape == (len(users), len(items)) and ui.nnz == len(inter)
    als = AlternatingLeastSquares(factors=6, iterations=3, random_state=0)
    with threadpool_limits(1, "blas"):
        als.fit(ui, show_progress=False)
    rec = FrameRecommender(ColdStartRecommender(collaborative=als, map_alpha=3.0, zero_shot_scale=2.0)).fit(inter, attrs)
    assert list(rec.item_ids_.external_ids) == list(items) and list(rec.user_ids_.external_ids) == list(users)
    warm = np.flatnonzero(np.diff(ui.tocsc().indptr) > 0)
    np.testing.assert_array_equal(rec.model_.item_factors_[warm], als.item_factors[warm])
