"""Serving contract of ColdStartRecommender: narrower user_items after add_items."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.core.model import ColdStartRecommender


@pytest.fixture(scope="module")
def grown(clustered):
    ui, X, _, _ = clustered
    model = ColdStartRecommender(factors=16, iterations=5, random_state=0).fit(ui, X)
    n_before = model.n_items_
    model.add_items(X[:7])  # 7 new items: the stored matrix is now narrower than the catalog
    return model, ui, n_before


def _padded(m, n):
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n))


@pytest.mark.parametrize("kw", [dict(), dict(filter_already_liked_items=False),
                                dict(recalculate_user=True), dict(filter_items=[1, 2, 3, 205]),
                                dict(items=np.arange(150, 207))])
def test_narrower_user_items_equal_padded(grown, kw):
    model, ui, n_before = grown
    assert model.n_items_ == n_before + 7 and ui.shape[1] == n_before
    users = np.arange(10)
    rows = ui[users]
    a = model.recommend(users, rows, N=15, **kw)
    b = model.recommend(users, _padded(rows, model.n_items_), N=15, **kw)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    one = model.recommend(3, ui[3], N=15, **kw)
    one_p = model.recommend(3, _padded(ui[3], model.n_items_), N=15, **kw)
    np.testing.assert_array_equal(one[0], one_p[0])
    np.testing.assert_array_equal(one[1], one_p[1])
    if kw.get("filter_already_liked_items", True) and "items" not in kw:
        assert not np.isin(a[0][0], ui[0].indices).any()  # filtering still applies


def test_wider_user_items_is_an_error(grown):
    model, ui, _ = grown
    wide = _padded(ui[:2], model.n_items_ + 1)
    with pytest.raises(ValueError, match=r"user_items must have shape \(2, 207\).*more than 207 is an error"):
        model.recommend([0, 1], wide)
