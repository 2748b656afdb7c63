"""Input validation shared by every public entry point.

Every error names the argument, what was received and what was expected.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import scipy.sparse as sp


def describe(x: Any) -> str:
    if sp.issparse(x):
        return f"{type(x).__name__} of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, np.ndarray):
        return f"ndarray of shape {x.shape} and dtype {x.dtype}"
    return type(x).__name__


def check_user_items(user_items: Any, name: str = "user_items", n_items: int | None = None,
                     allow_empty: bool = False) -> sp.csr_matrix:
    """Validate an interaction matrix of shape (n_users, n_items).

    Returns a canonical float32 CSR copy-free where possible. Refuses NaN/inf,
    negative weights, duplicate (user, item) entries and non-sparse input.
    """
    if not sp.issparse(user_items):
        raise TypeError(
            f"{name} must be a scipy sparse matrix of shape (n_users, n_items) "
            f"(implicit's convention); received {describe(user_items)}. "
            "Build one with scipy.sparse.csr_matrix((weights, (users, items))) "
            "or use coldstart.FrameRecommender for DataFrames."
        )
    if user_items.ndim != 2:
        raise ValueError(f"{name} must be 2-D; received {describe(user_items)}")
    dt = user_items.dtype
    if dt.kind != "b" and (not np.issubdtype(dt, np.number) or np.issubdtype(dt, np.complexfloating)):
        raise TypeError(f"{name} must hold real numbers; received dtype {dt}")
    if n_items is not None and user_items.shape[1] != n_items:
        raise ValueError(
            f"{name} must have {n_items} columns (one per {'user' if name == 'item_users' else 'item'} "
            "known to the model); "
            f"received shape {user_items.shape}"
        )
    needs_check = user_items.format != "csr" or not user_items.has_canonical_format
    if needs_check and user_items.nnz:
        coo = user_items.tocoo()  # before any conversion that would silently add duplicates up
        keys = coo.row.astype(np.int64) * user_items.shape[1] + coo.col
        uniq, counts = np.unique(keys, return_counts=True)
        dup = uniq[counts > 1]
        if dup.size:
            u, i = divmod(int(dup[0]), user_items.shape[1])
            raise ValueError(
                f"{name} has {dup.size} duplicate (user, item) entries, e.g. user {u}, item {i}; "
                "expected each pair at most once (sum their weights beforehand if that is intended)"
            )
    csr = user_items.tocsr()
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sort_indices()
    data = csr.data
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite weights; expected finite values")
    _check_float32_range(data, name)
    if data.size and data.min() < 0:
        raise ValueError(
            f"{name} contains negative weights (min {data.min():g}); expected non-negative "
            "interaction strengths"
        )
    if not allow_empty and (csr.shape[0] == 0 or csr.shape[1] == 0 or csr.nnz == 0 or not np.any(data)):
        raise ValueError(f"{name} is empty ({describe(user_items)}, {csr.nnz} stored values); "
                         "expected at least one interaction")
    if csr.dtype != np.float32:
        csr = csr.astype(np.float32)
    if not isinstance(csr, sp.csr_matrix):  # a csr_array: implicit's kernels want the matrix class
        csr = sp.csr_matrix(csr)
    if csr.data.size and not np.all(csr.data):  # stored zeros (or weights float32 rounds to 0) are no
        csr = csr.copy()                         # interaction: dropped from a copy (the caller's matrix,
        csr.eliminate_zeros()                    # which may share its arrays, is left alone)
    return csr


def _check_float32_range(values: np.ndarray | None, name: str) -> None:
    """Finite values beyond float32's range would turn into infinities: said as such."""
    if values is None or values.dtype.kind != "f" or values.dtype.itemsize <= 4 or not values.size:
        return
    top = max(abs(float(np.min(values))), abs(float(np.max(values))))  # NaN, inf: the finiteness check's
    if np.isfinite(top) and top > np.finfo(np.float32).max:
        raise ValueError(f"{name} holds values up to {top:.3g}, beyond float32's range (3.4e+38) the "
                         "model computes in; expected values that fit (rescale them, e.g. log1p or a "
                         "standard scaler)")


