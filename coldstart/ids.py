"""Mapping between external ids (any hashable: ints, strings) and internal indices 0..n-1."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd


class IdMap:
    """Append-only map from external ids to contiguous internal indices.

    Parameters
    ----------
    external_ids : array-like of shape (n,)
        Unique external ids; index ``i`` is given to ``external_ids[i]``.
    name : str
        What the ids are ("user", "item"), used in error messages.
    """

    def __init__(self, external_ids: Iterable[Any] = (), name: str = "id"):
        ids = pd.Index(list(external_ids) if not isinstance(external_ids, (np.ndarray, pd.Index, pd.Series))
                       else external_ids)
        if ids.hasnans:
            raise ValueError(f"{name} ids contain missing values; expected every {name} to have an id")
        if not ids.is_unique:
            dup = ids[ids.duplicated()][0]
            raise ValueError(f"{name} ids must be unique; {dup!r} appears more than once")
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
        idx = self._index.get_indexer(values)
        if missing == "raise" and (idx < 0).any():
            unknown = list(values[idx < 0][:5])
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

    def add(self, external_ids: Iterable[Any]) -> np.ndarray:
        """Append new ids; returns their internal indices. Known ids are refused."""
        new = pd.Index(list(external_ids) if not isinstance(external_ids, (np.ndarray, pd.Index, pd.Series))
                       else external_ids)
        if not new.is_unique:
            raise ValueError(f"new {self.name} ids must be unique; {new[new.duplicated()][0]!r} repeats")
        known = new.isin(self._index)
        if known.any():
            raise ValueError(f"{self.name} ids {list(new[known][:5])} are already known; expected new ids")
        start = len(self._index)
        self._index = self._index.append(new)
        return np.arange(start, start + len(new), dtype=np.int64)

    def to_array(self) -> np.ndarray:
        """Ids as a non-object numpy array (for pickle-free saving)."""
        values = self._index.to_numpy()
        if values.dtype == object:
            kinds = {type(v) for v in values}
            if kinds <= {int, np.int64}:
                return values.astype(np.int64)
            return values.astype(str)
        return values

    def __repr__(self) -> str:
        return f"IdMap(name={self.name!r}, n={len(self)})"
