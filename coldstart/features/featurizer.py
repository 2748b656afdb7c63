"""Item feature engineering: pandas catalog -> sparse attribute matrix.

:class:`ItemFeaturizer` turns a :class:`pandas.DataFrame` of items (one row
per item) into a ``scipy.sparse.csr_matrix`` of dtype ``float32`` whose
columns are grouped in *blocks*, one block per input column (or per vector
group).  The matrix is what the cold-start mapper regresses onto the
collaborative factor space, so brand-new items only need attributes.

Block kinds
-----------
``numeric``
    ``log1p`` for skewed non-negative columns, median imputation
    (:class:`~sklearn.impute.SimpleImputer`, with a ``<col>_missing``
    indicator column when the column had missing values at fit time), then
    :class:`~sklearn.preprocessing.StandardScaler`.  Features: ``col`` and
    ``col_missing``.
``categorical``
    One-hot (:class:`~sklearn.preprocessing.OneHotEncoder` with
    ``handle_unknown="ignore"``).  Values are compared as stripped strings
    (``3``, ``3.0`` and ``"3"`` are the same category); missing/empty values
    and unseen categories give an all-zero block row; categories seen fewer
    than ``min_count`` (default 2) times at fit count as unseen.  Features:
    ``col=value``.
``multilabel``
    Binary indicators of a set of labels, rows L2-normalised
    (``multilabel_norm``).  A cell may hold a list/tuple/set/ndarray of labels
    or a delimited string (``"Action|Comedy"``).  Labels seen fewer than
    ``min_count`` times at fit are dropped.  Features: ``col=label``.
``text``
    :class:`~sklearn.feature_extraction.text.TfidfVectorizer` (``sublinear_tf=True``,
    ``norm="l2"``, overridable through ``text_params``).  Features:
    ``col__term``.
``vector``
    A column of equal-length numeric arrays/lists, or a group of numeric
    columns given as ``vector_groups={"emb": ["e0", "e1", ...]}``.  Each
    dimension is mean-centred (``StandardScaler(with_std=False)``) and kept
    otherwise unchanged; missing entries become 0 (= the mean).  Features:
    ``col__0 ...`` for a column, ``group__<column>`` for a group.
``ignore``
    Dropped.

Inference rules (columns without an explicit ``kinds`` entry)
-------------------------------------------------------------
Missing means ``NaN``/``None``/``NA``/``NaT`` and, for strings, ``""``.
A column with no non-missing value is ignored.  Columns auto-ignored for
any reason are reported in a single :class:`ColumnIgnoredWarning`.

1. pandas ``category`` dtype -> ``categorical``.
2. bool, numeric, datetime and timedelta dtypes (datetimes/timedeltas are
   converted to days) -> ``numeric``, except

   * a constant column without missing values -> ``ignore``;
   * an integer column whose values are all unique (>= 10 rows) and that
     either has an id-like name (``id``, ``*_id``, ``*Id``, ``index``,
     ``key``, ``uuid``...) or holds consecutive integers -> ``ignore``
     (id-like);
   * an integer column with an id-like name and at most
     ``categorical_max_unique`` distinct values -> ``categorical`` (codes).
3. object/string columns (decided on a deterministic sample of at most
   20,000 non-missing values; distinct counts use the full column):

   a. cells holding list-likes: equal-length numeric arrays -> ``vector``,
      anything else -> ``multilabel``;
   b. strings that are >= 95 % parseable as numbers -> ``numeric`` (as 2.);
   c. a delimiter among ``delimiters`` (default ``|``, ``;``, ``,``) is
      detected -> ``multilabel``.  A delimiter qualifies when it occurs in
      >= 5 % of the values, the pieces are short (<= 3 words on average) and
      pieces are re-used more than whole values
      (``tokens / distinct tokens >= 1.25 * values / distinct values``).
      Among qualifying delimiters the most frequent one wins.  Prose with
      commas fails the last two tests;
   d. single-token strings (< 5 % contain whitespace) that are >= 95 %
      unique (>= 10 values) -> ``ignore`` (id-like: SKUs, URLs, hashes);
   e. at most ``categorical_max_unique`` distinct values and on average each
      value repeated at least twice (distinct/non-missing <= 0.5)
      -> ``categorical``;
   f. on average >= ``text_min_words`` whitespace-separated words
      -> ``text``;
   g. otherwise (short, high-cardinality labels such as brands)
      -> ``categorical``.
4. anything else (bytes, complex, mixed objects...) -> ``ignore``.

Block balancing
---------------
Let ``Z_b`` be block ``b`` as encoded above and ``q_i = ||Z_b[i]||^2``.
With ``balance="present"`` (default) the block is multiplied by::

    s_b = w_b / sqrt(mean(q_i over fit rows with q_i > 0))

so that on the training catalog every block contributes on average a
squared norm of exactly ``w_b**2`` (``w_b = weights.get(b, 1.0)``) to the
rows where it is non-zero: a one-hot of 1 column, a 20k-term tf-idf block
and a 64-d embedding all matter equally by default.  ``balance="all"``
averages over all rows instead (sparsely filled blocks are then up-weighted
where present), ``balance="none"`` only applies ``w_b``.  The scales are
frozen at fit time (``block_scales_``) and re-used by ``transform``.

Serialisation
-------------
:meth:`ItemFeaturizer.to_dict` returns ``(meta, arrays)``: ``meta`` is
JSON-serialisable, ``arrays`` maps names to numeric or fixed-width unicode
(``np.str_``) arrays, so both fit in an ``.npz`` + JSON pair loadable with
``allow_pickle=False``.  :meth:`ItemFeaturizer.from_dict` rebuilds an
equivalent fitted featurizer without re-fitting.

Performance notes
-----------------
Everything stays sparse except inherently dense blocks (numeric columns and
vectors are ``n_items x n_dims``).  Delimited multilabel strings are parsed
with one ``str.join``/``str.split`` over the whole column (no per-row list
objects: building a million small lists, as :class:`MultiLabelBinarizer`
requires, triggers repeated full garbage collections and was ~3x slower),
list cells are flattened with :meth:`pandas.Series.explode`, and labels are
counted/looked up with :func:`pandas.factorize` / a hashed
:class:`pandas.Index`.  The text block is the dominant cost
(scikit-learn's tokenizer is a Python loop, roughly 100-200k short docs/s);
``n_jobs`` splits ``transform`` over row chunks in worker processes.

Empty items
-----------
Items without usable attributes are allowed.  Their categorical,
multilabel, text and vector blocks are all-zero, but numeric blocks still
hold the imputed value and indicator, so detect them with
:meth:`ItemFeaturizer.empty_rows` (or per block with
:meth:`ItemFeaturizer.block_presence`) rather than by zero rows.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api import types as pdt
from scipy.stats import skew as _skew
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler, normalize
from sklearn.utils.validation import check_is_fitted

__all__ = ["ItemFeaturizer", "ColumnIgnoredWarning", "KINDS"]

#: Valid block kinds.
KINDS: tuple[str, ...] = ("numeric", "categorical", "multilabel", "text", "vector", "ignore")
_BALANCE = ("present", "all", "none")
_FORMAT = "coldstart.ItemFeaturizer"
_VERSION = 1

_SAMPLE = 20_000  # values looked at by the (string) inference heuristics
_MIN_ROWS_ID = 10  # fewer non-missing values: never call a column id-like
_PARALLEL_MIN_ROWS = 100_000  # rows per worker before transform(n_jobs) splits
_LISTLIKE = (list, tuple, set, frozenset, np.ndarray, pd.Series)
_ID_NAMES = {"id", "index", "key", "uuid", "guid", "pk", "sku", "isbn", "url", "uri"}
_TFIDF_DEFAULTS: dict[str, Any] = {"sublinear_tf": True, "norm": "l2"}


class ColumnIgnoredWarning(UserWarning):
    """Columns were dropped by kind inference (id-like, constant, empty...)."""


class _TooRareError(ValueError):
    """No category/label of a column reaches ``min_count``: the column is ignored."""


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def _check_frame(X: Any, name: str = "X", fitting: bool = True) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with one row per item, got "
            f"{type(X).__module__}.{type(X).__qualname__}"
        )
    if not fitting:  # transform: only the fitted columns matter
        return X
    bad = [c for c in X.columns if not isinstance(c, str)]
    if bad:
        raise TypeError(f"{name} must have string column names; got {bad[:5]!r}")
    if X.columns.has_duplicates:
        dups = sorted(set(X.columns[X.columns.duplicated()]))
        raise ValueError(f"{name} has duplicated column names: {dups!r}")
    return X


def _id_like_name(name: str) -> bool:
    low = name.strip().lower()
    return (
        low in _ID_NAMES
        or low.endswith(("_id", "-id", " id", ".id", "_key", "_uuid"))
        or (len(name) > 2 and name.endswith(("Id", "ID")) and not name[:-2].isupper())
    )


def _not_blank(arr: np.ndarray) -> np.ndarray:
    """Mask of elements that are not empty/whitespace-only strings."""
    return np.fromiter((not (isinstance(v, str) and not v.strip()) for v in arr), bool, arr.size)


def _format_scalar(v: Any) -> str:
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


def _category_strings(s: pd.Series) -> np.ndarray:
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
        out[~na] = np.array(list(map(_format_scalar, vals)), dtype=object)
    return out


def _text_strings(s: pd.Series) -> np.ndarray:
    """Column -> object array of documents, ``""`` for missing."""
    arr = s.to_numpy(dtype=object)
    na = np.asarray(pd.isna(arr), dtype=bool)
    if pd.api.types.infer_dtype(arr, skipna=True) == "string":
        if na.any():
            arr = arr.copy()
            arr[na] = ""
        return arr
    out = np.empty(arr.size, dtype=object)
    for i, (v, m) in enumerate(zip(arr, na)):
        if isinstance(v, str):
            out[i] = v
        elif isinstance(v, _LISTLIKE):
            out[i] = " ".join(map(str, v))
        else:
            out[i] = "" if m else str(v)
    return out


#: Numbers beyond this magnitude are clipped on reading (their squares, summed over a column,
#: stay finite, so means and variances do too: 1e308 does not become a NaN column).
_MAX_ABS_INPUT = 1e150
#: Encoded values are clipped to this magnitude (float32 squares and row norms stay finite).
_MAX_ABS_OUTPUT = 1e9


def _to_float(s: pd.Series, source: str = "number") -> np.ndarray:
    """Column -> float64 array with NaN for missing/non-finite values; magnitudes above
    ``_MAX_ABS_INPUT`` are clipped to it.

    ``source`` is ``"number"``, ``"datetime"`` (-> days since 1970-01-01 UTC)
    or ``"timedelta"`` (-> days).
    """
    dtype = s.dtype
    if source == "datetime" or pdt.is_datetime64_any_dtype(dtype):
        if not pdt.is_datetime64_any_dtype(dtype):
            s = pd.to_datetime(s, errors="coerce", utc=True)
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        x = ((s - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    elif source == "timedelta" or pdt.is_timedelta64_dtype(dtype):
        if not pdt.is_timedelta64_dtype(dtype):
            s = pd.to_timedelta(s, errors="coerce")
        x = (s / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    elif pdt.is_bool_dtype(dtype) or pdt.is_numeric_dtype(dtype):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        if isinstance(dtype, pd.CategoricalDtype):
            s = s.astype(object)
        x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    x = np.array(x, dtype=np.float64, copy=True)
    x[~np.isfinite(x)] = np.nan
    np.clip(x, -_MAX_ABS_INPUT, _MAX_ABS_INPUT, out=x)
    return x


def _row_sq_norms(Z: sp.csr_matrix) -> np.ndarray:
    rows = np.repeat(np.arange(Z.shape[0]), np.diff(Z.indptr))
    return np.bincount(rows, weights=np.square(Z.data, dtype=np.float64), minlength=Z.shape[0])


def _dense_to_csr(D: np.ndarray) -> sp.csr_matrix:
    D = np.clip(D, -_MAX_ABS_OUTPUT, _MAX_ABS_OUTPUT)
    Z = sp.csr_matrix(np.ascontiguousarray(D, dtype=np.float32))
    Z.eliminate_zeros()
    return Z


def _sample(values: np.ndarray) -> np.ndarray:
    if values.size <= _SAMPLE:
        return values
    idx = np.sort(np.random.default_rng(0).choice(values.size, _SAMPLE, replace=False))
    return values[idx]


def _split_pieces(values: Sequence[str], delimiter: str) -> list[str]:
    """All stripped non-empty pieces of ``values`` split on ``delimiter``."""
    return [t for t in (p.strip() for p in delimiter.join(values).split(delimiter)) if t]


def _detect_delimiter(
    values: np.ndarray, candidates: Sequence[str], forced: bool = False
) -> str | None:
    """Pick the label delimiter of a string column (see module docstring, 3c).

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


