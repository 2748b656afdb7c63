"""Mapping between external ids and internal indices 0..n-1.

Type discipline: an external id is an ``int`` or a ``str`` (numpy integers count as int, numpy
strings as str). Both kinds may be mixed in one map and stay apart (``1`` and ``"1"`` are
different ids); each keeps its type through save and load. Missing ids (None, NaN), floats,
bools, bytes and other objects are refused with an error naming the offending value.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

_INT64 = (np.iinfo(np.int64).min, np.iinfo(np.int64).max)


def normalize_ids(values: Any, name: str = "id") -> pd.Index:
    """External ids (array-like of shape (n,)) as a pandas Index, checked against the type
    discipline of this module: int64/uint64 for integer ids, object for strings or a mix
    (Python ``int`` and ``str`` values). Duplicates are not checked here."""
    if isinstance(values, (pd.Index, pd.Series)):
        arr = values.to_numpy()
    elif isinstance(values, np.ndarray):
        arr = values
    else:
        arr = np.empty(len(values), dtype=object) if not isinstance(values, (str, bytes)) else None
        if arr is None:
            raise TypeError(f"{name} ids must be an array-like of ids; received a single {type(values).__name__}")
        arr[:] = list(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} ids must be 1-D; received shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iu":
        return pd.Index(arr)
    if kind == "U":
        return pd.Index(arr.astype(object))
    if arr.size == 0:
        return pd.Index(arr.astype(object))
    inferred = pd.api.types.infer_dtype(arr, skipna=False) if kind == "O" else None
    if inferred == "string":
        return pd.Index(arr, dtype=object)
    if inferred == "integer":
        return pd.Index(_ints(arr, name))
    if inferred == "mixed-integer":
        out = np.empty(arr.size, dtype=object)
        for i, v in enumerate(arr):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, str)):
                _refuse(v, name)
            out[i] = v if isinstance(v, str) else int(v)
            if not isinstance(v, str) and not _INT64[0] <= out[i] <= _INT64[1]:
                raise ValueError(f"{name} id {v!r} does not fit in 64 bits; expected int64 ids or strings")
        return pd.Index(out, dtype=object)
    # a missing value is named first (a float column with NaN holds floats everywhere)
    missing = next((v for v in arr if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))), None)
    bad = next((v for v in arr if isinstance(v, (bool, np.bool_))
                or not isinstance(v, (int, np.integer, str))), arr[0])
    _refuse(bad if missing is None else missing, name)


def _ints(arr: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.asarray(arr.tolist(), dtype=np.int64)
    except OverflowError:
        raise ValueError(f"{name} ids do not fit in 64 bits; expected int64 ids or strings") from None


def _refuse(v: Any, name: str):
    if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        raise ValueError(f"{name} ids contain a missing value ({plain(v)!r}); expected every {name} to "
                         "have an id (int or str): drop or fill those rows first")
    raise ValueError(f"{name} ids must be int or str; received {plain(v)!r} ({type(v).__name__}). Convert "
                     "the column first (e.g. .astype(int) or .astype(str))")


def plain(v: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages: ``5``, not ``np.int64(5)``)."""
    return v.item() if isinstance(v, np.generic) else v


