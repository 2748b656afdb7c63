"""The kind of a column without an explicit ``kinds`` entry (:func:`infer_kind`).

Missing means ``NaN``/``None``/``NA``/``NaT`` and, for strings, ``""``.  A column with no
non-missing value is ignored.

1. pandas ``category`` dtype -> ``categorical``.
2. bool, numeric, datetime and timedelta dtypes (datetimes/timedeltas are converted to days)
   -> ``numeric``, except

   * a constant column without missing values -> ``ignore``;
   * an integer column whose values are all unique (>= 10 rows) and that either has an
     id-like name (``id``, ``*_id``, ``*Id``, ``index``, ``key``, ``uuid``...) or holds
     consecutive integers -> ``ignore`` (id-like);
   * an integer column with an id-like name and at most ``categorical_max_unique`` distinct
     values -> ``categorical`` (codes).
3. object/string columns (decided on a deterministic sample of at most 20,000 non-missing
   values; distinct counts use the full column):

   a. cells holding list-likes: equal-length numeric arrays -> ``vector``, anything else
      -> ``multilabel``;
   b. strings that are >= 95 % parseable as numbers -> ``numeric`` (as 2.);
   c. a delimiter among ``delimiters`` (default ``|``, ``;``, ``,``) is detected
      -> ``multilabel``.  A delimiter qualifies when it occurs in >= 5 % of the values, the
      pieces are short (<= 3 words on average) and pieces are re-used more than whole values
      (``tokens / distinct tokens >= 1.25 * values / distinct values``).  Among qualifying
      delimiters the most frequent one wins.  Prose with commas fails the last two tests;
   d. single-token strings (< 5 % contain whitespace) that are >= 95 % unique: mostly in a
      script written without spaces (CJK, Thai...) -> ``text`` (titles, split into characters
      unless ``text_params`` choose the tokens); otherwise (>= 10 values) -> ``ignore``
      (id-like: SKUs, URLs, hashes);
   e. at most ``categorical_max_unique`` distinct values and on average each value repeated
      at least twice, the most frequent value left out (distinct/non-missing <= 0.5 among the
      others: a placeholder such as "No description available." on most rows does not make
      the real values a category) -> ``categorical``;
   f. on average >= ``text_min_words`` whitespace-separated words (without the rows of a value
      that fills more than half of them) -> ``text``;
   g. otherwise (short, high-cardinality labels such as brands) -> ``categorical``.
4. anything else (bytes, complex, mixed objects...) -> ``ignore``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from coldstart.features.blocks import LISTLIKE, sample_values
from coldstart.features.categorical import category_strings, detect_delimiter, format_scalar
from coldstart.features.numeric import to_float
from coldstart.features.text import unspaced_share

__all__ = ["infer_kind"]

_MIN_ROWS_ID = 10  # fewer non-missing values: never call a column id-like
_ID_NAMES = {"id", "index", "key", "uuid", "guid", "pk", "sku", "isbn", "url", "uri"}


def _id_like_name(name: str) -> bool:
    """``id``, ``*_id``, ``*Id``, ``index``, ``key``, ``uuid``... (rule 2)."""
    low = name.strip().lower()
    return (
        low in _ID_NAMES
        or low.endswith(("_id", "-id", " id", ".id", "_key", "_uuid"))
        or (len(name) > 2 and name.endswith(("Id", "ID")) and not name[:-2].isupper())
    )


def _not_blank(arr: np.ndarray) -> np.ndarray:
    """Mask of elements that are not empty/whitespace-only strings."""
    return np.fromiter((not (isinstance(v, str) and not v.strip()) for v in arr), bool, arr.size)


def _infer_numeric(name: str, x: np.ndarray, integer_dtype: bool, boolean: bool,
                   cfg: dict, ids: bool = True) -> tuple[str, str]:
    """Rule 2 on the column's values ``x`` (n,), NaN where missing -> (kind, reason).

    ``ids=False`` (dates, durations) never calls a column id-like or integer codes.
    """
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


def infer_kind(name: str, s: pd.Series, cfg: dict) -> tuple[str, str, dict]:
    """Infer the kind of one column (the rules of the module docstring).

    Parameters
    ----------
    name : str
        The column's name (id-like names matter, rule 2).
    s : Series, shape (n_items,)
    cfg : dict
        The featurizer's validated parameters (``categorical_max_unique``,
        ``delimiters``, ``text_min_words``).

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
        kind, why = _infer_numeric(name, to_float(s), False, False, cfg, ids=False)
        return kind, why, {"source": source}
    if pdt.is_bool_dtype(dtype) or pdt.is_numeric_dtype(dtype):
        if pdt.is_complex_dtype(dtype):
            return "ignore", f"unsupported dtype {dtype}", {}
        kind, why = _infer_numeric(name, to_float(s), pdt.is_integer_dtype(dtype),
                                   pdt.is_bool_dtype(dtype), cfg)
        return kind, why, {"source": "number"}
    return _infer_objects(name, s, cfg)


