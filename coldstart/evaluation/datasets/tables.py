"""Tables with external ids: reading CSV / Parquet, indexing ids by their string form, naming rows
in errors, and split folders whose files hold external ids.

Every reader of the plain folder format (and :mod:`coldstart.frame`) maps ids the same way:
users and items are indexed by their ids sorted as strings, so two paths over the same pairs
agree on every index.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart.evaluation.splits import SPLIT_PARTS, ColdStartSplit

TABLE_EXTS: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq")


class Where:
    """Names a row of a table in error messages: ``file, line n`` or ``name, row n``."""

    def __init__(self, name: str, csv: bool):
        self.name, self.csv = name, csv

    def __call__(self, j: int) -> str:
        return f"{self.name}, line {j + 2}" if self.csv else f"{self.name}, row {j}"


def find_table(folder: Path, stem: str, required: bool) -> Path | None:
    for ext in TABLE_EXTS:
        if (folder / (stem + ext)).is_file():
            return folder / (stem + ext)
    if required:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise FileNotFoundError(
            f"{folder} has no {stem}.csv (or {stem}.parquet); expected the plain folder format "
            f"(interactions.csv, items.csv, optional meta.json and split/); found {present[:12]}"
        )
    return None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (every cell as a string, empty = ``""``) or Parquet table.

    The format follows the extension: ``.parquet`` / ``.pq`` is Parquet (needs pyarrow),
    anything else CSV (``.gz`` decompressed).
    """
    path = Path(path)
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        where = f", line {m.group(1)}" if m else ""
        raise ValueError(f"{path}{where}: malformed CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file; expected a header line") from None


def missing_mask(s: pd.Series) -> np.ndarray:
    miss = s.isna().to_numpy().copy()
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        miss |= s.astype(str).str.strip().eq("").to_numpy()
    return miss


def index_ids(values: pd.Series, what: str, where: Where) -> tuple[np.ndarray, np.ndarray]:
    """Unique ids sorted by their string form, and each value's index. Missing ids raise."""
    miss = missing_mask(values)
    if miss.any():
        j = int(np.flatnonzero(miss)[0])
        raise ValueError(f"{where(j)}: empty {what} id; expected every row to name a {what} "
                         f"({int(miss.sum())} rows lack one)")
    codes, uniques = pd.factorize(values, sort=False)
    keys = np.asarray([str(u) for u in uniques], dtype=str)
    order = np.argsort(keys, kind="stable")
    if keys.size > 1 and (keys[order][1:] == keys[order][:-1]).any():
        k = str(keys[order][1:][keys[order][1:] == keys[order][:-1]][0])
        raise ValueError(f"{where.name}: two different {what} ids have the same string form {k!r} "
                         "(e.g. 1 and '1'); expected ids that are distinct as strings")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    ids = np.asarray(uniques)[order] if not isinstance(uniques, pd.Index) else uniques.to_numpy()[order]
    return ids, rank[codes]


def key_index(ids: np.ndarray) -> pd.Index:
    return pd.Index([str(v) for v in ids])


def lookup(index: pd.Index, values: pd.Series, what: str, where: Where, source: str) -> np.ndarray:
    pos = index.get_indexer([str(v) for v in values])
    if (pos < 0).any():
        j = int(np.flatnonzero(pos < 0)[0])
        raise ValueError(f"{where(j)}: {what} {values.iloc[j]!r} is not in {source} "
                         f"({int((pos < 0).sum())} rows with unknown {what}s)")
    return pos.astype(np.int64)


def cells(items: pd.DataFrame | None, item_col: str, item_ids: np.ndarray) -> pd.DataFrame:
    """``items`` re-indexed to ``item_ids`` (by string form); items without a row get NaN."""
    if items is None:
        return pd.DataFrame(index=pd.RangeIndex(len(item_ids)))
    keyed = items.set_index(pd.Index([str(v) for v in items[item_col]]))
    keyed = keyed[~keyed.index.duplicated()]
    out = keyed.reindex(key_index(item_ids)).drop(columns=[item_col])
    return out.reset_index(drop=True)


def strings(s: pd.Series) -> pd.Series:
    """Cells as stripped strings, missing -> ""."""
    return id_strings(s).str.strip()


def id_strings(s: pd.Series) -> pd.Series:
    """Cells as strings, missing -> "", spaces kept: the string form ids are matched by
    (:func:`key_index`), so ``"x"`` and ``" x"`` stay two ids as the interactions hold them."""
    out = s.astype(object).where(s.notna(), "")
    return out.map(lambda v: v if isinstance(v, str) else str(v))



def read_split_ids(path: str | os.PathLike, user_ids: Any, item_ids: Any):
    """Read a split folder whose files hold external ids, into the index space of the ids.

    Each of ``train.csv``, ``warm_test.csv``, ``cold_val.csv``, ``cold_test.csv`` has the
    header ``user,item``; ids are read as strings and matched to the string forms of
    ``user_ids`` / ``item_ids`` (position = index), spaces and all.

    Returns
    -------
    ColdStartSplit of shape (len(user_ids), len(item_ids))

    Raises
    ------
    FileNotFoundError
        A missing folder or file.
    ValueError
        A bad header, an empty or unknown id, or a pair listed twice (file and line named).
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"split folder {str(path)!r} is not a directory")
    users_ix, items_ix = key_index(np.asarray(user_ids)), key_index(np.asarray(item_ids))
    shape = (len(users_ix), len(items_ix))
    mats = {}
    for part in SPLIT_PARTS:
        f = path / f"{part}.csv"
        if not f.is_file():
            raise FileNotFoundError(f"split folder {path} has no {part}.csv; expected "
                                    f"{[p + '.csv' for p in SPLIT_PARTS]}")
        df = read_table(f)
        if [str(c).strip() for c in df.columns] != ["user", "item"]:
            raise ValueError(f"{f}, line 1: header must be 'user,item'; received {','.join(map(str, df.columns))!r}")
        df.columns = ["user", "item"]  # a header written "user, item" names the same columns
        where = Where(str(f), True)
        u = lookup(users_ix, id_strings(df["user"]), "user", where, "the dataset's users")
        i = lookup(items_ix, id_strings(df["item"]), "item", where, "the dataset's items")
        key = u * shape[1] + i
        dup = pd.Series(key).duplicated().to_numpy()
        if dup.any():
            j = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero(key == key[j])[0])
            raise ValueError(f"{where(j)}: the pair (user {df['user'].iloc[j]!r}, item "
                             f"{df['item'].iloc[j]!r}) is also at line {first + 2}; expected each pair once")
        mats[part] = sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=shape)
    return ColdStartSplit(**mats)


def write_split_ids(split, path: str | os.PathLike, user_ids: Any, item_ids: Any) -> None:
    """Write a split as a folder of ``user,item`` CSV files with external ids (rows sorted by index)."""
    if not isinstance(split, ColdStartSplit):
        raise TypeError(f"split must be a ColdStartSplit; received {type(split).__name__}")
    user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
    if split.shape != (len(user_ids), len(item_ids)):
        raise ValueError(f"split has shape {split.shape} but user_ids / item_ids have lengths "
                         f"({len(user_ids)}, {len(item_ids)}); expected the same index space")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for part in SPLIT_PARTS:
        coo = getattr(split, part).tocoo()
        order = np.lexsort((coo.col, coo.row))
        pd.DataFrame({"user": user_ids[coo.row[order]], "item": item_ids[coo.col[order]]}).to_csv(
            path / f"{part}.csv", index=False)
