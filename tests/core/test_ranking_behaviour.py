"""Behaviour that matters for ranking new items among established ones."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered


def _fit(**kw):
    ui, X, uc, ic = make_clustered(n_users=200, n_items=300, seed=11)
    return ColdStartRecommender(factors=8, random_state=0, **kw).fit(ui, X), ui, X, uc, ic


@pytest.fixture(scope="module")
def default_fit():
    """``_fit()``, once for the module; tests that change the model work on a deep copy."""
    return _fit()


def test_zero_shot_vectors_are_on_the_warm_vectors_scale(default_fit):
    m, ui, X, uc, ic = default_fit
    zs = np.linalg.norm(m.embed_items(X), axis=1).mean()
    warm = np.linalg.norm(m.item_factors_[~m.is_zero_shot_], axis=1).mean()
    assert 0.5 < zs / warm < 3.0
    # the scale is the (chosen) zero_shot_scale_ times the map's prediction
    assert m.zero_shot_scale_ > 1.0  # these attributes are trusted: new items get a boost
    m1 = copy.deepcopy(m)
    m1.zero_shot_scale_ = 1.0
    np.testing.assert_allclose(m.embed_items(X[:5]), m.zero_shot_scale_ * m1.embed_items(X[:5]),
                               rtol=1e-4, atol=1e-6)


def test_matching_new_item_ranks_high_in_a_hybrid_list(default_fit):
    m, ui, X, uc, ic = default_fit
    m = copy.deepcopy(m)
    new = np.zeros((4, X.shape[1]), np.float32)
    new[np.arange(4), np.arange(4)] = 1.0
    idx = m.add_items(new)
    wide = sp.hstack([ui, sp.csr_matrix((ui.shape[0], 4), dtype=np.float32)]).tocsr()
    users = np.arange(ui.shape[0])
    ids, _ = m.recommend(users, wide, N=10)  # every item: established and new compete
    own = idx[uc]
    found = np.array([own[u] in ids[u] for u in users])
    other = np.array([len(set(idx) - {own[u]} & set(ids[u])) for u in users])
    assert found.mean() >= 0.8            # the item of the user's cluster reaches their top 10
    assert other.mean() < 0.2             # the other clusters' new items mostly do not


def test_alpha_auto_follows_density(default_fit):
    """1/16 / density among the users and items with interactions."""
    m, ui, *_ = default_fit
    users = np.count_nonzero(np.diff(ui.indptr))
    items = np.count_nonzero(np.bincount(ui.indices, minlength=ui.shape[1]))
    assert m.collaborative_.alpha == np.clip(0.0625 / (ui.nnz / (users * items)), 1.0, 1000.0)


def test_alpha_auto_ignores_accounts_and_items_without_interactions():
    """Padding user_items with users and catalog items that never interacted (a full account
    table, a catalog's never-chosen tail) leaves alpha "auto" where it was: it was 10 x larger
    with 9 x the rows, and the chosen settings moved with it."""
    from coldstart.core.factorization import active_counts, auto_alpha

    rng = np.random.default_rng(0)
    ui = sp.random(300, 200, density=0.05, random_state=1, format="csr", dtype=np.float32)
    ui.data[:] = 1.0
    padded = sp.vstack([ui, sp.csr_matrix((2700, 200), dtype=np.float32)]).tocsr()
    padded = sp.hstack([padded, sp.csr_matrix((3000, 800), dtype=np.float32)]).tocsr()
    assert active_counts(padded) == active_counts(ui)
    a = ColdStartRecommender(free_sweeps=0, map_alpha=3, zero_shot_scale=2, factors=8, iterations=1, random_state=0)
    X = sp.csr_matrix(rng.random((200, 5)) < 0.3, dtype=np.float32)
    a.fit(ui, X)
    b = ColdStartRecommender(**a.get_params()).fit(padded, sp.vstack([X, sp.csr_matrix(rng.random((800, 5)) < 0.3,
                                                                                         dtype=np.float32)]).tocsr())
    assert a.collaborative_.alpha == b.collaborative_.alpha == auto_alpha(ui.nnz, *active_counts(ui))


def test_zero_shot_lengths_are_pulled_toward_the_typical_length(default_fit):
    """zero_shot_norm_power p: a zero-shot vector is s * xW * (r / |xW|) ** p, r the RMS length of
    the map's predictions for the warm items; directions never change."""
    m0, ui, X, *_ = _fit(zero_shot_norm_power=0.0)
    raw = m0.embed_items(X) / m0.zero_shot_scale_  # the map's own predictions
    warm = ~m0.is_zero_shot_
    r = np.sqrt(np.mean(np.sum(raw[warm].astype(np.float64) ** 2, axis=1)))
    assert m0.content_norm_ == pytest.approx(r, rel=1e-5)
    n = np.linalg.norm(raw, axis=1)
    assert n.std() / n.mean() > 0.05  # the map's lengths vary: the calibration has work to do
    for p in (0.5, 1.0):
        m = default_fit[0] if p == 0.5 else _fit(zero_shot_norm_power=p)[0]  # 0.5: the default
        assert m.zero_shot_norm_power == p
        v = m.embed_items(X)
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), m.zero_shot_scale_ * n ** (1 - p) * r ** p, rtol=1e-4)
        cos = np.sum(v * raw, axis=1) / (np.linalg.norm(v, axis=1) * n)
        assert cos.min() > 1 - 1e-5
        np.testing.assert_allclose(m.item_factors_[~warm], v[~warm], rtol=1e-5, atol=1e-7)  # fit = embed
    lengths = np.linalg.norm(m.embed_items(X), axis=1)  # p = 1: one length for every new item
    np.testing.assert_allclose(lengths, m.zero_shot_scale_ * r, rtol=1e-4)


def test_zero_shot_norm_power_is_validated():
    ui, X, *_ = make_clustered(n_users=50, n_items=60, seed=1)
    for bad in (-0.1, 1.5, float("nan"), "half"):
        with pytest.raises(ValueError, match="zero_shot_norm_power"):
            ColdStartRecommender(factors=4, zero_shot_norm_power=bad).fit(ui, X)
