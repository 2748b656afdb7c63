"""The attribute → factor map.

``RidgeMap`` is the default: multi-output ridge regression solved on the normal equations
by conjugate gradients, all outputs at once, with the data never densified. Its memory is
O(n_features × n_outputs); one iteration costs two sparse products with the attribute
matrix. Any scikit-learn regressor with ``fit(X, Y)`` / ``predict(X)`` can replace it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from coldstart.core.validation import check_item_features


class _RidgePCG:
    """Jacobi-preconditioned conjugate gradients for ``(Xc' W Xc + lam I) B = Xc' W Y``, all
    columns at once (one step size per column), with the state kept between calls so that a
    slowly changing ``Y`` (the item factors during alternating fits) is tracked in a few steps.

    ``Xc`` is X centred implicitly (sparse X stays sparse) when ``fit_intercept``.
    """

    def __init__(self, X, w: np.ndarray, lam: float, fit_intercept: bool, num_threads: int = 0):
        self.X = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=np.float32)
        self._blocks = _ItemBlocks(self.X, num_threads=num_threads)
        self.w = w.astype(np.float32)
        self.unweighted = bool(np.all(self.w == 1.0))
        self.sw = float(w.sum())
        self.lam = lam
        self.fit_intercept = fit_intercept
        d = self.X.shape[1]
        self.mu = (np.asarray(self.X.T @ self.w, dtype=np.float64).ravel() / self.sw if fit_intercept
                   else np.zeros(d)).astype(np.float32)
        if sp.issparse(self.X):
            diag = np.asarray(self.X.multiply(self.X).T @ self.w, dtype=np.float64).ravel()
        else:
            diag = self.w.astype(np.float64) @ (self.X.astype(np.float64) ** 2)
        diag = diag - self.sw * self.mu.astype(np.float64) ** 2 + lam
        diag[diag <= 0] = 1.0
        self.minv = (1.0 / diag).astype(np.float32)[:, None]
        self.B = None

    def _xc(self, B):
        XB = self._blocks.rows(lambda Xb, _, __: np.asarray(Xb @ B), B.shape[1])
        if self.fit_intercept:
            XB -= self.mu @ B
        return XB

    def _xct(self, V):
        V = np.asarray(V, dtype=np.float32)
        XtV = self._blocks.reduce(lambda Xb, _, sl: np.asarray(Xb.T @ V[sl]), V.shape[1])
        if self.fit_intercept:
            XtV -= np.outer(self.mu, V.sum(axis=0))
        return XtV

    def _weigh(self, V):
        """``diag(w) V`` (a new array; V itself when every weight is 1)."""
        return V if self.unweighted else self.w[:, None] * V

    def _op(self, B):
        out = self._xct(self._weigh(self._xc(B)))
        out += self.lam * B
        return out

    def solve(self, Y: np.ndarray, max_iter: int, tol: float = 0.0) -> int:
        """Move the solution to the targets ``Y`` (n, k); returns the iterations run."""
        Y = np.asarray(Y, dtype=np.float32)
        first = self.B is None
        if first:
            self.B = np.zeros((self.X.shape[1], Y.shape[1]), np.float32)
            self.R = self._xct(self._weigh(Y))
        else:  # same operator, new right-hand side: r = b - A B changes by Xc' W (Y - Y_old)
            self.R += self._xct(self._weigh(Y - self.Y))
        self.Y = Y.copy()
        norm0 = np.ones(Y.shape[1], np.float32)
        if tol:  # the stopping rule's scale: the right-hand side (the residual at B = 0)
            norm0 = np.linalg.norm(self.R if first else self._xct(self._weigh(Y)), axis=0)
            norm0[norm0 == 0] = 1.0
        return _ridge_pcg(self._op, self.B, self.R, self.minv, max_iter, tol, norm0)

    def intercept(self) -> np.ndarray:
        ybar = self.w @ self.Y / self.sw
        return (ybar - self.mu @ self.B).astype(np.float32)


def _ridge_pcg(op, B: np.ndarray, R: np.ndarray, minv: np.ndarray, max_iter: int, tol: float,
               norm0: np.ndarray) -> int:
    """The conjugate-gradient loop of :class:`_RidgePCG`, the data product given.

    ``op(P)``: the operator ``Xc' W Xc P + lam P`` (n_features, k); ``B`` and ``R`` (the
    iterate and its residual, (n_features, k) float32) are updated in place; ``minv``
    (n_features, 1) is the Jacobi preconditioner; stops after ``max_iter`` steps or when every
    column's residual is at most ``tol`` times ``norm0`` (k,). Returns the steps run.
    ``coldstart.integrations.spark`` runs it with the product summed over Spark partitions.
    """
    Z = minv * R
    P = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    it = 0
    for it in range(1, max_iter + 1):
        AP = op(P)
        pap = np.einsum("ij,ij->j", P, AP)
        step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        B += step * P
        R -= step * AP
        if tol and np.all(np.linalg.norm(R, axis=0) <= tol * norm0):
            break
        Z = minv * R
        rz_new = np.einsum("ij,ij->j", R, Z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        P = Z + beta * P
        rz = rz_new
    return it


_PARALLEL_PREDICT_ROWS = 4096  # predictions for at least this many rows run on all cores


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

    def _start(self, X, sample_weight=None) -> "RidgeMap":
        """Prepare the solver for X of shape (n, n_features) (see :meth:`_track`)."""
        X = check_item_features(X, "X")
        if not (np.isscalar(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha must be a non-negative number; received {self.alpha!r}")
        n = X.shape[0]
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,) or np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ValueError(f"sample_weight must be non-negative finite of shape ({n},); received {w.shape}")
        if w.sum() <= 0:
            raise ValueError("sample_weight sums to zero; expected some positive weight")
        self._solver = _RidgePCG(X, w, float(self.alpha), self.fit_intercept, self.num_threads)
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

    def fit(self, X, Y, sample_weight=None) -> "RidgeMap":
        """Fit on X of shape (n, n_features) and Y of shape (n, n_outputs).

        Columns of a sparse X without any value get exactly zero coefficients (no gradient,
        penalised): they are left out of the solve and of the stored map (``columns_``).
        """
        X = check_item_features(X, "X")
        d, cols = X.shape[1], None
        if sp.issparse(X):
            X, cols, d = active_columns(X)
        self._start(X, sample_weight)
        self._track(Y, self.max_iter, self.tol)
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
        lookup = self.__dict__.get("_lookup")
        if lookup is None or lookup.shape[0] != self.n_features_in_:
            # column -> stored row (-1: no coefficient); 4 bytes per declared column, built once
            lookup = np.full(self.n_features_in_, -1, dtype=np.int32)
            lookup[cols] = np.arange(cols.size, dtype=np.int32)
            self._lookup = lookup
        pos = lookup[X.indices]
        hit = pos >= 0
        if hit.all():
            return sp.csr_matrix((X.data, pos, X.indptr), shape=(X.shape[0], cols.size))
        kept = np.concatenate([[0], np.cumsum(hit)])
        return sp.csr_matrix((X.data[hit], pos[hit], kept[X.indptr]), shape=(X.shape[0], cols.size))

    def predict(self, X) -> np.ndarray:
        """Predict outputs of shape (n, n_outputs) for X of shape (n, n_features)."""
        check_is_fitted(self)
        X = self._active_input(check_item_features(X, "X", n_features=self.n_features_in_))
        coef = self.coef_active_
        if sp.issparse(X) and X.shape[0] >= _PARALLEL_PREDICT_ROWS and n_workers(self.num_threads) > 1:
            # row blocks on all cores (scipy's product releases the GIL)
            out = _ItemBlocks(X.tocsr(), num_threads=self.num_threads).rows(
                lambda Xb, _, __: np.asarray(Xb @ coef), coef.shape[1])
        else:
            out = np.asarray(X @ coef)
        out += self.intercept_
        return out

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


_controller = None


def _blas_controller():
    """threadpoolctl's controller, created once (scanning the loaded libraries costs ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def n_workers(num_threads: int = 0) -> int:
    """Threads to use: ``num_threads``, or with 0 the cores this process may run on."""
    if num_threads and num_threads > 0:
        return int(num_threads)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _ItemBlocks:
    """Rows (items) cut into blocks of bounded size for a thread pool.

    ``X`` (n, n_features) and optionally ``C`` (n, n_users, the items' interactions) are sliced
    into one row block per thread, more when a block would exceed ``max_block_nnz`` stored
    entries; :meth:`reduce` sums a per-block (n_features, k) product and :meth:`rows` stacks a
    per-block (rows, k) product. scipy's sparse products and numpy's kernels release the GIL,
    so the threads run in parallel; each thread sums into its own accumulator. Few blocks
    matter: every block's (n_features, k) product is a fresh array to add.
    The block functions of the map (:func:`_block_start`, :func:`_block_op`)
    are also what the Spark map runs per partition.
    """

    def __init__(self, X, C: sp.csr_matrix | None = None, max_block_nnz: int = 1 << 24,
                 num_threads: int = 0):
        n = X.shape[0]
        cost = np.diff(X.indptr).astype(np.int64) if sp.issparse(X) else np.full(n, X.shape[1], np.int64)
        if C is not None:
            cost = cost + np.diff(C.indptr)
        cum = np.concatenate([[0], np.cumsum(cost + 1)])
        threads = n_workers(num_threads)
        # a multiple of the threads: with 3 blocks on 2 threads one thread would do two thirds
        n_blocks = threads * max(1, int(np.ceil(cum[-1] / max_block_nnz / threads)))
        edges = np.unique(np.searchsorted(cum, np.linspace(0, cum[-1], n_blocks + 1)).clip(0, n))
        edges[0], edges[-1] = 0, n
        self.slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        self.blocks = [(X[sl], None if C is None else C[sl]) for sl in self.slices]
        self.n, self.d = n, X.shape[1]
        self.threads = max(1, min(threads, len(self.blocks)))
        self._squares = None

    def squares(self) -> dict:
        """``X_b∘X_b`` per block, keyed by the block's first row; computed once."""
        if self._squares is None:
            self._squares = {sl.start: Xb.multiply(Xb).tocsr() for (Xb, _), sl in zip(self.blocks, self.slices)}
        return self._squares

    def _run(self, work):
        if self.threads == 1:
            return [work(0)]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(work, range(self.threads)))

    def reduce(self, fn, k: int) -> np.ndarray:
        """``sum_b fn(X_b, C_b, slice_b)``, each of shape (n_features, k); float32."""
        def work(j):
            acc = None  # the first block's product is the accumulator: no zeroed array to add
            for (Xb, Cb), sl in zip(self.blocks[j::self.threads], self.slices[j::self.threads]):
                part = np.asarray(fn(Xb, Cb, sl), dtype=np.float32)
                if acc is None:
                    acc = part if part.flags.writeable and part.flags.c_contiguous else part.copy()
                else:
                    acc += part
            return np.zeros((self.d, k), np.float32) if acc is None else acc

        parts = self._run(work)
        out = parts[0]
        for p in parts[1:]:
            out += p
        return out

    def rows(self, fn, k: int) -> np.ndarray:
        """``fn(X_b, C_b, slice_b)`` of shape (rows of b, k) stacked to (n, k); float32."""
        out = np.empty((self.n, k), np.float32)

        def work(j):
            for (Xb, Cb), sl in zip(self.blocks[j::self.threads], self.slices[j::self.threads]):
                out[sl] = fn(Xb, Cb, sl)

        self._run(work)
        return out


