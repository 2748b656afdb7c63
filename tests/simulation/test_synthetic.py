"""Tests for coldstart.simulation.synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score

from coldstart.simulation.synthetic import ATTRIBUTE_KINDS, SyntheticWorld, make_world

SMALL = dict(n_users=300, n_items=400, n_tags=60, vocab_size=300)


def gini(x: np.ndarray) -> float:
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def item_counts(world: SyntheticWorld) -> np.ndarray:
    return np.asarray(world.user_items.sum(axis=0)).ravel()


def holdout_r2(world: SyntheticWorld) -> float:
    """R^2 of a ridge (alpha by GCV on the train half) from item_features to item_factors."""
    X, Y = world.item_features, world.item_factors
    half = X.shape[0] // 2
    model = RidgeCV(alphas=np.logspace(0, 4, 9)).fit(X[:half], Y[:half])
    return r2_score(Y[half:], model.predict(X[half:]))


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return make_world(**SMALL, random_state=7)


def test_shapes_and_dtypes(world: SyntheticWorld) -> None:
    n_users, n_items, k = 300, 400, 16
    ui = world.user_items
    assert sp.isspmatrix_csr(ui) or isinstance(ui, sp.csr_array)
    assert ui.shape == (n_users, n_items) and ui.dtype == np.float32
    assert np.all(ui.data == 1.0)
    assert ui.nnz == len(set(zip(*ui.nonzero())))  # binary, no duplicates
    assert np.diff(ui.indptr).min() >= 1  # every user has an interaction
    assert 0.02 < ui.nnz / (n_users * n_items) < 0.15
    assert world.user_factors.shape == (n_users, k)
    assert world.item_factors.shape == (n_items, k)
    assert world.item_bias.shape == (n_items,)
    assert abs(world.item_bias.mean()) < 1e-9
    assert (world.n_users, world.n_items, world.n_factors) == (n_users, n_items, k)
    assert world.user_cluster.shape == (n_users,) and world.item_cluster.shape == (n_items,)

    attrs = world.item_attributes
    assert isinstance(attrs, pd.DataFrame) and len(attrs) == n_items
    assert list(attrs.index) == list(range(n_items))
    assert {"price", "duration", "score", "year", "category", "brand", "tags", "text"} <= set(attrs.columns)
    assert attrs["price"].dtype == np.float64
    assert 0.03 < attrs["price"].isna().mean() < 0.2 and (attrs["price"].dropna() > 0).all()
    assert attrs["duration"].notna().all()
    assert attrs["score"].dropna().between(0, 10).all()
    assert attrs["year"].dtype == np.int64
    assert all(isinstance(c, str) for c in attrs["category"])
    assert attrs["category"].nunique() > 5
    assert all(isinstance(t, list) and t and all(isinstance(s, str) for s in t) for t in attrs["tags"])
    assert all(len(set(t)) == len(t) for t in attrs["tags"])  # tags drawn without replacement
    assert all(isinstance(s, str) and len(s.split()) >= 1 for s in attrs["text"])

    X = world.item_features
    assert sp.isspmatrix_csr(X) or isinstance(X, sp.csr_array)
    assert X.shape == (n_items, len(world.feature_names)) and X.dtype == np.float32
    assert np.isfinite(X.data).all()
    assert len(set(world.feature_names)) == len(world.feature_names)
    blocks = world.feature_blocks
    assert list(blocks) == list(ATTRIBUTE_KINDS)
    assert blocks["numeric"].start == 0 and blocks["text"].stop == X.shape[1]
    # the sparse blocks agree with the raw attributes
    cat = X[:, blocks["categorical"]]
    assert np.all(np.asarray(cat.sum(axis=1)).ravel() == 2)  # one category + one brand
    tags = X[:, blocks["tags"]]
    assert np.array_equal(np.asarray(tags.sum(axis=1)).ravel(), attrs["tags"].map(len).to_numpy())
    words = X[:, blocks["text"]]
    assert np.array_equal(np.asarray(words.sum(axis=1)).ravel(), attrs["text"].str.split().map(len).to_numpy())
    names = world.feature_names
    first = int(attrs["tags"].map(len).idxmax())
    got = {names[blocks["tags"].start + j] for j in tags[first].indices}
    assert got == {f"tag:{t}" for t in attrs["tags"][first]}


def test_deterministic_under_seed() -> None:
    a = make_world(**SMALL, random_state=3)
    b = make_world(**SMALL, random_state=3)
    c = make_world(**SMALL, random_state=4)
    assert (a.user_items != b.user_items).nnz == 0
    assert np.array_equal(a.item_factors, b.item_factors)
    assert np.array_equal(a.user_factors, b.user_factors)
    assert np.array_equal(a.item_bias, b.item_bias)
    assert (a.item_features != b.item_features).nnz == 0
    pd.testing.assert_frame_equal(a.item_attributes, b.item_attributes)
    assert not np.allclose(a.item_factors, c.item_factors)
    assert (a.user_items != c.user_items).nnz > 0
    # a Generator seed is deterministic too
    g1 = make_world(**SMALL, random_state=np.random.default_rng(5))
    g2 = make_world(**SMALL, random_state=np.random.default_rng(5))
    assert (g1.user_items != g2.user_items).nnz == 0
    pd.testing.assert_frame_equal(g1.item_attributes, g2.item_attributes)
    # the click stream is seeded as well
    shown = np.tile(np.arange(10), (5, 1))
    assert np.array_equal(a.sample_interactions(np.arange(5), shown, 2)[1],
                          b.sample_interactions(np.arange(5), shown, 2)[1])


def test_knobs_use_common_random_numbers() -> None:
    """Same seed: informativeness touches only the attributes; kinds are independent."""
    lo = make_world(**SMALL, informativeness=0.0, random_state=1)
    hi = make_world(**SMALL, informativeness=1.0, random_state=1)
    assert (lo.user_items != hi.user_items).nnz == 0
    assert np.array_equal(lo.item_factors, hi.item_factors)
    assert not lo.item_attributes["category"].equals(hi.item_attributes["category"])
    only_tags = make_world(**SMALL, informativeness=1.0, attribute_kinds=("tags",), random_state=1)
    assert list(only_tags.item_attributes.columns) == ["tags"]
    assert list(only_tags.feature_blocks) == ["tags"]
    assert only_tags.item_attributes["tags"].equals(hi.item_attributes["tags"])
    assert (only_tags.item_features != hi.item_features[:, hi.feature_blocks["tags"]]).nnz == 0


def test_popularity_skew_concentrates_interactions() -> None:
    kw = dict(n_users=1000, n_items=1000, n_tags=20, vocab_size=50, attribute_kinds=(), random_state=0)
    g = [gini(item_counts(make_world(**kw, popularity_skew=s))) for s in (0.0, 1.25, 2.5)]
    assert g[0] + 0.1 < g[1] < g[2] - 0.1, g
    assert g[0] < 0.5 and g[2] > 0.75, g
    # the bias is what drives it: popular items are the high-bias ones
    w = make_world(**kw, popularity_skew=2.0)
    assert np.corrcoef(w.item_bias, np.log1p(item_counts(w)))[0, 1] > 0.8


@pytest.mark.slow  # three 2,000-item worlds: a statistical property that needs the size
def test_informativeness_controls_attribute_signal() -> None:
    kw = dict(n_users=20, n_items=2000, random_state=0)
    r2 = {rho: holdout_r2(make_world(**kw, informativeness=rho)) for rho in (0.0, 0.5, 1.0)}
    assert r2[1.0] > 0.65, r2
    assert abs(r2[0.0]) < 0.05, r2
    assert r2[0.0] + 0.15 < r2[0.5] < r2[1.0] - 0.2, r2


def test_interactions_follow_true_scores(world: SyntheticWorld) -> None:
    scores = world.true_scores(np.arange(world.n_users))
    assert scores.shape == (world.n_users, world.n_items)
    pos = world.user_items.toarray() > 0
    assert scores[pos].mean() > scores[~pos].mean() + 1.0
    # taste, not only popularity, drives the choices
    affinity = world.true_scores(np.arange(world.n_users), include_bias=False)
    assert affinity[pos].mean() > affinity[~pos].mean() + 1.5
    same = world.user_cluster[:, None] == world.item_cluster[None, :]
    assert same[pos].mean() > 2.5 * same.mean()
    # 1-D and 2-D item forms agree; padding is -inf
    users = np.array([0, 5, 9])
    items = np.array([[1, 2, 3], [4, 5, -1], [7, 8, 9]])
    row_wise = world.true_scores(users, items)
    assert np.isneginf(row_wise[1, 2])
    assert np.allclose(row_wise[0], scores[0, [1, 2, 3]])
    assert np.allclose(row_wise[2], scores[9, [7, 8, 9]])
    no_bias = world.true_scores(users, [1, 2], include_bias=False)
    assert np.allclose(no_bias + world.item_bias[[1, 2]], scores[users][:, [1, 2]])


def test_sample_interactions_only_returns_shown_items(world: SyntheticWorld) -> None:
    rng = np.random.default_rng(0)
    n, k = 200, 12
    users = rng.integers(0, world.n_users, n)
    shown = np.stack([rng.choice(world.n_items, k, replace=False) for _ in range(n)])
    shown[::3, -4:] = -1  # padded shorter lists
    # choice model: exactly n_per_user distinct shown items per user
    u, i = world.sample_interactions(users, shown, n_per_user=3, rng=1)
    assert u.shape == i.shape == (3 * n,)
    offset = 0
    for r in range(n):
        assert np.all(u[offset:offset + 3] == users[r])
        picked = i[offset:offset + 3]
        assert len(set(picked)) == 3 and set(picked) <= set(shown[r][shown[r] >= 0])
        offset += 3
    # choice model asks for more than shown -> everything valid shown
    mask = world.sample_interactions(users, shown, n_per_user=k, rng=1, return_mask=True)
    assert np.array_equal(mask, shown >= 0)
    # click model: random count, still only shown, never padding
    mask = world.sample_interactions(users, shown, rng=2, base_rate=0.3, return_mask=True)
    assert mask.shape == shown.shape and not mask[shown < 0].any() and mask.any()
    u, i = world.sample_interactions(users, shown, rng=2, base_rate=0.3)
    assert u.size == mask.sum()
    rows = np.repeat(np.arange(n), mask.sum(1))
    assert np.array_equal(u, users[rows]) and np.array_equal(i, shown[mask])
    with pytest.raises(ValueError):
        world.sample_interactions(users, shown[:-1], 1)


def test_click_model_rewards_good_lists(world: SyntheticWorld) -> None:
    users = np.repeat(np.arange(world.n_users), 5)
    scores = world.true_scores(users)
    best = np.argsort(-scores, axis=1)[:, :10]
    rand = np.random.default_rng(0).integers(0, world.n_items, best.shape)
    base = 0.05
    good = world.sample_interactions(users, best, rng=0, base_rate=base, return_mask=True).mean()
    bad = world.sample_interactions(users, rand, rng=0, base_rate=base, return_mask=True).mean()
    assert abs(bad - base) < 0.015, bad
    assert good > 4 * bad, (good, bad)
    flat = world.sample_interactions(users, best, rng=0, base_rate=base, sharpness=0.0, return_mask=True).mean()
    assert abs(flat - base) < 0.015, flat  # sharpness 0: relevance ignored
    # choice model follows the softmax law between two shown items
    logit = world.true_scores([0], [0, 1])[0]
    pair = np.tile([0, 1], (20000, 1))
    first = world.sample_interactions(np.zeros(20000, int), pair, 1, rng=3, return_mask=True)[:, 0].mean()
    expected = 1.0 / (1.0 + np.exp(logit[1] - logit[0]))
    assert abs(first - expected) < 0.015, (first, expected)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        make_world(**SMALL, informativeness=1.5)
    with pytest.raises(ValueError):
        make_world(**SMALL, attribute_kinds=("numeric", "images"))
    with pytest.raises(ValueError):
        make_world(**SMALL, attribute_kinds="tags")
    with pytest.raises(ValueError):
        make_world(**SMALL, temperature=0.0)
