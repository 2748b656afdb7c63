"""The collaborative model: implicit's ALS, and least-squares fold-in with an attribute prior.

``fold_in`` solves the implicit-feedback least-squares problem of one side (users or items)
with the other side's factors fixed, exactly as implicit's ALS does, plus an optional
Gaussian prior ``prior_weight * ||x - prior||^2`` that pulls the solution toward a given
vector. For a new item the prior is its zero-shot vector, so its first interactions move
it from where its attributes put it rather than from the origin.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import scipy.sparse as sp


def make_als(factors: int = 128, regularization: float = 0.01, alpha: float = 1.0,
             iterations: int = 15, random_state: int | None = None, num_threads: int = 0):
    """implicit's CPU ``AlternatingLeastSquares`` with the given hyper-parameters."""
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                   iterations=iterations, random_state=random_state,
                                   num_threads=num_threads)


def is_fitted_model(model: Any) -> bool:
    """True when ``model`` is an implicit-style model that already holds factors."""
    return getattr(model, "item_factors", None) is not None and getattr(model, "user_factors", None) is not None


def to_numpy_factors(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """(user_factors, item_factors) of an implicit model as float32 numpy arrays (GPU → CPU)."""
    if hasattr(model, "to_cpu") and not isinstance(getattr(model, "item_factors", None), np.ndarray):
        model = model.to_cpu()
    users = np.ascontiguousarray(np.asarray(model.user_factors), dtype=np.float32)
    items = np.ascontiguousarray(np.asarray(model.item_factors), dtype=np.float32)
    return users, items


def fit_collaborative(model: Any, user_items: sp.csr_matrix, show_progress: bool = False):
    """Fit a copy of an implicit model on ``user_items`` (n_users, n_items).

    Returns (fitted copy, user_factors, item_factors).
    """
    model = copy.deepcopy(model)
    model.fit(user_items, show_progress=show_progress)
    users, items = to_numpy_factors(model)
    if not (np.all(np.isfinite(users)) and np.all(np.isfinite(items))):
        raise FloatingPointError("the collaborative model produced NaN/inf factors; lower its "
                                 "learning rate/alpha or raise its regularization")
    return model, users, items


def fold_in(fixed: np.ndarray, rows: sp.csr_matrix, regularization: float, alpha: float = 1.0,
            prior: np.ndarray | None = None, prior_weight: float = 0.0,
            gram: np.ndarray | None = None, chunk_rows: int = 256) -> np.ndarray:
    """Solve implicit-ALS least squares for each row of ``rows`` with ``fixed`` factors held.

    For row r with confidences ``c = alpha * rows[r]`` over columns j, returns
    ``x_r = argmin sum_j c_j (1 - f_j.x)^2 + sum_{j unobserved} (f_j.x)^2
    + regularization ||x||^2 + prior_weight ||x - prior_r||^2``.

    Parameters
    ----------
    fixed : ndarray of shape (m, k)
        Factors of the other side (item factors to fold in users, user factors for items).
    rows : csr_matrix of shape (b, m)
        Interaction weights of the b rows to solve.
    prior : ndarray of shape (b, k), optional
    gram : ndarray of shape (k, k), optional
        ``fixed.T @ fixed``, if already known.

    Returns
    -------
    ndarray of shape (b, k), float32
    """
    b, k = rows.shape[0], fixed.shape[1]
    G = gram_matrix(fixed) if gram is None else np.asarray(gram, dtype=np.float64)
    base = G + (regularization + prior_weight) * np.eye(k)
    out = np.empty((b, k), dtype=np.float32)
    rows = rows.tocsr()
    indptr, indices, data = rows.indptr, rows.indices, rows.data
    for start in range(0, b, chunk_rows):
        stop = min(start + chunk_rows, b)
        A = np.broadcast_to(base, (stop - start, k, k)).copy()
        rhs = np.zeros((stop - start, k))
        for r in range(start, stop):  # small dense products per row; the solve is batched
            lo, hi = indptr[r], indptr[r + 1]
            if hi == lo:
                continue
            F = fixed[indices[lo:hi]].astype(np.float64)
            conf = alpha * data[lo:hi].astype(np.float64)
            A[r - start] += (F * (conf - 1.0)[:, None]).T @ F
            rhs[r - start] = conf @ F
        if prior is not None and prior_weight:
            rhs += prior_weight * np.asarray(prior[start:stop], dtype=np.float64)
        out[start:stop] = np.linalg.solve(A, rhs[:, :, None])[:, :, 0]
    return out


def gram_matrix(factors: np.ndarray) -> np.ndarray:
    """``factors.T @ factors`` of shape (k, k), float64."""
    f = np.asarray(factors)
    return (f.T @ f).astype(np.float64)


def solve_from_prior(rows: sp.csr_matrix, fixed: np.ndarray, regularization: float, alpha: float,
                     prior: np.ndarray, prior_weight: float, gram: np.ndarray | None = None,
                     iters: int = 10, exposed: sp.csr_matrix | None = None) -> np.ndarray:
    """Posterior means of items (or users) around a prior, for all rows at once.

    For row i with confidences ``c = alpha * rows[i]`` and prior vector ``z_i`` returns
    ``v_i = z_i + (H + A_i)^-1 (b_i - A_i z_i)`` with ``H = F'F + (regularization + prior_weight) I``,
    ``A_i = sum_j (c_j - 1) f_j f_j'`` and ``b_i = sum_j c_j f_j``: the minimiser of the
    implicit-ALS loss of the row plus a Gaussian prior whose mean is placed so that a row
    without interactions gets exactly ``z_i`` (its zero-shot vector) and every interaction
    moves it from there. Preconditioned conjugate gradients per row in the eigenbasis of
    ``F'F`` (where ``H`` is diagonal), ``iters`` steps; O(nnz × k) per step, no per-row loop.

    Parameters
    ----------
    rows : csr_matrix of shape (b, m)
    fixed : ndarray of shape (m, k)
    prior : ndarray of shape (b, k)
    gram : ndarray of shape (k, k), optional
        ``fixed.T @ fixed`` (or the Gram of the part of ``fixed`` that counts as unobserved).
    exposed : csr_matrix of shape (b, m), optional
        Pattern of the columns (users) each row was shown to, interacted or not. Without it the
        prior's anchor holds every column's score at ``f_j . z_i`` unless interactions move it;
        with it only the columns not exposed keep that anchor, and an exposed column without an
        interaction is an ordinary negative of the ALS loss (pulls its score toward 0):
        ``(H + A_i) v_i = b_i + (H - E_i) z_i`` with ``E_i = sum_{j exposed} f_j f_j'``. Exposure
        to every column gives the plain ALS solution with a ``prior_weight`` pull toward ``z_i``.

    Returns
    -------
    ndarray of shape (b, k), float32
    """
    from coldstart.core.mapping import _pair_dots

    rows = sp.csr_matrix(rows, dtype=np.float32)
    G = gram_matrix(fixed) if gram is None else np.asarray(gram, dtype=np.float64)
    ev, Q = np.linalg.eigh(G)
    Q = Q.astype(np.float32)
    h = (np.maximum(ev, 0.0) + regularization + prior_weight).astype(np.float32)
    Ft = np.ascontiguousarray(fixed @ Q, dtype=np.float32)
    conf = (alpha * rows.data).astype(np.float32)
    C = sp.csr_matrix((conf, rows.indices, rows.indptr), shape=rows.shape)
    Cm1 = sp.csr_matrix((conf - 1.0, rows.indices, rows.indptr), shape=rows.shape)
    Z = np.ascontiguousarray(np.asarray(prior, dtype=np.float32) @ Q)

    def A(P):  # rows' sum_j (c_j - 1) (f_j . p_i) f_j, eigenbasis
        t = _pair_dots(P, C, Ft) * (conf - 1.0)
        return np.asarray(sp.csr_matrix((t, C.indices, C.indptr), shape=C.shape) @ Ft)

    r = np.asarray(C @ Ft) - A(Z)  # b - A z; the solution is z + delta with (H + A) delta = r
    if exposed is not None:  # exposed columns lose the anchor: r -= E z
        Ex = sp.csr_matrix(exposed, dtype=np.float32)
        Ex = (Ex + sp.csr_matrix((np.ones(rows.nnz, np.float32), rows.indices, rows.indptr),
                                 shape=rows.shape)).tocsr()  # an interaction is an exposure
        Ex.data[:] = 1.0
        t = _pair_dots(Z, Ex, Ft)
        r -= np.asarray(sp.csr_matrix((t, Ex.indices, Ex.indptr), shape=Ex.shape) @ Ft)
    minv = 1.0 / (h[None, :] + np.asarray(Cm1 @ (Ft * Ft)))
    D = np.zeros_like(Z)
    z = r * minv
    p = z.copy()
    rz = np.einsum("ij,ij->i", r, z)
    for it in range(iters):
        ap = p * h + A(p)
        pap = np.einsum("ij,ij->i", p, ap)
        a = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        D += a[:, None] * p
        if it == iters - 1:
            break
        r -= a[:, None] * ap
        z = r * minv
        rz_new = np.einsum("ij,ij->i", r, z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p = z + beta[:, None] * p
        rz = rz_new
    return ((Z + D) @ Q.T).astype(np.float32)
