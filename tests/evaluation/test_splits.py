"""Splits: protocol proportions, invariants, seeding, files, temporal and item k-fold."""

import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldstart.evaluation.splits import (
    ColdStartSplit,
    item_kfold,
    protocol_split,
    read_split,
    temporal_split,
    write_split,
)
from tests.conftest import CITEULIKE


@pytest.fixture(scope="module")
def interactions():
    X = sp.random(300, 400, density=0.03, random_state=7, format="csr", dtype=np.float32)
    X.data[:] = 3.0  # values are ignored by the split
    return X


def _keys(m):
    c = m.tocoo()
    return set(zip(c.row.tolist(), c.col.tolist()))


# --------------------------------------------------------------------------- protocol split
def test_protocol_proportions_and_disjointness(interactions):
    s = protocol_split(interactions, random_state=0)
    X = interactions
    interacted = np.flatnonzero(np.diff(X.tocsc().indptr) > 0)
    n_cold = int(0.1 * interacted.size)
    assert s.cold_val_items.size == n_cold
    assert s.cold_test_items.size == n_cold
    assert np.intersect1d(s.cold_val_items, s.cold_test_items).size == 0
    # every interaction of a cold item is in its cold part and nowhere else
    col_counts = np.diff(X.tocsc().indptr)
    assert s.cold_val.nnz == col_counts[s.cold_val_items].sum()
    assert s.cold_test.nnz == col_counts[s.cold_test_items].sum()
    cold = np.union1d(s.cold_val_items, s.cold_test_items)
    assert not np.isin(s.train.indices, cold).any()
    assert not np.isin(s.warm_test.indices, cold).any()
    n_warm = X.nnz - s.cold_val.nnz - s.cold_test.nnz
    assert s.warm_test.nnz == int(0.1 * n_warm)
    assert s.train.nnz == n_warm - s.warm_test.nnz
    # the parts are disjoint and cover the input exactly
    parts = [_keys(getattr(s, p)) for p in ("train", "warm_test", "cold_val", "cold_test")]
    assert sum(map(len, parts)) == X.nnz
    assert set().union(*parts) == _keys(X)
    # warm items: everything that is neither cold val nor cold test (incl. items without data)
    np.testing.assert_array_equal(s.warm_items, np.setdiff1d(np.arange(X.shape[1]), cold))
    assert s.shape == X.shape
    for p in ("train", "warm_test", "cold_val", "cold_test"):
        m = getattr(s, p)
        assert isinstance(m, sp.csr_matrix) and m.dtype == np.float32
        assert np.all(m.data == 1.0)


def test_protocol_seeding(interactions):
    a = protocol_split(interactions, random_state=0)
    b = protocol_split(interactions, random_state=0)
    c = protocol_split(interactions, random_state=1)
    for p in ("train", "warm_test", "cold_val", "cold_test"):
        assert (getattr(a, p) != getattr(b, p)).nnz == 0
    assert not np.array_equal(a.cold_val_items, c.cold_val_items)


def test_protocol_fraction_arguments(interactions):
    s = protocol_split(interactions, cold_fraction=0.25, warm_test_fraction=0.0)
    n = np.count_nonzero(np.diff(interactions.tocsc().indptr))
    assert s.cold_test_items.size == int(0.25 * n)
    assert s.warm_test.nnz == 0
    with pytest.raises(ValueError, match=r"cold_fraction must be a number in \[0, 0.5\]; received 0.6"):
        protocol_split(interactions, cold_fraction=0.6)
    with pytest.raises(ValueError, match="warm_test_fraction"):
        protocol_split(interactions, warm_test_fraction=-0.1)
    with pytest.raises(TypeError, match="user_items must be a scipy sparse matrix"):
        protocol_split(interactions.toarray())