def check_item_features(item_features: Any, name: str = "item_features",
                        n_rows: int | None = None, n_features: int | None = None,
                        allow_empty_rows: bool = True, kind: str = "item") -> sp.csr_matrix | np.ndarray:
    """Validate an attribute matrix of shape (n_items, n_features) (``kind="user"``: of users,
    and the messages say so).

    Sparse input stays sparse (CSR, float32); dense input becomes a float32 ndarray.
    """
    shape = f"(n_{kind}s, n_features)"
    # the featurizer encodes item attributes; user attributes are encoded by the caller
    encode = ("coldstart.ItemFeaturizer does it" if kind == "item"
              else "e.g. one-hot columns; coldstart.FrameRecommender takes a numeric DataFrame")
    impute = "or use coldstart.ItemFeaturizer" if kind == "item" else "e.g. with a missing-value indicator"
    if item_features is None:
        raise TypeError(f"{name} is required: an array-like or sparse matrix of shape "
                        f"{shape}; received None")
    if hasattr(item_features, "iloc") and not sp.issparse(item_features):
        raise TypeError(
            f"{name} received a pandas {type(item_features).__name__}; pass a numeric matrix, "
            "or give the model a featurizer (coldstart.ItemFeaturizer) to accept DataFrames"
        )
    if sp.issparse(item_features):
        dt = item_features.dtype
        if dt.kind != "b" and (not np.issubdtype(dt, np.number) or np.issubdtype(dt, np.complexfloating)):
            raise TypeError(f"{name} must hold real numbers; received dtype {dt}")
        _check_float32_range(item_features.data if hasattr(item_features, "data") else None, name)
        X = item_features.tocsr().astype(np.float32)  # any sparse format (DOK, LIL, COO, ...); bools as 0/1
        values = X.data
    else:
        arr = np.asarray(item_features)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(
                f"{name} must be numeric; received an array of dtype {arr.dtype}. Encode "
                f"text/categories first ({encode})"
            )
        if np.iscomplexobj(arr):
            raise TypeError(f"{name} must be real-valued; received complex dtype {arr.dtype}")
        if arr.ndim == 1:
            hint = ("(use .reshape(-1, 1) for one attribute column)" if n_rows is not None and arr.size == n_rows
                    else f"(use .reshape(1, -1) for one {kind})")
            raise ValueError(f"{name} must be 2-D of shape {shape}; received a "
                             f"1-D array of shape {arr.shape} {hint}")
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D of shape {shape}; received shape {arr.shape}")
        _check_float32_range(arr, name)
        X = np.ascontiguousarray(arr, dtype=np.float32)
        values = X
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns; expected at least one attribute")
    if n_rows is not None and X.shape[0] != n_rows:
        raise ValueError(f"{name} must have one row per {kind}: expected {n_rows} rows, "
                         f"received shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} must have the {n_features} columns the model was fitted on; "
                         f"received shape {X.shape}")
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite numbers "
                         f"(impute missing attributes first, {impute})")
    if not allow_empty_rows:
        empty = empty_rows(X)
        if empty.size:
            raise ValueError(f"{name} has {empty.size} all-zero rows (e.g. row {empty[0]}); "
                             "expected every item to carry at least one attribute")
    return X


def empty_rows(X: sp.csr_matrix | np.ndarray) -> np.ndarray:
    """Indices of rows with no non-zero attribute."""
    if sp.issparse(X):
        return np.flatnonzero(np.asarray(abs(X).sum(axis=1)).ravel() == 0)
    return np.flatnonzero(~np.any(X != 0, axis=1))


def check_ids(ids: Any, n: int, name: str, kind: str = "item", note: str = "") -> tuple[np.ndarray, bool]:
    """Validate integer index/indices in [0, n) (``note`` ends the out-of-range message).
    Returns (1-D int array, was_scalar)."""
    scalar = np.isscalar(ids) or (isinstance(ids, np.ndarray) and ids.ndim == 0)
    arr = np.atleast_1d(np.asarray(ids))
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be integer {kind} indices; received dtype {arr.dtype}. "
                            "External ids are mapped by coldstart.FrameRecommender")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array; received shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[(arr < 0) | (arr >= n)][0]
        raise IndexError(f"{name} contains {kind} index {bad}, outside the model's range "
                         f"[0, {n}); expected known {kind} indices{note}")
    return arr.astype(np.int64, copy=False), scalar


def check_positive(value: Any, name: str, allow_zero: bool = False) -> None:
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
          and np.isfinite(value) and (value >= 0 if allow_zero else value > 0))
    if not ok:
        expected = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name} must be {expected} number; received {value!r}")


def check_query_items(user_items: Any, n_rows: int, n_items: int, name: str = "user_items",
                      rows_of: str = "user in userid", cols_of: str = "item") -> sp.csr_matrix:
    """Validate the per-query interaction matrix of a serving call (``recommend``).

    Shape (n_rows, n_cols) with ``n_cols <= n_items``: a matrix narrower than the catalog
    (built before ``add_items``) means "no interactions with the items added since" and is
    padded with empty columns; a wider one is an error. Returns canonical float32 CSR (a
    non-CSR input is converted; the caller decides whether to warn).
    """
    if not sp.issparse(user_items):
        raise TypeError(
            f"{name} must be a scipy sparse CSR matrix with one row per {rows_of}; received "
            f"{describe(user_items)}"
        )
    shape = user_items.shape
    if len(shape) != 2 or shape[0] != n_rows or shape[1] > n_items:
        raise ValueError(
            f"{name} must have shape ({n_rows}, {n_items}): one row per {rows_of}, one column per "
            f"{cols_of} (fewer columns mean no interactions with the {cols_of}s added since; more "
            f"than {n_items} is an error); received {describe(user_items)}"
        )
    csr = check_user_items(user_items, name, allow_empty=True)
    if csr.shape[1] < n_items:
        csr = sp.csr_matrix((csr.data, csr.indices, csr.indptr), shape=(n_rows, n_items))
    return csr


