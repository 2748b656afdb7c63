"""Fixtures shared by the core tests: one small world and one model fitted on it."""

from __future__ import annotations

import pytest

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered


@pytest.fixture(scope="session")
def small_world():
    """``(user_items (50, 70) csr, item_features (70, 34) csr)`` of ``make_clustered``."""
    ui, X, uc, ic = make_clustered(n_users=50, n_items=70, seed=5)
    return ui, X


@pytest.fixture(scope="session")
def small_fitted(small_world):
    """A small model fitted on ``small_world``. Read it only; a test that changes it works on
    ``copy.deepcopy(small_fitted)``."""
    ui, X = small_world
    return ColdStartRecommender(factors=8, iterations=3, random_state=0).fit(ui, X)
