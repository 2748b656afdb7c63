"""Numeric columns (numbers, booleans, dates and durations) -> one scaled column each.

Values are read as float64 (:func:`to_float`: dates become days since 1970-01-01 UTC, durations
days, unparseable or non-finite values missing).  A non-negative column whose skewness exceeds
``skew_threshold`` is ``log1p``-transformed, so a few huge values (view counts, prices) do not
squeeze every other item to the same scaled value.  Missing values get the fit median
(:class:`~sklearn.impute.SimpleImputer`) plus a ``<col>_missing`` indicator column when the
column had missing values at fit time; then :class:`~sklearn.preprocessing.StandardScaler`.
Features: ``col`` and ``col_missing``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api import types as pdt
from scipy.stats import skew as _skew
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from coldstart.features.blocks import MAX_ABS_OUTPUT, Block, dense_to_csr

__all__ = ["NumericBlock", "to_float"]


#: Numbers beyond this magnitude are clipped on reading (their squares, summed over a column,
#: stay finite, so means and variances do too: 1e308 does not become a NaN column).
_MAX_ABS_INPUT = 1e150


def to_float(s: pd.Series, source: str = "number") -> np.ndarray:
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


class NumericBlock(Block):
    """One numeric column -> (n_items, 1) scaled values, plus (n_items, 1) missing indicator
    when the column had missing values at fit time.

    ``source`` (``"number"``, ``"datetime"``, ``"timedelta"``) says how :func:`to_float`
    reads the column.
    """

    kind = "numeric"

    def __init__(self, name: str, columns: list[str], source: str = "number") -> None:
        super().__init__(name, columns)
        self.source = source
        self.log = False
        self.has_indicator = False

    def _read(self, X: pd.DataFrame) -> np.ndarray:
        """The column as float64 (n_items,), NaN where missing (before the log)."""
        return to_float(X[self.columns[0]], self.source)

    def _log(self, x: np.ndarray) -> np.ndarray:
        """``log1p`` of the values clipped at 0 when the fit chose it; else ``x``."""
        return np.log1p(np.clip(x, 0.0, None)) if self.log else x

    def fit_transform(self, X, cfg):
        x = self._read(X)
        obs = x[~np.isnan(x)]
        if obs.size == 0:
            raise ValueError(f"numeric column {self.columns[0]!r} has no finite value")
        thr = cfg["skew_threshold"]
        if thr is not None and obs.size > 2 and obs.min() >= 0 and np.ptp(obs) > 0:
            self.log = bool(_skew(obs) > thr)
        self.has_indicator = bool(obs.size < x.size)
        x = self._log(x)
        self.imputer = SimpleImputer(strategy="median", add_indicator=self.has_indicator)
        self.imputer.fit(x[:, None])
        self.scaler = StandardScaler().fit(self.imputer.transform(x[:, None])[:, :1])
        self.n_features = 1 + int(self.has_indicator)
        return self._encode(x)

    def transform(self, X):
        return self._encode(self._log(self._read(X)))

    def _encode(self, x: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        present = ~np.isnan(x)
        imp = self.imputer.transform(x[:, None])
        D = np.empty((x.size, self.n_features), dtype=np.float32)
        D[:, 0] = np.clip(self.scaler.transform(imp[:, :1])[:, 0], -MAX_ABS_OUTPUT, MAX_ABS_OUTPUT)
        if self.has_indicator:
            D[:, 1] = imp[:, 1]
        return dense_to_csr(D), present

    def feature_names(self):
        col = self.name
        return [col] + ([f"{col}_missing"] if self.has_indicator else [])

    def get_state(self):
        stats = np.array(
            [self.imputer.statistics_[0], self.scaler.mean_[0], self.scaler.scale_[0]],
            dtype=np.float64,
        )
        return self.state_meta(source=self.source, log=self.log,
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
