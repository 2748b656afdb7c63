"""Precomputed vectors (embeddings) -> one mean-centred block.

A column of equal-length numeric arrays/lists, or a group of numeric columns given as
``vector_groups={"emb": ["e0", "e1", ...]}``.  Each dimension is mean-centred
(``StandardScaler(with_std=False)``) and otherwise kept as it is, so the relative scale of the
dimensions, part of the embedding's geometry, survives; missing entries become 0 (= the mean).  Features:
``col__0 ...`` for a column, ``group__<column>`` for a group.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt
from sklearn.preprocessing import StandardScaler

from coldstart.features.blocks import LISTLIKE, Block, dense_to_csr
from coldstart.features.numeric import to_float

__all__ = ["VectorBlock"]


class VectorBlock(Block):
    """A column of equal-length numeric arrays (``group=False``) or a group of numeric columns
    (``group=True``) -> (n_items, dim) mean-centred values."""

    kind = "vector"

    def __init__(self, name: str, columns: list[str], group: bool) -> None:
        super().__init__(name, columns)
        self.group = group
        self.dim = len(columns) if group else 0

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """The vectors as float64 (n_items, dim), NaN where missing; the first fit sets ``dim``."""
        if self.group:
            return np.column_stack([to_float(X[c]) for c in self.columns]).reshape(
                len(X), len(self.columns)
            )
        col = self.columns[0]
        s = X[col]
        if pdt.is_numeric_dtype(s.dtype) or pdt.is_bool_dtype(s.dtype):
            return to_float(s)[:, None]
        arr = s.to_numpy(dtype=object)
        is_vec = np.fromiter(
            (isinstance(v, LISTLIKE) and len(v) > 0 for v in arr), bool, arr.size
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
        return dense_to_csr(Z), present

    def feature_names(self):
        if self.group:
            return [f"{self.name}__{c}" for c in self.columns]
        return [f"{self.name}__{i}" for i in range(self.dim)]

    def get_state(self):
        return self.state_meta(group=self.group), {"mean": np.asarray(self.scaler.mean_, np.float64)}

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]), bool(meta["group"]))
        b.dim = int(meta["n_features"])
        b._build(np.asarray(arrays["mean"], dtype=np.float64))
        return b
