"""Item attribute table -> balanced sparse feature matrix (:class:`ItemFeaturizer`).

:class:`ItemFeaturizer` turns a :class:`pandas.DataFrame` of items (one row per item) into a
float32 ``csr_matrix`` of shape (n_items, n_features_out_) whose columns are grouped in
*blocks*, one per input column (or per vector group).  The matrix is what the cold-start map
regresses onto the collaborative factor space, so brand-new items only need attributes.  This
module holds the orchestration and the fitted state; each column kind lives in its own module:

``numeric``       (:mod:`~coldstart.features.numeric`) one-hot of the value's quantile bin (or,
                  with ``numeric_bins=0``, log1p if skewed, median imputation, standard
                  scaling), a ``<col>_missing`` indicator;
``categorical``   (:mod:`~coldstart.features.categorical`) one-hot of stripped strings;
``multilabel``    (:mod:`~coldstart.features.categorical`) L2-normalised label indicators;
``text``          (:mod:`~coldstart.features.text`) sublinear tf-idf;
``vector``        (:mod:`~coldstart.features.vectors`) mean-centred precomputed vectors;
``ignore``        dropped.

Columns without an explicit ``kinds`` entry get a kind from :mod:`~coldstart.features.inference`;
columns it ignores are reported in one :class:`ColumnIgnoredWarning`.

Block balancing
---------------
Let ``Z_b`` be block ``b`` as encoded and ``q_i = ||Z_b[i]||^2``.  With ``balance="present"``
(default) the block is multiplied by::

    s_b = w_b / sqrt(mean(q_i over fit rows with q_i > 0))

so that on the training catalog every block contributes on average a squared norm of exactly
``w_b**2`` (``w_b = weights.get(b, 1.0)``) to the rows where it is non-zero: a one-hot of 1
column, a 20k-term tf-idf block and a 64-d embedding all matter equally by default.
``balance="all"`` averages over all rows instead (sparsely filled blocks are then up-weighted
where present), ``balance="none"`` only applies ``w_b``.  The scales are frozen at fit time
(``block_scales_``) and re-used by ``transform``.

Serialisation
-------------
:meth:`ItemFeaturizer.get_state` returns ``(meta, arrays)``: ``meta`` is JSON-serialisable,
``arrays`` maps names to numeric or fixed-width unicode (``np.str_``) arrays, so both fit in an
``.npz`` + JSON pair loadable with ``allow_pickle=False``.  :meth:`ItemFeaturizer.from_state`
rebuilds an equivalent fitted featurizer without re-fitting.

Sparsity and empty items
------------------------
Everything stays sparse except the inherently dense blocks (numeric columns and vectors are
(n_items, n_dims)).  Items without usable attributes are allowed: their categorical,
multilabel, text and vector blocks are all-zero, but numeric blocks still hold the imputed
value and indicator, so detect them with :meth:`ItemFeaturizer.empty_rows` (or per block with
:meth:`ItemFeaturizer.block_presence`) rather than by zero rows.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from pandas.api import types as pdt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from coldstart.features.blocks import Block, TooRareError, jsonable
from coldstart.features.categorical import CategoricalBlock, MultilabelBlock
from coldstart.features.inference import infer_kind
from coldstart.features.numeric import NumericBlock
from coldstart.features.text import TextBlock, tfidf_params_from_json
from coldstart.features.vectors import VectorBlock

__all__ = ["ItemFeaturizer", "ColumnIgnoredWarning", "KINDS"]

#: Valid block kinds.
KINDS: tuple[str, ...] = ("numeric", "categorical", "multilabel", "text", "vector", "ignore")
_BALANCE = ("present", "all", "none")
_FORMAT = "coldstart.ItemFeaturizer"
_VERSION = 1
PARALLEL_MIN_ROWS = 100_000  # rows per worker before transform(n_jobs) splits


class ColumnIgnoredWarning(UserWarning):
    """Columns were dropped by kind inference (id-like, constant, empty...)."""


def _check_frame(X: Any, name: str = "X", fitting: bool = True) -> pd.DataFrame:
    """``X`` if it is a DataFrame (at fit: with unique string column names), else a clear error."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with one row per item, got "
            f"{type(X).__module__}.{type(X).__qualname__}"
        )
    if not fitting:  # transform: only the fitted columns matter
        return X
    bad = [c for c in X.columns if not isinstance(c, str)]
    if bad:
        raise TypeError(f"{name} must have string column names; got {bad[:5]!r}")
    if X.columns.has_duplicates:
        dups = sorted(set(X.columns[X.columns.duplicated()]))
        raise ValueError(f"{name} has duplicated column names: {dups!r}")
    return X


