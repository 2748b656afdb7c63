"""One family of solvers for every least-squares problem of the library.

:func:`pcg` is the one conjugate-gradient loop: independent systems that share an operator, one
system over all entries (the map on the ALS loss), one per column (the ridge map) or one per row
(the warm-up posterior, the ALS half-step of the Spark fit). Around it, the operators:

- :class:`RidgeCG`: ``(Xc' W Xc + lam I) B = Xc' W Y`` for :class:`~coldstart.core.mapping.RidgeMap`;
- :func:`map_path` / :func:`fit_map_on_interactions`: the attribute map fitted on the implicit-ALS
  loss, its data products in row blocks (:func:`map_block_start`, :func:`map_block_op`, which the
  Spark fit also runs per partition);
- :func:`solve_from_prior`: items (or users) around an attribute prior;
- :func:`fold_in` (exact, batched dense solves) and :func:`solve_rows` (implicit's
  ``least_squares_cg``) for plain ALS half-steps.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from coldstart.core.constants import LOW_RANK_MAX_ENTRIES
from coldstart.core.runtime import ItemBlocks, blas_controller, n_workers

_DOTS = {None: "ij,ij->", 0: "ij,ij->j", 1: "ij,ij->i"}


def pcg(op: Callable[[np.ndarray], np.ndarray], X: np.ndarray, R: np.ndarray, minv: np.ndarray | None,
        iters: int, *, axis: int | None = None, tol: float = 0.0, norm0: np.ndarray | None = None,
        floor: float = 0.0, residual: bool = True) -> int:
    """Preconditioned conjugate gradients on independent SPD systems that share ``op``.

    ``X`` (n, k) float32 is the iterate and ``R = B - op(X)`` its residual, both updated in place;
    ``minv`` the Jacobi preconditioner, broadcastable to (n, k) (None: none). ``axis`` says what
    one system is: None all entries (one scalar step), 0 each column (k steps), 1 each row (n
    steps). Stops after ``iters`` steps or, with ``tol`` (axis 0), when every column's residual
    norm is at most ``tol * norm0`` (k,); with ``floor`` (axis 1) a row whose squared residual
    falls below it stops moving (implicit's ``least_squares_cg`` rule). ``residual=False``: the
    caller does not read ``R`` afterwards, so the last step leaves it (one update less). The
    (n, k) updates run in place in two reused buffers. Returns the steps run.
    """
    spec = _DOTS[axis]

    def dot(A, B):
        v = np.einsum(spec, A, B)
        return float(v) if axis is None else v

    def ratio(num, den, mask=None):
        if axis is None:
            return np.float32(num / max(den, 1e-30))
        where = den > 0 if mask is None else mask & (den > 0)
        out = np.divide(num, den, out=np.zeros_like(num), where=where)
        return out if axis == 0 else out[:, None]

    Z = R if minv is None else minv * R
    P = Z.copy()
    tmp = np.empty_like(P)
    rz = dot(R, Z)
    active = rz >= floor if floor else None
    it = 0
    for it in range(1, iters + 1):
        if active is not None and not active.any():
            break
        AP = op(P)
        a = ratio(rz, dot(P, AP), active)
        X += np.multiply(a, P, out=tmp)
        if it == iters and not residual and not tol:
            break
        R -= np.multiply(a, AP, out=tmp)
        if tol and np.all(np.linalg.norm(R, axis=0) <= tol * norm0):
            break
        if minv is not None:
            np.multiply(minv, R, out=Z)
        rz_new = dot(R, Z)
        if active is not None:
            active &= rz_new >= floor
        P *= ratio(rz_new, rz)
        P += Z
        rz = rz_new
    return it


class RidgeCG:
    """Jacobi-preconditioned conjugate gradients for ``(Xc' W Xc + lam I) B = Xc' W Y``, all
    columns at once (one step size per column), with the state kept between calls so that a
    slowly changing ``Y`` (the item factors during alternating fits) is tracked in a few steps.

    ``Xc`` is X centred implicitly (sparse X stays sparse) when ``fit_intercept``.
    """

    def __init__(self, X, w: np.ndarray, lam: float, fit_intercept: bool, num_threads: int = 0):
        self.X = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=np.float32)
        self._blocks = ItemBlocks(self.X, num_threads=num_threads)
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
        return pcg(self._op, self.B, self.R, self.minv, max_iter, axis=0, tol=tol, norm0=norm0)

    def intercept(self) -> np.ndarray:
        """``mean_w(Y) - mu B`` (k,), or zeros without ``fit_intercept``."""
        if not self.fit_intercept:
            return np.zeros(self.B.shape[1], np.float32)
        ybar = self.w @ self.Y / self.sw
        return (ybar - self.mu @ self.B).astype(np.float32)


def pair_dots(Vb: np.ndarray, Cb: sp.csr_matrix, Ut: np.ndarray, chunk: int | None = None) -> np.ndarray:
    """``v_i . u_u`` for every stored pair (i, u) of ``Cb`` in storage order, shape (nnz,);
    computed ``chunk`` pairs at a time in two reused (chunk, k) buffers, by default of 65,536
    floats each (small enough to stay in cache: at 256 factors 256 pairs a chunk run twice as
    fast as 1,024)."""
    indptr, indices = Cb.indptr, Cb.indices
    nnz, k = Cb.nnz, Ut.shape[1]
    chunk = max(64, 65536 // max(k, 1)) if chunk is None else chunk
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


def map_block_start(Xb: sp.csr_matrix, Cb: sp.csr_matrix, Ut: np.ndarray, ev: np.ndarray,
                 W: np.ndarray, Xb2: sp.csr_matrix | None = None) -> np.ndarray:
    """One block's share of the residual's data part ``X_b'(C_b U - V_b diag(ev) - T_b U)`` at
    ``W`` (``V_b = X_b W``) and of the Jacobi diagonal ``(X_b∘X_b)'((C_b - 1) U∘U + ev)``,
    side by side: shape (n_features, 2k), eigenbasis. ``Xb2``: ``X_b∘X_b`` if already known."""
    k = Ut.shape[1]
    Vb = np.asarray(Xb @ W)
    t = pair_dots(Vb, Cb, Ut) * (Cb.data - 1.0)
    Vb *= -ev
    Vb += np.asarray(sp.csr_matrix((Cb.data - t, Cb.indices, Cb.indptr), shape=Cb.shape) @ Ut)
    out = np.empty((Xb.shape[1], 2 * k), np.float32)
    out[:, :k] = Xb.T @ Vb
    Cm1 = sp.csr_matrix((Cb.data - 1.0, Cb.indices, Cb.indptr), shape=Cb.shape)
    D = np.asarray(Cm1 @ (Ut * Ut))
    D += ev[None, :]
    out[:, k:] = (Xb.multiply(Xb).tocsr() if Xb2 is None else Xb2).T @ D
    return out


def map_block_op(Xb: sp.csr_matrix, Cb: sp.csr_matrix, Ut: np.ndarray, ev: np.ndarray,
              P: np.ndarray) -> np.ndarray:
    """``X_b' (V_b diag(ev) + T_b U)`` with ``V_b = X_b P`` and ``T_ui = (c_ui - 1) v_i . u_u``
    on the block's observed pairs: one block's share of the operator (n_features, k).
    Extra memory O(rows of the block × k + 2 × 65,536) floats (:func:`pair_dots`' buffers)."""
    Vb = np.asarray(Xb @ P)
    t = pair_dots(Vb, Cb, Ut) * (Cb.data - 1.0)
    Vb *= ev
    Vb += sp.csr_matrix((t, Cb.indices, Cb.indptr), shape=Cb.shape) @ Ut
    return np.asarray(Xb.T @ Vb, dtype=np.float32)


def fit_map_on_interactions(Xw: sp.csr_matrix, Ciu: sp.csr_matrix, U: np.ndarray, lam_rel: float,
                            W0: np.ndarray, iters: int = 6, num_threads: int = 0,
                            blocks: "ItemBlocks | None" = None) -> np.ndarray:
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
    blocks : ItemBlocks, optional
        ``map_blocks(Xw, Ciu)`` from an earlier call on the same data (alternating fits call
        this once per sweep): the row blocks and their squared attributes are reused.

    Returns
    -------
    W : ndarray of shape (n_features, k), float32
    """
    return map_path(Xw, Ciu, U, W0, num_threads, blocks)(lam_rel, iters)


def map_path(Xw: sp.csr_matrix, Ciu: sp.csr_matrix | None, U: np.ndarray, W0: np.ndarray,
             num_threads: int = 0, blocks: "ItemBlocks | None" = None):
    """:func:`fit_map_on_interactions` from one start ``W0`` at several penalties: returns
    ``fit(lam_rel, iters) -> W`` (n_features, k). The rotations into the eigenbasis of ``U'U``
    and the first pass over the data (gradient and preconditioner at ``W0``, which do not
    depend on the penalty) are computed once and shared by every call."""
    evf, Q, mean_ev = gram_eigen(U.T @ U, 1.0)
    # the dense rotations run on every core's BLAS, whatever the caller's limit (implicit's
    # solver wants it at 1)
    with blas_controller().limit(limits=n_workers(num_threads), user_api="blas"):
        Ut = np.ascontiguousarray(U @ Q, dtype=np.float32)
        Wt0 = np.ascontiguousarray(W0 @ Q, dtype=np.float32)
    if blocks is None:
        blocks = map_blocks(Xw, Ciu, num_threads)
    sq = blocks.squares()
    k = Ut.shape[1]
    start = blocks.reduce(lambda Xb, Cb, sl: map_block_start(Xb, Cb, Ut, evf, Wt0, sq[sl.start]), 2 * k)

    def fit(lam_rel: float, iters: int) -> np.ndarray:
        Wt = map_cg(start, lambda P: blocks.reduce(lambda Xb, Cb, _: map_block_op(Xb, Cb, Ut, evf, P), k),
                     Wt0.copy(), float(lam_rel) * mean_ev, iters)
        with blas_controller().limit(limits=n_workers(num_threads), user_api="blas"):
            return np.ascontiguousarray(Wt @ Q.T, dtype=np.float32)

    return fit


def map_blocks(Xw: sp.csr_matrix, Ciu: sp.csr_matrix, num_threads: int = 0) -> ItemBlocks:
    """The row blocks :func:`fit_map_on_interactions` works on, to reuse across its calls."""
    return ItemBlocks(sp.csr_matrix(Xw, dtype=np.float32), sp.csr_matrix(Ciu, dtype=np.float32),
                       num_threads=num_threads)


def gram_eigen(G: np.ndarray, lam_rel: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The eigenbasis of the users' Gram matrix ``G = U'U`` (k, k) in which the map's CG runs:
    ``(ev, Q, lam)`` with the eigenvalues ``ev`` (k,) floored at 1e-9 and the eigenvectors
    ``Q`` (k, k), both float32, and ``lam = lam_rel * mean(ev)``."""
    ev, Q = np.linalg.eigh(np.asarray(G, dtype=np.float64))
    ev = np.maximum(ev, 1e-9)
    return ev.astype(np.float32), Q.astype(np.float32), float(lam_rel * ev.mean())


def map_cg(start, op, Wt: np.ndarray, lam: float, iters: int) -> np.ndarray:
    """The preconditioned CG of :func:`fit_map_on_interactions`, eigenbasis, data products given.

    ``start(Wt)``: the sum over item blocks of :func:`map_block_start` at ``Wt`` (n_features, 2k),
    or that array itself (read, not changed: one first pass serves several penalties);
    ``op(P)``: the sum over item blocks of :func:`map_block_op` at ``P`` (n_features, k). The
    local fit sums them over a thread pool, ``coldstart.integrations.spark`` over Spark partitions.
    ``iters`` steps from ``Wt`` (n_features, k) float32, updated in place and returned.
    The (n_features, k) updates run in place: a handful of arrays of that size in all.
    """
    k = Wt.shape[1]
    start_ = start(Wt) if callable(start) else start  # an array: the first pass, already made
    r = np.multiply(Wt, -lam, dtype=np.float32)
    r += start_[:, :k]
    minv = np.add(start_[:, k:], np.float32(lam), dtype=np.float32)
    np.reciprocal(minv, out=minv)
    lam32 = np.float32(lam)

    def full_op(P):
        ap = op(P)
        ap += lam32 * P
        return ap

    pcg(full_op, Wt, r, minv, iters, residual=False)
    return Wt


def gram_matrix(factors: np.ndarray) -> np.ndarray:
    """``factors.T @ factors`` of shape (k, k), float64."""
    f = np.asarray(factors)
    return (f.T @ f).astype(np.float64)


def fold_in(fixed: np.ndarray, rows: sp.csr_matrix, regularization: float, alpha: float = 1.0,
            gram: np.ndarray | None = None, chunk_rows: int = 256) -> np.ndarray:
    """Solve implicit-ALS least squares for each row of ``rows`` with ``fixed`` factors held.

    For row r with confidences ``c = alpha * rows[r]`` over columns j, returns
    ``x_r = argmin sum_j c_j (1 - f_j.x)^2 + sum_{j unobserved} (f_j.x)^2
    + regularization ||x||^2``.

    Parameters
    ----------
    fixed : ndarray of shape (m, k)
        Factors of the other side (item factors to fold in users, user factors for items).
    rows : csr_matrix of shape (b, m)
        Interaction weights of the b rows to solve.
    gram : ndarray of shape (k, k), optional
        ``fixed.T @ fixed``, if already known.

    Returns
    -------
    ndarray of shape (b, k), float32
    """
    b, k = rows.shape[0], fixed.shape[1]
    G = gram_matrix(fixed) if gram is None else np.asarray(gram, dtype=np.float64)
    base = G + regularization * np.eye(k)
    out = np.empty((b, k), dtype=np.float32)
    rows = rows.tocsr()
    for start in range(0, b, chunk_rows):
        stop = min(start + chunk_rows, b)
        A, rhs = row_systems(fixed, rows, np.arange(start, stop), base, alpha)
        out[start:stop] = np.linalg.solve(A, rhs[:, :, None])[:, :, 0]
    return out


def row_systems(fixed: np.ndarray, rows: sp.csr_matrix, part: np.ndarray, base: np.ndarray,
                alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The implicit-ALS systems of rows ``part`` of ``rows`` (CSR, (b, m)) over ``fixed`` (m, k):
    ``A = base + sum_j (c_j - 1) f_j f_j'`` (len(part), k, k) and ``rhs = sum_j c_j f_j``
    (len(part), k), ``c = alpha * rows[r]``; small dense products per row, for a batched solve."""
    k = base.shape[0]
    A = np.broadcast_to(base, (len(part), k, k)).copy()
    rhs = np.zeros((len(part), k))
    for n, r in enumerate(part):
        lo, hi = rows.indptr[r], rows.indptr[r + 1]
        if hi == lo:
            continue
        F = fixed[rows.indices[lo:hi]].astype(np.float64)
        conf = alpha * rows.data[lo:hi].astype(np.float64)
        A[n] += (F * (conf - 1.0)[:, None]).T @ F
        rhs[n] = conf @ F
    return A, rhs


def discount_exposures(users: np.ndarray, fixed: np.ndarray, rows: sp.csr_matrix, exposed: sp.csr_matrix,
                       regularization: float, alpha: float, gram: np.ndarray | None = None,
                       chunk_rows: int = 256) -> np.ndarray:
    """Vectors re-solved with what each row was shown: every column of ``exposed`` that the
    row has no interaction with counts as an observed zero of confidence ``alpha`` (the
    confidence of one interaction of weight 1) instead of 1 (an unobserved pair).

    Exact for a vector ``u`` that solves its implicit-ALS system ``A u = b`` (what
    :func:`fold_in` and a converged fit give), ``A = gram + regularization I + sum_{j in row}
    (c_j - 1) f_j f_j'``: ``u' = u - (A + D)^-1 D u`` with ``D = (alpha - 1) sum_{j shown} f_j f_j'``.

    Parameters
    ----------
    users : ndarray of shape (b, k)
        The fitted vectors of the rows.
    fixed : ndarray of shape (m, k)
    rows, exposed : csr_matrix of shape (b, m)
        Interaction weights and impressions (any non-zero) of each row.

    Returns
    -------
    ndarray of shape (b, k), float32 (rows without an impression left as they are)
    """
    b, k = users.shape
    G = gram_matrix(fixed) if gram is None else np.asarray(gram, dtype=np.float64)
    base = G + regularization * np.eye(k)
    out = np.array(users, dtype=np.float32)
    rows = sp.csr_matrix(rows)
    seen = sp.csr_matrix(exposed, dtype=np.float64, copy=True)  # the caller's matrix stays as it is
    seen.data[:] = 1.0
    seen = (seen - seen.multiply(rows != 0)).tocsr()
    seen.eliminate_zeros()
    todo = np.flatnonzero(np.diff(seen.indptr) > 0)
    if alpha <= 1.0 or todo.size == 0:
        return out
    for start in range(0, todo.size, chunk_rows):
        part = todo[start:start + chunk_rows]
        A, _ = row_systems(fixed, rows, part, base, alpha)
        D = np.zeros((len(part), k, k))
        for n, r in enumerate(part):
            E = fixed[seen.indices[seen.indptr[r]:seen.indptr[r + 1]]].astype(np.float64)
            D[n] = (alpha - 1.0) * (E.T @ E)
        u = users[part].astype(np.float64)
        out[part] = u - np.linalg.solve(A + D, np.einsum("bij,bj->bi", D, u)[:, :, None])[:, :, 0]
    return out


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
        t = pair_dots(P, C, Ft) * (conf - 1.0)
        return np.asarray(sp.csr_matrix((t, C.indices, C.indptr), shape=C.shape) @ Ft)

    r = np.asarray(C @ Ft) - A(Z)  # b - A z; the solution is z + delta with (H + A) delta = r
    if exposed is not None:  # exposed columns lose the anchor: r -= E z
        Ex = sp.csr_matrix(exposed, dtype=np.float32)
        Ex = (Ex + sp.csr_matrix((np.ones(rows.nnz, np.float32), rows.indices, rows.indptr),
                                 shape=rows.shape)).tocsr()  # an interaction is an exposure
        Ex.data[:] = 1.0
        t = pair_dots(Z, Ex, Ft)
        r -= np.asarray(sp.csr_matrix((t, Ex.indices, Ex.indptr), shape=Ex.shape) @ Ft)
    minv = 1.0 / (h[None, :] + np.asarray(Cm1 @ (Ft * Ft)))
    D = np.zeros_like(Z)
    pcg(lambda p: p * h + A(p), D, r, minv, iters, axis=1)
    return ((Z + D) @ Q.T).astype(np.float32)


def solve_rows(F: np.ndarray, C: sp.csr_matrix, reg: float, G: np.ndarray, x0: np.ndarray | None = None,
                cg_steps: int | None = None) -> np.ndarray:
    """Implicit-ALS half-step for the rows of ``C`` (b, m), confidences over the fixed factors ``F``
    (m, k), ``G`` (k, k) the Gram of the whole fixed side.

    ``cg_steps=None``: exact, :func:`fold_in` (confidences as given).
    Otherwise implicit's conjugate-gradient solver (``least_squares_cg``: unpreconditioned,
    ``cg_steps`` steps from ``x0``, a row stops when its squared residual falls below 1e-20),
    batched over the rows. Returns (b, k) float32.
    """
    b, k = C.shape[0], F.shape[1]
    if cg_steps is None:
        return fold_in(F, C, reg, 1.0, gram=G)
    YtY = (np.asarray(G, np.float64) + reg * np.eye(k)).astype(np.float32)
    X = np.array(x0, dtype=np.float32)
    conf = C.data.astype(np.float32)
    rows = np.repeat(np.arange(b), np.diff(C.indptr))
    Fp = F[C.indices]

    def scatter(t):
        return np.asarray(sp.csr_matrix((t.astype(np.float32), C.indices, C.indptr), shape=C.shape) @ F)

    def dots(P):
        return np.einsum("nk,nk->n", Fp, P[rows]) if rows.size else np.zeros(0, np.float32)

    R = scatter(conf - (conf - 1.0) * dots(X)) - X @ YtY
    pcg(lambda P: P @ YtY + scatter((conf - 1.0) * dots(P)), X, R, None, int(cg_steps), axis=1, floor=1e-20)
    return X


def converged_half_step(Cui: sp.csr_matrix, X: np.ndarray, Y: np.ndarray, reg: float, num_threads: int = 0,
                        cg_steps: int = 16) -> None:
    """implicit's ALS half-step solved to convergence, ``X`` (b, k) float32 updated in place:
    row r minimises ``sum_j c_rj (1 - x.y_j)^2 + sum_{j unobserved} (x.y_j)^2 + reg |x|^2`` with
    the confidences ``c = Cui[r]`` (implicit's convention) over the factors ``Y`` (m, k).

    Rows with at most ``LOW_RANK_MAX_ENTRIES`` entries, all confidences at least 1, are solved
    exactly when they are at least a quarter as many as ``Y``'s rows (what pays for the shared
    products): their system is ``A0 + F' D F``, ``A0 = Y'Y + reg I`` shared, ``F`` the row's factors
    and ``D = diag(c - 1)``. With ``A0 = Q diag(e) Q'``, ``Z = Y Q diag(e)^-½`` (``Z_r`` the row's
    rows), ``w = Z_r' c`` and ``t = D^½ Z_r w``, the Woodbury identity gives
    ``x = Q diag(e)^-½ (w - Z_r' D^½ s)`` with ``(I + D^½ Z_r Z_r' D^½) s = t``: one small system of
    the row's size per row, batched by size (float32 products, the small systems in float64;
    within 1e-5 of a float64 solve, where 16 CG steps from a fit's warm start are up to 1e-3
    away). The other rows take ``cg_steps`` steps of implicit's ``least_squares_cg`` from ``X``
    (the same values as one call on every row).
    """
    from implicit.cpu._als import least_squares_cg

    Cui = sp.csr_matrix(Cui)
    b, k = X.shape
    counts = np.diff(Cui.indptr)
    low = counts <= LOW_RANK_MAX_ENTRIES
    if Cui.nnz:
        small = Cui.data < 1.0
        low &= np.bincount(np.repeat(np.arange(b), counts)[small], minlength=b) == 0
    if 4 * np.count_nonzero(low) < Y.shape[0]:  # too few rows to pay for the shared products (~ Y's rows k^2)
        low[:] = False
    rest = np.flatnonzero(~low)
    if rest.size:
        Xr = np.ascontiguousarray(X[rest])
        least_squares_cg(Cui[rest], Xr, Y, reg, num_threads=num_threads, cg_steps=cg_steps)
        X[rest] = Xr
    rows = np.flatnonzero(low)
    if rows.size == 0:
        return
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    threads = n_workers(num_threads)
    with blas_controller().limit(limits=threads, user_api="blas"):
        A0 = (Y.T @ Y).astype(np.float64) + reg * np.eye(k)  # implicit's YtY: float32
    # small problems on one BLAS thread (threaded, they can take seconds when the cores are busy)
    with blas_controller().limit(limits=1, user_api="blas"):
        ev, Q = np.linalg.eigh(A0)
    R = (Q / np.sqrt(ev)).astype(np.float32)  # A0^-1 = R R'
    C = Cui[rows]
    with blas_controller().limit(limits=threads, user_api="blas"):
        Z = Y @ R
        w = np.asarray(C @ Z, dtype=np.float32)
    with blas_controller().limit(limits=1, user_api="blas"):
        low_rank_corrections(Z, C, w)
    with blas_controller().limit(limits=threads, user_api="blas"):
        X[rows] = w @ R.T


def low_rank_corrections(Z: np.ndarray, C: sp.csr_matrix, w: np.ndarray) -> None:
    """``w -= Z_r' D^½ s`` in place for each row r of ``C`` (b, m) (at most ``LOW_RANK_MAX_ENTRIES``
    entries, confidences at least 1): :func:`converged_half_step`'s small systems, batched by size.
    ``Z`` (m, k) and ``w`` (b, k) float32."""
    k = Z.shape[1]
    sizes = np.diff(C.indptr)
    m = 1
    while m // 2 < sizes.max(initial=0):  # rows of m // 2 + 1 to m entries, padded to m
        group = np.flatnonzero((sizes <= m) & (sizes > m // 2))
        step = max(1, (1 << 23) // (m * k))  # rows per batch: a (rows, m, k) float32 array of 32 MiB
        for lo in range(0, group.size, step):
            g = group[lo:lo + step]
            slot = np.arange(m)[None, :] < sizes[g][:, None]
            pos = np.where(slot, C.indptr[g][:, None] + np.arange(m)[None, :], 0)
            dh = np.where(slot, np.sqrt(np.maximum(C.data[pos].astype(np.float64) - 1.0, 0.0)), 0.0)
            Zg = Z[np.where(slot, C.indices[pos], 0)]
            S = np.matmul(Zg, Zg.transpose(0, 2, 1)).astype(np.float64)
            S *= dh[:, :, None]
            S *= dh[:, None, :]
            S[:, np.arange(m), np.arange(m)] += 1.0
            t = dh * np.einsum("bmk,bk->bm", Zg, w[g], dtype=np.float64)
            s = np.linalg.solve(S, t[:, :, None])[:, :, 0]
            w[g] -= np.einsum("bmk,bm->bk", Zg, (dh * s).astype(np.float32))
        m *= 2
