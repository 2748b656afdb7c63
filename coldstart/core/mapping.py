"""The attribute → factor map.

``RidgeMap`` is the default: multi-output ridge regression solved on the normal equations
by conjugate gradients, all outputs at once, with the data never densified. Its memory is
O(n_features × n_outputs); one iteration costs two sparse products with the attribute
matrix. Any scikit-learn regressor with ``fit(X, y)`` / ``predict(X)`` can replace it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from coldstart.core.buffer import fresh_array
from coldstart.core.runtime import n_workers
from coldstart.core.solvers import RidgeCG
from coldstart.core.validation import check_item_features

try:  # scipy's kernel behind ``csr @ dense``: accumulates into a given array, without the GIL
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - moved in some scipy: predict falls back to ``X @ coef``
    _csr_matvecs = None

_PREDICT_CHUNK_ROWS = 1024  # rows zeroed, summed and offset while in cache (1 MB at 256 outputs)


class RidgeMap(RegressorMixin, BaseEstimator):
    """Multi-output ridge regression for sparse, high-dimensional inputs.

    Minimises ``sum_i w_i ||x_i B + b - y_i||^2 + alpha * ||B||_F^2`` (scikit-learn's ``Ridge``
    objective; the intercept ``b`` unpenalised, the centring done implicitly so sparse input
    stays sparse), by Jacobi-preconditioned conjugate gradients on the normal equations for
    all outputs at once: memory O(n_features × n_outputs), one iteration = two sparse products.

    Parameters
    ----------
    alpha : float
        Penalty on the coefficients. With L2-normalised rows (``AttributeWeighting``) it is a
        fixed prior precision per coefficient, so the same value serves any catalog size.
    fit_intercept : bool
    tol : float
        Relative residual at which conjugate gradients stop.
    max_iter : int
    num_threads : int
        Threads for the sparse products (0: all cores).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_outputs)
        Built on access when only some columns have coefficients (see ``columns_``).
    columns_ : ndarray of int64 or None
        The attribute columns that occur in the fitted rows (sorted), when not all do: the
        map then stores only their coefficients (``coef_active_``, shape (len(columns_),
        n_outputs)), since the others are exactly zero; memory and file size follow the
        attributes in use, not the declared width. None: every column.
    coef_active_ : ndarray of shape (len(columns_) or n_features, n_outputs)
    intercept_ : ndarray of shape (n_outputs,)
    n_iter_ : int
    """

    def __init__(self, alpha: float = 0.5, fit_intercept: bool = True, tol: float = 1e-3,
                 max_iter: int = 300, num_threads: int = 0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.num_threads = num_threads

    def _check_params(self) -> None:
        """Every parameter in its range (ValueError / TypeError naming it)."""
        if not (np.isscalar(self.alpha) and not isinstance(self.alpha, (bool, str)) and np.isfinite(self.alpha)
                and self.alpha >= 0):
            raise ValueError(f"alpha must be a non-negative number; received {self.alpha!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False; received {self.fit_intercept!r}")
        if not (np.isscalar(self.tol) and not isinstance(self.tol, (bool, str)) and self.tol >= 0):
            raise ValueError(f"tol must be a non-negative number; received {self.tol!r}")
        for name in ("max_iter", "num_threads"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (1 if name == "max_iter" else 0):
                raise ValueError(f"{name} must be an integer >= {1 if name == 'max_iter' else 0}; received {v!r}")

    def _start(self, X, sample_weight=None) -> "RidgeMap":
        """Prepare the solver for X of shape (n, n_features) (see :meth:`_track`)."""
        X = check_item_features(X, "X")
        self._check_params()
        n = X.shape[0]
        if n == 0:
            raise ValueError("X has no rows; expected at least one row to fit the map on")
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,) or np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ValueError(f"sample_weight must be non-negative finite of shape ({n},); received {w.shape}")
        if w.sum() <= 0:
            raise ValueError("sample_weight sums to zero; expected some positive weight")
        self._solver = RidgeCG(X, w, float(self.alpha), self.fit_intercept, self.num_threads)
        self.n_features_in_ = X.shape[1]
        return self

    def _track(self, Y, max_iter: int, tol: float = 0.0) -> "RidgeMap":
        """A few warm-started iterations toward new targets Y (used inside alternating fits)."""
        Y = np.asarray(Y, dtype=np.float32)
        if Y.ndim == 1:
            Y = Y[:, None]
        s = self._solver
        if Y.shape[0] != s.X.shape[0]:
            raise ValueError(f"Y must have one row per row of X ({s.X.shape[0]}); received shape {Y.shape}")
        if not np.all(np.isfinite(Y)):
            raise ValueError("Y contains NaN or infinite values; expected finite targets")
        self.n_iter_ = s.solve(Y, max_iter, tol)
        self.coef_ = s.B
        self.intercept_ = s.intercept()
        return self

    def fit(self, X, y, sample_weight=None) -> "RidgeMap":
        """Fit on X of shape (n, n_features) and targets y of shape (n, n_outputs) or (n,)
        (then :meth:`predict` returns shape (n,), as scikit-learn's regressors do).

        Columns of a sparse X without any value get exactly zero coefficients (no gradient,
        penalised): they are left out of the solve and of the stored map (``columns_``).
        """
        if y is None:
            raise ValueError("RidgeMap requires y to be passed, but the target y is None; expected y of "
                             "shape (n,) or (n, n_outputs)")
        X = check_item_features(X, "X")
        d, cols = X.shape[1], None
        if sp.issparse(X):
            X, cols, d = active_columns(X)
        self._start(X, sample_weight)
        Y = np.asarray(y, dtype=np.float32)
        self._track(Y, self.max_iter, self.tol)
        self.single_output_ = Y.ndim == 1
        self._solver = None
        if cols is not None:
            self.set_coef(self.coef_active_, cols, d)
        return self

    @property
    def coef_(self) -> np.ndarray:
        """Coefficients of shape (n_features, n_outputs) (a new dense array when ``columns_``)."""
        try:
            active, cols = self.__dict__["coef_active_"], self.__dict__.get("columns_")
        except KeyError:
            raise AttributeError("coef_") from None
        if cols is None:
            return active
        out = np.zeros((self.n_features_in_, active.shape[1]), dtype=active.dtype)
        out[cols] = active
        return out

    @coef_.setter
    def coef_(self, value) -> None:
        value = np.asarray(value)
        self.coef_active_, self.columns_ = value, None
        self.n_features_in_ = value.shape[0]

    def set_coef(self, coef: np.ndarray, columns: np.ndarray | None, n_features: int) -> "RidgeMap":
        """Set the coefficients ``coef`` (len(columns), k) of the attribute ``columns`` (sorted,
        distinct, in [0, n_features); None: ``coef`` covers every column)."""
        coef = np.asarray(coef)
        if coef.ndim != 2:
            raise ValueError(f"coef must be 2-D (n_columns, n_outputs); received shape {coef.shape}")
        if columns is None:
            if coef.shape[0] != n_features:
                raise ValueError(f"coef has {coef.shape[0]} rows; expected {n_features}")
        else:
            columns = np.asarray(columns)
            if columns.dtype.kind not in "iu" or columns.ndim != 1 or columns.shape[0] != coef.shape[0]:
                raise ValueError(f"columns must be integers, one per row of coef ({coef.shape[0]}); "
                                 f"received {columns.dtype} {columns.shape}")
            columns = columns.astype(np.int64)
            if columns.size and (columns[0] < 0 or columns[-1] >= n_features or np.any(np.diff(columns) <= 0)):
                raise ValueError(f"columns must be sorted, distinct and in [0, {n_features})")
        self.coef_active_, self.columns_, self.n_features_in_ = coef, columns, int(n_features)
        self._lookup = None
        return self

    def _active_input(self, X):
        """X (n, n_features) restricted to ``columns_`` (n, len(columns_)); X itself without."""
        cols = self.__dict__.get("columns_")
        if cols is None:
            return X
        if not sp.issparse(X):
            return X[:, cols]
        X = X.tocsr()
        pos = self._column_lookup()[X.indices]
        hit = pos >= 0
        if hit.all():
            return sp.csr_matrix((X.data, pos, X.indptr), shape=(X.shape[0], cols.size))
        kept = np.concatenate([[0], np.cumsum(hit)])
        return sp.csr_matrix((X.data[hit], pos[hit], kept[X.indptr]), shape=(X.shape[0], cols.size))

    def _column_lookup(self) -> np.ndarray | None:
        """Declared column -> row of ``coef_active_`` (n_features_in_,) int32, -1 for a column
        without coefficients; None when every column has them. Built once (4 bytes a column)."""
        cols = self.__dict__.get("columns_")
        if cols is None:
            return None
        lookup = self.__dict__.get("_lookup")
        if lookup is None or lookup.shape[0] != self.n_features_in_:
            lookup = np.full(self.n_features_in_, -1, dtype=np.int32)
            lookup[cols] = np.arange(cols.size, dtype=np.int32)
            self._lookup = lookup
        return lookup

    def predict(self, X, out: np.ndarray | None = None, each=None) -> np.ndarray:
        """Predict outputs of shape (n, n_outputs) for X of shape (n, n_features) (shape (n,)
        after a fit on a 1-D target, unless ``out`` is given).

        ``out``: optionally a writable C-contiguous float32 array of that shape to write them
        into (returned): e.g. the rows reserved past a buffer's end, so they are not copied.
        ``each``: optionally ``each(start, rows)``, called on consecutive blocks of finished
        rows (in the worker threads, while the block is in cache), e.g. to post-process them
        in place without another pass over memory.
        """
        check_is_fitted(self)
        given_out = out
        X = check_item_features(X, "X", n_features=self.n_features_in_)
        coef = self.coef_active_
        shape = (X.shape[0], coef.shape[1])
        if out is not None and not (isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.float32
                                    and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous float32 array of shape {shape}; received "
                             f"{type(out).__name__} {getattr(out, 'dtype', '')} {getattr(out, 'shape', '')}")
        if (sp.issparse(X) and _csr_matvecs is not None and X.dtype == np.float32
                and coef.dtype == np.float32 and coef.flags.c_contiguous):
            if out is None:
                out = fresh_array(shape, np.float32)
            _sparse_product_into(X, self._column_lookup(), coef, self.intercept_, out, n_workers(self.num_threads),
                                 each)
            return out[:, 0] if self._one_d(given_out) else out
        pred = np.asarray(self._active_input(X) @ coef)
        pred += self.intercept_
        if out is not None:
            out[...] = pred
            pred = out
        if each is not None:
            each(0, pred)
        return pred[:, 0] if self._one_d(given_out) else pred

    def _one_d(self, given_out) -> bool:
        return given_out is None and getattr(self, "single_output_", False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def get_state(self) -> dict[str, np.ndarray]:
        """Fitted arrays, for pickle-free persistence: ``coef`` (the stored rows), ``intercept``
        and, when only some columns have coefficients, ``columns`` and ``n_features``."""
        check_is_fitted(self)
        state = {"coef": self.coef_active_, "intercept": self.intercept_}
        if self.columns_ is not None:
            state["columns"] = self.columns_
            state["n_features"] = np.array([self.n_features_in_], dtype=np.int64)
        return state

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> "RidgeMap":
        obj = cls(**params)
        coef = np.asarray(arrays["coef"], dtype=np.float32)
        if "columns" in arrays:
            n_features = np.asarray(arrays["n_features"])
            if n_features.shape != (1,) or n_features.dtype.kind not in "iu" or n_features[0] < 1:
                raise ValueError(f"n_features must hold one positive integer; received {n_features!r}")
            obj.set_coef(coef, arrays["columns"], int(n_features[0]))
        else:
            obj.set_coef(coef, None, coef.shape[0] if coef.ndim == 2 else -1)
        obj.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        if obj.intercept_.shape != (coef.shape[1],):
            raise ValueError(f"intercept must have shape ({coef.shape[1]},); received {obj.intercept_.shape}")
        obj.n_iter_ = 0
        return obj


def active_columns(X) -> tuple[sp.csr_matrix, np.ndarray | None, int]:
    """The attribute columns of X (n, d) that hold a value: ``(X[:, cols], cols, d)`` as CSR
    (``cols`` None when all do). A map's coefficients of the other columns are exactly zero (no
    gradient, penalised), so its solve and its stored rows cover the active ones only: they
    follow the vocabulary in use, not the declared width."""
    X = X.tocsr() if sp.issparse(X) else sp.csr_matrix(X)
    d = X.shape[1]
    used = np.bincount(X.indices[X.data != 0], minlength=d) > 0
    if used.all():
        return X, None, d
    cols = np.flatnonzero(used)
    return X[:, cols].tocsr(), cols, d


def _sparse_product_into(X, lookup: np.ndarray | None, coef: np.ndarray, intercept, out: np.ndarray,
                         threads: int, each=None) -> None:
    """``out[:] = X @ coef + intercept`` (the same float32 sums as scipy's product) for X CSR (n, d)
    float32, coef (len(active), k) and out (n, k) float32 C-contiguous, X's columns mapped to
    coef's rows by ``lookup`` (d,) (-1: none, the entry is skipped; None: the identity). On
    ``threads`` threads, each over a range of rows with an equal share of X's entries, chunk by
    chunk in place: no copy of X, no second (n, k) array; ``each(start, chunk)`` on every
    finished chunk, while it is in cache."""
    n, k = out.shape
    indptr, indices, data = X.indptr, X.indices, X.data
    flat, d = coef.ravel(), coef.shape[0]

    def rows(a: int, b: int) -> None:
        for s in range(a, b, _PREDICT_CHUNK_ROWS):
            e = min(b, s + _PREDICT_CHUNK_ROWS)
            p, q = indptr[s], indptr[e]
            ptr, idx, val = indptr[s:e + 1] - p, indices[p:q], data[p:q]
            if lookup is not None:  # the chunk's columns as rows of coef, entries without one dropped
                idx = lookup[idx]
                hit = idx >= 0
                if not hit.all():
                    ptr = np.concatenate([[0], np.cumsum(hit)])[ptr]
                    idx, val = idx[hit], val[hit]
            chunk = out[s:e]
            chunk.fill(0)
            _csr_matvecs(e - s, d, k, ptr.astype(idx.dtype, copy=False), idx, val, flat, chunk.ravel())
            chunk += intercept
            if each is not None:
                each(s, chunk)

    threads = max(1, min(threads, n // _PREDICT_CHUNK_ROWS))
    if threads == 1:
        rows(0, n)
        return
    edges = np.searchsorted(indptr, np.linspace(0, indptr[-1], threads + 1)).clip(0, n)
    edges[0], edges[-1] = 0, n
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(rows, edges[:-1].tolist(), edges[1:].tolist()))
