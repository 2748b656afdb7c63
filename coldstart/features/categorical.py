"""Categorical (one label per item) and multilabel (a set of labels per item) columns.

``categorical``
    One-hot (:class:`~sklearn.preprocessing.OneHotEncoder`, ``handle_unknown="ignore"``).
    Values are compared as stripped strings (``3``, ``3.0`` and ``"3"`` are the same
    category, :func:`format_scalar`); missing/empty values and unseen categories give an
    all-zero row; categories seen fewer than ``min_count`` times at fit count as unseen.
    Features: ``col=value``.
``multilabel``
    Binary indicators of a set of labels, rows normalised (``multilabel_norm``, default L2) so
    items with many labels do not dominate.  A cell may hold a list/tuple/set/ndarray of labels
    or a delimited string (``"Action|Comedy"``, delimiter from :func:`detect_delimiter`).
    Labels seen fewer than ``min_count`` times at fit are dropped.  Features: ``col=label``.

A column none of whose values reaches ``min_count`` raises :class:`TooRareError` at fit (the
featurizer then ignores it).  Delimited strings are parsed with one ``str.join``/``str.split``
over the whole column and list cells flattened with :meth:`pandas.Series.explode`, without a
Python list per row; labels are counted and looked up with :func:`pandas.factorize` and a
hashed :class:`pandas.Index`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api import types as pdt
from sklearn.preprocessing import OneHotEncoder, normalize

from coldstart.features.blocks import LISTLIKE, Block, TooRareError, present_rows, sample_values, str_array

__all__ = ["CategoricalBlock", "MultilabelBlock", "category_strings", "detect_delimiter",
           "format_scalar"]


def format_scalar(v: Any) -> str:
    """Canonical string for a label/category value (3, 3.0 and "3" agree)."""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v).strip()


def _strip_all(toks: Sequence[str]) -> np.ndarray:
    """``str.strip`` every element (all ``str``) -> object array."""
    return np.array(list(map(str.strip, toks)), dtype=object)


def category_strings(s: pd.Series) -> np.ndarray:
    """Column -> object array of canonical (stripped) strings, ``""`` for missing."""
    n = len(s)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(object)
        dtype = s.dtype
    if pdt.is_bool_dtype(dtype):
        arr = s.to_numpy(dtype=object, na_value=None)
        return np.array(["" if v is None else str(bool(v)) for v in arr], dtype=object)
    if pdt.is_numeric_dtype(dtype):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.full(n, "", dtype=object)
        ok = np.isfinite(x)
        xv = x[ok]
        integral = (xv == np.round(xv)) & (np.abs(xv) < 2**53)
        strs = np.empty(xv.size, dtype=object)
        strs[integral] = xv[integral].astype(np.int64).astype(str).astype(object)
        strs[~integral] = xv[~integral].astype(str).astype(object)
        out[ok] = strs
        return out
    arr = s.to_numpy(dtype=object)
    na = np.asarray(pd.isna(arr), dtype=bool)
    vals = arr[~na]
    out = np.full(n, "", dtype=object)
    if pd.api.types.infer_dtype(vals, skipna=False) == "string":
        out[~na] = _strip_all(vals)
    elif vals.size:
        out[~na] = np.array(list(map(format_scalar, vals)), dtype=object)
    return out


class CategoricalBlock(Block):
    """One column -> (n_items, n_categories) one-hot; unseen or missing values give a zero row."""

    kind = "categorical"

    def fit_transform(self, X, cfg, strings: np.ndarray | None = None):
        """``strings``: :func:`category_strings` of the column when inference already built them."""
        if strings is None:
            strings = category_strings(X[self.columns[0]])
        counts = pd.Series(strings[strings != ""], dtype=object).value_counts()
        cats = sorted(counts.index[counts.to_numpy() >= cfg["min_count"]])
        if not cats:
            raise TooRareError(f"no value seen min_count={cfg['min_count']} times")
        self._build(cats)
        return self._encode(strings)

    def _build(self, cats: list[str]) -> None:
        cats_arr = np.array(cats, dtype=object)
        self.encoder = OneHotEncoder(
            categories=[cats_arr], handle_unknown="ignore", dtype=np.float32, sparse_output=True
        ).fit(cats_arr[:, None])
        self.n_features = len(cats)

    def transform(self, X):
        return self._encode(category_strings(X[self.columns[0]]))

    def _encode(self, strings: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Found unknown categories")
            Z = sp.csr_matrix(self.encoder.transform(strings[:, None]), dtype=np.float32)
        return Z, present_rows(Z)

    def feature_names(self):
        return [f"{self.name}={c}" for c in self.encoder.categories_[0]]

    def get_state(self):
        return self.state_meta(), {"categories": str_array(self.encoder.categories_[0].tolist())}

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]))
        b._build([str(c) for c in arrays["categories"].tolist()])
        return b


def _split_pieces(values: Sequence[str], delimiter: str) -> list[str]:
    """All stripped non-empty pieces of ``values`` split on ``delimiter``."""
    return [t for t in (p.strip() for p in delimiter.join(values).split(delimiter)) if t]


def detect_delimiter(
    values: np.ndarray, candidates: Sequence[str], forced: bool = False
) -> str | None:
    """Pick the label delimiter of a string column (rule 3c of :mod:`coldstart.features.inference`).

    Parameters
    ----------
    values : ndarray of str, shape (n,)
        Non-missing values (a sample is fine).
    candidates : sequence of str
        Delimiters to try, in order of preference on ties.
    forced : bool
        The column is known to be multilabel: return the most frequent
        candidate without the label-likeness tests (``None`` if none occurs).
    """
    values = [v for v in values if isinstance(v, str)]
    if not values:
        return None
    n = len(values)
    val_reuse = n / len(set(values))
    best, best_frac = None, 0.0
    for d in candidates:
        frac = sum(d in v for v in values) / n
        if frac <= best_frac or frac == 0.0:
            continue
        if not forced:
            pieces = _split_pieces(values, d)
            if frac < 0.05 or not pieces:
                continue
            words = sum(len(p.split()) for p in pieces) / len(pieces)
            tok_reuse = len(pieces) / len(set(pieces))
            if words > 3.0 or tok_reuse < 1.25 * val_reuse:
                continue
        best, best_frac = d, frac
    return best


def _explode_labels(arr: np.ndarray, delimiter: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a multilabel column into (row, label) pairs.

    Parameters
    ----------
    arr : ndarray of object, shape (n,)
        Cells: list-likes of labels, delimited strings, scalars or missing.
    delimiter : str or None
        Delimiter for string cells (``None``: the whole string is one label).

    Returns
    -------
    rows : ndarray of int64, shape (m,)
    labels : ndarray of object (str), shape (m,)
        Stripped, non-empty labels, in no particular order.
    """
    n = arr.size
    na = np.asarray(pd.isna(arr), dtype=bool)
    types = set(map(type, arr[~na]))
    if types <= {str}:  # fast paths: homogeneous columns
        is_str, is_list = ~na, np.zeros(n, dtype=bool)
    elif types <= {list, tuple, np.ndarray}:
        is_str, is_list = np.zeros(n, dtype=bool), ~na
    else:
        is_str = np.fromiter(map(isinstance, arr, repeat(str)), bool, n)
        is_list = np.fromiter(map(isinstance, arr, repeat(LISTLIKE)), bool, n)
    rows_parts: list[np.ndarray] = []
    tok_parts: list[np.ndarray] = []

    if is_str.any():
        idx = np.flatnonzero(is_str)
        sv = arr[idx] if idx.size < n else arr
        if delimiter is None:
            toks = _strip_all(sv)
            rows = idx
        else:
            # one join + one split over the whole column; no per-row lists
            counts = np.fromiter(map(str.count, sv, repeat(delimiter)), np.int64, sv.size)
            toks = _strip_all(delimiter.join(sv).split(delimiter))
            rows = np.repeat(idx, counts + 1)
        rows_parts.append(rows)
        tok_parts.append(toks)

    if is_list.any():
        idx = np.flatnonzero(is_list)
        ex = pd.Series(arr[idx], index=idx, dtype=object).explode()  # vectorised
        ex = ex[ex.notna()]
        toks = ex.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(toks, skipna=False) == "string":
            toks = _strip_all(toks)
        else:
            toks = np.array(list(map(format_scalar, toks)), dtype=object)
        rows_parts.append(ex.index.to_numpy(dtype=np.int64))
        tok_parts.append(toks)

    other = ~(is_str | is_list | na)
    if other.any():
        idx = np.flatnonzero(other)
        rows_parts.append(idx)
        tok_parts.append(np.array(list(map(format_scalar, arr[idx])), dtype=object))

    if not rows_parts:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object)
    rows = np.concatenate(rows_parts).astype(np.int64, copy=False)
    toks = np.concatenate(tok_parts) if len(tok_parts) > 1 else tok_parts[0]
    keep = toks != ""
    return rows[keep], toks[keep]


