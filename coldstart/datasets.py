"""Readers for the CiteULike format and the bundled dataset.

The CiteULike format (citeulike-a / citeulike-t): ``users.dat`` (line u: ``n item item ...``),
``mult.dat`` (line i: ``M word:count ...``, LDA-C bag of words), ``vocabulary.dat`` (one word
per line), and for tags either ``tag-item.dat`` (line t: ``n item ...``, items per tag) with
``tags.dat`` (tag names), or ``item-tag.dat`` (line i: ``n tag ...``). Every file may also be
gzip-compressed (``users.dat.gz``), which is how ``data/`` bundles them.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp


@dataclass
class Dataset:
    """Interactions and item attributes in index space.

    Attributes
    ----------
    user_items : csr_matrix of shape (n_users, n_items)
        Binary interactions.
    item_features : csr_matrix of shape (n_items, n_features)
        Word counts followed by tag indicators.
    feature_names : ndarray of str, shape (n_features,)
        ``word`` for words, ``tag:<name>`` for tags.
    name : str
    path : Path
    """

    user_items: sp.csr_matrix
    item_features: sp.csr_matrix
    feature_names: np.ndarray
    name: str = ""
    path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.user_items.shape

    def load_split(self):
        """The fixed split in ``<path>/split/`` as a :class:`~coldstart.splits.ColdStartSplit`."""
        from .splits import read_split

        if self.path is None or not (self.path / "split").is_dir():
            raise FileNotFoundError(f"dataset {self.name!r} has no split folder at {self.path}/split")
        return read_split(self.path / "split", shape=self.shape)


def _open(path: Path):
    """Open ``path`` or ``path.gz`` as text."""
    if path.exists():
        return open(path, encoding="utf-8")
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        return gzip.open(gz, "rt", encoding="utf-8")
    raise FileNotFoundError(f"{path} (or {gz.name}) not found; expected the CiteULike format "
                            "(users.dat, mult.dat, vocabulary.dat, tag-item.dat/item-tag.dat)")


def _exists(path: Path) -> bool:
    return path.exists() or path.with_name(path.name + ".gz").exists()


def _read_lists(path: Path) -> list[list[str]]:
    with _open(path) as f:
        return [line.split() for line in f]


def _lists_to_csr(lists: list[list[str]], n_cols: int | None, name: str) -> sp.csr_matrix:
    lens, cols = [], []
    for i, parts in enumerate(lists):
        if not parts:
            lens.append(0)
            continue
        n = int(parts[0])
        if n != len(parts) - 1:
            raise ValueError(f"{name} line {i + 1}: count {n} does not match its {len(parts) - 1} entries "
                             "(truncated or corrupted file?)")
        lens.append(n)
        cols.extend(parts[1:])
    col = np.asarray(cols, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    width = int(col.max()) + 1 if n_cols is None and col.size else (n_cols or 0)
    if col.size and (col.min() < 0 or col.max() >= width):
        raise ValueError(f"{name} has ids outside [0, {width})")
    m = sp.csr_matrix((np.ones(col.size, dtype=np.float32), col, indptr), shape=(len(lens), width))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def read_mult(path: Path, n_words: int) -> sp.csr_matrix:
    """LDA-C bag of words (``M word:count ...`` per line) → counts of shape (n_docs, n_words)."""
    lens, cols, vals = [], [], []
    with _open(path) as f:
        for i, line in enumerate(f):
            parts = line.split()
            if not parts:
                lens.append(0)
                continue
            n = int(parts[0])
            if n != len(parts) - 1:
                raise ValueError(f"{path.name} line {i + 1}: count {n} does not match {len(parts) - 1} entries")
            lens.append(n)
            for p in parts[1:]:
                w, c = p.split(":")
                cols.append(w)
                vals.append(c)
    col = np.asarray(cols, dtype=np.int64)
    if col.size and (col.min() < 0 or col.max() >= n_words):
        raise ValueError(f"{path.name} has word ids outside the vocabulary [0, {n_words})")
    indptr = np.concatenate([[0], np.cumsum(lens)])
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), col, indptr), shape=(len(lens), n_words))


def load_citeulike(path: str | os.PathLike, tags: bool = False) -> Dataset:
    """Read a dataset in the CiteULike format from the folder ``path``.

    Returns a :class:`Dataset` whose ``item_features`` are the word counts of ``mult.dat``
    followed, with ``tags=True``, by one indicator column per tag.

    Tags are off by default: CiteULike tags are assigned by the users who bookmark an article,
    the same users whose libraries are predicted, so a "new" article's tags already encode who
    saved it (a tags-only content profile reaches cold Recall@20 0.55 against 0.38 for words).
    The protocol's reference figures use the words only; use tags knowingly.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"path {str(path)!r} is not a folder; expected a CiteULike-format dataset folder")
    with _open(path / "vocabulary.dat") as f:
        vocab = [w.strip() for w in f]
    words = read_mult(path / "mult.dat", len(vocab))
    n_items = words.shape[0]
    user_items = _lists_to_csr(_read_lists(path / "users.dat"), n_items, "users.dat")
    blocks, names = [words], [np.asarray(vocab, dtype=str)]
    if tags and _exists(path / "tag-item.dat"):
        tag_items = _lists_to_csr(_read_lists(path / "tag-item.dat"), n_items, "tag-item.dat")
        if _exists(path / "tags.dat"):
            with _open(path / "tags.dat") as f:
                tag_names = [t.strip() for t in f]
        else:
            tag_names = [str(t) for t in range(tag_items.shape[0])]
        blocks.append(tag_items.T.tocsr())
        names.append(np.asarray(["tag:" + t for t in tag_names], dtype=str))
    elif tags and _exists(path / "item-tag.dat"):
        item_tags = _lists_to_csr(_read_lists(path / "item-tag.dat"), None, "item-tag.dat")
        if _exists(path / "tags.dat"):
            with _open(path / "tags.dat") as f:
                tag_names = [t.strip() for t in f]
            item_tags.resize((item_tags.shape[0], max(item_tags.shape[1], len(tag_names))))
        else:
            tag_names = [str(t) for t in range(item_tags.shape[1])]
        blocks.append(item_tags)
        names.append(np.asarray(["tag:" + t for t in tag_names], dtype=str))
    item_features = sp.hstack(blocks, format="csr", dtype=np.float32)
    return Dataset(user_items=user_items, item_features=item_features,
                   feature_names=np.concatenate(names), name=path.name, path=path)


def bundled_data_dir() -> Path:
    """The repository's ``data/`` folder (or ``$COLDSTART_DATA``)."""
    env = os.environ.get("COLDSTART_DATA")
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (base / "data" / "citeulike-t").is_dir():
            return base / "data"
    raise FileNotFoundError("bundled data not found: run from the repository root (which holds data/), "
                            "or set COLDSTART_DATA to the folder holding citeulike-t/")


def load_dataset(name: str = "citeulike-t", data_dir: str | os.PathLike | None = None,
                 tags: bool = False) -> Dataset:
    """Load a CiteULike-format dataset ``name`` from ``data_dir`` (default: the bundled data)."""
    base = Path(data_dir) if data_dir is not None else bundled_data_dir()
    return load_citeulike(base / name, tags=tags)