def _strip_all(toks: Sequence[str]) -> np.ndarray:
    """``str.strip`` every element (all ``str``) -> object array."""
    return np.array(list(map(str.strip, toks)), dtype=object)


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
        is_list = np.fromiter(map(isinstance, arr, repeat(_LISTLIKE)), bool, n)
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
            toks = np.array(list(map(_format_scalar, toks)), dtype=object)
        rows_parts.append(ex.index.to_numpy(dtype=np.int64))
        tok_parts.append(toks)

    other = ~(is_str | is_list | na)
    if other.any():
        idx = np.flatnonzero(other)
        rows_parts.append(idx)
        tok_parts.append(np.array(list(map(_format_scalar, arr[idx])), dtype=object))

    if not rows_parts:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object)
    rows = np.concatenate(rows_parts).astype(np.int64, copy=False)
    toks = np.concatenate(tok_parts) if len(tok_parts) > 1 else tok_parts[0]
    keep = toks != ""
    return rows[keep], toks[keep]


def _str_array(values: Sequence[str]) -> np.ndarray:
    """Fixed-width unicode array (never object) for serialisation."""
    arr = np.array(list(values), dtype=np.str_)
    return arr if arr.size else np.zeros(0, dtype="<U1")


def _jsonable(obj: Any, what: str) -> Any:
    """Return a JSON-compatible copy of ``obj`` or raise ValueError."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        if isinstance(obj, float) and not np.isfinite(obj):
            raise ValueError(f"{what} is not JSON-serialisable: {obj!r}")
        return obj
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), what)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{what}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj) if isinstance(obj, (set, frozenset)) else obj
        return [_jsonable(v, what) for v in items]
    raise ValueError(
        f"{what} is not JSON-serialisable ({type(obj).__name__}); to_dict() needs "
        "plain strings/numbers/lists (no callables)"
    )


# ---------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------


class _Block:
    """One output block; ``fit_transform``/``transform`` return (csr, present)."""

    kind = ""

    def __init__(self, name: str, columns: list[str]) -> None:
        self.name = name
        self.columns = columns
        self.n_features = 0

    # subclasses implement
    def fit_transform(self, X: pd.DataFrame, cfg: dict) -> tuple[sp.csr_matrix, np.ndarray]:
        raise NotImplementedError

    def transform(self, X: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
        raise NotImplementedError

    def feature_names(self) -> list[str]:
        raise NotImplementedError

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        raise NotImplementedError

    def _meta(self, **extra: Any) -> dict:
        return {"name": self.name, "kind": self.kind, "columns": list(self.columns),
                "n_features": int(self.n_features), **extra}


class _NumericBlock(_Block):
    kind = "numeric"

    def __init__(self, name: str, columns: list[str], source: str = "number") -> None:
        super().__init__(name, columns)
        self.source = source
        self.log = False
        self.has_indicator = False

    def _prepare(self, X: pd.DataFrame) -> np.ndarray:
        x = _to_float(X[self.columns[0]], self.source)
        if self.log:
            x = np.log1p(np.clip(x, 0.0, None))
        return x

    def fit_transform(self, X, cfg):
        x = _to_float(X[self.columns[0]], self.source)
        obs = x[~np.isnan(x)]
        if obs.size == 0:
            raise ValueError(f"numeric column {self.columns[0]!r} has no finite value")
        thr = cfg["skew_threshold"]
        if thr is not None and obs.size > 2 and obs.min() >= 0 and np.ptp(obs) > 0:
            self.log = bool(_skew(obs) > thr)
        self.has_indicator = bool(obs.size < x.size)
        x = self._prepare(X)
        self.imputer = SimpleImputer(strategy="median", add_indicator=self.has_indicator)
        self.imputer.fit(x[:, None])
        self.scaler = StandardScaler().fit(self.imputer.transform(x[:, None])[:, :1])
        self.n_features = 1 + int(self.has_indicator)
        return self._encode(x)

    def transform(self, X):
        return self._encode(self._prepare(X))

    def _encode(self, x: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        present = ~np.isnan(x)
        imp = self.imputer.transform(x[:, None])
        D = np.empty((x.size, self.n_features), dtype=np.float32)
        D[:, 0] = np.clip(self.scaler.transform(imp[:, :1])[:, 0], -_MAX_ABS_OUTPUT, _MAX_ABS_OUTPUT)
        if self.has_indicator:
            D[:, 1] = imp[:, 1]
        return _dense_to_csr(D), present

    def feature_names(self):
        col = self.name
        return [col] + ([f"{col}_missing"] if self.has_indicator else [])

    def state(self):
        stats = np.array(
            [self.imputer.statistics_[0], self.scaler.mean_[0], self.scaler.scale_[0]],
            dtype=np.float64,
        )
        return self._meta(source=self.source, log=self.log,
                          has_indicator=self.has_indicator), {"stats": stats}

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]), meta["source"])
        b.log, b.has_indicator = bool(meta["log"]), bool(meta["has_indicator"])
        median, mean, scale = (float(v) for v in arrays["stats"])
        fit_x = np.array([[median], [np.nan]] if b.has_indicator else [[median]])
        b.imputer = SimpleImputer(strategy="median", add_indicator=b.has_indicator).fit(fit_x)
        b.scaler = StandardScaler()
        b.scaler.mean_ = np.array([mean])
        b.scaler.scale_ = np.array([scale])
        b.scaler.var_ = np.array([scale**2])
        b.scaler.n_features_in_ = 1
        b.scaler.n_samples_seen_ = np.int64(1)
        b.n_features = int(meta["n_features"])
        return b


class _CategoricalBlock(_Block):
    kind = "categorical"

    def fit_transform(self, X, cfg, strings: np.ndarray | None = None):
        if strings is None:
            strings = _category_strings(X[self.columns[0]])
        counts = pd.Series(strings[strings != ""], dtype=object).value_counts()
        cats = sorted(counts.index[counts.to_numpy() >= cfg["min_count"]])
        if not cats:
            raise _TooRareError(f"no value seen min_count={cfg['min_count']} times")
        self._build(cats)
        return self._encode(strings)

    def _build(self, cats: list[str]) -> None:
        cats_arr = np.array(cats, dtype=object)
        self.encoder = OneHotEncoder(
            categories=[cats_arr], handle_unknown="ignore", dtype=np.float32, sparse_output=True
        ).fit(cats_arr[:, None])
        self.n_features = len(cats)

    def transform(self, X):
        return self._encode(_category_strings(X[self.columns[0]]))

    def _encode(self, strings: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Found unknown categories")
            Z = sp.csr_matrix(self.encoder.transform(strings[:, None]), dtype=np.float32)
        return Z, np.diff(Z.indptr) > 0

    def feature_names(self):
        return [f"{self.name}={c}" for c in self.encoder.categories_[0]]

    def state(self):
        return self._meta(), {"categories": _str_array(self.encoder.categories_[0].tolist())}

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]))
        b._build([str(c) for c in arrays["categories"].tolist()])
        return b


class _MultilabelBlock(_Block):
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
            self.delimiter = _detect_delimiter(_sample(strs), cfg["delimiters"], forced=True)
        rows, toks = _explode_labels(arr, self.delimiter)
        # one hashing pass: factorize, count, keep frequent labels, sort, remap codes
        codes, uniques = pd.factorize(toks)
        counts = np.bincount(codes, minlength=len(uniques))
        kept = np.flatnonzero(counts >= cfg["min_count"])
        if kept.size == 0:
            raise _TooRareError(f"no label seen min_count={cfg['min_count']} times")
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
        return Z, np.diff(Z.indptr) > 0

    def feature_names(self):
        return [f"{self.name}={t}" for t in self.labels]

    def state(self):
        return self._meta(delimiter=self.delimiter, norm=self.norm), {
            "labels": _str_array(self.labels.tolist())
        }

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]), meta["delimiter"], detect=False)
        b.norm = meta["norm"]
        b._build([str(t) for t in arrays["labels"].tolist()])
        return b


class _TextBlock(_Block):
    kind = "text"

    def fit_transform(self, X, cfg):
        self.params = {**_TFIDF_DEFAULTS, **(cfg["text_params"] or {})}
        self.vectorizer = TfidfVectorizer(**self.params, dtype=np.float32)
        try:
            Z = self.vectorizer.fit_transform(_text_strings(X[self.columns[0]]))
        except ValueError as exc:  # empty vocabulary, bad min_df...
            raise ValueError(f"text column {self.columns[0]!r}: {exc}") from exc
        self.n_features = len(self.vectorizer.vocabulary_)
        Z = sp.csr_matrix(Z, dtype=np.float32)
        return Z, np.diff(Z.indptr) > 0

    def transform(self, X):
        Z = sp.csr_matrix(self.vectorizer.transform(_text_strings(X[self.columns[0]])),
                          dtype=np.float32)
        return Z, np.diff(Z.indptr) > 0

    def feature_names(self):
        return [f"{self.name}__{t}" for t in self.vectorizer.get_feature_names_out()]

    def state(self):
        params = _jsonable(self.params, f"text_params of column {self.name!r}")
        vocab = self.vectorizer.get_feature_names_out().tolist()
        arrays = {"vocabulary": _str_array(vocab)}
        if self.vectorizer.use_idf:
            arrays["idf"] = np.asarray(self.vectorizer.idf_, dtype=np.float64)
        return self._meta(tfidf_params=params), arrays

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]))
        params = dict(meta["tfidf_params"])
        if "ngram_range" in params:
            params["ngram_range"] = tuple(params["ngram_range"])
        b.params = params
        vec = TfidfVectorizer(**params, dtype=np.float32)
        vec.vocabulary_ = {w: i for i, w in enumerate(arrays["vocabulary"].tolist())}
        vec.fixed_vocabulary_ = False
        if "idf" in arrays:
            vec.idf_ = np.asarray(arrays["idf"], dtype=np.float64)
        else:  # use_idf=False: nothing learnt; fit the inner transformer on a dummy row
            vec._tfidf = TfidfTransformer(norm=vec.norm, use_idf=False,
                                          smooth_idf=vec.smooth_idf,
                                          sublinear_tf=vec.sublinear_tf)
            vec._tfidf.fit(sp.csr_matrix((1, len(vec.vocabulary_)), dtype=np.float32))
        b.vectorizer = vec
        b.n_features = int(meta["n_features"])
        return b


class _VectorBlock(_Block):
    """A column of equal-length numeric arrays or a group of numeric columns."""

    kind = "vector"

    def __init__(self, name: str, columns: list[str], group: bool) -> None:
        super().__init__(name, columns)
        self.group = group
        self.dim = len(columns) if group else 0

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        if self.group:
            return np.column_stack([_to_float(X[c]) for c in self.columns]).reshape(
                len(X), len(self.columns)
            )
        col = self.columns[0]
        s = X[col]
        if pdt.is_numeric_dtype(s.dtype) or pdt.is_bool_dtype(s.dtype):
            return _to_float(s)[:, None]
        arr = s.to_numpy(dtype=object)
        is_vec = np.fromiter(
            (isinstance(v, _LISTLIKE) and len(v) > 0 for v in arr), bool, arr.size
        )
        if not self.dim:
            if not is_vec.any():
                raise ValueError(f"vector column {col!r} holds no non-empty array")
            self.dim = len(arr[np.argmax(is_vec)])
        M = np.full((arr.size, self.dim), np.nan)
        if is_vec.any():
            try:
                stacked = np.array([np.asarray(v, dtype=np.float64) for v in arr[is_vec]])
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"vector column {col!r} must hold numeric arrays of one length "
                    f"({self.dim}): {exc}"
                ) from exc
            if stacked.ndim != 2 or stacked.shape[1] != self.dim:
                raise ValueError(
                    f"vector column {col!r} must hold numeric arrays of length {self.dim}; "
                    f"got shape {stacked.shape[1:]}"
                )
            M[is_vec] = stacked
        M[~np.isfinite(M)] = np.nan
        return M

    def fit_transform(self, X, cfg):
        M = self._matrix(X)
        self.dim = M.shape[1]
        mean = np.zeros(self.dim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN dims
            col_mean = np.nanmean(M, axis=0) if M.size else mean
        self._build(np.where(np.isfinite(col_mean), col_mean, 0.0))
        return self._encode(M)

    def _build(self, mean: np.ndarray) -> None:
        self.scaler = StandardScaler(with_std=False)
        self.scaler.mean_ = np.asarray(mean, dtype=np.float64)
        self.scaler.scale_ = None
        self.scaler.var_ = None
        self.scaler.n_features_in_ = mean.size
        self.scaler.n_samples_seen_ = np.int64(1)
        self.n_features = self.dim = int(mean.size)

    def transform(self, X):
        return self._encode(self._matrix(X))

    def _encode(self, M: np.ndarray):
        present = ~np.all(np.isnan(M), axis=1)
        Z = np.nan_to_num(self.scaler.transform(M), nan=0.0)
        return _dense_to_csr(Z), present

    def feature_names(self):
        if self.group:
            return [f"{self.name}__{c}" for c in self.columns]
        return [f"{self.name}__{i}" for i in range(self.dim)]

    def state(self):
        return self._meta(group=self.group), {"mean": np.asarray(self.scaler.mean_, np.float64)}

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]), bool(meta["group"]))
        b.dim = int(meta["n_features"])
        b._build(np.asarray(arrays["mean"], dtype=np.float64))
        return b


_BLOCK_CLASSES: dict[str, type[_Block]] = {
    c.kind: c for c in (_NumericBlock, _CategoricalBlock, _MultilabelBlock, _TextBlock, _VectorBlock)
}


# ---------------------------------------------------------------------------
# inference
# ---------------------------------------------------------------------------


def _infer_numeric(name: str, x: np.ndarray, integer_dtype: bool, boolean: bool,
                   cfg: dict, ids: bool = True) -> tuple[str, str]:
    obs = x[~np.isnan(x)]
    if obs.size == 0:
        return "ignore", "all values missing"
    uniq = np.unique(obs)
    if uniq.size == 1 and obs.size == x.size:
        return "ignore", "constant"
    if boolean:
        return "numeric", "boolean"
    if not ids:  # datetimes/timedeltas: never id-like or codes
        return "numeric", "dates/durations (days)"
    integral = integer_dtype or bool(np.all(uniq == np.round(uniq)))
    if integral:
        idname = _id_like_name(name)
        all_unique = uniq.size == x.size and x.size >= _MIN_ROWS_ID
        consecutive = uniq[-1] - uniq[0] == x.size - 1
        if all_unique and (idname or consecutive):
            return "ignore", "id-like (unique integers)"
        if idname and uniq.size <= cfg["categorical_max_unique"]:
            return "categorical", "integer codes with an id-like name"
    return "numeric", "numbers"


def _infer_kind(name: str, s: pd.Series, cfg: dict) -> tuple[str, str, dict]:
    """Infer the kind of one column.

    Returns
    -------
    kind : str
    reason : str
        Human readable explanation (used in warnings and :meth:`describe`).
    info : dict
        Hints for the block (``source`` for numeric, ``delimiter`` for
        multilabel, cached ``strings`` for categorical).
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if s.notna().any():
            return "categorical", "pandas category dtype", {}
        return "ignore", "all values missing", {}
    if pdt.is_datetime64_any_dtype(dtype) or pdt.is_timedelta64_dtype(dtype):
        source = "datetime" if pdt.is_datetime64_any_dtype(dtype) else "timedelta"
        kind, why = _infer_numeric(name, _to_float(s), False, False, cfg, ids=False)
        return kind, why, {"source": source}
    if pdt.is_bool_dtype(dtype) or pdt.is_numeric_dtype(dtype):
        if pdt.is_complex_dtype(dtype):
            return "ignore", f"unsupported dtype {dtype}", {}
        kind, why = _infer_numeric(name, _to_float(s), pdt.is_integer_dtype(dtype),
                                   pdt.is_bool_dtype(dtype), cfg)
        return kind, why, {"source": "number"}

    arr = s.to_numpy(dtype=object)
    nonnull = arr[~np.asarray(pd.isna(arr), dtype=bool)]
    sample = _sample(nonnull)
    sample = sample[_not_blank(sample)]
    if sample.size == 0:  # only blank strings in the sample: look at every value
        sample = _sample(nonnull[_not_blank(nonnull)])
        if sample.size == 0:
            return "ignore", "all values missing", {}

    # (a) list-likes
    is_list = np.fromiter((isinstance(v, _LISTLIKE) for v in sample), bool, sample.size)
    if is_list.any():
        lists = [v for v in sample[is_list] if len(v) > 0]
        numeric = bool(lists) and is_list.all() and all(
            (isinstance(v, np.ndarray) and v.dtype.kind in "fiu")
            or all(isinstance(e, (int, float, np.integer, np.floating))
                   and not isinstance(e, (bool, np.bool_)) for e in list(v)[:64])
            for v in lists[:200]
        )
        if numeric:
            lens = {len(v) for v in nonnull if isinstance(v, _LISTLIKE) and len(v) > 0}
            if len(lens) == 1:
                return "vector", "equal-length numeric arrays", {}
        strs = sample[~is_list]
        delim = _detect_delimiter(strs, cfg["delimiters"], forced=True) if strs.size else None
        return "multilabel", "list-like cells", {"delimiter": delim}

    inferred = pd.api.types.infer_dtype(sample, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal", "boolean"):
        x = _to_float(s)
        return (*_infer_numeric(name, x, inferred == "integer", inferred == "boolean", cfg),
                {"source": "number"})
    if inferred in ("datetime", "datetime64", "date"):
        kind, why = _infer_numeric(name, _to_float(s, "datetime"), False, False, cfg, ids=False)
        return kind, why, {"source": "datetime"}
    if inferred not in ("string", "mixed", "mixed-integer", "unicode"):
        return "ignore", f"unsupported values ({inferred})", {}

    # (b) numbers stored as strings
    strs_sample = np.array([_format_scalar(v) for v in sample], dtype=object)
    if inferred == "string":
        parsed = pd.to_numeric(pd.Series(strs_sample, dtype=object), errors="coerce")
        if parsed.notna().mean() >= 0.95:
            kind, why = _infer_numeric(name, _to_float(s), False, False, cfg)
            return kind, f"{why} stored as strings", {"source": "number"}

    # (c) delimited labels
    delim = _detect_delimiter(strs_sample, cfg["delimiters"])
    if delim is not None:
        return "multilabel", f"strings delimited by {delim!r}", {"delimiter": delim}

    strings = _category_strings(s)
    nonempty = strings[strings != ""]
    n_unique = len(pd.unique(nonempty))
    ratio = n_unique / nonempty.size
    words = np.fromiter((len(v.split()) for v in strs_sample), np.int64, strs_sample.size)
    single = (words > 1).mean() < 0.05
    # (d) id-like strings
    if single and ratio >= 0.95 and nonempty.size >= _MIN_ROWS_ID:
        return "ignore", "id-like (unique single-token strings)", {}
    # (e) low-cardinality
    if n_unique <= cfg["categorical_max_unique"] and ratio <= 0.5:
        return "categorical", f"{n_unique} distinct values", {"strings": strings}
    # (f) prose
    if words.mean() >= cfg["text_min_words"]:
        return "text", f"{words.mean():.1f} words per value", {}
    # (g) short high-cardinality labels
    return "categorical", f"short labels, {n_unique} distinct values", {"strings": strings}


# ---------------------------------------------------------------------------
# the transformer
# ---------------------------------------------------------------------------


class ItemFeaturizer(TransformerMixin, BaseEstimator):
    """Turn a DataFrame of item attributes into a balanced sparse feature matrix.

    See the module docstring for the kinds, inference rules and balancing.

    Parameters
    ----------
    kinds : dict of str -> str, optional
        Explicit kind per column (``"numeric"``, ``"categorical"``,
        ``"multilabel"``, ``"text"``, ``"vector"``, ``"ignore"``); other
        columns are inferred.
    weights : dict of str -> float, optional
        Non-negative weight per block (column name or vector-group name);
        default 1.
    vector_groups : dict of str -> list of str, optional
        Numeric columns to treat jointly as one ``vector`` block named by the
        key (features ``<key>__<column>``).
    balance : {"present", "all", "none"}, default "present"
        Block balancing rule (module docstring).
    text_params : dict, optional
        Extra :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
        arguments for every text column, e.g. ``{"min_df": 2,
        "max_features": 50000, "ngram_range": (1, 2), "stop_words":
        "english"}``.  Defaults: ``sublinear_tf=True, norm="l2"``; output is
        always float32.  Must be JSON-serialisable for :meth:`to_dict`.
    min_count : int, default 2
        Categories and labels seen fewer times at fit are dropped (treated as
        unseen).  The default drops values carried by a single item: they
        cannot generalise to any other item, and a learned map only uses them
        to memorise that item (on citeulike-t, dropping the 31k single-item
        tags of 53k raises cold-start recall; see
        ``benchmarks/featurizer_quality.py``).  A categorical or multilabel
        column none of whose values reaches ``min_count`` is ignored (listed in
        the :class:`ColumnIgnoredWarning`).
    multilabel_norm : {"l2", "l1", None}, default "l2"
        Row normalisation of multilabel blocks, so items with many labels do
        not dominate.
    delimiters : sequence of str, default ("|", ";", ",")
        Candidate label delimiters for string cells.
    categorical_max_unique : int, default 1000
        Inference: max distinct values for a low-cardinality categorical
        (rule 3e) or an integer code column (rule 2).
    text_min_words : float, default 2.5
        Inference: mean words per value from which strings are text (3f).
    skew_threshold : float or None, default 1.0
        Non-negative numeric columns whose skewness (of the observed fit
        values) exceeds this are
        ``log1p``-transformed (negative values at transform are clipped to
        0 first).  ``None`` disables.
    n_jobs : int or None, default None
        Worker processes for :meth:`transform` (joblib; ``-1`` = all cores).
        Inputs of at least 100,000 rows per worker are split into row chunks;
        output is identical to the serial path.  ``fit`` is serial.

    Attributes
    ----------
    kinds_ : dict of str -> str
        Kind of every input column (inferred or given; group members are
        ``"vector"``).
    kind_reasons_ : dict of str -> str
        Why each column got its kind.
    block_names_ : list of str
        Output blocks, in column order.
    block_kinds_ : list of str
    block_slices_ : dict of str -> slice
        Column range of each block in the output.
    block_scales_ : ndarray of shape (n_blocks,)
        Multiplier applied to each encoded block (weight x balancing).
    block_coverage_ : ndarray of shape (n_blocks,)
        Fraction of fit rows where the block carries information.
    block_mean_sq_norm_ : ndarray of shape (n_blocks,)
        Mean squared row norm of the *unscaled* block over non-zero fit rows.
    n_features_out_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
    n_features_in_ : int

    Examples
    --------
    >>> feat = ItemFeaturizer(kinds={"title": "text"}, weights={"title": 2.0})
    >>> X = feat.fit_transform(items)            # csr_matrix (n_items, n_features)
    >>> X_new = feat.transform(new_items)        # same width, never fails on unseen values
    >>> meta, arrays = feat.to_dict()
    >>> same = ItemFeaturizer.from_dict(meta, arrays)
    """

    def __init__(
        self,
        kinds: dict[str, str] | None = None,
        weights: dict[str, float] | None = None,
        vector_groups: dict[str, list[str]] | None = None,
        balance: str = "present",
        text_params: dict[str, Any] | None = None,
        min_count: int = 2,
        multilabel_norm: str | None = "l2",
        delimiters: Sequence[str] = ("|", ";", ","),
        categorical_max_unique: int = 1000,
        text_min_words: float = 2.5,
        skew_threshold: float | None = 1.0,
        n_jobs: int | None = None,
    ) -> None:
        self.kinds = kinds
        self.weights = weights
        self.vector_groups = vector_groups
        self.balance = balance
        self.text_params = text_params
        self.min_count = min_count
        self.multilabel_norm = multilabel_norm
        self.delimiters = delimiters
        self.categorical_max_unique = categorical_max_unique
        self.text_min_words = text_min_words
        self.skew_threshold = skew_threshold
        self.n_jobs = n_jobs

    # ------------------------------------------------------------- sklearn API
    def fit(self, X: pd.DataFrame, y: Any = None) -> "ItemFeaturizer":
        """Infer column kinds, fit every block and the block scales.

        Parameters
        ----------
        X : DataFrame, shape (n_items, n_columns)
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> sp.csr_matrix:
        """Fit and return the feature matrix of ``X`` (single encoding pass).

        Returns
        -------
        csr_matrix of float32, shape (n_items, n_features_out_)
        """
        return self._fit(X)

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        """Encode items with the fitted blocks.

        Unseen categories/labels/terms are ignored, missing values imputed,
        extra columns ignored; the width is always ``n_features_out_``.

        Parameters
        ----------
        X : DataFrame, shape (n_items, >= used columns)

        Returns
        -------
        csr_matrix of float32, shape (n_items, n_features_out_)

        Raises
        ------
        TypeError
            ``X`` is not a DataFrame.
        ValueError
            Columns used at fit time are missing (all are named).
        """
        return self._transform(X)[0]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names (``year``, ``year_missing``, ``genre=Action``,
        ``title__word``, ``emb__0``...).

        Returns
        -------
        ndarray of object (str), shape (n_features_out_,)
        """
        check_is_fitted(self, "blocks_")
        if input_features is not None and list(input_features) != list(self.feature_names_in_):
            raise ValueError("input_features is not equal to feature_names_in_")
        names: list[str] = []
        for b in self.blocks_:
            names.extend(b.feature_names())
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # ----------------------------------------------------------- extra API
    def block_presence(self, X: pd.DataFrame) -> pd.DataFrame:
        """Which blocks carry information for each item.

        A block is *present* when its input is non-missing and (for
        categorical/multilabel/text) known at fit time.  Numeric blocks are
        non-zero even when absent (imputation + indicator), so use this rather
        than the zero pattern of :meth:`transform`.

        Returns
        -------
        DataFrame of bool, shape (n_items, n_blocks), index ``X.index``
        """
        present = self._transform(X)[1]
        return pd.DataFrame(present, index=X.index, columns=list(self.block_names_))

    def empty_rows(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean mask of items without any usable attribute.

        Returns
        -------
        ndarray of bool, shape (n_items,)
        """
        return ~self._transform(X)[1].any(axis=1)

    def describe(self) -> pd.DataFrame:
        """One row per block: kind, columns, width, weight, scale, fit coverage."""
        check_is_fitted(self, "blocks_")
        w = self.weights or {}
        return pd.DataFrame(
            {
                "kind": self.block_kinds_,
                "columns": [", ".join(b.columns) for b in self.blocks_],
                "n_features": [b.n_features for b in self.blocks_],
                "weight": [float(w.get(n, 1.0)) for n in self.block_names_],
                "scale": self.block_scales_,
                "coverage": self.block_coverage_,
                "mean_sq_norm": self.block_mean_sq_norm_,
                "reason": [self.kind_reasons_.get(n, "vector group") for n in self.block_names_],
            },
            index=pd.Index(self.block_names_, name="block"),
        )

    # ------------------------------------------------------------- internals
    def _config(self) -> dict:
        if self.balance not in _BALANCE:
            raise ValueError(f"balance must be one of {_BALANCE}, got {self.balance!r}")
        if self.multilabel_norm not in ("l2", "l1", None):
            raise ValueError(f"multilabel_norm must be 'l2', 'l1' or None, got "
                             f"{self.multilabel_norm!r}")
        if int(self.min_count) < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count!r}")
        delims = [self.delimiters] if isinstance(self.delimiters, str) else list(self.delimiters)
        if not delims or not all(isinstance(d, str) and d for d in delims):
            raise ValueError(f"delimiters must be non-empty strings, got {self.delimiters!r}")
        tp = dict(self.text_params or {})
        if "dtype" in tp:
            raise ValueError("text_params may not set 'dtype' (output is always float32)")
        return {
            "min_count": int(self.min_count),
            "multilabel_norm": self.multilabel_norm,
            "delimiters": delims,
            "categorical_max_unique": int(self.categorical_max_unique),
            "text_min_words": float(self.text_min_words),
            "skew_threshold": None if self.skew_threshold is None else float(self.skew_threshold),
            "text_params": tp,
        }

    def _resolve(self, X: pd.DataFrame) -> tuple[dict, dict, dict]:
        """Validate kinds/groups/weights against the frame."""
        cols = list(X.columns)
        colset = set(cols)
        kinds = dict(self.kinds or {})
        bad_kinds = {c: k for c, k in kinds.items() if k not in KINDS}
        if bad_kinds:
            raise ValueError(f"unknown kind(s) {bad_kinds!r} in kinds; valid kinds: {KINDS}")
        missing = [c for c in kinds if c not in colset]
        if missing:
            raise ValueError(f"columns in kinds are not in the DataFrame: {missing!r}")
        groups = {str(g): list(cs) for g, cs in (self.vector_groups or {}).items()}
        seen: dict[str, str] = {}
        for g, cs in groups.items():
            if not cs:
                raise ValueError(f"vector group {g!r} has no columns")
            absent = [c for c in cs if c not in colset]
            if absent:
                raise ValueError(f"columns of vector group {g!r} are not in the DataFrame: "
                                 f"{absent!r}")
            for c in cs:
                if c in seen:
                    raise ValueError(f"column {c!r} is in vector groups {seen[c]!r} and {g!r}")
                seen[c] = g
            if g in colset and g not in cs:
                raise ValueError(f"vector group name {g!r} clashes with a column name")
        clash = [c for c in kinds if c in seen and kinds[c] not in ("vector",)]
        if clash:
            raise ValueError(f"columns {clash!r} are in vector_groups and have another kind "
                             "in kinds")
        weights = dict(self.weights or {})
        names = (colset - set(seen)) | set(groups)
        unknown = [k for k in weights if k not in names]
        if unknown:
            raise ValueError(f"weights given for unknown blocks {unknown!r}; blocks are column "
                             "names and vector group names")
        for k, v in weights.items():
            if not (isinstance(v, (int, float, np.number)) and np.isfinite(v) and v >= 0):
                raise ValueError(f"weight of {k!r} must be a finite number >= 0, got {v!r}")
        return kinds, groups, seen

    def _fit(self, X: pd.DataFrame) -> sp.csr_matrix:
        X = _check_frame(X, "X")
        if len(X) == 0:
            raise ValueError("X has no rows; cannot fit ItemFeaturizer")
        cfg = self._config()
        kinds, groups, group_of = self._resolve(X)
        weights = self.weights or {}

        blocks: list[_Block] = []
        kinds_out: dict[str, str] = {}
        reasons: dict[str, str] = {}
        caches: dict[int, np.ndarray] = {}
        ignored: list[str] = []
        done_groups: set[str] = set()
        for col in X.columns:
            if col in group_of:
                g = group_of[col]
                kinds_out[col], reasons[col] = "vector", f"member of vector group {g!r}"
                if g not in done_groups:
                    done_groups.add(g)
                    blocks.append(_VectorBlock(g, groups[g], group=True))
                continue
            info: dict = {}
            if col in kinds:
                kind, why = kinds[col], "given in kinds"
            else:
                kind, why, info = _infer_kind(col, X[col], cfg)
                if kind == "ignore":
                    ignored.append(f"{col!r} ({why})")
            kinds_out[col], reasons[col] = kind, why
            if kind == "ignore":
                continue
            if kind == "numeric":
                source = info.get("source")
                if source is None:
                    dt = X[col].dtype
                    source = ("datetime" if pdt.is_datetime64_any_dtype(dt) else
                              "timedelta" if pdt.is_timedelta64_dtype(dt) else "number")
                blocks.append(_NumericBlock(col, [col], source))
            elif kind == "multilabel":
                blocks.append(_MultilabelBlock(col, [col], info.get("delimiter"),
                                               detect="delimiter" not in info))
            elif kind == "vector":
                blocks.append(_VectorBlock(col, [col], group=False))
            elif kind == "categorical":
                blocks.append(_CategoricalBlock(col, [col]))
                if "strings" in info:
                    caches[len(blocks) - 1] = info["strings"]
            else:
                blocks.append(_TextBlock(col, [col]))
        mats, presents, fitted = [], [], []
        for i, b in enumerate(blocks):
            try:
                if i in caches:
                    Z, p = b.fit_transform(X, cfg, strings=caches.pop(i))
                else:
                    Z, p = b.fit_transform(X, cfg)
            except _TooRareError as exc:  # every value is rarer than min_count
                col = b.columns[0]
                kinds_out[col], reasons[col] = "ignore", f"{b.kind}, {exc}"
                ignored.append(f"{col!r} ({b.kind}, {exc}; lower min_count to keep it)")
                continue
            fitted.append(b)
            mats.append(Z)
            presents.append(p)
        blocks = fitted
        if ignored:
            warnings.warn(
                "ItemFeaturizer ignores column(s) " + ", ".join(ignored)
                + "; pass kinds={column: kind} to keep them.",
                ColumnIgnoredWarning,
                stacklevel=3,
            )
        if not blocks:
            raise ValueError("no usable column in X (all columns ignored)")

        n_blocks = len(blocks)
        scales = np.ones(n_blocks)
        msq = np.zeros(n_blocks)
        coverage = np.zeros(n_blocks)
        for i, (b, Z, p) in enumerate(zip(blocks, mats, presents)):
            q = _row_sq_norms(Z)
            nz = q > 0
            msq[i] = float(q[nz].mean()) if nz.any() else 0.0
            coverage[i] = float(p.mean())
            w = float(weights.get(b.name, 1.0))
            ref = {"present": msq[i], "all": float(q.mean()), "none": 1.0}[self.balance]
            scales[i] = w / np.sqrt(ref) if ref > 0 else w

        self.blocks_ = blocks
        self.kinds_ = kinds_out
        self.kind_reasons_ = reasons
        self.block_scales_ = scales
        self.block_mean_sq_norm_ = msq
        self.block_coverage_ = coverage
        self._finish_fit(list(X.columns))
        return self._assemble(mats)

    def _finish_fit(self, columns: list[str]) -> None:
        self.block_names_ = [b.name for b in self.blocks_]
        self.block_kinds_ = [b.kind for b in self.blocks_]
        slices, start = {}, 0
        for b in self.blocks_:
            slices[b.name] = slice(start, start + b.n_features)
            start += b.n_features
        self.block_slices_ = slices
        self.n_features_out_ = start
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)

    def _assemble(self, mats: list[sp.csr_matrix]) -> sp.csr_matrix:
        scaled = []
        for Z, s in zip(mats, self.block_scales_):
            if s == 0.0:  # weight 0: keep the width, store nothing
                Z = sp.csr_matrix(Z.shape, dtype=np.float32)
            elif s != 1.0:
                Z = sp.csr_matrix(Z, dtype=np.float32)
                Z.data *= np.float32(s)
            scaled.append(Z)
        out = sp.hstack(scaled, format="csr", dtype=np.float32)
        return sp.csr_matrix(out)

    def _transform(self, X: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
        check_is_fitted(self, "blocks_")
        X = _check_frame(X, "X", fitting=False)
        needed = [c for b in self.blocks_ for c in b.columns]
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise ValueError(f"X is missing column(s) used at fit time: {missing!r}")
        n = len(X)
        if n == 0:
            return (sp.csr_matrix((0, self.n_features_out_), dtype=np.float32),
                    np.zeros((0, len(self.blocks_)), dtype=bool))
        n_jobs = effective_n_jobs(self.n_jobs) if self.n_jobs not in (None, 1) else 1
        n_chunks = min(n_jobs, n // _PARALLEL_MIN_ROWS)
        if n_chunks < 2:
            return self._transform_rows(X)
        # row chunks in worker processes (the tokenizers are Python loops: the GIL
        # rules out threads); only the used columns are shipped
        bounds = np.linspace(0, n, n_chunks + 1).astype(int)
        sub = X[list(dict.fromkeys(needed))]
        parts = Parallel(n_jobs=n_chunks)(
            delayed(self._transform_rows)(sub.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])
        )
        return (sp.csr_matrix(sp.vstack([p[0] for p in parts], format="csr"), dtype=np.float32),
                np.vstack([p[1] for p in parts]))

    def _transform_rows(self, X: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
        mats, presents = [], []
        for b in self.blocks_:
            Z, p = b.transform(X)
            mats.append(Z)
            presents.append(p)
        return self._assemble(mats), np.column_stack(presents)

    # -------------------------------------------------------- serialisation
    def to_dict(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Export the fitted featurizer without pickle.

        Returns
        -------
        meta : dict
            JSON-serialisable: ``{"format": "coldstart.ItemFeaturizer",
            "version": 1, "params": get_params(), "feature_names_in": [...],
            "kinds": kinds_, "kind_reasons": kind_reasons_, "blocks": [{"name",
            "kind", "columns", "n_features", <kind-specific scalars>}, ...]}``.
        arrays : dict of str -> ndarray
            ``block_scales``, ``block_coverage``, ``block_mean_sq_norm``
            (float64, one per block) and, per block ``i``,
            ``block{i}_<field>``: numeric ``stats`` = [median, mean, scale];
            categorical ``categories``; multilabel ``labels``; text
            ``vocabulary`` (+ ``idf``); vector ``mean``.  Only float64 and
            fixed-width ``np.str_`` arrays (never object).

        Raises
        ------
        ValueError
            A parameter (e.g. a callable in ``text_params``) is not
            JSON-serialisable.
        """
        check_is_fitted(self, "blocks_")
        params = _jsonable(self.get_params(deep=False), "ItemFeaturizer parameters")
        arrays: dict[str, np.ndarray] = {
            "block_scales": np.asarray(self.block_scales_, dtype=np.float64),
            "block_coverage": np.asarray(self.block_coverage_, dtype=np.float64),
            "block_mean_sq_norm": np.asarray(self.block_mean_sq_norm_, dtype=np.float64),
        }
        blocks_meta = []
        for i, b in enumerate(self.blocks_):
            m, arrs = b.state()
            blocks_meta.append(m)
            for k, a in arrs.items():
                arrays[f"block{i}_{k}"] = a
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "params": params,
            "feature_names_in": [str(c) for c in self.feature_names_in_],
            "kinds": dict(self.kinds_),
            "kind_reasons": dict(self.kind_reasons_),
            "blocks": blocks_meta,
            "n_features_out": int(self.n_features_out_),
        }
        json.dumps(meta)  # fail here rather than in the caller
        assert all(a.dtype != object for a in arrays.values())
        return meta, arrays

    @classmethod
    def from_dict(cls, meta: Mapping[str, Any],
                  arrays: Mapping[str, np.ndarray]) -> "ItemFeaturizer":
        """Rebuild a fitted featurizer from :meth:`to_dict` output.

        Parameters
        ----------
        meta : mapping
            The JSON metadata (possibly after ``json.loads``).
        arrays : mapping of str -> ndarray
            The arrays, e.g. an ``np.load(path, allow_pickle=False)`` result.

        Returns
        -------
        ItemFeaturizer
            Fitted; ``transform`` gives the same matrices as the original.
        """
        if meta.get("format") != _FORMAT:
            raise ValueError(f"not an ItemFeaturizer export (format={meta.get('format')!r})")
        if int(meta.get("version", -1)) != _VERSION:
            raise ValueError(f"unsupported ItemFeaturizer export version {meta.get('version')!r}")
        params = dict(meta["params"])
        if params.get("delimiters") is not None:
            params["delimiters"] = tuple(params["delimiters"])
        tp = params.get("text_params")
        if tp and "ngram_range" in tp:
            tp["ngram_range"] = tuple(tp["ngram_range"])
        self = cls(**params)
        blocks: list[_Block] = []
        for i, bm in enumerate(meta["blocks"]):
            prefix = f"block{i}_"
            arrs = {k[len(prefix):]: np.asarray(arrays[k]) for k in arrays
                    if k.startswith(prefix)}
            kind = bm["kind"]
            if kind not in _BLOCK_CLASSES:
                raise ValueError(f"unknown block kind {kind!r} in export")
            blocks.append(_BLOCK_CLASSES[kind].from_state(bm, arrs))
        self.blocks_ = blocks
        self.kinds_ = dict(meta["kinds"])
        self.kind_reasons_ = dict(meta.get("kind_reasons", {}))
        self.block_scales_ = np.asarray(arrays["block_scales"], dtype=np.float64)
        self.block_coverage_ = np.asarray(arrays["block_coverage"], dtype=np.float64)
        self.block_mean_sq_norm_ = np.asarray(arrays["block_mean_sq_norm"], dtype=np.float64)
        self._finish_fit(list(meta["feature_names_in"]))
        if self.n_features_out_ != int(meta["n_features_out"]):
            raise ValueError("corrupt ItemFeaturizer export: block widths do not add up")
        return self