class MultilabelBlock(Block):
    """One column of label sets -> (n_items, n_labels) normalised indicators.

    ``delimiter`` splits string cells (``None``: a string is one label); with ``detect`` the
    fit picks it among ``cfg["delimiters"]`` (:func:`detect_delimiter`, ``forced``).
    """

    kind = "multilabel"

    def __init__(self, name: str, columns: list[str], delimiter: str | None = None,
                 detect: bool = True) -> None:
        super().__init__(name, columns)
        self.delimiter = delimiter
        self._detect = detect
        self.norm: str | None = "l2"

    def fit_transform(self, X, cfg):
        self.norm = cfg["multilabel_norm"]
        arr = X[self.columns[0]].to_numpy(dtype=object)
        if self._detect:
            strs = arr[np.fromiter((isinstance(v, str) for v in arr), bool, arr.size)]
            self.delimiter = detect_delimiter(sample_values(strs), cfg["delimiters"], forced=True)
        rows, toks = _explode_labels(arr, self.delimiter)
        # one hashing pass: factorize, count, keep frequent labels, sort, remap codes
        codes, uniques = pd.factorize(toks)
        counts = np.bincount(codes, minlength=len(uniques))
        kept = np.flatnonzero(counts >= cfg["min_count"])
        if kept.size == 0:
            raise TooRareError(f"no label seen min_count={cfg['min_count']} times")
        labels = np.asarray(uniques, dtype=object)[kept]
        order = np.argsort(labels)
        remap = np.full(len(uniques), -1, dtype=np.intp)
        remap[kept[order]] = np.arange(kept.size)
        self._build(labels[order].tolist())
        return self._encode_codes(arr.size, rows, remap[codes])

    def _build(self, labels: list[str]) -> None:
        self.labels = pd.Index(np.array(labels, dtype=object), dtype=object)
        self.n_features = len(labels)

    def transform(self, X):
        arr = X[self.columns[0]].to_numpy(dtype=object)
        rows, toks = _explode_labels(arr, self.delimiter)
        return self._encode(arr.size, rows, toks)

    def _encode(self, n: int, rows: np.ndarray, toks: np.ndarray):
        codes = self.labels.get_indexer(toks) if toks.size else np.zeros(0, np.intp)
        return self._encode_codes(n, rows, codes)

    def _encode_codes(self, n: int, rows: np.ndarray, codes: np.ndarray):
        ok = codes >= 0
        Z = sp.csr_matrix(
            (np.ones(int(ok.sum()), np.float32), (rows[ok], codes[ok])),
            shape=(n, self.n_features),
        )  # COO -> CSR sums duplicate labels ...
        Z.data[:] = 1.0  # ... which we binarise
        if self.norm is not None:
            Z = normalize(Z, norm=self.norm, copy=False)
        return Z, present_rows(Z)

    def feature_names(self):
        return [f"{self.name}={t}" for t in self.labels]

    def get_state(self):
        return self.state_meta(delimiter=self.delimiter, norm=self.norm), {
            "labels": str_array(self.labels.tolist())
        }

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]), meta["delimiter"], detect=False)
        b.norm = meta["norm"]
        b._build([str(t) for t in arrays["labels"].tolist()])
        return b