class IdMap:
    """Append-only map from external ids (int or str, see the module) to contiguous internal indices.

    Parameters
    ----------
    external_ids : array-like of shape (n,)
        Unique external ids; index ``i`` is given to ``external_ids[i]``.
    name : str
        What the ids are ("user", "item"), used in error messages.
    """

    def __init__(self, external_ids: Iterable[Any] = (), name: str = "id"):
        ids = normalize_ids(external_ids, name)
        if not ids.is_unique:
            dup = ids[ids.duplicated()][0]
            raise ValueError(f"{name} ids must be unique; {plain(dup)!r} appears more than once")
        self.name = name
        self._index = ids

    @classmethod
    def from_values(cls, values: Iterable[Any], name: str = "id") -> "IdMap":
        """Build from a column with repeats, in order of first appearance."""
        return cls(pd.unique(pd.Series(values)), name=name)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, external_id: Any) -> bool:
        return external_id in self._index

    @property
    def external_ids(self) -> np.ndarray:
        """External ids, position = internal index. Shape (n,)."""
        return self._index.to_numpy()

    def to_internal(self, external_ids: Any, missing: str = "raise") -> np.ndarray:
        """Internal indices of ``external_ids``.

        missing : {"raise", "ignore"}
            "raise": unknown ids raise ``KeyError`` naming them; "ignore": they get -1.
        """
        values = pd.Index(np.atleast_1d(np.asarray(external_ids, dtype=object))
                          if not isinstance(external_ids, (pd.Series, pd.Index)) else external_ids)
        # the type discipline holds for lookups too: 1.0 is not the id 1 (ints of any width and
        # strings pass as they are; floats, missing values and bools are refused as in the map)
        kind = values.dtype.kind
        if kind in "fb" or (kind == "O" and pd.api.types.infer_dtype(values, skipna=False)
                            not in ("integer", "string", "empty")):
            normalize_ids(values, self.name)
        idx = self._index.get_indexer(values)
        if missing == "raise" and (idx < 0).any():
            unknown = values[idx < 0][:5].tolist()
            raise KeyError(f"unknown {self.name} ids {unknown} ({int((idx < 0).sum())} in all); "
                           f"expected ids known to the model (it knows {len(self)} {self.name}s)")
        return idx.astype(np.int64)

    def to_external(self, internal: Any) -> np.ndarray:
        """External ids of internal indices (``-1`` padding becomes None)."""
        internal = np.asarray(internal)
        out = self.external_ids.astype(object)[np.where(internal < 0, 0, internal)]
        if (internal < 0).any():
            out = np.where(internal < 0, None, out)
        return out

    def check_new(self, external_ids: Iterable[Any]) -> pd.Index:
        """Validate ids to add (type discipline, no repeats, none already known) without
        changing the map; returns them normalised."""
        new = normalize_ids(external_ids, self.name)
        if not new.is_unique:
            raise ValueError(f"new {self.name} ids must be unique; {plain(new[new.duplicated()][0])!r} repeats")
        known = new.isin(self._index)
        if known.any():
            raise ValueError(f"{self.name} ids {list(new[known][:5])} are already known; expected new ids")
        return new

    def with_added(self, external_ids: Iterable[Any]) -> "IdMap":
        """A new map with ``external_ids`` appended (this one unchanged)."""
        new = self.check_new(external_ids)
        out = IdMap.__new__(IdMap)
        out.name, out._index = self.name, _append(self._index, new)
        return out

    def add(self, external_ids: Iterable[Any]) -> np.ndarray:
        """Append new ids; returns their internal indices. Known, repeated or invalid ids are
        refused before anything changes."""
        new = self.check_new(external_ids)
        start = len(self._index)
        self._index = _append(self._index, new)
        return np.arange(start, start + len(new), dtype=np.int64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Ids as non-object numpy arrays (for pickle-free saving): ``ids`` (int64 / uint64, or
        strings) and, for a mix of ints and strings, ``is_int`` (bool) marking the ints."""
        values = self._index.to_numpy()
        if values.dtype.kind in "iu":
            return {"ids": values}
        if values.size == 0:
            return {"ids": np.zeros(0, dtype=np.int64)}
        is_int = np.fromiter((not isinstance(v, str) for v in values), bool, values.size)
        if is_int.all():
            return {"ids": np.asarray(values.tolist(), dtype=np.int64)}
        out = {"ids": values.astype(str)}
        if is_int.any():
            out["is_int"] = is_int
        return out

    def to_array(self) -> np.ndarray:
        """Ids as one non-object numpy array (a mix of ints and strings becomes strings; use
        :meth:`to_arrays` to keep the types)."""
        return self.to_arrays()["ids"]

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], name: str = "id") -> "IdMap":
        """Inverse of :meth:`to_arrays`."""
        ids = np.asarray(arrays["ids"])
        is_int = arrays.get("is_int")
        if ids.dtype.kind not in "iuU" or ids.ndim != 1:
            raise ValueError(f"{name} ids must be a 1-D array of integers or strings; received {ids.dtype}")
        if is_int is not None:
            is_int = np.asarray(is_int)
            if is_int.dtype != bool or is_int.shape != ids.shape or ids.dtype.kind != "U":
                raise ValueError(f"{name} id kinds do not match the ids")
            values = ids.astype(object)
            values[is_int] = [int(v) for v in ids[is_int]]
            return cls(values, name=name)
        return cls(ids, name=name)

    def __repr__(self) -> str:
        return f"IdMap(name={self.name!r}, n={len(self)})"


def _append(index: pd.Index, new: pd.Index) -> pd.Index:
    """``index`` then ``new``, keeping ints and strings apart (no numeric upcast)."""
    if len(new) == 0:
        return index
    if index.dtype.kind in "iu" and new.dtype.kind in "iu":
        return index.append(new)
    return pd.Index(np.concatenate([index.to_numpy(dtype=object), new.to_numpy(dtype=object)]), dtype=object)


def jsonable_columns(columns: list | None, name: str = "attribute") -> list | None:
    """Column names as JSON keeps them exactly: str, int, float and (as lists) tuples of them, e.g.
    a flattened MultiIndex; any other name is refused (a file must not match columns by position)."""
    if columns is None:
        return None

    def plain_name(c):
        if isinstance(c, str) or (isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_))):
            return c if isinstance(c, str) else int(c)
        if isinstance(c, (float, np.floating)) and np.isfinite(c):
            return float(c)
        if isinstance(c, tuple):
            return [plain_name(x) for x in c]
        raise TypeError(f"save: the {name} column name {c!r} ({type(c).__name__}) cannot be written exactly; "
                        "expected str, int, finite float or tuples of them (rename the columns before fit)")

    return [plain_name(c) for c in columns]


def columns_from_json(columns: list) -> list:
    """:func:`jsonable_columns`'s names back (lists are tuples again); anything else refused."""
    def name(c):
        if isinstance(c, list):
            return tuple(name(x) for x in c)
        if isinstance(c, bool) or not isinstance(c, (str, int, float)):
            raise ValueError(f"column name {c!r} is not one save writes")
        return c

    if not isinstance(columns, list):
        raise ValueError(f"column names must be a list; received {type(columns).__name__}")
    return [name(c) for c in columns]
