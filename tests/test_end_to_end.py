"""End to end on the shared citeulike-t split (EVALUATION.md protocol), on the one default fit
of tests/conftest.py (``citeulike_default``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from coldstart.evaluation.metrics import recall_at_k
from coldstart.evaluation.protocol import evaluate

pytestmark = pytest.mark.slow  # the default fit on the full catalog


def test_default_model_cold_recall_when_cold_items_are_empty_columns(citeulike_default):
    model, ds, split = citeulike_default
    res = evaluate(model, split, settings=("cold",), K=20, metrics=("recall",))
    assert res.loc["cold", "users"] > 3000
    # issue 13's floor for citeulike-t (content profile alone reaches 0.38; without the attribute
    # weighting the default falls to 0.35)
    assert res.loc["cold", "recall@20"] >= 0.42


def test_same_numbers_when_cold_items_arrive_through_add_items(citeulike_default):
    fitted, ds, split = citeulike_default
    warm = split.warm_items
    cold = split.cold_test_items
    # the settings the default chose with the cold items as empty columns: one recipe for both
    chosen = {s: getattr(fitted, f"{s}_") for s in ("free_sweeps", "map_alpha", "zero_shot_scale")}
    model = ColdStartRecommender(random_state=0, **chosen).fit(split.train[:, warm], ds.item_features[warm])
    assert model.n_items_ == len(warm)
    idx = model.add_items(ds.item_features[cold])
    np.testing.assert_array_equal(idx, np.arange(len(warm), len(warm) + len(cold)))
    truth = split.cold_test[:, cold].tocsr()
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    empty = sp.csr_matrix((len(users), model.n_items_), dtype=np.float32)
    ids, _ = model.recommend(users, empty, N=20, items=idx, filter_already_liked_items=False)
    recall_added = np.nanmean(recall_at_k(ids - len(warm), truth[users], 20))
    recall_columns = evaluate(fitted, split, settings=("cold",), K=20,
                              metrics=("recall",)).loc["cold", "recall@20"]
    assert recall_added >= 0.41
    assert abs(recall_added - recall_columns) < 0.02