def _infer_objects(name: str, s: pd.Series, cfg: dict) -> tuple[str, str, dict]:
    """Rules 3-4: an object column, judged on a sample of its non-blank values."""
    arr = s.to_numpy(dtype=object)
    nonnull = arr[~np.asarray(pd.isna(arr), dtype=bool)]
    sample = sample_values(nonnull)
    sample = sample[_not_blank(sample)]
    if sample.size == 0:  # only blank strings in the sample: look at every value
        sample = sample_values(nonnull[_not_blank(nonnull)])
        if sample.size == 0:
            return "ignore", "all values missing", {}

    is_list = np.fromiter((isinstance(v, LISTLIKE) for v in sample), bool, sample.size)
    if is_list.any():
        return _infer_lists(sample, is_list, nonnull, cfg)

    inferred = pd.api.types.infer_dtype(sample, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal", "boolean"):
        x = to_float(s)
        return (*_infer_numeric(name, x, inferred == "integer", inferred == "boolean", cfg),
                {"source": "number"})
    if inferred in ("datetime", "datetime64", "date"):
        kind, why = _infer_numeric(name, to_float(s, "datetime"), False, False, cfg, ids=False)
        return kind, why, {"source": "datetime"}
    if inferred not in ("string", "mixed", "mixed-integer", "unicode"):
        return "ignore", f"unsupported values ({inferred})", {}
    return _infer_strings(name, s, sample, inferred == "string", cfg)


def _infer_lists(sample: np.ndarray, is_list: np.ndarray, nonnull: np.ndarray,
                 cfg: dict) -> tuple[str, str, dict]:
    """Rule 3a: ``sample`` (m,) holds list-likes where ``is_list`` (m,); ``nonnull`` (n,) is
    every non-missing value (vectors need one length over the whole column)."""
    lists = [v for v in sample[is_list] if len(v) > 0]
    numeric = bool(lists) and is_list.all() and all(
        (isinstance(v, np.ndarray) and v.dtype.kind in "fiu")
        or all(isinstance(e, (int, float, np.integer, np.floating))
               and not isinstance(e, (bool, np.bool_)) for e in list(v)[:64])
        for v in lists[:200]
    )
    if numeric:
        lens = {len(v) for v in nonnull if isinstance(v, LISTLIKE) and len(v) > 0}
        if len(lens) == 1:
            return "vector", "equal-length numeric arrays", {}
    strs = sample[~is_list]
    delim = detect_delimiter(strs, cfg["delimiters"], forced=True) if strs.size else None
    return "multilabel", "list-like cells", {"delimiter": delim}


def _infer_strings(name: str, s: pd.Series, sample: np.ndarray, all_strings: bool,
                   cfg: dict) -> tuple[str, str, dict]:
    """Rules 3b-3g: a column of (mostly) strings; ``sample`` (m,) holds non-blank values,
    ``all_strings`` says whether every sampled value is a ``str``."""
    # (b) numbers stored as strings
    strs_sample = np.array([format_scalar(v) for v in sample], dtype=object)
    if all_strings:
        parsed = pd.to_numeric(pd.Series(strs_sample, dtype=object), errors="coerce")
        if parsed.notna().mean() >= 0.95:
            kind, why = _infer_numeric(name, to_float(s), False, False, cfg)
            return kind, f"{why} stored as strings", {"source": "number"}

    # (c) delimited labels
    delim = detect_delimiter(strs_sample, cfg["delimiters"])
    if delim is not None:
        return "multilabel", f"strings delimited by {delim!r}", {"delimiter": delim}

    strings = category_strings(s)
    nonempty = strings[strings != ""]
    if nonempty.size == 0:  # values whose text is blank
        return "ignore", "no non-blank value", {}
    counts = pd.Series(nonempty).value_counts()
    n_unique = len(counts)
    ratio = n_unique / nonempty.size
    rest = nonempty.size - int(counts.iloc[0])  # the rows of every value but the most frequent
    ratio_rest = (n_unique - 1) / rest if rest else 0.0
    words = np.fromiter((len(v.split()) for v in strs_sample), np.int64, strs_sample.size)
    single = (words > 1).mean() < 0.05
    # (d) id-like strings; unique strings in a script written without spaces are text there
    # (titles), not ids
    if single and ratio >= 0.95:
        if unspaced_share(strs_sample) >= 0.5:
            return "text", "a script written without spaces (character n-grams)", {}
        if nonempty.size >= _MIN_ROWS_ID:
            return "ignore", "id-like (unique single-token strings)", {}
    # (e) low-cardinality
    if n_unique <= cfg["categorical_max_unique"] and ratio <= 0.5 and ratio_rest <= 0.5:
        return "categorical", f"{n_unique} distinct values", {"strings": strings}
    # (f) prose: words per value, without a placeholder that fills most rows
    top = str(counts.index[0])
    real = words[strs_sample != top] if counts.iloc[0] * 2 > nonempty.size else words
    real = real if real.size else words
    if real.mean() >= cfg["text_min_words"]:
        return "text", f"{real.mean():.1f} words per value", {}
    # (g) short high-cardinality labels
    return "categorical", f"short labels, {n_unique} distinct values", {"strings": strings}
