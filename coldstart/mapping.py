"""The attribute → factor map.

``RidgeMap`` is the default: multi-output ridge regression solved on the normal equations
by conjugate gradients, all outputs at once, with the data never densified. Its memory is
O(n_features × n_outputs); one iteration costs two sparse products with the attribute
matrix. Any scikit-learn regressor with ``fit(X, Y)`` / ``predict(X)`` can replace it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import check_item_features


class _RidgePCG:
    """Jacobi-preconditioned conjugate gradients for ``(Xc' W Xc + lam I) B = Xc' W Y``, all
    columns at once (one step size per column), with the state kept between calls so that a
    slowly changing ``Y`` (the item factors during alternating fits) is tracked in a few steps.

    ``Xc`` is X centred implicitly (sparse X stays sparse) when ``fit_intercept``.
    """

    def __init__(self, X, w: np.ndarray, lam: float, fit_intercept: bool):
        self.X = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=np.float32)
        self.Xt = self.X.T.tocsr() if sp.issparse(self.X) else np.ascontiguousarray(self.X.T)
        self.w = w.astype(np.float32)
        self.sw = float(w.sum())
        self.lam = lam
        d = self.X.shape[1]
        self.mu = (np.asarray(self.Xt @ self.w, dtype=np.float64).ravel() / self.sw if fit_intercept
                   else np.zeros(d)).astype(np.float32)
        if sp.issparse(self.X):
            diag = np.asarray(self.Xt.multiply(self.Xt) @ self.w, dtype=np.float64).ravel()
        else:
            diag = self.w.astype(np.float64) @ (self.X.astype(np.float64) ** 2)
        diag = diag - self.sw * self.mu.astype(np.float64) ** 2 + lam
        diag[diag <= 0] = 1.0
        self.minv = (1.0 / diag).astype(np.float32)[:, None]
        self.B = None

    def _xc(self, B):
        return np.asarray(self.X @ B) - self.mu @ B

    def _xct(self, V):
        return np.asarray(self.Xt @ V) - np.outer(self.mu, V.sum(axis=0))

    def _op(self, B):
        return self._xct(self.w[:, None] * self._xc(B)) + self.lam * B

    def solve(self, Y: np.ndarray, max_iter: int, tol: float = 0.0) -> int:
        """Move the solution to the targets ``Y`` (n, k); returns the iterations run."""
        Y = np.asarray(Y, dtype=np.float32)
        if self.B is None:
            self.B = np.zeros((self.X.shape[1], Y.shape[1]), np.float32)
            self.R = self._xct(self.w[:, None] * Y)
        else:  # same operator, new right-hand side: r = b - A B changes by Xc' W (Y - Y_old)
            self.R += self._xct(self.w[:, None] * (Y - self.Y))
        self.Y = Y.copy()
        norm0 = np.linalg.norm(self._xct(self.w[:, None] * Y), axis=0)
        norm0[norm0 == 0] = 1.0
        R, B = self.R, self.B
        Z = self.minv * R
        P = Z.copy()
        rz = np.einsum("ij,ij->j", R, Z)
        it = 0
        for it in range(1, max_iter + 1):
            AP = self._op(P)
            pap = np.einsum("ij,ij->j", P, AP)
            step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
            B += step * P
            R -= step * AP
            if tol and np.all(np.linalg.norm(R, axis=0) <= tol * norm0):
                break
            Z = self.minv * R
            rz_new = np.einsum("ij,ij->j", R, Z)
            beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
            P = Z + beta * P
            rz = rz_new
        return it

    def intercept(self) -> np.ndarray:
        ybar = self.w @ self.Y / self.sw
        return (ybar - self.mu @ self.B).astype(np.float32)


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

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_outputs)
    intercept_ : ndarray of shape (n_outputs,)
    n_iter_ : int
    """

    def __init__(self, alpha: float = 0.5, fit_intercept: bool = True, tol: float = 1e-3,
                 max_iter: int = 300):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

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
        self._solver = _RidgePCG(X, w, float(self.alpha), self.fit_intercept)
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
        """Fit on X of shape (n, n_features) and Y of shape (n, n_outputs)."""
        self._start(X, sample_weight)
        self._track(Y, self.max_iter, self.tol)
        self._solver = None
        return self

    def predict(self, X) -> np.ndarray:
        """Predict outputs of shape (n, n_outputs) for X of shape (n, n_features)."""
        check_is_fitted(self)
        X = check_item_features(X, "X", n_features=self.n_features_in_)
        return np.asarray(X @ self.coef_) + self.intercept_

    def get_state(self) -> dict[str, np.ndarray]:
        check_is_fitted(self)
        return {"coef": self.coef_, "intercept": self.intercept_}

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> "RidgeMap":
        obj = cls(**params)
        obj.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
        obj.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        obj.n_features_in_ = obj.coef_.shape[0]
        obj.n_iter_ = 0
        return obj


def fit_map_on_interactions(Xw: sp.csr_matrix, Ciu: sp.csr_matrix, U: np.ndarray, lam_rel: float,
                            W0: np.ndarray, iters: int = 6) -> np.ndarray:
    """Refine the linear map W on the implicit-ALS loss itself, users fixed.

    Minimises ``sum_{u,i} c_ui (p_ui - u_u . x_i W)^2 + lam ||W||^2`` over the items' attribute
    rows ``x_i`` (only items with interactions) — the map is fitted to what the factors are for,
    ranking, not to the factors themselves. ``lam = lam_rel * mean eigenvalue of U'U``, so the
    penalty is in the units of the data term. Preconditioned CG on the normal equations
    ``X'X W G + X'T U + lam W = X'C U`` (``T_iu = (c_ui - 1) x_i W . u_u`` on observed pairs), in
    the eigenbasis of ``G = U'U`` where the dense part is diagonal; ``iters`` steps from ``W0``.

    Parameters
    ----------
    Xw : csr_matrix of shape (n_items, n_features)
        Weighted attributes of the items with interactions.
    Ciu : csr_matrix of shape (n_items, n_users)
        Confidences of those items' interactions (implicit's convention, ``alpha * weight``).
    U : ndarray of shape (n_users, k)
    W0 : ndarray of shape (n_features, k)

    Returns
    -------
    W : ndarray of shape (n_features, k), float32
    """
    Xw = Xw.tocsr().astype(np.float32)
    Xwt = Xw.T.tocsr()
    colsq = np.asarray(Xw.multiply(Xw).sum(axis=0)).ravel().astype(np.float32)
    Ciu = Ciu.tocsr().astype(np.float32)
    cm1 = Ciu.data - 1.0
    rows = np.repeat(np.arange(Ciu.shape[0]), np.diff(Ciu.indptr))
    cols = Ciu.indices
    Cm1 = sp.csr_matrix((cm1, Ciu.indices, Ciu.indptr), shape=Ciu.shape)
    ev, Q = np.linalg.eigh((U.T @ U).astype(np.float64))
    ev = np.maximum(ev, 1e-9)
    Q = Q.astype(np.float32)
    Ut = np.ascontiguousarray(U @ Q, dtype=np.float32)
    evf = ev.astype(np.float32)
    lam = float(lam_rel * ev.mean())
    Wt = np.ascontiguousarray(W0 @ Q, dtype=np.float32)
    B = Xwt @ (Ciu @ Ut)
    minv = 1.0 / (colsq[:, None] * evf[None, :] + lam + np.asarray(Xw.multiply(Xw).T @ (Cm1 @ (Ut * Ut))))

    def op(P):
        Vp = np.asarray(Xw @ P)
        t = np.einsum("nd,nd->n", Vp[rows], Ut[cols]) * cm1
        return np.asarray(Xwt @ (Vp * evf + sp.csr_matrix((t, Ciu.indices, Ciu.indptr), shape=Ciu.shape) @ Ut)) \
            + lam * P

    r = B - op(Wt)
    z = r * minv
    p = z.copy()
    rz = float((r * z).sum())
    for k in range(iters):
        ap = op(p)
        a = rz / max(float((p * ap).sum()), 1e-30)
        Wt += a * p
        if k == iters - 1:
            break
        r -= a * ap
        z = r * minv
        rz_new = float((r * z).sum())
        p = z + (rz_new / max(rz, 1e-30)) * p
        rz = rz_new
    return (Wt @ Q.T).astype(np.float32)
