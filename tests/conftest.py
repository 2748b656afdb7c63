"""Shared fixtures: a small clustered world where attributes predict tastes, the shared
citeulike-t split and the default model fitted on it once, and scikit-learn's estimator checks."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

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


def pytest_configure(config):
    """With the test files spread over workers (pytest-xdist, the default options), one BLAS /
    OpenMP thread per worker unless the environment sets them: as many busy workers as cores,
    instead of each oversubscribing them (the code's own thread pools keep every core)."""
    import os

    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > 1 and "PYTEST_XDIST_WORKER" not in os.environ:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def local_spark():
    """The tests' local Spark session (``getOrCreate``: one per process, shared by the Spark
    tests and the contract suite's Spark export), tuned for tiny frames on two busy cores."""
    import os
    import sys

    from pyspark.sql import SparkSession

    # the workers must run this interpreter (the one with coldstart, numpy and pyarrow)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("coldstart-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.driver.memory", "4g")
               .config("spark.sql.adaptive.enabled", "false")  # tiny frames: no re-planning per stage
               .config("spark.sql.codegen.wholeStage", "false")  # tiny frames: interpreting beats compiling
               .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
               # short-lived test JVM on busy cores: the quick JIT tier and one GC thread
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "citeulike-t"
BUNDLED = Path(__file__).resolve().parents[1] / "data" / "citeulike-t"
CITEULIKE = SHARED if SHARED.is_dir() else BUNDLED  # the same files; shared/ is the reference copy


def make_clustered(n_users=120, n_items=200, n_clusters=4, n_noise=30, seed=0):
    """Users and items in clusters; each item carries its cluster's attribute plus noise attributes.

    Returns (user_items csr (n_users, n_items), item_features csr (n_items, n_clusters + n_noise),
    user_cluster, item_cluster).
    """
    rng = np.random.default_rng(seed)
    uc = rng.integers(n_clusters, size=n_users)
    ic = rng.integers(n_clusters, size=n_items)
    rows, cols = [], []
    for u in range(n_users):
        same = np.flatnonzero(ic == uc[u])
        other = np.flatnonzero(ic != uc[u])
        liked = np.concatenate([rng.choice(same, size=min(8, len(same)), replace=False),
                                rng.choice(other, size=1, replace=False)])
        rows += [u] * len(liked)
        cols += liked.tolist()
    ui = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    feats = np.zeros((n_items, n_clusters + n_noise), np.float32)
    feats[np.arange(n_items), ic] = 1.0
    noise = rng.integers(n_noise, size=(n_items, 2))
    feats[np.arange(n_items)[:, None], n_clusters + noise] = 1.0
    return ui, sp.csr_matrix(feats), uc, ic


HAS_LIGHTFM = importlib.util.find_spec("lightfm") is not None

#: Every baseline, small and deterministic (as the contract suite and the baseline tests fit them).
BASELINE_FACTORIES = {
    "random": lambda: RandomRecommender(random_state=3),
    "popularity": lambda: PopularityRecommender(),
    "content": lambda: ContentProfileRecommender(),
    "als-ridge": lambda: ALSRidgeRecommender(factors=8, iterations=3, num_threads=1),
    "lightfm": lambda: LightFMRecommender(no_components=8, epochs=2, num_threads=1),
}


def make_taste_world(seed=0):
    """80 users, 60 items, 25 count attributes; each user likes the items whose attributes meet a
    random taste vector (top 15 % of affinity). Returns ``(protocol_split of the (80, 60)
    interactions, item_features csr (60, 25) float64)``: the recommend contract's world."""
    from coldstart.evaluation.splits import protocol_split

    rng = np.random.default_rng(seed)
    n_users, n_items, n_feat = 80, 60, 25
    F = sp.random(n_items, n_feat, density=0.2, random_state=seed + 1, format="csr")
    F.data = np.ceil(F.data * 3)
    taste = rng.random((n_users, n_feat))
    affinity = taste @ F.toarray().T + 0.3 * rng.random((n_users, n_items))
    X = sp.csr_matrix((affinity > np.quantile(affinity, 0.85)).astype(np.float32))
    return protocol_split(X, random_state=seed), F


def without_interactions(user_items, items):
    """``user_items`` (CSR) with every interaction of ``items`` removed: they become cold columns."""
    train = user_items.tolil(copy=True)
    train[:, items] = 0
    train = sp.csr_matrix(train)
    train.eliminate_zeros()
    return train


@pytest.fixture(scope="session")
def clustered():
    return make_clustered()


@pytest.fixture(scope="session")
def citeulike_split():
    from coldstart.evaluation.datasets import load_citeulike

    ds = load_citeulike(CITEULIKE)
    return ds, ds.load_split()


@pytest.fixture(scope="session")
def citeulike_default(citeulike_split):
    """``(model, ds, split)``: the default ``ColdStartRecommender(random_state=0)`` fitted once
    on citeulike-t's ``split.train`` (7,947 users x 25,975 items, the cold test items as empty
    columns) with ``ds.item_features``; every integration test shares this one fit. Read it
    only: a test that changes the model works on ``copy.deepcopy(model)``."""
    from coldstart import ColdStartRecommender

    ds, split = citeulike_split
    return ColdStartRecommender(random_state=0).fit(split.train, ds.item_features), ds, split


#: scikit-learn checks that fail for every coldstart estimator, and why (differences of wording
#: or of declared tags, not of behaviour).
SKLEARN_COMMON_XFAIL = {
    "check_n_features_in_after_fitting": "the width error is the library's own text ('X must have "
                                         "the 4 columns the model was fitted on'), not scikit-learn's",
    "check_complex_data": "complex input is refused with a TypeError, not scikit-learn's ValueError",
    "check_dtype_object": "object arrays are refused (ItemFeaturizer encodes them), even numeric ones",
    "check_fit2d_predict1d": "the 1-D error says '.reshape(1, -1)', not scikit-learn's 'Reshape your data'",
}


def sklearn_checks(estimator, expected_failures: dict[str, str]):
    """``parametrize_with_checks`` on one estimator, the checks in ``SKLEARN_COMMON_XFAIL`` and
    ``expected_failures`` (check name -> reason) marked xfail; skipped where scikit-learn is too
    old to take ``expected_failed_checks`` (before 1.6)."""
    from sklearn.utils import estimator_checks

    if "expected_failed_checks" not in inspect.signature(estimator_checks.parametrize_with_checks).parameters:
        return pytest.mark.skip(reason="scikit-learn >= 1.6 is needed for expected_failed_checks")
    failures = {**SKLEARN_COMMON_XFAIL, **expected_failures}
    return estimator_checks.parametrize_with_checks([estimator], expected_failed_checks=lambda _: failures)