def check_int(value: Any, name: str, lo: int = 1, hi: int | None = None, note: str = "") -> int:
    """``value`` as an int if it is an integer (not a bool) in ``[lo, hi]`` (no upper bound
    when ``hi`` is None), else a ValueError naming ``name``, the value and the range."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < lo
            or (hi is not None and value > hi)):
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer >= {lo}")
        bound = "" if hi is None else f" (expected {lo} to {hi}{', ' + note if note else ''})"
        raise ValueError(f"{name} must be {what}; received {value!r}{bound}")
    return int(value)


def check_number(value: Any, name: str, expected: str, ok) -> None:
    """``value`` a finite real number (not a bool) with ``ok(value)``, else a ValueError."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))
            or not np.isfinite(value) or not ok(value)):
        raise ValueError(f"{name} must be {expected}; received {value!r}")


def check_user_ids(userids: Any, n_users: int) -> np.ndarray:
    """``userids`` of :meth:`ColdStartRecommender.partial_fit_users`: distinct non-negative
    integers; the new ones (>= n_users) exactly the next indices. Returns int64 (n,)."""
    arr = np.atleast_1d(np.asarray(userids))
    if arr.ndim != 1:
        raise ValueError(f"userids must be a scalar or a 1-D array of user indices; received shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            bad = arr[0] if arr.dtype.kind != "f" else arr[~np.isfinite(arr) | (np.mod(arr, 1) != 0)][0]
            raise TypeError(f"userids must be integer user indices; received {bad!r} (dtype {arr.dtype})")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"userids must be non-negative user indices; received {int(arr.min())}")
    uniq, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"userids repeats user {int(uniq[counts > 1][0])}; expected each user once")
    new = uniq[uniq >= n_users]
    if new.size and new[-1] != n_users + new.size - 1:
        raise ValueError(f"userids: new users must take the next indices {n_users}, {n_users + 1}, ... "
                         f"without gaps; received {new[:5].tolist()}")
    return arr


def meta_int(meta: dict, key: str, lo: int) -> int:
    v = meta[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{key} must be an integer >= {lo}; received {v!r}")
    return v


def meta_float(meta: dict, key: str, expected: str, ok) -> float:
    v = meta[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or not ok(v):
        raise ValueError(f"{key} must be {expected}; received {v!r}")
    return float(v)


def is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"




def breakdown_error(matrix: Any, exc: Exception, name: str = "user_items", what: str = "the fit",
                    typical: float | None = None) -> Exception:
    """The error for solves that broke down on ``matrix`` (the argument ``name``): said in terms
    of its weights when they reach 10,000 times the typical weight (``typical``: the fit's median
    weight; default the median of ``matrix``'s own), as a few huge confidences make the float32
    solves ill-conditioned; else the original error."""
    from coldstart.core.factorization import median_weight

    if not sp.issparse(matrix) or str(exc).startswith(
            ("user_items", "item_users", "item_features", "new_items", "exposures", "user_features")):
        return exc  # a refusal of the input says its own reason
    try:
        data = np.abs(sp.csr_matrix(matrix).data.astype(np.float64))
    except (TypeError, ValueError):
        return exc
    data = data[data > 0]
    if not data.size:
        return exc
    median, top = (median_weight(data) if typical is None else float(typical)), float(data.max())
    if top <= 1e4 * median:
        return exc
    against = "a median" if typical is None else "the fit's median"
    return ValueError(f"{name}: {what} broke down ({type(exc).__name__}: {exc}); its weights range up to "
                      f"{top:.3g} against {against} of {median:.3g}, and such outliers make the confidence "
                      "solves ill-conditioned; expected weights within a few orders of magnitude of each "
                      "other: compress them (e.g. np.log1p) or clip the outliers")


@contextlib.contextmanager
def reworded(matrix, name: str, what: str, typical: float | None = None):
    """Solves that break down on outlier weights of ``matrix`` (argument ``name``) say so, as
    ``fit`` does (:func:`breakdown_error`); other errors pass as they are."""
    try:
        yield
    except (np.linalg.LinAlgError, FloatingPointError) as exc:
        err = breakdown_error(matrix, exc, name, what, typical)
        if err is exc:
            raise
        raise err from exc