def _pair_dots(Vb: np.ndarray, Cb: sp.csr_matrix, Ut: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """``v_i . u_u`` for every stored pair (i, u) of ``Cb`` in storage order, shape (nnz,);
    computed ``chunk`` pairs at a time in two reused (chunk, k) buffers (small enough to stay
    in cache: 1,024 pairs run about twice as fast as 16,384)."""
    indptr, indices = Cb.indptr, Cb.indices
    nnz, k = Cb.nnz, Ut.shape[1]
    out = np.empty(nnz, np.float32)
    if nnz == 0:
        return out
    item = np.repeat(np.arange(Cb.shape[0], dtype=np.int64), np.diff(indptr))
    bu = np.empty((min(chunk, nnz), k), np.float32)
    bv = np.empty_like(bu)
    for lo in range(0, nnz, chunk):
        hi = min(lo + chunk, nnz)
        u, v = bu[:hi - lo], bv[:hi - lo]
        np.take(Ut, indices[lo:hi], axis=0, out=u)
        np.take(Vb, item[lo:hi], axis=0, out=v)
        np.einsum("nd,nd->n", u, v, out=out[lo:hi])
    return out


def _block_start(Xb: sp.csr_matrix, Cb: sp.csr_matrix, Ut: np.ndarray, ev: np.ndarray,
                 W: np.ndarray, Xb2: sp.csr_matrix | None = None) -> np.ndarray:
    """One block's share of the residual's data part ``X_b'(C_b U - V_b diag(ev) - T_b U)`` at
    ``W`` (``V_b = X_b W``) and of the Jacobi diagonal ``(X_b∘X_b)'((C_b - 1) U∘U + ev)``,
    side by side: shape (n_features, 2k), eigenbasis. ``Xb2``: ``X_b∘X_b`` if already known."""
    k = Ut.shape[1]
    Vb = np.asarray(Xb @ W)
    t = _pair_dots(Vb, Cb, Ut) * (Cb.data - 1.0)
    Vb *= -ev
    Vb += np.asarray(sp.csr_matrix((Cb.data - t, Cb.indices, Cb.indptr), shape=Cb.shape) @ Ut)
    out = np.empty((Xb.shape[1], 2 * k), np.float32)
    out[:, :k] = Xb.T @ Vb
    Cm1 = sp.csr_matrix((Cb.data - 1.0, Cb.indices, Cb.indptr), shape=Cb.shape)
    D = np.asarray(Cm1 @ (Ut * Ut))
    D += ev[None, :]
    out[:, k:] = (Xb.multiply(Xb).tocsr() if Xb2 is None else Xb2).T @ D
    return out


def _block_op(Xb: sp.csr_matrix, Cb: sp.csr_matrix, Ut: np.ndarray, ev: np.ndarray,
              P: np.ndarray) -> np.ndarray:
    """``X_b' (V_b diag(ev) + T_b U)`` with ``V_b = X_b P`` and ``T_ui = (c_ui - 1) v_i . u_u``
    on the block's observed pairs: one block's share of the operator (n_features, k).
    Extra memory O(rows of the block × k + 65,536 × k)."""
    Vb = np.asarray(Xb @ P)
    t = _pair_dots(Vb, Cb, Ut) * (Cb.data - 1.0)
    Vb *= ev
    Vb += sp.csr_matrix((t, Cb.indices, Cb.indptr), shape=Cb.shape) @ Ut
    return np.asarray(Xb.T @ Vb, dtype=np.float32)


def fit_map_on_interactions(Xw: sp.csr_matrix, Ciu: sp.csr_matrix, U: np.ndarray, lam_rel: float,
                            W0: np.ndarray, iters: int = 6, num_threads: int = 0,
                            blocks: "_ItemBlocks | None" = None) -> np.ndarray:
    """Refine the linear map W on the implicit-ALS loss itself, users fixed.

    Minimises ``sum_{u,i} c_ui (p_ui - u_u . x_i W)^2 + lam ||W||^2`` over the items' attribute
    rows ``x_i`` (only items with interactions) — the map is fitted to what the factors are for,
    ranking, not to the factors themselves. ``lam = lam_rel * mean eigenvalue of U'U``, so the
    penalty is in the units of the data term. Preconditioned CG on the normal equations
    ``X'X W G + X'T U + lam W = X'C U`` (``T_iu = (c_ui - 1) x_i W . u_u`` on observed pairs), in
    the eigenbasis of ``G = U'U`` where the dense part is diagonal; ``iters`` steps from ``W0``.
    Items are processed in row blocks on ``num_threads`` threads (0: all cores); the extra
    memory is O(threads × n_features × k + n_items × k), never O(interactions × k).

    Parameters
    ----------
    Xw : csr_matrix of shape (n_items, n_features)
        Weighted attributes of the items with interactions.
    Ciu : csr_matrix of shape (n_items, n_users)
        Confidences of those items' interactions (implicit's convention, ``alpha * weight``).
    U : ndarray of shape (n_users, k)
    W0 : ndarray of shape (n_features, k)
    blocks : _ItemBlocks, optional
        ``map_blocks(Xw, Ciu)`` from an earlier call on the same data (alternating fits call
        this once per sweep): the row blocks and their squared attributes are reused.

    Returns
    -------
    W : ndarray of shape (n_features, k), float32
    """
    return map_path(Xw, Ciu, U, W0, num_threads, blocks)(lam_rel, iters)


def map_path(Xw: sp.csr_matrix, Ciu: sp.csr_matrix | None, U: np.ndarray, W0: np.ndarray,
             num_threads: int = 0, blocks: "_ItemBlocks | None" = None):
    """:func:`fit_map_on_interactions` from one start ``W0`` at several penalties: returns
    ``fit(lam_rel, iters) -> W`` (n_features, k). The rotations into the eigenbasis of ``U'U``
    and the first pass over the data (gradient and preconditioner at ``W0``, which do not
    depend on the penalty) are computed once and shared by every call."""
    evf, Q, mean_ev = _gram_eigen(U.T @ U, 1.0)
    # the dense rotations run on every core's BLAS, whatever the caller's limit (implicit's
    # solver wants it at 1)
    with _blas_controller().limit(limits=n_workers(num_threads), user_api="blas"):
        Ut = np.ascontiguousarray(U @ Q, dtype=np.float32)
        Wt0 = np.ascontiguousarray(W0 @ Q, dtype=np.float32)
    if blocks is None:
        blocks = map_blocks(Xw, Ciu, num_threads)
    sq = blocks.squares()
    k = Ut.shape[1]
    start = blocks.reduce(lambda Xb, Cb, sl: _block_start(Xb, Cb, Ut, evf, Wt0, sq[sl.start]), 2 * k)

    def fit(lam_rel: float, iters: int) -> np.ndarray:
        Wt = _map_cg(start.copy(), lambda P: blocks.reduce(lambda Xb, Cb, _: _block_op(Xb, Cb, Ut, evf, P), k),
                     Wt0.copy(), float(lam_rel) * mean_ev, iters)
        with _blas_controller().limit(limits=n_workers(num_threads), user_api="blas"):
            return np.ascontiguousarray(Wt @ Q.T, dtype=np.float32)

    return fit


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


def map_blocks(Xw: sp.csr_matrix, Ciu: sp.csr_matrix, num_threads: int = 0) -> "_ItemBlocks":
    """The row blocks :func:`fit_map_on_interactions` works on, to reuse across its calls."""
    return _ItemBlocks(sp.csr_matrix(Xw, dtype=np.float32), sp.csr_matrix(Ciu, dtype=np.float32),
                       num_threads=num_threads)


def _gram_eigen(G: np.ndarray, lam_rel: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The eigenbasis of the users' Gram matrix ``G = U'U`` (k, k) in which the map's CG runs:
    ``(ev, Q, lam)`` with the eigenvalues ``ev`` (k,) floored at 1e-9 and the eigenvectors
    ``Q`` (k, k), both float32, and ``lam = lam_rel * mean(ev)``."""
    ev, Q = np.linalg.eigh(np.asarray(G, dtype=np.float64))
    ev = np.maximum(ev, 1e-9)
    return ev.astype(np.float32), Q.astype(np.float32), float(lam_rel * ev.mean())


def _map_cg(start, op, Wt: np.ndarray, lam: float, iters: int) -> np.ndarray:
    """The preconditioned CG of :func:`fit_map_on_interactions`, eigenbasis, data products given.

    ``start(Wt)``: the sum over item blocks of :func:`_block_start` at ``Wt`` (n_features, 2k),
    or that array itself (consumed);
    ``op(P)``: the sum over item blocks of :func:`_block_op` at ``P`` (n_features, k). The
    local fit sums them over a thread pool, ``coldstart.integrations.spark`` over Spark partitions.
    ``iters`` steps from ``Wt`` (n_features, k) float32, updated in place and returned.
    The (n_features, k) updates run in place: a handful of arrays of that size in all.
    """
    k = Wt.shape[1]
    start_ = start(Wt) if callable(start) else start  # an array: the first pass, already made
    r = start_[:, :k] - lam * Wt
    minv = start_[:, k:]
    minv += lam
    np.reciprocal(minv, out=minv)
    z = r * minv
    p = z.copy()
    rz = float(np.einsum("ij,ij->", r, z))
    for it in range(iters):
        ap = op(p)
        ap += lam * p
        a = rz / max(float(np.einsum("ij,ij->", p, ap)), 1e-30)
        np.multiply(p, np.float32(a), out=z)
        Wt += z
        if it == iters - 1:
            break
        np.multiply(ap, np.float32(a), out=z)
        r -= z
        np.multiply(r, minv, out=z)
        rz_new = float(np.einsum("ij,ij->", r, z))
        p *= np.float32(rz_new / max(rz, 1e-30))
        p += z
        rz = rz_new
    return Wt
