"""Shared fixtures: a small clustered world where attributes predict tastes, and the shared split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

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


@pytest.fixture(scope="session")
def clustered():
    return make_clustered()


@pytest.fixture(scope="session")
def citeulike_split():
    from coldstart.evaluation.datasets import load_citeulike

    ds = load_citeulike(CITEULIKE)
    return ds, ds.load_split()
