"""Shared fixtures of the baseline tests: a small world where attributes predict tastes, and
every baseline fitted on it once (the contract itself: tests/core/test_recommend_contract.py)."""

import importlib.util
import warnings

import pytest

from coldstart.evaluation.baselines import (
    ALSRidgeRecommender,
    ContentProfileRecommender,
    LightFMRecommender,
    PopularityRecommender,
    RandomRecommender,
)
from tests.conftest import make_taste_world

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
    return make_taste_world()  # users like items that share features with a random "taste" vector


@pytest.fixture(scope="package")
def fitted(data):
    split, F = data
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # implicit's OpenBLAS advice
        for name in NAMES:
            out[name] = FACTORIES[name]().fit(split.train, F)
    return out
