"""The protocol in DataFrames: split_frame / temporal_split_frame, evaluate and search on a FrameRecommender."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.core.model import ColdStartRecommender
from coldstart.evaluation.datasets import from_frames
from coldstart.evaluation.protocol import evaluate
from coldstart.evaluation.search import ColdStartSearchCV
from coldstart.evaluation.splits import SPLIT_PARTS, protocol_split, temporal_split
from coldstart.frame.recommender import FrameRecommender, FrameSplit, split_frame, temporal_split_frame


@pytest.fixture(scope="module")
def frames(clustered):
    ui, X, _, _ = clustered
    coo = ui.tocoo()
    order = np.lexsort((coo.col, coo.row))
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"user_id": [f"u{r:03d}" for r in coo.row[order]],
                       "item_id": [f"i{c:03d}" for c in coo.col[order]],
                       "timestamp": rng.integers(0, 1000, size=coo.nnz)})
    attrs = pd.DataFrame(X.toarray(), index=[f"i{c:03d}" for c in range(X.shape[0])],
                         columns=[f"a{j}" for j in range(X.shape[1])])
    return df, attrs, ui, X


def test_split_frame_is_the_index_protocol_split(frames):
    df, _, _, _ = frames
    fs = split_frame(df, random_state=3)
    assert isinstance(fs, FrameSplit) and sum(len(getattr(fs, p)) for p in SPLIT_PARTS) == len(df)
    ds = from_frames(df, user_col="user_id", item_col="item_id", timestamp_col=None, features=None)
    ref = protocol_split(ds.user_items, random_state=3)
    mine = fs.to_index(ds.user_ids, ds.item_ids)
    for p in SPLIT_PARTS:
        assert (getattr(mine, p) != getattr(ref, p)).nnz == 0
    assert set(fs.cold_test_items) == set(ds.item_ids[ref.cold_test_items])
    assert list(fs.train.columns) == ["user_id", "item_id", "timestamp"]  # every column kept


def test_temporal_split_frame_matches_index_temporal_split(frames):
    df, _, _, _ = frames
    fs = temporal_split_frame(df, cutoff=600, val_fraction=0.5)
    ds = from_frames(df, user_col="user_id", item_col="item_id", features=None)
    ref = temporal_split(ds.interactions, 600, val_fraction=0.5, shape=ds.shape)
    mine = fs.to_index(ds.user_ids, ds.item_ids)
    for p in SPLIT_PARTS:
        assert (getattr(mine, p) != getattr(ref, p)).nnz == 0
    assert (fs.train["timestamp"] <= 600).all() and (fs.warm_test["timestamp"] > 600).all()
    with pytest.raises(ValueError, match="no timestamp column 'ts'"):
        temporal_split_frame(df, 600, timestamp_col="ts")


def test_frame_recommender_on_a_frame_split_equals_the_index_path(frames):
    df, attrs, _, X = frames
    fs = split_frame(df, random_state=0)
    params = dict(factors=16, iterations=4, random_state=0)
    frame = FrameRecommender(ColdStartRecommender(**params)).fit(fs.train, attrs)
    got = evaluate(frame, fs, settings=("cold", "warm", "hybrid"))
    # the index path, by hand: same ids (sorted as strings) and the same split
    ds = from_frames(df, user_col="user_id", item_col="item_id", features=None)
    assert list(frame.user_ids_.external_ids) == list(ds.user_ids)  # every user trains here
    split = protocol_split(ds.user_items, random_state=0)
    model = ColdStartRecommender(**params).fit(split.train, X)
    ref = evaluate(model, split, settings=("cold", "warm", "hybrid"))
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    with pytest.raises(TypeError, match="FrameRecommender is evaluated on a coldstart.frame.recommender.FrameSplit"):
        evaluate(frame, split)
    with pytest.raises(TypeError, match="needs a coldstart.FrameRecommender"):
        evaluate(model, fs)


def test_unknown_test_users_are_left_out_with_a_warning(frames):
    df, attrs, _, _ = frames
    fs = split_frame(df, random_state=0)
    lone = pd.DataFrame({"user_id": ["zz"], "item_id": [fs.cold_test["item_id"].iloc[0]], "timestamp": [0]})
    fs2 = FrameSplit(fs.train, fs.warm_test, fs.cold_val, pd.concat([fs.cold_test, lone]))
    frame = FrameRecommender(ColdStartRecommender(factors=8, iterations=2)).fit(fs.train, attrs)
    with pytest.warns(UserWarning, match="1 test interactions of users without training"):
        a = evaluate(frame, fs2, settings="cold")
    b = evaluate(frame, fs, settings="cold")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_search_on_a_frame_recommender_equals_the_index_search(frames):
    df, attrs, _, X = frames
    fs = split_frame(df, random_state=0)
    inner = ColdStartRecommender(factors=8, iterations=3, random_state=0)
    grid = {"map_alpha": [0.3, 3.0]}
    s_frame = ColdStartSearchCV(FrameRecommender(inner), param_grid=grid, cv=2).fit(fs, attrs)
    ds = from_frames(df, user_col="user_id", item_col="item_id", features=None)
    split = protocol_split(ds.user_items, random_state=0)
    s_index = ColdStartSearchCV(inner, param_grid=grid, cv=2, refit=False).fit(split, X)
    for key in s_index.cv_results_:
        if key.startswith(("mean_", "std_", "split", "rank_")) and "time" not in key:
            np.testing.assert_array_equal(s_frame.cv_results_[key], s_index.cv_results_[key])
    assert s_frame.best_params_ == s_index.best_params_
    assert isinstance(s_frame.best_estimator_, FrameRecommender)
    assert s_frame.best_estimator_.model_.map_alpha == s_frame.best_params_["map_alpha"]


def test_per_user_rows_speak_the_frames_user_ids():
    """evaluate(FrameRecommender, FrameSplit, per_user=True): the users are the frame's own ids."""
    from coldstart.evaluation import evaluate
    from coldstart.frame.recommender import split_frame
    from tests.conftest import make_clustered

    ui, X, _, _ = make_clustered(n_users=60, n_items=90, seed=3)
    coo = ui.tocoo()
    inter = pd.DataFrame({"user_id": [f"u{r}" for r in coo.row], "item_id": [f"i{c}" for c in coo.col]})
    attrs = pd.DataFrame(X.toarray(), index=pd.Index([f"i{c}" for c in range(90)], name="item_id"))
    split = split_frame(inter, random_state=0)
    rec = FrameRecommender(ColdStartRecommender(factors=6, iterations=3, random_state=0)).fit(split.train, attrs)
    _, per = evaluate(rec, split, settings=("warm",), per_user=True)
    assert per["user"].map(lambda u: isinstance(u, str) and u.startswith("u")).all()
    assert set(per["user"]) <= set(inter["user_id"])
