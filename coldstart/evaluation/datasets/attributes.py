"""Item attribute columns: their kinds, and the protocol's reference features of an item table.

Kinds (``meta.json``'s ``"kinds"``): ``text``, ``multi`` (cells joined with ``|``),
``categorical`` and ``numeric``. :func:`reference_features` is the fixed, non-negative encoding
the protocol's baselines use (``EVALUATION.md``); :func:`featurizer_features` is the package's
own :class:`~coldstart.features.featurizer.ItemFeaturizer` on the same table.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart.evaluation.datasets.tables import cells, strings

#: Attribute kinds of the folder format (``meta.json``'s ``"kinds"``).
FOLDER_KINDS: tuple[str, ...] = ("text", "multi", "categorical", "numeric")
_TOKEN = re.compile(r"\w+")


def infer_kinds(items: pd.DataFrame, item_col: str = "item") -> dict[str, str]:
    """Guess the kind of each attribute column of an item table (when there is no meta.json).

    Looking at a column's non-empty cells (stripped strings):

    1. every cell parses as a number -> ``numeric``;
    2. at least 1 % of the cells contain ``|`` -> ``multi``;
    3. cells average at least 2.5 words (``\\w+`` tokens) and at least half of them are
       distinct -> ``text`` (titles, descriptions);
    4. otherwise -> ``categorical`` (authors, publishers, brands; also an all-empty column).

    On the collection this gives exactly the kinds of each ``meta.json``.
    """
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame; received {type(items).__name__}")
    kinds = {}
    for col in items.columns:
        if col == item_col:
            continue
        s = items[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            kinds[col] = "categorical"
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            kinds[col] = "numeric"
            continue
        v = strings(s)
        v = v[v != ""]
        if v.empty:
            kinds[col] = "categorical"
        elif pd.to_numeric(v, errors="coerce").notna().all():
            kinds[col] = "numeric"
        elif v.str.contains("|", regex=False).mean() >= 0.01:
            kinds[col] = "multi"
        elif v.str.count(r"\w+").mean() >= 2.5 and v.nunique() >= 0.5 * len(v):
            kinds[col] = "text"
        else:
            kinds[col] = "categorical"
    return kinds


def check_kinds(kinds: Any, columns: list, source: str) -> dict[str, str]:
    if not isinstance(kinds, Mapping):
        raise TypeError(f"kinds must be a dict column -> kind; received {type(kinds).__name__} ({source})")
    bad = {c: k for c, k in kinds.items() if k not in FOLDER_KINDS}
    if bad:
        raise ValueError(f"{source}: unknown kinds {bad}; expected each of {FOLDER_KINDS}")
    unknown = [c for c in kinds if c not in columns]
    if unknown:
        raise ValueError(f"{source}: kinds name columns {unknown} that the item table lacks; "
                         f"its attribute columns are {columns}")
    return dict(kinds)


def _block(rows: np.ndarray, values: pd.Series, data: np.ndarray | None, n_items: int,
           prefix: str) -> tuple[sp.csr_matrix, list[str]]:
    """Sparse block of one column: one feature per distinct value (sorted)."""
    if len(values) == 0:
        return sp.csr_matrix((n_items, 0), dtype=np.float32), []
    codes, uniques = pd.factorize(values, sort=True)
    data = np.ones(len(codes), dtype=np.float32) if data is None else np.asarray(data, np.float32)
    m = sp.csr_matrix((data, (rows, codes)), shape=(n_items, len(uniques)), dtype=np.float32)
    m.sum_duplicates()
    return m, [prefix + str(u) for u in uniques]


def reference_features(items: pd.DataFrame | None, kinds: Mapping[str, str] | None = None,
                       item_ids: Any = None, *, item_col: str = "item"
                       ) -> tuple[sp.csr_matrix, np.ndarray]:
    """The protocol's reference features (``EVALUATION.md``) of an item table.

    - ``multi`` (cells joined with ``|``) and ``categorical`` -> one 0/1 indicator per value
      (``col=value``; values stripped, empty pieces dropped);
    - ``text`` -> lower-case word counts of the tokens ``\\w+`` that occur in at least 2 of
      the items (``col:token``);
    - ``numeric`` -> one-hot of the 10-wide bucket ``[10 k, 10 k + 10)`` (decades for
      years; ``col=[1990,2000)``); missing -> nothing; a non-numeric cell is an error.

    An item of ``item_ids`` without a row in ``items`` has no attributes.

    Parameters
    ----------
    items : pandas.DataFrame or None
        One row per item: ``item_col`` and the attribute columns (cells as strings or
        numbers; missing = NaN or ``""``). None: no attributes at all.
    kinds : dict of str -> str, optional
        Kind per attribute column; columns not named are inferred (:func:`infer_kinds`).
    item_ids : array-like of shape (n_items,), optional
        The rows of the result, matched to ``items[item_col]`` by string form. Default: the
        item table's own ids, in its order.
    item_col : str, default "item"

    Returns
    -------
    item_features : csr_matrix of float32, shape (n_items, n_features)
    feature_names : ndarray of str, shape (n_features,)
    """
    if items is not None and not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame or None; received {type(items).__name__}")
    if items is not None and item_col not in items.columns:
        raise KeyError(f"items has no column {item_col!r} (set item_col=); its columns are "
                       f"{list(items.columns)}")
    if item_ids is None:
        item_ids = np.asarray([] if items is None else items[item_col].to_numpy())
    item_ids = np.asarray(item_ids)
    n = len(item_ids)
    if items is None:
        return sp.csr_matrix((n, 0), dtype=np.float32), np.asarray([], dtype=str)
    attrs = [c for c in items.columns if c != item_col]
    given = check_kinds(kinds or {}, attrs, "kinds")
    inferred = infer_kinds(items[[item_col] + [c for c in attrs if c not in given]], item_col)
    kinds = {c: given.get(c, inferred.get(c)) for c in attrs}
    table = cells(items, item_col, item_ids)
    blocks, names = [], []
    for col in attrs:
        kind = kinds[col]
        s = table[col]
        if kind == "numeric":
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                x = s.to_numpy(dtype=float)
            else:
                v = strings(s)
                x = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)
                bad = np.isnan(x) & (v != "").to_numpy()
                if bad.any():
                    j = int(np.flatnonzero(bad)[0])
                    raise ValueError(f"column {col!r} is numeric but item {np.asarray(item_ids[j]).tolist()!r} has "
                                     f"{v.iloc[j]!r}; expected a number or an empty cell")
            rows = np.flatnonzero(np.isfinite(x))
            lo = np.floor(x[rows] / 10.0) * 10.0
            m, _ = _block(rows, pd.Series(lo), None, n, "")
            blocks.append(m)
            names.extend(f"{col}=[{b:g},{b + 10:g})" for b in np.unique(lo))
            continue
        v = strings(s)
        if kind == "categorical":
            rows = np.flatnonzero((v != "").to_numpy())
            m, nm = _block(rows, v.iloc[rows].reset_index(drop=True), None, n, f"{col}=")
        elif kind == "multi":
            pieces = v.str.split("|", regex=False).explode()
            pieces = pieces.str.strip()
            keep = (pieces != "") & pieces.notna()
            pairs = pd.DataFrame({"row": pieces.index[keep].to_numpy(), "v": pieces[keep].to_numpy()})
            pairs = pairs.drop_duplicates()
            m, nm = _block(pairs["row"].to_numpy(), pairs["v"], None, n, f"{col}=")
        elif kind == "text":
            toks = v.str.lower().str.findall(_TOKEN).explode().dropna()
            pairs = pd.DataFrame({"row": toks.index.to_numpy(), "t": toks.to_numpy()})
            counts = pairs.groupby(["row", "t"], sort=False).size().reset_index(name="c")
            df = counts.groupby("t")["row"].transform("size")
            counts = counts[df.to_numpy() >= 2]
            m, nm = _block(counts["row"].to_numpy(), counts["t"], counts["c"].to_numpy(), n, f"{col}:")
        else:  # pragma: no cover - check_kinds / infer_kinds only give FOLDER_KINDS
            raise ValueError(f"unknown kind {kind!r} for column {col!r}")
        blocks.append(m)
        names.extend(nm)
    if not blocks:
        return sp.csr_matrix((n, 0), dtype=np.float32), np.asarray([], dtype=str)
    X = sp.hstack(blocks, format="csr", dtype=np.float32)
    return X, np.asarray(names, dtype=str)


def featurizer_features(table: pd.DataFrame, kinds: Mapping[str, str], featurizer=None):
    """:class:`~coldstart.features.featurizer.ItemFeaturizer` (default: its defaults) on a catalog-aligned table."""
    from coldstart.features.featurizer import ItemFeaturizer

    frame = table.copy()
    fk = {}
    for col, kind in kinds.items():
        if kind == "numeric" and not pd.api.types.is_numeric_dtype(frame[col].dtype):
            frame[col] = pd.to_numeric(strings(frame[col]).replace("", np.nan), errors="coerce")
        fk[col] = "multilabel" if kind == "multi" else kind
    if frame.shape[1] == 0:
        return sp.csr_matrix((len(frame), 0), dtype=np.float32), np.asarray([], dtype=str), None
    feat = ItemFeaturizer(kinds=fk) if featurizer is None else featurizer
    X = feat.fit_transform(frame)
    return sp.csr_matrix(X, dtype=np.float32), np.asarray(feat.get_feature_names_out(), dtype=str), feat
