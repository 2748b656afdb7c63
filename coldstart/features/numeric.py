"""Numeric columns (numbers, booleans, dates and durations) -> the one-hot of each value's
quantile bin (default) or one scaled column.

Values are read as float64 (:func:`to_float`: dates become days since 1970-01-01 UTC, durations
days, unparseable or non-finite values missing).

Bins (``numeric_bins`` > 0, default 10): the cut points are the quantiles of the observed fit
values (ties merged), so each bin holds about as many items on any scale (years, prices,
counts, dates) and a new item's value, however far out, falls in an edge bin. The map learns
one vector per bin: a release era or a price band can point anywhere in the factor space, which
one linear coefficient on a scaled number cannot (movies' years: cold Recall@20 .18 -> .24 on
ml-latest-small, ``benchmarks/ABLATION.md``). Features: ``col<a``, ``col=[a,b)``, ``col>=b``.

Scaled (``numeric_bins=0``): a non-negative column whose skewness exceeds ``skew_threshold`` is
``log1p``-transformed, so a few huge values do not squeeze every other item to the same scaled
value; missing values get the fit median (:class:`~sklearn.impute.SimpleImputer`); then
:class:`~sklearn.preprocessing.StandardScaler`. Feature: ``col``.

Either way a ``<col>_missing`` indicator column is added when the column had missing values at
fit time (a missing value has no bin).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api import types as pdt
from scipy.stats import skew as _skew
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from coldstart.features.blocks import MAX_ABS_OUTPUT, Block, dense_to_csr

__all__ = ["NumericBlock", "UnreadableValueWarning", "to_float"]


class UnreadableValueWarning(UserWarning):
    """Values of a numeric column could not be read as finite numbers and count as missing."""


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
    """One numeric column -> (n_items, n_bins) one-hot of its quantile bin, or (n_items, 1)
    scaled values (``numeric_bins=0``), plus (n_items, 1) missing indicator when the column had
    missing values at fit time.

    ``source`` (``"number"``, ``"datetime"``, ``"timedelta"``) says how :func:`to_float`
    reads the column.
    """

    kind = "numeric"

    def __init__(self, name: str, columns: list[str], source: str = "number") -> None:
        super().__init__(name, columns)
        self.source = source
        self.log = False
        self.has_indicator = False
        self.cuts: np.ndarray | None = None  # bin mode: inner cut points (float64, ascending)

    def _read(self, X: pd.DataFrame) -> np.ndarray:
        """The column as float64 (n_items,), NaN where missing (before the log); values given
        but unreadable as finite numbers (a typo, ``inf``) count as missing, with a warning."""
        s = X[self.columns[0]]
        x = to_float(s, self.source)
        given = s.notna().to_numpy()
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            given = given & s.astype(str).str.strip().ne("").to_numpy()  # a blank cell is a missing one
        bad = np.flatnonzero(given & np.isnan(x))
        if bad.size:
            shown = [v.item() if isinstance(v, np.generic) else v for v in s.iloc[bad[:3]]]
            warnings.warn(f"numeric column {self.columns[0]!r}: {bad.size} value(s) are not finite "
                          f"numbers and count as missing (e.g. {shown})", UnreadableValueWarning,
                          stacklevel=2)
        return x

    def _log(self, x: np.ndarray) -> np.ndarray:
        """``log1p`` of the values clipped at 0 when the fit chose it; else ``x``."""
        return np.log1p(np.clip(x, 0.0, None)) if self.log else x

    def fit_transform(self, X, cfg):
        x = self._read(X)
        obs = x[~np.isnan(x)]
        if obs.size == 0:
            raise ValueError(f"numeric column {self.columns[0]!r} has no finite value")
        self.has_indicator = bool(obs.size < x.size)
        n_bins = cfg["numeric_bins"]
        if n_bins:
            # cut points are observed values (a value equal to a cut starts its bin): a column of
            # few distinct values (years, ratings, flags) gets one bin per value, none empty
            cuts = np.unique(np.quantile(obs, np.linspace(0.0, 1.0, n_bins + 1)[1:-1], method="inverted_cdf"))
            self.cuts = cuts[cuts > obs.min()]  # the lowest bin starts at the smallest value
            self.n_features = self.cuts.size + 1 + int(self.has_indicator)
            return self._encode(x)
        thr = cfg["skew_threshold"]
        if thr is not None and obs.size > 2 and obs.min() >= 0 and np.ptp(obs) > 0:
            self.log = bool(_skew(obs) > thr)
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
        if self.cuts is not None:
            rows = np.arange(x.size)
            cols = np.searchsorted(self.cuts, x, side="right")  # NaN sorts last: its row is dropped
            if self.has_indicator:
                cols = np.where(present, cols, self.n_features - 1)  # the missing indicator
            else:
                rows, cols = rows[present], cols[present]
            return sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)),
                                 shape=(x.size, self.n_features)), present
        imp = self.imputer.transform(x[:, None])
        D = np.empty((x.size, self.n_features), dtype=np.float32)
        D[:, 0] = np.clip(self.scaler.transform(imp[:, :1])[:, 0], -MAX_ABS_OUTPUT, MAX_ABS_OUTPUT)
        if self.has_indicator:
            D[:, 1] = imp[:, 1]
        return dense_to_csr(D), present

    def feature_names(self):
        col = self.name
        missing = [f"{col}_missing"] if self.has_indicator else []
        if self.cuts is None:
            return [col] + missing
        c = [self._label(v) for v in self.cuts]
        if not c:
            return [col] + missing
        names = [f"{col}<{c[0]}"] + [f"{col}=[{a},{b})" for a, b in zip(c[:-1], c[1:])] + [f"{col}>={c[-1]}"]
        if len(set(names)) < len(names):  # cut points closer than the labels' precision
            names = [f"{col}_bin{j}" for j in range(len(names))]
        return names + missing

    def _label(self, v: float) -> str:
        """A cut point as written in a feature name (dates as dates)."""
        if self.source == "datetime":
            return str((pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(v))).date())
        return f"{v:.6g}"

    def get_state(self):
        meta = self.state_meta(source=self.source, log=self.log, has_indicator=self.has_indicator)
        if self.cuts is not None:
            return meta, {"cuts": np.asarray(self.cuts, dtype=np.float64)}
        stats = np.array(
            [self.imputer.statistics_[0], self.scaler.mean_[0], self.scaler.scale_[0]],
            dtype=np.float64,
        )
        return meta, {"stats": stats}

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]), meta["source"])
        b.log, b.has_indicator = bool(meta["log"]), bool(meta["has_indicator"])
        b.n_features = int(meta["n_features"])
        if "cuts" in arrays:
            cuts = np.asarray(arrays["cuts"], dtype=np.float64).ravel()
            if cuts.size + 1 + int(b.has_indicator) != b.n_features or not np.all(np.isfinite(cuts)) \
                    or np.any(np.diff(cuts) <= 0):
                raise ValueError(f"corrupt numeric block {b.name!r}: its cut points do not match its width "
                                 "or are not finite and increasing")
            b.cuts = cuts
            return b
        median, mean, scale = (float(v) for v in arrays["stats"])
        fit_x = np.array([[median], [np.nan]] if b.has_indicator else [[median]])
        b.imputer = SimpleImputer(strategy="median", add_indicator=b.has_indicator).fit(fit_x)
        b.scaler = StandardScaler()
        b.scaler.mean_ = np.array([mean])
        b.scaler.scale_ = np.array([scale])
        b.scaler.var_ = np.array([scale**2])
        b.scaler.n_features_in_ = 1
        b.scaler.n_samples_seen_ = np.int64(1)
        return b
