"""Shared fixtures of the baseline tests: a small world where attributes predict tastes, and
every baseline fitted on it once (the contract itself: tests/core/test_recommend_contract.py)."""

import importlib.util
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.evaluation.baselines import (
    ALSRidgeRecommender,
    ContentProfileRecommender,
    LightFMRecommender,
    PopularityRecommender,
    RandomRecommender,
)
from coldstart.evaluation.splits import protocol_split

HAS_LIGHTFM = importlib.util.find_spec("lightfm") is not None

FACTORIES = {
    "random": lambda: RandomRecommender(random_state=3),
    "popularity": lambda: PopularityRecommender(),
    "content": lambda: ContentProfileRecommender(),
    "als-ridge": lambda: ALSRidgeRecommender(factors=8, iterations=3, num_threads=1),
    "lightfm": lambda: LightFMRecommender(no_components=8, epochs=2, num_threads=1),
}
NAMES = [n for n in FACTORIES if n != "lightfm" or HAS_LIGHTFM]


@pytest.fixture(scope="package")
def data():
    rng = np.random.default_rng(0)
    n_users, n_items, n_feat = 80, 60, 25
    F = sp.random(n_items, n_feat, density=0.2, random_state=1, format="csr")
    F.data = np.ceil(F.data * 3)
    # users like items that share features with a random "taste" vector
    taste = rng.random((n_users, n_feat))
    affinity = taste @ F.toarray().T + 0.3 * rng.random((n_users, n_items))
    X = sp.csr_matrix((affinity > np.quantile(affinity, 0.85)).astype(np.float32))
    split = protocol_split(X, random_state=0)
    return split, F


@pytest.fixture(scope="package")
def fitted(data):
    split, F = data
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # implicit's OpenBLAS advice
        for name in NAMES:
            out[name] = FACTORIES[name]().fit(split.train, F)
    return out
