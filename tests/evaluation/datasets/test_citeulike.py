"""The CiteULike reader on a tiny hand-written folder: matrices, tags, gzip, errors naming file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from coldstart.evaluation.datasets import (
    bundled_data_dir,
    is_citeulike_format,
    is_folder_format,
    load_citeulike,
    load_dataset,
    read_mult,
)

# 3 users, 4 items, a 3-word vocabulary, 2 tags
FILES = {
    "users.dat": "2 0 2\n1 3\n3 1 2 2\n",      # user 2 lists item 2 twice: one interaction
    "mult.dat": "2 0:3 2:1\n1 1:2\n0\n1 2:0.5\n",
    "vocabulary.dat": "graph\nneural\nsparse\n",
    "tag-item.dat": "2 0 3\n1 1\n",
    "tags.dat": "ml\nbio\n",
}


def _folder(root: Path, files: dict[str, str], gz: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if name in gz:
            with gzip.open(root / (name + ".gz"), "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            (root / name).write_text(text)
    return root


def test_words_interactions_and_names(tmp_path):
    ds = load_citeulike(_folder(tmp_path / "cul", FILES))
    assert ds.shape == (3, 4) and ds.name == "cul"
    np.testing.assert_array_equal(ds.user_items.toarray(), [[1, 0, 1, 0], [0, 0, 0, 1], [0, 1, 1, 0]])
    np.testing.assert_allclose(ds.item_features.toarray(), [[3, 0, 1], [0, 2, 0], [0, 0, 0], [0, 0, 0.5]])
    assert list(ds.feature_names) == ["graph", "neural", "sparse"]  # tags are off by default
    assert ds.user_ids is None and ds.item_ids is None


def test_tags_from_tag_item_or_item_tag(tmp_path):
    ds = load_citeulike(_folder(tmp_path / "a", FILES), tags=True)
    assert list(ds.feature_names[3:]) == ["tag:ml", "tag:bio"]
    np.testing.assert_array_equal(ds.item_features[:, 3:].toarray(), [[1, 0], [0, 1], [0, 0], [1, 0]])
    # the transposed file (items per line) gives the same columns
    files = {k: v for k, v in FILES.items() if k != "tag-item.dat"} | {"item-tag.dat": "1 0\n1 1\n0\n1 0\n"}
    other = load_citeulike(_folder(tmp_path / "b", files), tags=True)
    assert list(other.feature_names) == list(ds.feature_names)
    np.testing.assert_array_equal(other.item_features.toarray(), ds.item_features.toarray())


def test_gzipped_files_read_the_same(tmp_path):
    plain = load_citeulike(_folder(tmp_path / "p", FILES), tags=True)
    gz = load_citeulike(_folder(tmp_path / "g", FILES, gz=tuple(FILES)), tags=True)
    assert (plain.user_items != gz.user_items).nnz == 0
    assert (plain.item_features != gz.item_features).nnz == 0
    assert is_citeulike_format(tmp_path / "g") and not is_folder_format(tmp_path / "g")


@pytest.mark.parametrize("name, text, match", [
    ("users.dat", "2 0 2\n3 3\n1 1\n", r"users.dat line 2: count 3 does not match its 1 entries"),
    ("users.dat", "2 0 2\n1 9\n1 1\n", r"users.dat line 2: id 9 is outside \[0, 4\)"),
    ("users.dat", "2 0 x\n", r"users.dat line 1: id 'x' is not an integer"),
    ("mult.dat", "1 0:1\n1 7:1\n0\n0\n", r"mult.dat line 2: word id 7 is outside the vocabulary \[0, 3\)"),
    ("mult.dat", "1 0:-1\n0\n0\n0\n", r"mult.dat line 1: count -1 of word 0 is negative"),
    ("mult.dat", "1 0:nan\n0\n0\n0\n", r"mult.dat line 1: count 'nan' of word 0 is not finite"),
    ("mult.dat", "1 0\n0\n0\n0\n", r"mult.dat line 1: entry '0' is not word:count"),
])
def test_malformed_files_name_file_and_line(tmp_path, name, text, match):
    folder = _folder(tmp_path / "bad", FILES | {name: text})
    with pytest.raises(ValueError, match=match):
        load_citeulike(folder)


def test_missing_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_citeulike(tmp_path / "nope")
    folder = _folder(tmp_path / "nomult", {k: v for k, v in FILES.items() if k != "mult.dat"})
    with pytest.raises(FileNotFoundError, match=r"mult.dat \(or mult.dat.gz\) not found"):
        load_citeulike(folder)


def test_read_mult_keeps_fractional_counts(tmp_path):
    path = tmp_path / "mult.dat"
    path.write_text("2 1:0.25 0:2\n")
    m = read_mult(path, 3)
    assert m.shape == (1, 3) and m.dtype == np.float32
    np.testing.assert_allclose(m.toarray(), [[2, 0.25, 0]])


def test_load_dataset_by_name_and_the_data_dir_variable(tmp_path, monkeypatch):
    _folder(tmp_path / "mini", FILES)
    assert load_dataset("mini", data_dir=tmp_path).shape == (3, 4)
    monkeypatch.setenv("COLDSTART_DATA", str(tmp_path))
    assert bundled_data_dir() == tmp_path
    assert load_dataset("mini").shape == (3, 4)


def test_split_of_a_citeulike_folder_is_read_in_its_index_space(tmp_path):
    folder = _folder(tmp_path / "cul", FILES)
    (folder / "split").mkdir()
    for part, text in {"train": "user,item\n0,0\n1,3\n", "warm_test": "user,item\n2,1\n",
                       "cold_val": "user,item\n", "cold_test": "user,item\n0,2\n2,2\n"}.items():
        (folder / "split" / f"{part}.csv").write_text(text)
    split = load_citeulike(folder).load_split()
    assert split.shape == (3, 4)
    np.testing.assert_array_equal(split.cold_test_items, [2])
    assert split.train.nnz == 2 and split.warm_test.nnz == 1
