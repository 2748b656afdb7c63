"""The plain folder format: readers, reference features, id-mapped splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldstart.evaluation.datasets import (
    from_frames,
    infer_kinds,
    is_citeulike_format,
    is_folder_format,
    load_folder,
    read_split_ids,
    reference_features,
    write_split_ids,
)
from coldstart.evaluation.splits import protocol_split

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
ML = DATA / "ml-latest-small"
needs_ml = pytest.mark.skipif(not ML.is_dir(), reason=f"{ML} not found (the shared collection, ../shared/data)")


def _write(folder: Path, interactions: str, items: str | None = None, meta: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "interactions.csv").write_text(interactions)
    if items is not None:
        (folder / "items.csv").write_text(items)
    if meta is not None:
        (folder / "meta.json").write_text(json.dumps(meta))
    return folder


ITEMS = ("item,title,genres,year,studio\n"
         "b10,The Big Red Dog,Comedy|Family,1995,Acme\n"
         "a2,Red Dog Returns,Comedy,2001,Acme\n"
         "c3,Silent Night,Drama| Family ,,Zeta\n")


def test_reference_features_follow_the_protocol():
    items = pd.read_csv(pd.io.common.StringIO(ITEMS), dtype=str, keep_default_na=False)
    kinds = {"title": "text", "genres": "multi", "year": "numeric", "studio": "categorical"}
    X, names = reference_features(items, kinds, ["a2", "b10", "c3", "zz"])
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32 and X.shape == (4, len(names))
    col = {n: j for j, n in enumerate(names)}
    # text: only tokens in >= 2 items ("red", "dog"), lower-cased counts
    assert sorted(n for n in names if n.startswith("title:")) == ["title:dog", "title:red"]
    # multi and categorical: 0/1 per stripped value
    assert {"genres=Comedy", "genres=Family", "genres=Drama", "studio=Acme", "studio=Zeta"} <= set(names)
    # numeric: decade buckets, missing -> nothing
    assert {"year=[1990,2000)", "year=[2000,2010)"} <= set(names)
    dense = X.toarray()
    assert dense[1, col["title:red"]] == 1 and dense[1, col["year=[1990,2000)"]] == 1
    assert dense[2, col["genres=Family"]] == 1 and not any(dense[2, col[n]] for n in names if n.startswith("year"))
    assert dense[3].sum() == 0  # no row in items -> no attributes
    # a word repeated within one item counts twice but occurs in one item only
    items2 = pd.DataFrame({"item": ["x", "y"], "t": ["dog dog cat", "Dog"]})
    X2, n2 = reference_features(items2, {"t": "text"})
    assert list(n2) == ["t:dog"] and X2.toarray().ravel().tolist() == [2.0, 1.0]


def test_infer_kinds_rule():
    df = pd.DataFrame({"item": ["1", "2", "3", "4"],
                       "title": ["a long title here", "another long one", "third of them", "last title x"],
                       "tags": ["x|y", "y", "", "z"],
                       "year": ["1990", "", "2001.5", "1999"],
                       "author": ["Ann Lee", "Ann Lee", "Bo Wu", "Bo Wu"]})
    assert infer_kinds(df) == {"title": "text", "tags": "multi", "year": "numeric", "author": "categorical"}


def test_folder_reader_ids_sorted_as_strings_and_split(tmp_path):
    folder = _write(tmp_path / "cat", "user,item,weight\nu2,b10,1\nu10,a2,2\nu2,c3,1\nu10,b10,1\nu1,c3,1\n",
                    ITEMS, {"kinds": {"title": "text"}})
    assert is_folder_format(folder) and not is_citeulike_format(folder)
    ds = load_folder(folder)
    assert list(ds.user_ids) == ["u1", "u10", "u2"] and list(ds.item_ids) == ["a2", "b10", "c3"]
    assert ds.user_items[1, 0] == 2.0 and ds.user_items.nnz == 5  # the weight column is used
    assert ds.kinds == {"title": "text", "genres": "multi", "year": "numeric", "studio": "categorical"}
    assert ds.item_features.shape[0] == 3 and isinstance(ds.items, pd.DataFrame)
    split = protocol_split(ds.user_items, cold_fraction=1 / 3, warm_test_fraction=0.0, random_state=1)
    write_split_ids(split, folder / "split", ds.user_ids, ds.item_ids)
    assert set(pd.read_csv(folder / "split" / "train.csv", dtype=str)["user"]) <= {"u1", "u10", "u2"}
    back = ds.load_split()
    for part in ("train", "warm_test", "cold_val", "cold_test"):
        assert (getattr(back, part) != getattr(split, part)).nnz == 0


def test_from_frames_parquet_and_catalog_all(tmp_path):
    inter = pd.DataFrame({"uid": [7, 30, 7], "mid": [100, 20, 20], "ts": [3, 1, 2]})
    items = pd.DataFrame({"mid": [20, 100, 5], "genre": ["a|b", "b", "a"]})
    ds = from_frames(inter, items, user_col="uid", item_col="mid", timestamp_col="ts")
    assert list(ds.user_ids) == [30, 7] and list(ds.item_ids) == [100, 20]  # "100" < "20"
    assert list(ds.interactions.columns) == ["user", "item", "timestamp"]
    full = from_frames(inter, items, user_col="uid", item_col="mid", catalog="all")
    assert list(full.item_ids) == [100, 20, 5] and full.user_items.shape == (2, 3)
    assert full.item_features[2].nnz == 1  # the item without interactions keeps its attributes
    pytest.importorskip("pyarrow")
    inter.rename(columns={"uid": "user", "mid": "item"}).to_parquet(tmp_path / "interactions.parquet")
    items.rename(columns={"mid": "item"}).to_parquet(tmp_path / "items.parquet")
    pq = load_folder(tmp_path)
    assert pq.user_items.shape == (2, 2) and pq.item_features.shape[1] == 2


@pytest.mark.parametrize("interactions,items,meta,match", [
    ("user,item\n1,a\n,b\n", None, None, r"interactions.csv, line 3: empty user id"),
    ("usr,item\n1,a\n", None, None, r"interactions.csv: no column 'user'"),
    ("user,item,weight\n1,a,1\n2,a,x\n", None, None, r"interactions.csv, line 3: weight is 'x'"),
    ("user,item\n1,a\n", "item,g\na,x\nb,y\na,z\n", None, r"items.csv, line 4: item 'a' is listed twice"),
    ("user,item\n1,a\n", "item,g\na,x\n", {"kinds": {"g": "colour"}}, r"meta.json: unknown kinds"),
    ("user,item\n1,a\n", "item,g\na,x\n", {"kinds": {"h": "text"}}, r"meta.json: kinds name columns"),
    ("user,item\n1,a\n", "item,g\na,1990\nb,soon\n", {"kinds": {"g": "numeric"}}, r"items.csv, line 3: column 'g' is numeric"),
])
def test_malformed_folder_names_file_and_line(tmp_path, interactions, items, meta, match):
    folder = _write(tmp_path / "bad", interactions, items, meta)
    with pytest.raises(ValueError, match=match):
        load_folder(folder)


def test_split_ids_keep_their_spaces(tmp_path):
    """Ids that differ only by surrounding spaces are two ids in the interactions; the split
    files written from them read back onto the same ids (they were stripped, and every pair of
    " x" moved silently onto "x")."""
    rows = "".join(f"{u},{i}\n" for u in ("x", " x", "y ") for i in ("a", " a", "b", "c", "d", "e"))
    ds = load_folder(_write(tmp_path / "sp", "user,item\n" + rows))
    assert sorted(ds.user_ids) == [" x", "x", "y "] and " a" in list(ds.item_ids)
    split = protocol_split(ds.user_items, cold_fraction=1 / 3, warm_test_fraction=0.0, random_state=1)
    write_split_ids(split, tmp_path / "sp" / "split", ds.user_ids, ds.item_ids)
    back = ds.load_split()
    for part in ("train", "warm_test", "cold_val", "cold_test"):
        assert (getattr(back, part) != getattr(split, part)).nnz == 0


def _split_files(folder, **bodies):
    """``folder/split/<part>.csv`` for every part: ``bodies[part]``, or a header only."""
    (folder / "split").mkdir()
    for part in ("train", "warm_test", "cold_val", "cold_test"):
        (folder / "split" / f"{part}.csv").write_text(bodies.get(part, "user,item\n"))


def test_split_header_with_spaces_is_read(tmp_path):
    """A split file whose header reads "user, item" names the same columns (it raised a bare
    KeyError 'item')."""
    folder = _write(tmp_path / "h", "user,item\n1,a\n2,b\n")
    ds = load_folder(folder)
    _split_files(folder, train="user, item\n1,a\n", cold_val="user,item\n2,b\n")
    assert ds.load_split().train.nnz == 1


def test_split_with_unknown_id_names_file_and_line(tmp_path):
    folder = _write(tmp_path / "c", "user,item\n1,a\n2,b\n")
    ds = load_folder(folder)
    _split_files(folder, train="user,item\n1,a\n", cold_val="user,item\n2,b\n", cold_test="user,item\n2,q\n")
    with pytest.raises(ValueError, match=r"cold_test.csv, line 2: item 'q' is not in the dataset's items"):
        ds.load_split()
    with pytest.raises(FileNotFoundError, match="no interactions.csv"):
        load_folder(folder / "split")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        read_split_ids(folder / "nope", ds.user_ids, ds.item_ids)


@pytest.mark.slow  # ALS + ridge on the whole ml-latest-small catalog
@needs_ml
def test_ml_latest_small_reference_als_ridge_matches_evaluation_md():
    """EVALUATION.md: implicit ALS + ridge on ml-latest-small, cold Recall@20 0.1776."""
    from coldstart.evaluation.baselines import ALSRidgeRecommender
    from coldstart.evaluation.protocol import evaluate

    ds = load_folder(ML)
    assert ds.shape == (610, 9724)  # the collection's published counts
    assert infer_kinds(ds.items) == json.loads((ML / "meta.json").read_text())["kinds"]
    split = ds.load_split()
    assert [getattr(split, p).nnz for p in ("train", "warm_test", "cold_val", "cold_test")] == \
        [73631, 8181, 9259, 9765]
    model = ALSRidgeRecommender(random_state=0).fit(split.train, ds.item_features)
    res = evaluate(model, split, settings=("cold", "warm"))
    assert abs(res.loc["cold", "recall@20"] - 0.1776) <= 0.01
    assert abs(res.loc["warm", "recall@20"] - 0.2572) <= 0.01


def test_item_ids_that_never_match_are_warned_about():
    inter = pd.DataFrame({"user": ["a", "b"], "item": ["1", "2"]})
    items = pd.DataFrame({"item": ["1.0", "2.0"], "genre": ["x", "y"]})
    with pytest.warns(UserWarning, match="none of the 2 items of interactions has a row"):
        ds = from_frames(inter, items)
    assert ds.item_features.nnz == 0


def test_from_frames_names_its_sources_in_errors():
    inter = pd.DataFrame({"user": ["a", "b"], "sku": ["x", "y"]})
    with pytest.raises(ValueError, match=r"views\.csv: no column 'item'"):
        from_frames(inter, None, sources=("views.csv", "products.csv"))
    with pytest.raises(ValueError, match=r"^interactions: no column 'item'"):
        from_frames(inter, None)
