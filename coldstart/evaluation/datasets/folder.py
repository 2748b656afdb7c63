"""The plain folder format: ``interactions.csv``, ``items.csv``, ``meta.json``, ``split/``.

``interactions.csv`` has one row per (user, item) pair with optional weight and timestamp
columns; ``items.csv`` an item id column and attribute columns (multi-label cells joined with
``|``, an empty cell is missing); the optional ``meta.json``'s ``"kinds"`` maps each attribute
column to ``text`` / ``multi`` / ``categorical`` / ``numeric``; the optional ``split/`` folder
holds ``train.csv``, ``warm_test.csv``, ``cold_val.csv``, ``cold_test.csv`` (header
``user,item``, ids as in the files). Tables may also be Parquet (``interactions.parquet``).
Users and items are indexed by their ids sorted as strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart.evaluation.datasets.attributes import check_kinds, featurizer_features, infer_kinds, reference_features
from coldstart.evaluation.datasets.dataset import Dataset
from coldstart.evaluation.datasets.tables import (
    Where,
    cells,
    find_table,
    index_ids,
    key_index,
    missing_mask,
    read_table,
    strings,
)

_FEATURE_MODES = ("reference", "featurizer", None)
_CATALOGS = ("interactions", "all")


def from_frames(interactions: pd.DataFrame, items: pd.DataFrame | None = None, *,
                user_col: str = "user", item_col: str = "item",
                weight_col: str | None = "weight", timestamp_col: str | None = "timestamp",
                kinds: Mapping[str, str] | None = None, features: str | None = "reference",
                catalog: str = "interactions", name: str = "", path: str | os.PathLike | None = None,
                sources: tuple[str, str] | None = None) -> Dataset:
    """Build a :class:`Dataset` from an interactions DataFrame and an item table.

    Parameters
    ----------
    interactions : pandas.DataFrame
        One row per interaction, with ``user_col`` and ``item_col`` and optionally
        ``weight_col`` (numbers; duplicate pairs are summed) and ``timestamp_col``. Without a
        weight column every listed pair is a positive of value 1 (duplicates collapse).
    items : pandas.DataFrame, optional
        ``item_col`` and attribute columns (multi-label cells joined with ``|``).
    user_col, item_col : str, default "user", "item"
    weight_col, timestamp_col : str or None, default "weight", "timestamp"
        Used when the column exists; None ignores it.
    kinds : dict of str -> str, optional
        Kind per attribute column (``text``, ``multi``, ``categorical``, ``numeric``);
        others are inferred (:func:`infer_kinds`).
    features : {"reference", "featurizer", None}, default "reference"
        ``"reference"``: :func:`reference_features` (non-negative; what the protocol's
        baselines use). ``"featurizer"``: :class:`~coldstart.features.featurizer.ItemFeaturizer` with
        its defaults (stored in ``extra["featurizer"]``; may hold negative numeric values).
        None: no attribute columns.
    catalog : {"interactions", "all"}, default "interactions"
        The items: those with at least one interaction (the collection's published counts
        and splits), or also every item listed only in ``items`` (new items to recommend).
    sources : (str, str), optional
        Where ``interactions`` and ``items`` came from (e.g. their file paths), named in
        error messages; a ``.csv`` name makes them cite CSV line numbers.

    Returns
    -------
    Dataset
        Users and items indexed by their ids sorted as strings; ``user_ids`` / ``item_ids``
        hold the external ids (as given), ``items`` the raw table, ``interactions`` the
        index-space pairs.
    """
    src_i, src_t = sources or ("interactions", "items")
    csv_i, csv_t = src_i.endswith((".csv", ".csv.gz")), src_t.endswith((".csv", ".csv.gz"))
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(f"interactions must be a pandas DataFrame; received {type(interactions).__name__}")
    if items is not None and not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame or None; received {type(items).__name__}")
    if features not in _FEATURE_MODES:
        raise ValueError(f"features must be one of {_FEATURE_MODES}; received {features!r}")
    if catalog not in _CATALOGS:
        raise ValueError(f"catalog must be one of {_CATALOGS}; received {catalog!r}")
    missing = [c for c in (user_col, item_col) if c not in interactions.columns]
    if missing:
        raise ValueError(f"{src_i}: no column {missing[0]!r}; its columns are {list(interactions.columns)} "
                         f"(set user_col= / item_col=, or --user-col / --item-col)")
    if items is not None and item_col not in items.columns:
        raise ValueError(f"{src_t}: no column {item_col!r}; its columns are {list(items.columns)} "
                         "(set item_col=, or --item-col)")
    wi, wt = Where(src_i, csv_i), Where(src_t, csv_t)
    if len(interactions) == 0:
        raise ValueError(f"{src_i}: no interactions; expected at least one row")
    user_ids, users = index_ids(interactions[user_col].reset_index(drop=True), "user", wi)
    item_ids, item_idx = index_ids(interactions[item_col].reset_index(drop=True), "item", wi)
    if items is not None:
        it = items[item_col].reset_index(drop=True)
        miss = missing_mask(it)
        if miss.any():
            j = int(np.flatnonzero(miss)[0])
            raise ValueError(f"{wt(j)}: empty item id; expected every row to name an item")
        keys = pd.Series([str(v) for v in it])
        dup = keys.duplicated(keep="first").to_numpy()
        if dup.any():
            j = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero((keys == keys.iloc[j]).to_numpy())[0])
            raise ValueError(f"{wt(j)}: item {keys.iloc[j]!r} is listed twice (first at "
                             f"{wt(first).split(', ')[-1]}); expected one row per item")
        if catalog == "all":
            extra_ids = it[~keys.isin(key_index(item_ids)).to_numpy()]
            if len(extra_ids):
                all_ids = pd.concat([pd.Series(item_ids, dtype=object), extra_ids.astype(object)],
                                    ignore_index=True)
                new_ids, codes = index_ids(all_ids, "item", wt)
                item_idx = codes[:len(item_ids)][item_idx]
                item_ids = new_ids
    n_users, n_items = len(user_ids), len(item_ids)
    if items is not None and len(items) and not key_index(item_ids).isin(
            [str(v) for v in items[item_col]]).any():
        import warnings

        warnings.warn(f"{src_t}: none of the {n_items} items of {src_i} has a row here (e.g. item "
                      f"{str(item_ids[0])!r} vs {str(items[item_col].iloc[0])!r}): every item is without "
                      "attributes; check the item id column and its format", UserWarning, stacklevel=2)
    frame = {"user": users, "item": item_idx}
    if weight_col is not None and weight_col in interactions.columns:
        w = interactions[weight_col].reset_index(drop=True)
        wv = pd.to_numeric(w if pd.api.types.is_numeric_dtype(w.dtype) else strings(w), errors="coerce")
        bad = ~np.isfinite(wv.to_numpy(dtype=float))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{wi(j)}: {weight_col} is {w.iloc[j]!r}; expected a finite number")
        data = wv.to_numpy(dtype=np.float32)
        frame["weight"] = data
    else:
        data = np.ones(len(users), dtype=np.float32)
    if timestamp_col is not None and timestamp_col in interactions.columns:
        frame["timestamp"] = interactions[timestamp_col].to_numpy()
    user_items = sp.csr_matrix((data, (users, item_idx)), shape=(n_users, n_items), dtype=np.float32)
    user_items.sum_duplicates()
    if "weight" not in frame:
        user_items.data[:] = 1.0
    attrs = [] if items is None else [c for c in items.columns if c != item_col]
    given = check_kinds(kinds or {}, attrs, "kinds")
    inferred = {} if items is None else infer_kinds(items[[item_col] + [c for c in attrs if c not in given]],
                                                    item_col)
    all_kinds = {c: given.get(c, inferred.get(c)) for c in attrs}
    for col in (c for c in attrs if all_kinds[c] == "numeric"):
        s = items[col].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(s.dtype):
            continue
        v = strings(s)
        bad = pd.to_numeric(v, errors="coerce").isna().to_numpy() & (v != "").to_numpy()
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{wt(j)}: column {col!r} is numeric but holds {v.iloc[j]!r}; expected "
                             "a number or an empty cell (or declare its kind in meta.json / kinds=)")
    extra: dict = {"columns": {"user": user_col, "item": item_col}}
    if features == "reference":
        X, names = reference_features(items, all_kinds, item_ids, item_col=item_col)
    elif features == "featurizer":
        X, names, feat = featurizer_features(cells(items, item_col, item_ids), all_kinds)
        extra["featurizer"] = feat
    else:
        X, names = sp.csr_matrix((n_items, 0), dtype=np.float32), np.asarray([], dtype=str)
    return Dataset(user_items=user_items, item_features=X, feature_names=names, name=name,
                   path=None if path is None else Path(path), extra=extra, user_ids=user_ids,
                   item_ids=item_ids, items=items, kinds=all_kinds,
                   interactions=pd.DataFrame(frame))


def is_folder_format(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder in the plain format (it holds ``interactions.csv``/``.parquet``)."""
    path = Path(path)
    return path.is_dir() and find_table(path, "interactions", required=False) is not None


