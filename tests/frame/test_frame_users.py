"""FrameRecommender with user attributes: fit(user_features=DataFrame), add_users, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart import ColdStartRecommender, FrameRecommender
from tests.conftest import make_clustered


@pytest.fixture(scope="module")
def frames():
    ui, X, uc, ic = make_clustered()
    coo = ui.tocoo()
    uid = np.array([f"u{u * 10}" for u in range(ui.shape[0])], dtype=object)  # non-contiguous string ids
    inter = pd.DataFrame({"user_id": uid[coo.row], "item_id": coo.col * 10})
    items = pd.DataFrame(X.toarray(), index=pd.Index(np.arange(ui.shape[1]) * 10, name="item_id"),
                         columns=[f"f{j}" for j in range(X.shape[1])])
    users = pd.DataFrame({f"c{j}": (uc == j).astype(float) for j in range(4)}, index=pd.Index(uid, name="user_id"))
    cold = uid[::10]
    return inter[~inter.user_id.isin(cold)], items, users, cold, uc, ic


def test_fit_with_user_features_serves_users_without_interactions(frames):
    inter, items, users, cold, uc, ic = frames
    fr = FrameRecommender(ColdStartRecommender(factors=8, iterations=3, random_state=0, num_threads=1))
    fr.fit(inter, items, user_features=users.iloc[::-1])  # any row order
    assert set(cold) <= set(fr.user_ids_.external_ids)
    rec = fr.recommend(cold[:5], N=5)
    assert len(rec) == 25
    # a cold user's list is its attributes' image: same cluster mostly
    ext = rec.user_id.map(dict(zip(users.index, uc))).to_numpy()
    assert np.mean(ic[rec.item_id.to_numpy().astype(np.int64) // 10] == ext) > 0.8
    with pytest.raises(ValueError, match="without a row in user_features"):
        FrameRecommender().fit(inter, items, user_features=users.iloc[:5])


def test_add_users_and_save_load(frames, tmp_path):
    inter, items, users, cold, uc, ic = frames
    fr = FrameRecommender(ColdStartRecommender(factors=8, iterations=3, random_state=0, num_threads=1))
    fr.fit(inter, items, user_features=users)
    n = len(fr.user_ids_)
    new = pd.DataFrame({"c1": [1.0, 0.0], "c0": [0.0, 1.0], "c2": 0.0, "c3": 0.0}, index=["new1", "new2"])
    idx = fr.add_users(new)  # columns matched by name
    np.testing.assert_array_equal(idx, [n, n + 1])
    np.testing.assert_array_equal(fr.model_.user_factors_[idx], fr.model_.embed_users(new[["c0", "c1", "c2", "c3"]].to_numpy()))
    with pytest.raises(ValueError):
        fr.add_users(new)  # known ids: nothing changes
    assert len(fr.user_ids_) == n + 2 and fr.user_items_.shape[0] == n + 2
    fr.save(tmp_path / "f.npz")
    back = FrameRecommender.load(tmp_path / "f.npz")
    pd.testing.assert_frame_equal(back.recommend(["new1", cold[0]], N=5), fr.recommend(["new1", cold[0]], N=5))
    assert back.user_attribute_columns_ == ["c0", "c1", "c2", "c3"]
    # their first interactions refine them
    fr.partial_fit(pd.DataFrame({"user_id": ["new1"], "item_id": [0]}))
    assert not fr.model_.user_is_zero_shot_[n]
