"""External ids indexed by their string form, rows named in errors, tables read as strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.evaluation.datasets.tables import Where, cells, index_ids, key_index, lookup, read_table


def test_ids_are_indexed_sorted_as_strings():
    ids, idx = index_ids(pd.Series(["u10", "u2", "u10", "u1"]), "user", Where("t.csv", csv=True))
    assert list(ids) == ["u1", "u10", "u2"]
    np.testing.assert_array_equal(idx, [1, 2, 1, 0])
    ids, idx = index_ids(pd.Series([10, 9, 100]), "item", Where("frame", csv=False))
    assert list(ids) == [10, 100, 9]  # "10" < "100" < "9"
    np.testing.assert_array_equal(idx, [0, 2, 1])


def test_bad_ids_name_the_row():
    with pytest.raises(ValueError, match=r"t.csv, line 3: empty user id"):
        index_ids(pd.Series(["a", " ", "b"]), "user", Where("t.csv", csv=True))
    with pytest.raises(ValueError, match=r"frame, row 1: empty item id"):
        index_ids(pd.Series(["a", None]), "item", Where("frame", csv=False))
    with pytest.raises(ValueError, match="same string form '1'"):
        index_ids(pd.Series([1, "1"], dtype=object), "item", Where("frame", csv=False))


def test_lookup_maps_known_ids_and_names_unknown_ones():
    index = key_index(np.array(["a", "b", "c"]))
    np.testing.assert_array_equal(lookup(index, pd.Series(["c", "a"]), "item", Where("s.csv", True), "x"), [2, 0])
    with pytest.raises(ValueError, match=r"s.csv, line 3: item 'zz' is not in the catalog \(1 rows"):
        lookup(index, pd.Series(["a", "zz"]), "item", Where("s.csv", True), "the catalog")


def test_cells_align_the_item_table_to_the_ids():
    items = pd.DataFrame({"item": ["b", "a"], "title": ["B", "A"]})
    out = cells(items, "item", np.array(["a", "c", "b"]))
    assert list(out.columns) == ["title"]
    assert out["title"].tolist()[0] == "A" and pd.isna(out["title"].iloc[1]) and out["title"].iloc[2] == "B"


def test_read_table_keeps_strings_and_names_malformed_files(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("user,item\n007,1\n,2\n")
    df = read_table(path)
    assert df["user"].tolist() == ["007", ""]  # no number parsing, empty stays ""
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty file; expected a header line"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "bad.csv").write_text('a,b\n1,2\n3,"4\n')
    with pytest.raises(ValueError, match="malformed CSV"):
        read_table(tmp_path / "bad.csv")
