"""The CiteULike format (citeulike-a / citeulike-t) and the bundled dataset.

``users.dat`` (line u: ``n item item ...``), ``mult.dat`` (line i: ``M word:count ...``, LDA-C
bag of words), ``vocabulary.dat`` (one word per line), and for tags either ``tag-item.dat``
(line t: ``n item ...``, items per tag) with ``tags.dat`` (tag names), or ``item-tag.dat``
(line i: ``n tag ...``). Every file may also be gzip-compressed (``users.dat.gz``), which is
how ``data/`` bundles them. Ids are the 0-based line numbers themselves.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from coldstart.evaluation.datasets.dataset import Dataset


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
    """Lines ``n id id ...`` -> a 0/1 CSR matrix (one row per line); every error names the
    file and the line."""
    lens, cols = [], []
    for i, parts in enumerate(lists):
        if not parts:
            lens.append(0)
            continue
        n = _int_field(parts[0], name, i, "count")
        if n != len(parts) - 1:
            raise ValueError(f"{name} line {i + 1}: count {n} does not match its {len(parts) - 1} entries "
                             "(truncated or corrupted file?)")
        ids = [_int_field(p, name, i, "id") for p in parts[1:]]
        if n_cols is not None:
            bad = [v for v in ids if v >= n_cols]
            if bad:
                raise ValueError(f"{name} line {i + 1}: id {bad[0]} is outside [0, {n_cols})")
        lens.append(n)
        cols.extend(ids)
    col = np.asarray(cols, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    width = int(col.max()) + 1 if n_cols is None and col.size else (n_cols or 0)
    m = sp.csr_matrix((np.ones(col.size, dtype=np.float32), col, indptr), shape=(len(lens), width))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _int_field(text: str, name: str, i: int, what: str) -> int:
    """A non-negative integer field of line ``i`` of file ``name``, else a ValueError naming both."""
    try:
        v = int(text)
    except ValueError:
        raise ValueError(f"{name} line {i + 1}: {what} {text!r} is not an integer") from None
    if v < 0:
        raise ValueError(f"{name} line {i + 1}: {what} {v} is negative; expected a non-negative integer")
    return v



def read_mult(path: Path, n_words: int) -> sp.csr_matrix:
    """LDA-C bag of words (``M word:count ...`` per line) -> counts of shape (n_docs, n_words).

    Counts must be finite and non-negative, word ids in [0, n_words); every error names the
    file and the line.
    """
    lens, cols, vals = [], [], []
    name = path.name
    with _open(path) as f:
        for i, line in enumerate(f):
            parts = line.split()
            if not parts:
                lens.append(0)
                continue
            n = _int_field(parts[0], name, i, "count")
            if n != len(parts) - 1:
                raise ValueError(f"{name} line {i + 1}: count {n} does not match {len(parts) - 1} entries")
            lens.append(n)
            for p in parts[1:]:
                w, sep, c = p.partition(":")
                if not sep:
                    raise ValueError(f"{name} line {i + 1}: entry {p!r} is not word:count")
                word = _int_field(w, name, i, "word id")
                if word >= n_words:
                    raise ValueError(f"{name} line {i + 1}: word id {word} is outside the vocabulary "
                                     f"[0, {n_words})")
                try:
                    count = float(c)
                except ValueError:
                    raise ValueError(f"{name} line {i + 1}: count {c!r} of word {word} is not a number") from None
                if not np.isfinite(count):
                    raise ValueError(f"{name} line {i + 1}: count {c!r} of word {word} is not finite; "
                                     "expected a finite non-negative count")
                if count < 0:
                    raise ValueError(f"{name} line {i + 1}: count {count:g} of word {word} is negative; "
                                     "expected a finite non-negative count")
                cols.append(word)
                vals.append(count)
    col = np.asarray(cols, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), col, indptr), shape=(len(lens), n_words))


def load_citeulike(path: str | os.PathLike, tags: bool = False) -> Dataset:
    """Read a dataset in the CiteULike format from the folder ``path``.

    Returns a :class:`Dataset` whose ``item_features`` are the word counts of ``mult.dat``
    followed, with ``tags=True``, by one indicator column per tag.

    Tags are off by default: CiteULike tags are assigned by the users who bookmark an article,
    the same users whose libraries are predicted, so a "new" article's tags already encode who
    saved it (a leak: ``benchmarks/ABLATION.md``). The protocol's reference figures use the
    words only; use tags knowingly.
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
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (base / "data" / "citeulike-t").is_dir():
            return base / "data"
    raise FileNotFoundError("bundled data not found: run from the repository root (which holds data/), "
                            "or set COLDSTART_DATA to the folder holding citeulike-t/")


def load_dataset(name: str = "citeulike-t", data_dir: str | os.PathLike | None = None,
                 tags: bool = False) -> Dataset:
    """Load a CiteULike-format dataset ``name`` from ``data_dir`` (default: the bundled data)."""
    base = Path(data_dir) if data_dir is not None else bundled_data_dir()
    return load_citeulike(base / name, tags=tags)


def is_citeulike_format(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder in the CiteULike format (it holds ``users.dat``)."""
    path = Path(path)
    return path.is_dir() and _exists(path / "users.dat")
