"""Shared fixtures of the baseline tests: a small world where attributes predict tastes, and
every baseline fitted on it once (the contract itself: tests/core/test_recommend_contract.py)."""

import warnings

import pytest

from tests.conftest import BASELINE_FACTORIES as FACTORIES
from tests.conftest import HAS_LIGHTFM, make_taste_world

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
