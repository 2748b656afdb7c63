"""Hyper-parameter search: folds of the cold validation items, never the test items."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart import ColdStartRecommender
from coldstart.evaluation.search import ColdStartSearchCV, cold_val_folds
from coldstart.evaluation.splits import protocol_split
from tests.conftest import make_clustered


@pytest.fixture(scope="module")
def world():
    ui, X, uc, ic = make_clustered(n_users=150, n_items=300, seed=5)
    return protocol_split(ui, random_state=0), X


def test_folds_partition_cold_val_items_and_hide_test(world):
    split, _ = world
    seen = []
    for fold_split, items in cold_val_folds(split, 3, random_state=0):
        seen.append(items)
        np.testing.assert_array_equal(fold_split.cold_test_items, items)
        # the fold's interactions are out of training, the other folds' are in
        assert fold_split.train[:, items].nnz == 0
        others = np.setdiff1d(split.cold_val_items, items)
        assert fold_split.train[:, others].nnz == split.cold_val[:, others].nnz
        # test items never enter training, and are excluded from hybrid candidates
        assert fold_split.train[:, split.cold_test_items].nnz == 0
        np.testing.assert_array_equal(fold_split.cold_val_items, split.cold_test_items)
    allv = np.sort(np.concatenate(seen))
    np.testing.assert_array_equal(allv, split.cold_val_items)


def test_grid_search_picks_the_better_candidate_and_reports_mean_std(world):
    split, X = world
    # fixed settings: map_alpha is then the joint fit's penalty, and a map that is almost pure
    # penalty cannot rank cold items: it must lose (on NDCG: with
    # <= 20 cold items per fold, cold recall@20 is 1.0 for both, a tie)
    base = ColdStartRecommender(factors=8, iterations=5, random_state=0, free_sweeps=0, zero_shot_scale=2.0)
    search = ColdStartSearchCV(base, param_grid={"map_alpha": [1.0, 1e6]}, cv=3,
                               scoring="cold:ndcg@20", settings=("cold", "hybrid"))
    assert search.fit(split, X) is search
    r = search.cv_results_
    assert list(r["param_map_alpha"]) == [1.0, 1e6]
    assert r["mean_cold:recall@20"].shape == (2,) and r["std_cold:recall@20"].shape == (2,)
    assert "split2_hybrid:ndcg@20" in r
    assert search.best_params_ == {"map_alpha": 1.0}
    assert r["rank_cold:ndcg@20"].tolist() == [1, 2] and search.tied_best_.tolist() == [0]
    assert r["mean_cold:recall@20"].tolist() == [1.0, 1.0]
    assert search.best_estimator_.map_alpha == 1.0
    assert search.best_estimator_.n_items_ == split.shape[1]
    assert len(search.results_frame()) == 2


def test_random_search_and_bad_arguments(world):
    split, X = world
    base = ColdStartRecommender(factors=4, iterations=3, random_state=0)
    s = ColdStartSearchCV(base, param_distributions={"map_alpha": [0.5, 1.0, 2.0]}, n_iter=2, cv=2,
                          refit=False).fit(split, X)
    assert len(s.cv_results_["params"]) == 2 and not hasattr(s, "best_estimator_")
    with pytest.raises(ValueError, match="exactly one"):
        ColdStartSearchCV(base).fit(split, X)
    with pytest.raises(ValueError, match="scoring"):
        ColdStartSearchCV(base, param_grid={"map_alpha": [1.0]}, scoring="recall").fit(split, X)
    with pytest.raises(ValueError, match="cv must be"):
        ColdStartSearchCV(base, param_grid={"map_alpha": [1.0]}, cv=1).fit(split, X)
