"""Behaviour that matters for ranking new items among established ones."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered


def _fit(**kw):
    ui, X, uc, ic = make_clustered(n_users=200, n_items=300, seed=11)
    return ColdStartRecommender(factors=8, random_state=0, **kw).fit(ui, X), ui, X, uc, ic


def test_zero_shot_vectors_are_on_the_warm_vectors_scale():
    m, ui, X, uc, ic = _fit()
    zs = np.linalg.norm(m.embed_items(X), axis=1).mean()
    warm = np.linalg.norm(m.item_factors_[~m.is_zero_shot_], axis=1).mean()
    assert 0.5 < zs / warm < 3.0
    # the scale is the zero_shot_scale parameter times the map's prediction
    m1, *_ = _fit(zero_shot_scale=1.0)
    np.testing.assert_allclose(m.embed_items(X[:5]), 2.0 * m1.embed_items(X[:5]), rtol=1e-4, atol=1e-6)


def test_matching_new_item_ranks_high_in_a_hybrid_list():
    m, ui, X, uc, ic = _fit()
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


def test_alpha_auto_follows_density():
    m, ui, *_ = _fit()
    density = ui.nnz / (ui.shape[0] * ui.shape[1])
    assert m.collaborative_.alpha == np.clip(0.05 / density, 1.0, 1000.0)