def _row_sq_norms(Z: sp.csr_matrix) -> np.ndarray:
    """Squared L2 norm of each row of ``Z`` (n, m), in float64 -> (n,)."""
    rows = np.repeat(np.arange(Z.shape[0]), np.diff(Z.indptr))
    return np.bincount(rows, weights=np.square(Z.data, dtype=np.float64), minlength=Z.shape[0])


_BLOCK_CLASSES: dict[str, type[Block]] = {
    c.kind: c for c in (NumericBlock, CategoricalBlock, MultilabelBlock, TextBlock, VectorBlock)
}


class ItemFeaturizer(TransformerMixin, BaseEstimator):
    """Turn a DataFrame of item attributes into a balanced sparse feature matrix.

    The kinds are described in their modules (module docstring of
    :mod:`coldstart.features.featurizer`), the inference rules in
    :mod:`coldstart.features.inference`, the balancing in this module's docstring.

    Parameters
    ----------
    kinds : dict of str -> str, optional
        Explicit kind per column (``"numeric"``, ``"categorical"``,
        ``"multilabel"``, ``"text"``, ``"vector"``, ``"ignore"``); other
        columns are inferred.
    weights : dict of str -> float, optional
        Non-negative weight per block (column name or vector-group name);
        default 1.
    vector_groups : dict of str -> list of str, optional
        Numeric columns to treat jointly as one ``vector`` block named by the
        key (features ``<key>__<column>``).
    balance : {"present", "all", "none"}, default "present"
        Block balancing rule (this module's docstring).
    text_params : dict, optional
        Extra :class:`~sklearn.feature_extraction.text.TfidfVectorizer` arguments for
        every text column, e.g. ``{"min_df": 2, "max_features": 50000, "ngram_range":
        (1, 2), "stop_words": "english"}``.  Defaults: ``sublinear_tf=True, norm="l2"``
        (char 1-2 grams for text without spaces: :mod:`~coldstart.features.text`);
        output is always float32.  Must be JSON-serialisable for :meth:`get_state`.
    min_count : int, default 2
        Categories and labels seen fewer times at fit are dropped (treated as
        unseen).  The default drops values carried by a single item: they
        cannot generalise to any other item, and a learned map only uses them
        to memorise that item (measured in ``benchmarks/ABLATION.md``).  A
        categorical or multilabel column none of whose values reaches
        ``min_count`` is ignored (listed in the :class:`ColumnIgnoredWarning`).
    multilabel_norm : {"l2", "l1", None}, default "l2"
        Row normalisation of multilabel blocks, so items with many labels do
        not dominate.
    delimiters : sequence of str, default ("|", ";", ",")
        Candidate label delimiters for string cells.
    categorical_max_unique : int, default 1000
        Inference: max distinct values for a low-cardinality categorical
        (rule 3e) or an integer code column (rule 2).
    text_min_words : float, default 2.5
        Inference: mean words per value from which strings are text (3f).
    numeric_bins : int, default 10
        Numeric columns are encoded as the one-hot of their quantile bin,
        at most this many bins (cut points at the quantiles of the fit
        values): each bin gets its own vector in the map, so an era or a
        price band need not act linearly (``coldstart.features.numeric``).
        ``0``: one standard-scaled column instead.
    skew_threshold : float or None, default 1.0
        With ``numeric_bins=0``: non-negative numeric columns whose skewness
        (of the observed fit values) exceeds this are
        ``log1p``-transformed (negative values at transform are clipped to
        0 first).  ``None`` disables.
    n_jobs : int or None, default None
        Worker processes for :meth:`transform` (joblib; ``-1`` = all cores).
        Inputs of at least 100,000 rows per worker are split into row chunks;
        output is identical to the serial path.  ``fit`` is serial.

    Attributes
    ----------
    kinds_ : dict of str -> str
        Kind of every input column (inferred or given; group members are
        ``"vector"``).
    kind_reasons_ : dict of str -> str
        Why each column got its kind.
    block_names_ : list of str
        Output blocks, in column order.
    block_kinds_ : list of str
    block_slices_ : dict of str -> slice
        Column range of each block in the output.
    block_scales_ : ndarray of shape (n_blocks,)
        Multiplier applied to each encoded block (weight x balancing).
    block_coverage_ : ndarray of shape (n_blocks,)
        Fraction of fit rows where the block carries information.
    block_mean_sq_norm_ : ndarray of shape (n_blocks,)
        Mean squared row norm of the *unscaled* block over non-zero fit rows.
    n_features_out_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
    n_features_in_ : int

    Examples
    --------
    >>> feat = ItemFeaturizer(kinds={"title": "text"}, weights={"title": 2.0})
    >>> X = feat.fit_transform(items)            # csr_matrix (n_items, n_features)
    >>> X_new = feat.transform(new_items)        # same width, never fails on unseen values
    >>> meta, arrays = feat.get_state()
    >>> same = ItemFeaturizer.from_state(meta, arrays)
    """

    def __init__(
        self,
        kinds: dict[str, str] | None = None,
        weights: dict[str, float] | None = None,
        vector_groups: dict[str, list[str]] | None = None,
        balance: str = "present",
        text_params: dict[str, Any] | None = None,
        min_count: int = 2,
        multilabel_norm: str | None = "l2",
        delimiters: Sequence[str] = ("|", ";", ","),
        categorical_max_unique: int = 1000,
        text_min_words: float = 2.5,
        numeric_bins: int = 10,
        skew_threshold: float | None = 1.0,
        n_jobs: int | None = None,
    ) -> None:
        self.kinds, self.weights, self.vector_groups = kinds, weights, vector_groups
        self.balance, self.text_params, self.min_count = balance, text_params, min_count
        self.multilabel_norm, self.delimiters = multilabel_norm, delimiters
        self.categorical_max_unique, self.text_min_words = categorical_max_unique, text_min_words
        self.numeric_bins, self.skew_threshold, self.n_jobs = numeric_bins, skew_threshold, n_jobs

    # ------------------------------------------------------------- sklearn API
    def fit(self, X: pd.DataFrame, y: Any = None) -> "ItemFeaturizer":
        """Infer column kinds, fit every block and the block scales.

        Parameters
        ----------
        X : DataFrame, shape (n_items, n_columns)
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> sp.csr_matrix:
        """Fit and return the feature matrix of ``X`` (single encoding pass).

        Returns
        -------
        csr_matrix of float32, shape (n_items, n_features_out_)
        """
        return self._fit(X)

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        """Encode items with the fitted blocks.

        Unseen categories/labels/terms are ignored, missing values imputed,
        extra columns ignored; the width is always ``n_features_out_``.

        Parameters
        ----------
        X : DataFrame, shape (n_items, >= used columns)

        Returns
        -------
        csr_matrix of float32, shape (n_items, n_features_out_)

        Raises
        ------
        TypeError
            ``X`` is not a DataFrame.
        ValueError
            Columns used at fit time are missing (all are named).
        """
        return self._transform(X)[0]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names (``year<1990``, ``year=[1990,1995)``, ``year_missing``,
        ``genre=Action``, ``title__word``, ``emb__0``...; ``year`` itself with ``numeric_bins=0``).

        Returns
        -------
        ndarray of object (str), shape (n_features_out_,)
        """
        check_is_fitted(self, "blocks_")
        if input_features is not None and list(input_features) != list(self.feature_names_in_):
            raise ValueError("input_features is not equal to feature_names_in_")
        names: list[str] = []
        for b in self.blocks_:
            names.extend(b.feature_names())
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # ----------------------------------------------------------- extra API
    def block_presence(self, X: pd.DataFrame) -> pd.DataFrame:
        """Which blocks carry information for each item.

        A block is *present* when its input is non-missing and (for
        categorical/multilabel/text) known at fit time.  Numeric blocks are
        non-zero even when absent (imputation + indicator), so use this rather
        than the zero pattern of :meth:`transform`.

        Returns
        -------
        DataFrame of bool, shape (n_items, n_blocks), index ``X.index``
        """
        present = self._transform(X)[1]
        return pd.DataFrame(present, index=X.index, columns=list(self.block_names_))

    def empty_rows(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean mask of items without any usable attribute.

        Returns
        -------
        ndarray of bool, shape (n_items,)
        """
        return ~self._transform(X)[1].any(axis=1)

    def describe(self) -> pd.DataFrame:
        """One row per block: kind, columns, width, weight, scale, fit coverage."""
        check_is_fitted(self, "blocks_")
        w = self.weights or {}
        return pd.DataFrame(
            {
                "kind": self.block_kinds_,
                "columns": [", ".join(b.columns) for b in self.blocks_],
                "n_features": [b.n_features for b in self.blocks_],
                "weight": [float(w.get(n, 1.0)) for n in self.block_names_],
                "scale": self.block_scales_,
                "coverage": self.block_coverage_,
                "mean_sq_norm": self.block_mean_sq_norm_,
                "reason": [self.kind_reasons_.get(n, "vector group") for n in self.block_names_],
            },
            index=pd.Index(self.block_names_, name="block"),
        )

    # ------------------------------------------------------------- internals
    def _config(self) -> dict:
        """The validated parameters the blocks and inference read (``cfg``)."""
        if self.balance not in _BALANCE:
            raise ValueError(f"balance must be one of {_BALANCE}, got {self.balance!r}")
        if self.multilabel_norm not in ("l2", "l1", None):
            raise ValueError(f"multilabel_norm must be 'l2', 'l1' or None, got "
                             f"{self.multilabel_norm!r}")
        nb = self.numeric_bins
        if isinstance(nb, bool) or not isinstance(nb, (int, np.integer)) or not 0 <= nb <= 10_000:
            raise ValueError(f"numeric_bins must be an integer in [0, 10000]; received {nb!r}")
        if int(self.min_count) < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count!r}")
        delims = [self.delimiters] if isinstance(self.delimiters, str) else list(self.delimiters)
        if not delims or not all(isinstance(d, str) and d for d in delims):
            raise ValueError(f"delimiters must be non-empty strings, got {self.delimiters!r}")
        tp = dict(self.text_params or {})
        if "dtype" in tp:
            raise ValueError("text_params may not set 'dtype' (output is always float32)")
        return {
            "min_count": int(self.min_count),
            "multilabel_norm": self.multilabel_norm,
            "delimiters": delims,
            "categorical_max_unique": int(self.categorical_max_unique),
            "text_min_words": float(self.text_min_words),
            "numeric_bins": int(self.numeric_bins),
            "skew_threshold": None if self.skew_threshold is None else float(self.skew_threshold),
            "text_params": tp,
        }

    def _resolve(self, X: pd.DataFrame) -> tuple[dict, dict, dict]:
        """Validate kinds/groups/weights against the frame -> (kinds, groups: name -> columns,
        group_of: column -> group name)."""
        cols = list(X.columns)
        colset = set(cols)
        kinds = dict(self.kinds or {})
        bad_kinds = {c: k for c, k in kinds.items() if k not in KINDS}
        if bad_kinds:
            raise ValueError(f"unknown kind(s) {bad_kinds!r} in kinds; valid kinds: {KINDS}")
        missing = [c for c in kinds if c not in colset]
        if missing:
            raise ValueError(f"columns in kinds are not in the DataFrame: {missing!r}")
        groups = {str(g): list(cs) for g, cs in (self.vector_groups or {}).items()}
        seen: dict[str, str] = {}
        for g, cs in groups.items():
            if not cs:
                raise ValueError(f"vector group {g!r} has no columns")
            absent = [c for c in cs if c not in colset]
            if absent:
                raise ValueError(f"columns of vector group {g!r} are not in the DataFrame: "
                                 f"{absent!r}")
            for c in cs:
                if c in seen:
                    raise ValueError(f"column {c!r} is in vector groups {seen[c]!r} and {g!r}")
                seen[c] = g
            if g in colset and g not in cs:
                raise ValueError(f"vector group name {g!r} clashes with a column name")
        clash = [c for c in kinds if c in seen and kinds[c] not in ("vector",)]
        if clash:
            raise ValueError(f"columns {clash!r} are in vector_groups and have another kind "
                             "in kinds")
        weights = dict(self.weights or {})
        names = (colset - set(seen)) | set(groups)
        unknown = [k for k in weights if k not in names]
        if unknown:
            raise ValueError(f"weights given for unknown blocks {unknown!r}; blocks are column "
                             "names and vector group names")
        for k, v in weights.items():
            if not (isinstance(v, (int, float, np.number)) and np.isfinite(v) and v >= 0):
                raise ValueError(f"weight of {k!r} must be a finite number >= 0, got {v!r}")
        return kinds, groups, seen

    def _fit(self, X: pd.DataFrame) -> sp.csr_matrix:
        """Validate, plan the blocks, fit them, balance them; the fitted state is set only
        once everything succeeded.  Returns the (n_items, n_features_out_) matrix of ``X``."""
        X = _check_frame(X, "X")
        if len(X) == 0:
            raise ValueError("X has no rows; cannot fit ItemFeaturizer")
        cfg = self._config()
        blocks, caches, kinds_out, reasons, ignored = self._plan_blocks(X, cfg)
        mats, presents, fitted = [], [], []
        for i, b in enumerate(blocks):
            try:
                if i in caches:  # popped: the strings are freed block by block
                    Z, p = b.fit_transform(X, cfg, strings=caches.pop(i))
                else:
                    Z, p = b.fit_transform(X, cfg)
            except TooRareError as exc:  # every value is rarer than min_count
                col = b.columns[0]
                kinds_out[col], reasons[col] = "ignore", f"{b.kind}, {exc}"
                ignored.append(f"{col!r} ({b.kind}, {exc}; lower min_count to keep it)")
                continue
            fitted.append(b)
            mats.append(Z)
            presents.append(p)
        if ignored:
            warnings.warn(
                "ItemFeaturizer ignores column(s) " + ", ".join(ignored)
                + "; pass kinds={column: kind} to keep them.",
                ColumnIgnoredWarning,
                stacklevel=3,
            )
        if not fitted:
            raise ValueError("no usable column in X (all columns ignored)")
        scales, msq, coverage = self._block_scales(fitted, mats, presents)

        self.blocks_ = fitted
        self.kinds_ = kinds_out
        self.kind_reasons_ = reasons
        self.block_scales_ = scales
        self.block_mean_sq_norm_ = msq
        self.block_coverage_ = coverage
        self._finish_fit(list(X.columns))
        return self._assemble(mats)

    def _plan_blocks(self, X: pd.DataFrame, cfg: dict
                     ) -> tuple[list[Block], dict[int, np.ndarray], dict[str, str],
                                dict[str, str], list[str]]:
        """One unfitted block per used column or vector group, in column order.

        Returns the blocks, the category strings inference already built (by block
        position), the kind and reason of every column, and the columns inference ignored.
        """
        kinds, groups, group_of = self._resolve(X)
        blocks: list[Block] = []
        kinds_out: dict[str, str] = {}
        reasons: dict[str, str] = {}
        caches: dict[int, np.ndarray] = {}
        ignored: list[str] = []
        done_groups: set[str] = set()
        for col in X.columns:
            if col in group_of:
                g = group_of[col]
                kinds_out[col], reasons[col] = "vector", f"member of vector group {g!r}"
                if g not in done_groups:
                    done_groups.add(g)
                    blocks.append(VectorBlock(g, groups[g], group=True))
                continue
            info: dict = {}
            if col in kinds:
                kind, why = kinds[col], "given in kinds"
            else:
                kind, why, info = infer_kind(col, X[col], cfg)
                if kind == "ignore":
                    ignored.append(f"{col!r} ({why})")
            kinds_out[col], reasons[col] = kind, why
            if kind == "ignore":
                continue
            if kind == "numeric":
                source = info.get("source")
                if source is None:
                    dt = X[col].dtype
                    source = ("datetime" if pdt.is_datetime64_any_dtype(dt) else
                              "timedelta" if pdt.is_timedelta64_dtype(dt) else "number")
                blocks.append(NumericBlock(col, [col], source))
            elif kind == "multilabel":
                blocks.append(MultilabelBlock(col, [col], info.get("delimiter"),
                                              detect="delimiter" not in info))
            elif kind == "vector":
                blocks.append(VectorBlock(col, [col], group=False))
            elif kind == "categorical":
                blocks.append(CategoricalBlock(col, [col]))
                if "strings" in info:
                    caches[len(blocks) - 1] = info["strings"]
            else:
                blocks.append(TextBlock(col, [col]))
        return blocks, caches, kinds_out, reasons, ignored

    def _block_scales(self, blocks: list[Block], mats: list[sp.csr_matrix],
                      presents: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Balancing (module docstring) -> scales, mean squared norms over non-zero rows and
        fit coverage, each of shape (n_blocks,)."""
        weights = self.weights or {}
        n_blocks = len(blocks)
        scales = np.ones(n_blocks)
        msq = np.zeros(n_blocks)
        coverage = np.zeros(n_blocks)
        for i, (b, Z, p) in enumerate(zip(blocks, mats, presents)):
            q = _row_sq_norms(Z)
            nz = q > 0
            msq[i] = float(q[nz].mean()) if nz.any() else 0.0
            coverage[i] = float(p.mean())
            w = float(weights.get(b.name, 1.0))
            ref = {"present": msq[i], "all": float(q.mean()), "none": 1.0}[self.balance]
            scales[i] = w / np.sqrt(ref) if ref > 0 else w
        return scales, msq, coverage

    def _finish_fit(self, columns: list[str]) -> None:
        """The attributes derived from ``blocks_`` (names, kinds, slices, widths), shared by
        ``fit`` and ``from_state``."""
        self.block_names_ = [b.name for b in self.blocks_]
        self.block_kinds_ = [b.kind for b in self.blocks_]
        slices, start = {}, 0
        for b in self.blocks_:
            slices[b.name] = slice(start, start + b.n_features)
            start += b.n_features
        self.block_slices_ = slices
        self.n_features_out_ = start
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)

    def _assemble(self, mats: list[sp.csr_matrix]) -> sp.csr_matrix:
        """Scale each block (n_items, width_b) by ``block_scales_`` and stack them
        -> float32 (n_items, n_features_out_)."""
        scaled = []
        for Z, s in zip(mats, self.block_scales_):
            if s == 0.0:  # weight 0: keep the width, store nothing
                Z = sp.csr_matrix(Z.shape, dtype=np.float32)
            elif s != 1.0:
                Z = sp.csr_matrix(Z, dtype=np.float32)
                Z.data *= np.float32(s)
            scaled.append(Z)
        out = sp.hstack(scaled, format="csr", dtype=np.float32)
        return sp.csr_matrix(out)

    def _transform(self, X: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
        """Matrix (n_items, n_features_out_) and block presence (n_items, n_blocks) of ``X``,
        in row chunks over worker processes when ``n_jobs`` and the size call for it."""
        check_is_fitted(self, "blocks_")
        X = _check_frame(X, "X", fitting=False)
        needed = [c for b in self.blocks_ for c in b.columns]
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise ValueError(f"the attribute frame is missing column(s) the featurizer was fitted on: {missing!r}")
        fitted_on = set(self.feature_names_in_)
        extra = [c for c in X.columns if c not in fitted_on]
        if extra:  # columns the fit never saw (those it saw and ignored were reported then)
            warnings.warn(f"ItemFeaturizer was not fitted on column(s) {extra[:5]!r}"
                          f"{' and more' if len(extra) > 5 else ''}: ignored", ColumnIgnoredWarning,
                          stacklevel=3)
        n = len(X)
        if n == 0:
            return (sp.csr_matrix((0, self.n_features_out_), dtype=np.float32),
                    np.zeros((0, len(self.blocks_)), dtype=bool))
        n_jobs = effective_n_jobs(self.n_jobs) if self.n_jobs not in (None, 1) else 1
        n_chunks = min(n_jobs, n // PARALLEL_MIN_ROWS)
        if n_chunks < 2:
            return self._transform_rows(X)
        # row chunks in worker processes (the tokenizers are Python loops: the GIL
        # rules out threads); only the used columns are shipped
        bounds = np.linspace(0, n, n_chunks + 1).astype(int)
        sub = X[list(dict.fromkeys(needed))]
        parts = Parallel(n_jobs=n_chunks)(
            delayed(self._transform_rows)(sub.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])
        )
        return (sp.csr_matrix(sp.vstack([p[0] for p in parts], format="csr"), dtype=np.float32),
                np.vstack([p[1] for p in parts]))

    def _transform_rows(self, X: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
        """:meth:`_transform` of one chunk of rows, serially."""
        mats, presents = [], []
        for b in self.blocks_:
            Z, p = b.transform(X)
            mats.append(Z)
            presents.append(p)
        return self._assemble(mats), np.column_stack(presents)

    # -------------------------------------------------------- serialisation
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Export the fitted featurizer without pickle.

        Returns
        -------
        meta : dict
            JSON-serialisable: ``{"format": "coldstart.ItemFeaturizer",
            "version": 1, "params": get_params(), "feature_names_in": [...],
            "kinds": kinds_, "kind_reasons": kind_reasons_, "blocks": [{"name",
            "kind", "columns", "n_features", <kind-specific scalars>}, ...]}``.
        arrays : dict of str -> ndarray
            ``block_scales``, ``block_coverage``, ``block_mean_sq_norm``
            (float64, one per block) and, per block ``i``,
            ``block{i}_<field>``: numeric ``cuts`` (bins) or ``stats`` = [median,
            mean, scale] (scaled);
            categorical ``categories``; multilabel ``labels``; text
            ``vocabulary`` (+ ``idf``); vector ``mean``.  Only float64 and
            fixed-width ``np.str_`` arrays (never object).

        Raises
        ------
        ValueError
            A parameter (e.g. a callable in ``text_params``) is not
            JSON-serialisable.
        """
        check_is_fitted(self, "blocks_")
        params = jsonable(self.get_params(deep=False), "ItemFeaturizer parameters")
        arrays: dict[str, np.ndarray] = {
            "block_scales": np.asarray(self.block_scales_, dtype=np.float64),
            "block_coverage": np.asarray(self.block_coverage_, dtype=np.float64),
            "block_mean_sq_norm": np.asarray(self.block_mean_sq_norm_, dtype=np.float64),
        }
        blocks_meta = []
        for i, b in enumerate(self.blocks_):
            m, arrs = b.get_state()
            blocks_meta.append(m)
            for k, a in arrs.items():
                arrays[f"block{i}_{k}"] = a
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "params": params,
            "feature_names_in": [str(c) for c in self.feature_names_in_],
            "kinds": dict(self.kinds_),
            "kind_reasons": dict(self.kind_reasons_),
            "blocks": blocks_meta,
            "n_features_out": int(self.n_features_out_),
        }
        json.dumps(meta)  # fail here rather than in the caller
        assert all(a.dtype != object for a in arrays.values())
        return meta, arrays

    @classmethod
    def from_state(cls, meta: Mapping[str, Any],
                  arrays: Mapping[str, np.ndarray]) -> "ItemFeaturizer":
        """Rebuild a fitted featurizer from :meth:`get_state` output.

        Parameters
        ----------
        meta : mapping
            The JSON metadata (possibly after ``json.loads``).
        arrays : mapping of str -> ndarray
            The arrays, e.g. an ``np.load(path, allow_pickle=False)`` result.

        Returns
        -------
        ItemFeaturizer
            Fitted; ``transform`` gives the same matrices as the original.
        """
        if meta.get("format") != _FORMAT:
            raise ValueError(f"not an ItemFeaturizer export (format={meta.get('format')!r})")
        if int(meta.get("version", -1)) != _VERSION:
            raise ValueError(f"unsupported ItemFeaturizer export version {meta.get('version')!r}")
        params = dict(meta["params"])
        params.setdefault("numeric_bins", 0)  # exports from before the bins scaled every number
        if params.get("delimiters") is not None:
            params["delimiters"] = tuple(params["delimiters"])
        if params.get("text_params"):
            params["text_params"] = tfidf_params_from_json(params["text_params"])
        self = cls(**params)
        blocks: list[Block] = []
        for i, bm in enumerate(meta["blocks"]):
            prefix = f"block{i}_"
            arrs = {k[len(prefix):]: np.asarray(arrays[k]) for k in arrays
                    if k.startswith(prefix)}
            kind = bm["kind"]
            if kind not in _BLOCK_CLASSES:
                raise ValueError(f"unknown block kind {kind!r} in export")
            blocks.append(_BLOCK_CLASSES[kind].from_state(bm, arrs))
        self.blocks_ = blocks
        self.kinds_ = dict(meta["kinds"])
        self.kind_reasons_ = dict(meta.get("kind_reasons", {}))
        self.block_scales_ = np.asarray(arrays["block_scales"], dtype=np.float64)
        self.block_coverage_ = np.asarray(arrays["block_coverage"], dtype=np.float64)
        self.block_mean_sq_norm_ = np.asarray(arrays["block_mean_sq_norm"], dtype=np.float64)
        self._finish_fit(list(meta["feature_names_in"]))
        if self.n_features_out_ != int(meta["n_features_out"]):
            raise ValueError("corrupt ItemFeaturizer export: block widths do not add up")
        return self
