"""The block protocol shared by every column kind, and the value helpers the kinds share.

A *block* encodes one input column (or one group of vector columns) into a slice of the
featurizer's output: ``fit_transform(X, cfg)`` learns from the fit catalog and
``transform(X)`` re-uses what it learnt; both return ``(Z, present)``, ``Z`` a float32
``csr_matrix`` of shape (n_items, n_features) and ``present`` a bool array of shape
(n_items,) telling which rows carry information (a numeric block's row is non-zero even where
its value was missing, so presence cannot be read off the zero pattern).  ``state()`` exports
what was learnt as ``(meta, arrays)`` (JSON scalars, float64 or fixed-width unicode arrays) and
``from_state(meta, arrays)`` rebuilds the block without re-fitting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["Block", "TooRareError", "LISTLIKE", "MAX_ABS_OUTPUT", "SAMPLE_SIZE", "dense_to_csr",
           "jsonable", "present_rows", "sample_values", "str_array"]

#: Cell types read as a list of labels or a vector.
LISTLIKE = (list, tuple, set, frozenset, np.ndarray, pd.Series)
#: Values looked at by the inference heuristics (a deterministic sample).
SAMPLE_SIZE = 20_000
#: Encoded values are clipped to this magnitude (float32 squares and row norms stay finite).
MAX_ABS_OUTPUT = 1e9


class TooRareError(ValueError):
    """No category/label of a column reaches ``min_count``: the column is ignored."""


class Block:
    """One output block (module docstring): ``fit_transform``/``transform`` return
    ``(Z, present)`` of shapes (n_items, n_features) and (n_items,)."""

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

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        raise NotImplementedError

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "Block":
        raise NotImplementedError

    def state_meta(self, **extra: Any) -> dict:
        """The JSON part of :meth:`state`: name, kind, columns, width and ``extra``."""
        return {"name": self.name, "kind": self.kind, "columns": list(self.columns),
                "n_features": int(self.n_features), **extra}


def present_rows(Z: sp.csr_matrix) -> np.ndarray:
    """Rows of ``Z`` (n_items, n_features) holding a stored entry -> bool (n_items,)."""
    return np.diff(Z.indptr) > 0


def dense_to_csr(D: np.ndarray) -> sp.csr_matrix:
    """Dense block (n_items, n_dims) -> float32 csr, clipped to ``MAX_ABS_OUTPUT``, zeros dropped."""
    D = np.clip(D, -MAX_ABS_OUTPUT, MAX_ABS_OUTPUT)
    Z = sp.csr_matrix(np.ascontiguousarray(D, dtype=np.float32))
    Z.eliminate_zeros()
    return Z


def sample_values(values: np.ndarray) -> np.ndarray:
    """At most ``SAMPLE_SIZE`` of ``values`` (n,), the same ones on every call, in order."""
    if values.size <= SAMPLE_SIZE:
        return values
    idx = np.sort(np.random.default_rng(0).choice(values.size, SAMPLE_SIZE, replace=False))
    return values[idx]


def str_array(values: Sequence[str]) -> np.ndarray:
    """Fixed-width unicode array (never object) for serialisation."""
    arr = np.array(list(values), dtype=np.str_)
    return arr if arr.size else np.zeros(0, dtype="<U1")


def jsonable(obj: Any, what: str) -> Any:
    """Return a JSON-compatible copy of ``obj`` or raise ValueError."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        if isinstance(obj, float) and not np.isfinite(obj):
            raise ValueError(f"{what} is not JSON-serialisable: {obj!r}")
        return obj
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), what)
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, f"{what}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj) if isinstance(obj, (set, frozenset)) else obj
        return [jsonable(v, what) for v in items]
    raise ValueError(
        f"{what} is not JSON-serialisable ({type(obj).__name__}); get_state() needs "
        "plain strings/numbers/lists (no callables)"
    )
