"""Explanations add up to the quantities they explain and name the right attributes."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart import ColdStartRecommender


@pytest.fixture(scope="module")
def model(clustered):
    ui, X, _, _ = clustered
    return ColdStartRecommender(factors=8, iterations=10, random_state=0).fit(ui, X)


def test_score_contributions_add_up_and_name_the_cluster_attribute(model, clustered):
    ui, X, uc, ic = clustered
    names = [f"cluster{c}" for c in range(4)] + [f"noise{j}" for j in range(30)]
    new = np.zeros((1, 34), np.float32)
    new[0, 2] = 1.0
    new[0, 10] = 1.0
    user = int(np.flatnonzero(uc == 2)[0])
    df = model.explain_score(user, new, feature_names=names, top=34)
    v = model.embed_items(new)[0]
    intercept_term = model.zero_shot_scale_ * model.mapper_.intercept_ @ model.user_factors_[user]
    assert df["contribution"].sum() + intercept_term == pytest.approx(float(model.user_factors_[user] @ v), rel=1e-4, abs=1e-5)
    assert df.iloc[0]["attribute"] == "cluster2" and df.iloc[0]["contribution"] > 0
    assert set(df["attribute"]) == {"cluster2", "noise6"}


def test_item_contributions_add_up_to_the_vector_norm(model):
    new = np.zeros((1, 34), np.float32)
    new[0, [1, 5, 6]] = 1.0
    df = model.explain_item(new)
    v = model.embed_items(new)[0].astype(np.float64)
    b = model.zero_shot_scale_ * model.mapper_.intercept_.astype(np.float64)
    assert df["contribution"].sum() + b @ v / np.linalg.norm(v) == pytest.approx(np.linalg.norm(v), rel=1e-4)
    assert list(df.columns) == ["attribute", "value", "contribution"]


def test_nearest_established_items_are_warm_and_same_cluster(model, clustered):
    ui, X, uc, ic = clustered
    new = np.zeros((1, 34), np.float32)
    new[0, 3] = 1.0
    [idx] = model.add_items(new)
    near = model.nearest_established(idx, N=5)
    assert len(near) == 5 and idx not in near["item"].tolist()
    assert not model.is_zero_shot_[near["item"]].any()
    assert np.mean(ic[near["item"]] == 3) >= 0.8
    with pytest.raises(ValueError, match="exactly one item"):
        model.explain_item(np.ones((2, 34)))
