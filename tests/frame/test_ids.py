"""coldstart.frame.ids: IdMap and normalize_ids. Ints and strings kept apart, missing and
ambiguous ids refused naming the value, append-only changes that are all or nothing, and the
pickle-free array form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.frame.ids import IdMap, normalize_ids


def test_indices_in_order_and_back():
    m = IdMap(["b", "a", "c"], name="item")
    assert len(m) == 3 and "a" in m and "z" not in m
    np.testing.assert_array_equal(m.to_internal(["c", "b"]), [2, 0])
    assert m.to_internal("a").tolist() == [1]  # a scalar is one id
    assert m.to_internal(["a"]).dtype == np.int64
    np.testing.assert_array_equal(m.to_external([2, 0, -1]), np.array(["c", "b", None], dtype=object))
    assert repr(m) == "IdMap(name='item', n=3)"


def test_from_values_keeps_first_appearance():
    m = IdMap.from_values([30, 10, 30, 20, 10], name="user")
    np.testing.assert_array_equal(m.external_ids, [30, 10, 20])


def test_unknown_ids_raise_or_get_minus_one():
    m = IdMap([1, 2, 3], name="user")
    with pytest.raises(KeyError, match=r"unknown user ids \[7\] \(1 in all\).*knows 3 users"):
        m.to_internal([1, 7])
    np.testing.assert_array_equal(m.to_internal([1, 7], missing="ignore"), [0, -1])


def test_ints_and_strings_are_different_ids():
    m = IdMap([1, "1", 2], name="item")
    np.testing.assert_array_equal(m.to_internal([1, "1"]), [0, 1])
    assert m.to_internal(["2"], missing="ignore").tolist() == [-1]
    assert isinstance(m.external_ids[0], int) and isinstance(m.external_ids[1], str)


@pytest.mark.parametrize("bad,what", [
    ([1, None], "missing value"), (["a", np.nan], "missing value"), ([1.5, 2.0], "int or str"),
    ([True, False], "int or str"), ([b"a"], "int or str"), ([1, 2.5], "int or str"),
])
def test_bad_ids_are_refused_naming_the_value(bad, what):
    with pytest.raises(ValueError, match=what):
        IdMap(bad, name="item")


def test_lookups_keep_the_type_discipline():
    # 1.0 hashes like the id 1, but a float is not an id: refused as when the map was built
    m = IdMap([1, 2, 3], name="user")
    for bad in ([1.0], np.array([2.0]), pd.Series([1.0, 2.0])):
        with pytest.raises(ValueError, match=r"user ids must be int or str; received 1\.0|received 2\.0"):
            m.to_internal(bad)
    with pytest.raises(ValueError, match=r"missing value \(nan\)"):  # the NaN is named, not the first float
        m.to_internal(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"missing value \(nan\)"):
        IdMap(pd.Series([1.0, 2.0, np.nan]), name="user")
    # numpy scalars show as the values they hold
    with pytest.raises(KeyError, match=r"unknown user ids \[7\]"):
        m.to_internal(np.array([7], dtype=np.int64))
    with pytest.raises(ValueError, match=r"unique; 5 appears"):
        IdMap(np.array([5, 5]), name="user")
    # integers of any width are still looked up as they are (uint64 past int64's range too)
    big = IdMap(np.array([2**63 + 5, 7], dtype=np.uint64), name="user")
    assert big.to_internal([2**63 + 5]).tolist() == [0] and big.to_internal(np.uint64(7)).tolist() == [1]
    assert big.to_internal(np.array([2**63 + 5], dtype=object)).tolist() == [0]


def test_duplicates_and_shapes_are_refused():
    with pytest.raises(ValueError, match="unique; 'a' appears more than once"):
        IdMap(["a", "b", "a"])
    with pytest.raises(ValueError, match="1-D"):
        normalize_ids(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="single str"):
        normalize_ids("abc")
    with pytest.raises(ValueError, match="64 bits"):
        normalize_ids([2**70, 1])


def test_normalize_ids_dtypes():
    assert normalize_ids(np.array([3, 1], dtype=np.int32)).dtype.kind == "i"
    strings = normalize_ids(np.array(["x", "y"]))  # object, or pandas 3's string dtype
    assert strings.dtype.kind not in "iuU" and all(type(v) is str for v in strings)
    assert normalize_ids([np.int64(5), 6]).dtype == np.int64  # numpy ints count as ints
    mixed = normalize_ids([1, "a"])
    assert mixed.dtype == object and list(mixed) == [1, "a"]
    assert len(normalize_ids([])) == 0
    assert list(normalize_ids(pd.Series(["u", "v"]))) == ["u", "v"]


def test_add_is_all_or_nothing():
    m = IdMap(["a", "b"], name="item")
    np.testing.assert_array_equal(m.add(["c", "d"]), [2, 3])
    for bad in (["e", "a"], ["e", "e"], ["e", None]):
        with pytest.raises(ValueError):
            m.add(bad)
        assert list(m.external_ids) == ["a", "b", "c", "d"]  # unchanged, "e" not half-added
    assert m.add([]).size == 0 and len(m) == 4


def test_with_added_leaves_the_map_unchanged():
    m = IdMap([10, 20])
    grown = m.with_added([30, "x"])
    assert len(m) == 2 and list(grown.external_ids) == [10, 20, 30, "x"]
    assert grown.to_internal(["x"]).tolist() == [3]
    np.testing.assert_array_equal(IdMap([1, 2]).with_added([3]).external_ids, [1, 2, 3])
    assert IdMap([1, 2]).with_added([3]).external_ids.dtype.kind == "i"  # ints stay int64


@pytest.mark.parametrize("ids", [[5, 3, 9], ["a", "b"], [1, "1", "x"], []])
def test_arrays_round_trip_without_objects(ids):
    m = IdMap(ids, name="user")
    arrays = m.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    back = IdMap.from_arrays(arrays, name="user")
    assert [(type(v), v) for v in back.external_ids] == [(type(v), v) for v in m.external_ids]
    assert back.name == "user"


def test_to_array_mixed_becomes_strings_and_from_arrays_checks():
    assert IdMap([1, "a"]).to_array().tolist() == ["1", "a"]
    with pytest.raises(ValueError, match="1-D array of integers or strings"):
        IdMap.from_arrays({"ids": np.array([1.5])})
    with pytest.raises(ValueError, match="kinds do not match"):
        IdMap.from_arrays({"ids": np.array(["1", "a"]), "is_int": np.array([True])})