# --------------------------------------------------------------------------- invariants
def test_split_refuses_leaks():
    z = sp.csr_matrix((2, 3), dtype=np.float32)
    train = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0]], dtype=np.float32))
    cold = sp.csr_matrix(np.array([[0, 0, 0], [1, 0, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match="cold_val items also occur in train or warm_test"):
        ColdStartSplit(train=train, warm_test=z, cold_val=cold, cold_test=z)
    with pytest.raises(ValueError, match="train and warm_test share 1"):
        ColdStartSplit(train=train, warm_test=train, cold_val=z, cold_test=z)
    with pytest.raises(ValueError, match="cold_val and cold_test share"):
        ColdStartSplit(train=z, warm_test=z, cold_val=cold, cold_test=cold)
    with pytest.raises(ValueError, match=r"warm_test must have shape \(2, 3\)"):
        ColdStartSplit(train=train, warm_test=sp.csr_matrix((2, 4)), cold_val=z, cold_test=z)


# --------------------------------------------------------------------------- files
def test_write_read_round_trip(tmp_path, interactions):
    s = protocol_split(interactions, random_state=4)
    write_split(s, tmp_path / "split")
    files = sorted(os.listdir(tmp_path / "split"))
    assert files == ["cold_test.csv", "cold_val.csv", "train.csv", "warm_test.csv"]
    with open(tmp_path / "split" / "train.csv") as fh:
        assert fh.readline().strip() == "user,item"
    back = read_split(tmp_path / "split", shape=s.shape)
    for p in ("train", "warm_test", "cold_val", "cold_test"):
        assert (getattr(back, p) != getattr(s, p)).nnz == 0
    inferred = read_split(tmp_path / "split")
    assert inferred.shape[0] <= s.shape[0] and inferred.shape[1] <= s.shape[1]


def _write(folder, **parts):
    folder.mkdir(exist_ok=True)
    defaults = {"train": "user,item\n0,0\n1,1\n", "warm_test": "user,item\n0,1\n",
                "cold_val": "user,item\n0,2\n", "cold_test": "user,item\n1,3\n"}
    defaults.update(parts)
    for name, text in defaults.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text)
    return folder


def test_read_small_folder(tmp_path):
    s = read_split(_write(tmp_path / "ok"), shape=(3, 5))
    assert s.shape == (3, 5)
    np.testing.assert_array_equal(s.cold_val_items, [2])
    np.testing.assert_array_equal(s.cold_test_items, [3])
    np.testing.assert_array_equal(s.warm_items, [0, 1, 4])


@pytest.mark.parametrize("parts, exc, pattern", [
    ({"cold_test": None}, FileNotFoundError, "has no cold_test.csv"),
    ({"train": "u,i\n0,0\n"}, ValueError, "header must be 'user,item'; received 'u,i'"),
    ({"train": "user,item\n0,0\n-1,1\n"}, ValueError, r"train.csv, line 3: user is -1"),
    ({"train": "user,item\n0,0\n1,x\n"}, ValueError, r"line 3: item must be an integer index; received 'x'"),
    ({"train": "user,item\n0,0\n1,1\n0,0\n"}, ValueError, r"listed more than once \(lines 2 and 4\)"),
    ({"warm_test": "user,item\n0,9\n"}, ValueError, r"warm_test.csv, line 2: item 9 is out of range"),
    ({"warm_test": "user,item\n0,0\n"}, ValueError, "train and warm_test share"),
])
def test_read_bad_files(tmp_path, parts, exc, pattern):
    folder = _write(tmp_path / "bad", **parts)
    with pytest.raises(exc, match=pattern):
        read_split(folder, shape=(3, 5))


def test_read_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        read_split(tmp_path / "nope")


def test_shared_citeulike_split_counts():
    s = read_split(CITEULIKE / "split", shape=(7947, 25975))  # ../shared's copy, else the bundled one
    assert (s.train.nnz, s.warm_test.nnz, s.cold_val.nnz, s.cold_test.nnz) == (96883, 10764, 13399, 13814)
    assert s.cold_val_items.size == s.cold_test_items.size == 2558  # floor(0.1 * 25584)


# --------------------------------------------------------------------------- temporal
def test_temporal_split_hand_example():
    df = pd.DataFrame({
        "user": [0, 0, 1, 1, 2, 2, 0, 1, 1],
        "item": [0, 1, 1, 3, 3, 2, 4, 4, 4],
        "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-02-01",
                                     "2020-02-05", "2020-03-01", "2020-03-02", "2020-01-01",
                                     "2020-03-03"]),
    })
    s = temporal_split(df, "2020-01-15")
    # items 3 (first seen Feb 1) and 2 (Mar 1) are new after the cut-off; 3 is earlier -> val
    np.testing.assert_array_equal(s.cold_val_items, [3])
    np.testing.assert_array_equal(s.cold_test_items, [2])
    assert _keys(s.train) == {(0, 0), (0, 1), (1, 1), (1, 4)}
    assert _keys(s.warm_test) == {(0, 4)}  # (1, 4) again after the cut-off is re-consumption
    assert _keys(s.cold_val) == {(1, 3), (2, 3)}
    assert _keys(s.cold_test) == {(2, 2)}
    s2 = temporal_split(df, "2020-01-15", val_cutoff="2020-03-15")
    np.testing.assert_array_equal(s2.cold_val_items, [2, 3])
    assert s2.cold_test_items.size == 0
    # arrays work the same way as a DataFrame
    s3 = temporal_split((df.user.to_numpy(), df.item.to_numpy(), df.timestamp.to_numpy()),
                        np.datetime64("2020-01-15"))
    assert _keys(s3.train) == _keys(s.train)


