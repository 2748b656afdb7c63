"""One recommend contract (docs/recommend_contract.md), run against every recommender.

The main model, every baseline and (where it applies) the DataFrame layer share the same
lists, padding, error texts and implicit compatibility. Model-specific known answers live in
each model's own test file.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from coldstart.core.model import ColdStartRecommender
from coldstart.evaluation.protocol import evaluate
from tests.conftest import BASELINE_FACTORIES, HAS_LIGHTFM, local_spark, make_taste_world


def spark_export(train, F):
    """SparkColdStartRecommender fitted on local[2] (the tests' one session), exported with
    to_local(). The Spark export runs this contract in tests/integrations/test_spark.py, on the
    Spark tests' own session (one JVM for every Spark test)."""
    from coldstart.integrations.spark import SparkColdStartRecommender, csr_to_spark, interactions_to_spark

    spark = local_spark()
    sm = SparkColdStartRecommender(factors=8, iterations=3, random_state=0).fit(
        interactions_to_spark(spark, train, rating_col=None), csr_to_spark(spark, F))
    return sm.to_local(n_users=train.shape[0], n_items=train.shape[1])


FACTORIES = {
    "coldstart": lambda: ColdStartRecommender(factors=8, iterations=3, random_state=0, num_threads=1),
    **BASELINE_FACTORIES,
    # the Spark model's local export is a ColdStartRecommender: unfitted, this is its class
    "spark-export": lambda: ColdStartRecommender(factors=8, iterations=3, random_state=0, num_threads=1),
}
NAMES = [n for n in FACTORIES if (n != "lightfm" or HAS_LIGHTFM) and n != "spark-export"]


def taste_data():
    """The contract's data: a taste world's split and its attributes (CSR float32)."""
    split, F = make_taste_world()
    return split, sp.csr_matrix(F, dtype=np.float32)


@pytest.fixture(scope="module")
def data():
    return taste_data()


class Fitted(dict):
    """Each recommender fitted on first use, once per module (a deselected one is never fitted)."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def __missing__(self, name):
        split, F = self.data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # implicit's OpenBLAS advice
            self[name] = (spark_export(split.train, F) if name == "spark-export"
                          else FACTORIES[name]().fit(split.train, F))
        return self[name]


@pytest.fixture(scope="module")
def fitted(data):
    return Fitted(data)


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_raises_and_params_clone(name):
    model = FACTORIES[name]()
    with pytest.raises(NotFittedError, match=type(model).__name__):
        model.recommend(0, sp.csr_matrix((1, 5)))
    params = model.get_params()
    assert clone(model).get_params() == params


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_order(name, data, fitted):
    split, _ = data
    model = fitted[name]
    assert (model.n_users_, model.n_items_) == split.shape
    ids, scores = model.recommend(3, split.train[3], N=7)
    assert ids.shape == scores.shape == (7,)
    users = np.array([0, 5, 9])
    ids, scores = model.recommend(users, split.train[users], N=7)
    assert ids.shape == scores.shape == (3, 7)
    assert ids.dtype == np.int32 and scores.dtype == np.float32  # as implicit's topk
    assert np.all(np.diff(scores, axis=1) <= 1e-6), "scores are sorted, best first"


@pytest.mark.parametrize("name", NAMES)
def test_filters_and_items(name, data, fitted):
    split, _ = data
    model = fitted[name]
    users = np.arange(20)
    rows = split.train[users]
    ids, _ = model.recommend(users, rows, N=10)
    for u in range(users.size):
        assert not set(ids[u].tolist()) & set(rows[u].indices.tolist())
    cand = split.cold_test_items
    ids, _ = model.recommend(users, rows, N=4, items=cand[::-1])  # unsorted is fine
    assert np.isin(ids[ids >= 0], cand).all()
    banned = np.arange(0, split.n_items, 2)
    ids, _ = model.recommend(users, rows, N=10, filter_items=banned)
    assert not np.isin(ids, banned).any()
    with pytest.raises(ValueError, match="Can't set both items and filter_items in recommend call"):
        model.recommend(users, rows, items=cand, filter_items=banned)


@pytest.mark.parametrize("name", NAMES)
def test_short_lists_liked_last_and_padding(name, data, fitted):
    split, _ = data
    model = fitted[name]
    # items=: the list holds every candidate once (min(N, len(set(items))) columns, as implicit)
    ids, scores = model.recommend(np.array([0, 1]), split.train[[0, 1]], N=8, items=[1, 2, 3, 3],
                                  filter_already_liked_items=False)
    assert ids.shape == (2, 3) and sorted(ids[0].tolist()) == [1, 2, 3] and np.isfinite(scores).all()
    # already-liked candidates are ranked last with score -inf, not dropped (implicit's behaviour)
    liked = int(split.train[0].indices[0])
    other = next(i for i in range(split.n_items) if i not in split.train[0].indices)
    ids, scores = model.recommend(0, split.train[[0]], N=3, items=[liked, other, other])
    np.testing.assert_array_equal(ids, [other, liked])
    assert np.isfinite(scores[0]) and np.isneginf(scores[1])
    # a single user's list is the batch row (padded, never trimmed)
    users = np.array([0, 1])
    b_ids, b_scores = model.recommend(users, split.train[users], N=split.n_items + 5)
    s_ids, s_scores = model.recommend(0, split.train[[0]], N=split.n_items + 5)
    assert s_ids.shape == (split.n_items + 5,)
    np.testing.assert_array_equal(s_ids, b_ids[0])
    np.testing.assert_allclose(s_scores, b_scores[0], rtol=1e-5, atol=1e-6)
    # more than the catalog: every item once (liked ones last), then -1 / -inf padding
    n_liked = split.train[0].nnz
    assert sorted(s_ids[:split.n_items].tolist()) == list(range(split.n_items))
    assert set(s_ids[split.n_items - n_liked:split.n_items].tolist()) == set(split.train[0].indices.tolist())
    assert (s_ids[split.n_items:] == -1).all() and np.isneginf(s_scores[split.n_items - n_liked:]).all()
    # filter_items are never returned: padding instead
    banned = np.arange(split.n_items - 2)
    ids, scores = model.recommend(0, split.train[[0]], N=5, filter_items=banned,
                                  filter_already_liked_items=False)
    assert sorted(ids[:2].tolist()) == [split.n_items - 2, split.n_items - 1]
    assert (ids[2:] == -1).all() and np.isneginf(scores[2:]).all()


@pytest.mark.parametrize("name", NAMES)
def test_recommend_errors(name, data, fitted):
    split, _ = data
    model = fitted[name]
    with pytest.raises(IndexError, match="userid contains user index 80"):
        model.recommend(80, split.train[0])
    with pytest.raises(ValueError, match=r"user_items must have shape \(2, 60\)"):
        model.recommend(np.array([0, 1]), split.train[[0]])
    with pytest.raises(ValueError, match=r"user_items must have shape \(1, 60\).*more than 60 is an error"):
        model.recommend(0, sp.csr_matrix((1, 61), dtype=np.float32))
    with pytest.raises(ValueError, match="N must be an integer >= 1; received 0"):
        model.recommend(0, split.train[0], N=0)
    for bad in (split.train[[0]].tocsc(), split.train[[0]].tocoo(), None):
        with pytest.raises(ValueError, match="user_items needs to be a CSR sparse matrix"):
            model.recommend(0, bad)
    with pytest.raises(IndexError, match="items contains item index 60"):
        model.recommend(0, split.train[0], items=[1, 60])
    # without filtering or recalculation user_items is not used (implicit)
    a, _ = model.recommend(0, None, N=5, filter_already_liked_items=False)
    b, _ = model.recommend(0, split.train[[0]], N=5, filter_already_liked_items=False)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_narrower_user_items_mean_no_interactions_with_the_last_items(name, data, fitted):
    split, _ = data
    model = fitted[name]
    users = np.arange(6)
    rows = split.train[users][:, :50].tocsr()  # no interactions with items 50..59
    padded = sp.hstack([rows, sp.csr_matrix((6, 10), dtype=np.float32)], format="csr")
    for kw in ({}, {"items": np.arange(40, 60)}):
        a_ids, a_sc = model.recommend(users, rows, N=15, **kw)
        b_ids, b_sc = model.recommend(users, padded, N=15, **kw)
        np.testing.assert_array_equal(a_ids, b_ids)
        np.testing.assert_array_equal(a_sc, b_sc)


@pytest.mark.parametrize("name", NAMES)
def test_similar_items(name, fitted):
    model = fitted[name]
    ids, scores = model.similar_items(np.array([1, 2]), N=5)
    assert ids.shape == scores.shape == (2, 5) and ids.dtype == np.int32
    ids, _ = model.similar_items(4, N=10, items=[4, 7, 9, 11])
    assert ids.shape == (4,) and set(ids.tolist()) == {4, 7, 9, 11}
    ids, _ = model.similar_items(4, N=10, filter_items=[4, 5])
    assert not np.isin(ids, [4, 5]).any()
    with pytest.raises(ValueError, match="Can't set both items and filter_items in similar_items call"):
        model.similar_items(4, items=[1], filter_items=[2])
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        model.similar_items(4, N=0)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_refit_evaluator_and_implicit_evaluation(name, data, fitted):
    from implicit.evaluation import precision_at_k, ranking_metrics_at_k

    split, F = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if name == "spark-export":  # a second Spark fit and export
            again = spark_export(split.train, F)
        else:
            again = FACTORIES[name]()
            assert again.fit(split.train, F) is again
    users = np.arange(30)
    a, _ = fitted[name].recommend(users, split.train[users], N=10)
    b, _ = again.recommend(users, split.train[users], N=10)
    np.testing.assert_array_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # honours items= and filtering
        res = evaluate(fitted[name], split, settings=("cold", "warm", "hybrid"), K=5)
    assert (res["users"] > 0).all()
    # implicit's own evaluation functions take the model (int32 ids)
    p = precision_at_k(fitted[name], split.train, split.warm_test, K=5, show_progress=False)
    assert 0.0 <= p <= 1.0
    assert set(ranking_metrics_at_k(fitted[name], split.train, split.warm_test, K=5,
                                    show_progress=False)) >= {"precision", "map", "ndcg", "auc"}


def test_frame_layer_follows_the_contract(data):
    """The DataFrame layer: the model's lists by external id, padding rows left out (and the
    liked items the index-space lists put last at -inf: a frame's rows are served as they are)."""
    from coldstart.frame.recommender import FrameRecommender

    split, F = data
    coo = split.train.tocoo()
    inter = pd.DataFrame({"user_id": [f"u{r}" for r in coo.row], "item_id": [f"i{c}" for c in coo.col]})
    attrs = pd.DataFrame(F.toarray(), index=[f"i{c}" for c in range(F.shape[0])])
    rec = FrameRecommender(ColdStartRecommender(factors=8, iterations=3, random_state=0)).fit(inter, attrs)
    u = rec.user_ids_.external_ids[0]
    liked = set(inter.loc[inter["user_id"] == u, "item_id"])
    some_liked = sorted(liked)[0]
    other = next(i for i in attrs.index if i not in liked)
    df = rec.recommend([u], N=5, items=[some_liked, other])
    assert list(df["item_id"]) == [other] and list(df["rank"]) == [1]
    big = rec.recommend([u], N=len(attrs) + 5)  # padding rows are not rows of the frame
    assert len(big) == len(attrs) - len(liked) and big["item_id"].is_unique
    assert not set(big["item_id"]) & liked and np.isfinite(big["score"]).all()
    with pytest.raises(KeyError, match="unknown user ids"):
        rec.recommend(["nobody"])
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        rec.recommend([u], N=0)


#: The checks above that take a recommender's name: the Spark export runs them too.
NAMED_CHECKS = tuple(f.__name__ for f in (
    test_unfitted_raises_and_params_clone, test_shapes_dtypes_and_order, test_filters_and_items,
    test_short_lists_liked_last_and_padding, test_recommend_errors,
    test_narrower_user_items_mean_no_interactions_with_the_last_items, test_similar_items,
    test_deterministic_refit_evaluator_and_implicit_evaluation))