def load_folder(path: str | os.PathLike, *, user_col: str = "user", item_col: str = "item",
                weight_col: str | None = "weight", timestamp_col: str | None = "timestamp",
                kinds: Mapping[str, str] | None = None, features: str | None = "reference",
                catalog: str = "interactions") -> Dataset:
    """Read a catalog in the plain folder format (module docs).

    ``interactions.csv`` (or ``.parquet``) is required; ``items.csv`` is optional (without
    it items have no attributes); ``meta.json``'s ``"kinds"`` gives the column kinds, and
    ``kinds=`` overrides them per column. Every other argument is as in :func:`from_frames`.
    CSV cells are read as strings, so ids are strings. ``Dataset.load_split()`` reads
    ``split/`` into the same index space.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a folder or has no interactions table.
    ValueError
        A malformed table: the message names the file and the line (missing column, empty
        id, duplicated item row, non-numeric weight, unknown kind in meta.json...).
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"path {str(path)!r} is not a folder; expected a folder holding "
                                "interactions.csv and items.csv")
    inter_path = find_table(path, "interactions", required=True)
    items_path = find_table(path, "items", required=False)
    meta_kinds: dict = {}
    if (path / "meta.json").is_file():
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path / 'meta.json'}, line {exc.lineno}: invalid JSON ({exc.msg})") from None
        meta_kinds = meta.get("kinds", {}) if isinstance(meta, dict) else {}
    inter = read_table(inter_path)
    items = read_table(items_path) if items_path is not None else None
    if meta_kinds:
        cols = [] if items is None else [c for c in items.columns if c != item_col]
        meta_kinds = check_kinds(meta_kinds, cols, str(path / "meta.json"))
    merged = {**meta_kinds, **(dict(kinds) if kinds else {})}
    return from_frames(inter, items, user_col=user_col, item_col=item_col, weight_col=weight_col,
                       timestamp_col=timestamp_col, kinds=merged, features=features,
                       catalog=catalog, name=path.name, path=path,
                       sources=(str(inter_path), str(items_path) if items_path else "items"))