def test_temporal_split_errors():
    df = pd.DataFrame({"u": [0], "i": [0], "t": [1.0]})
    with pytest.raises(KeyError, match=r"lacks the columns \['user', 'item', 'timestamp'\]"):
        temporal_split(df, 0.5)
    with pytest.raises(ValueError, match="val_cutoff 0.1 is earlier than cutoff 0.5"):
        temporal_split(df, 0.5, val_cutoff=0.1, columns=("u", "i", "t"))
    with pytest.raises(TypeError, match="interactions must be a DataFrame or a tuple"):
        temporal_split([1, 2], 0.5)


# --------------------------------------------------------------------------- item k-fold
def test_item_kfold_partitions_items(interactions):
    folds = list(item_kfold(interactions, n_splits=4, random_state=0))
    assert len(folds) == 4
    all_items = np.concatenate([f[2] for f in folds])
    interacted = np.flatnonzero(np.diff(interactions.tocsc().indptr) > 0)
    np.testing.assert_array_equal(np.sort(all_items), interacted)
    sizes = [f[2].size for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, held, items in folds:
        assert not np.isin(train.indices, items).any()
        assert np.isin(held.indices, items).all()
        assert train.nnz + held.nnz == interactions.nnz
        assert np.all(np.diff(items) > 0)
    again = list(item_kfold(interactions, n_splits=4, random_state=0))
    for a, b in zip(folds, again):
        np.testing.assert_array_equal(a[2], b[2])


def test_item_kfold_on_split_uses_train(interactions):
    s = protocol_split(interactions)
    for train, held, items in item_kfold(s, n_splits=3):
        assert train.nnz + held.nnz == s.train.nnz
        assert not np.isin(items, s.cold_test_items).any()
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2; received 1"):
        next(item_kfold(interactions, n_splits=1))


def test_a_catalog_too_small_for_a_cold_item_is_warned_about():
    """Fewer than 1 / cold_fraction items: the cold parts are empty, and the split says so."""
    X = sp.random(30, 9, density=0.5, format="csr", random_state=0, dtype=np.float32)
    with pytest.warns(UserWarning, match="no cold item"):
        s = protocol_split(X)
    assert s.cold_val.nnz == 0 and s.cold_test.nnz == 0
