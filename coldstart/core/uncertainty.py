"""Each item's posterior uncertainty (``item_variance_``): broad on the attribute prior,
narrowing as users see the item."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from coldstart.core.buffer import RowBuffer
from coldstart.core.runtime import blas_controller
from coldstart.core.solvers import gram_matrix, pair_dots


class Uncertainty:
    """Mixin of :class:`~coldstart.core.model.ColdStartRecommender`: the posterior spread of
    every item, refreshed by ``fit`` and kept up to date by ``add_items`` and
    ``partial_fit_items``."""

    # ------------------------------------------------------------------ uncertainty
    def _refresh_uncertainty(self, user_items, new_items=None, exposures=None) -> None:
        """Every item's posterior spread from the final state of a fit (``item_variance_``):
        established items (interactions, not ``new_items``) count every user as having seen
        them; items still warming up count the users they were shown to (``exposures``) or
        interacted with; items without either keep their attribute prior's spread."""
        users, items = self._users.view, self._items.view
        n_users, n_items = users.shape[0], items.shape[0]
        G = gram_matrix(users)
        ev, Q = user_eigen(G)
        ciu = user_items.T.tocsr()
        self._noise = noise_variance(user_items, users, items, self._alpha(), gram=G, ciu=ciu)
        self._user_sq = float(np.trace(G)) / max(n_users, 1)
        lam_new = self._prior_precision()
        var = np.full(n_items, self._zero_shot_variance(), dtype=np.float64)
        share = np.ones(n_items)
        warm = np.diff(ciu.indptr) > 0
        is_new = ~warm
        if new_items is not None:
            is_new = np.zeros(n_items, dtype=bool)
            is_new[new_items] = True
            share[~is_new & ~warm] = 0.0  # established without interactions: the unboosted estimate
        scale = self._noise / max(n_users, 1)
        est = np.flatnonzero(warm & ~is_new)
        if est.size:
            F2 = np.square(np.asarray(users, dtype=np.float32) @ Q.astype(np.float32))
            for lo in range(0, est.size, SPREAD_BLOCK):
                b = est[lo:lo + SPREAD_BLOCK]
                v, _ = spread(ciu[b], None, F2, ev, self._item_reg(), self._alpha(), established=True)
                var[b], share[b] = scale * v, 0.0
            del F2
        if new_items is not None:
            shown = None if exposures is None else exposures.T.tocsr()
            seen = warm if shown is None else warm | (np.diff(shown.indptr) > 0)
            moved = np.flatnonzero(is_new & seen)
            if moved.size:
                var[moved], share[moved] = self._spread_of(ciu[moved], None if shown is None else shown[moved],
                                                           users, ev, Q, lam_new)
        self._variance = RowBuffer(var.astype(np.float32))
        self._share = RowBuffer(share.astype(np.float32))

    def _spread_of(self, rows, exposed, users, ev, Q, lam):
        """``(variance, share)`` (b,) of items warming up from their prior (:func:`spread` on
        the users they touch only), the variance scaled to score units."""
        Ex = rows if exposed is None else (rows + exposed)
        cols = np.unique(sp.csr_matrix(Ex).indices)
        F2 = np.square(np.asarray(users[cols], dtype=np.float64) @ Q)

        def local(M):
            M = sp.csr_matrix(M, dtype=np.float64)
            return sp.csr_matrix((M.data, np.searchsorted(cols, M.indices), M.indptr),
                                 shape=(M.shape[0], len(cols)))

        v, share = spread(local(rows), None if exposed is None else local(exposed), F2, ev, lam,
                           self._alpha())
        return v * self._noise / max(users.shape[0], 1), share

    def _established_spread(self, rows: sp.csr_matrix, users: np.ndarray, ev: np.ndarray, Q: np.ndarray) -> np.ndarray:
        """Score variance (b,) of established items with the interactions ``rows`` (b, n_users):
        every user has seen them (:func:`spread` with ``established``), as in a fit."""
        cols = np.unique(rows.indices)
        F2 = np.square(np.asarray(users[cols], dtype=np.float32) @ Q.astype(np.float32))
        R = sp.csr_matrix(rows, dtype=np.float64)
        local = sp.csr_matrix((R.data, np.searchsorted(cols, R.indices), R.indptr), shape=(R.shape[0], len(cols)))
        v, _ = spread(local, None, F2, ev, self._item_reg(), self._alpha(), established=True)
        return v * self._noise / max(users.shape[0], 1)

    def _zero_shot_variance(self) -> float:
        """Score variance, for a typical user, of an item on its attribute prior alone:
        ``noise * mean |u|^2 / (items' ridge + prior_weight_)`` (the prior is isotropic)."""
        lam = self._prior_precision()
        return float(getattr(self, "_noise", 1.0) * getattr(self, "_user_sq", 0.0) / lam)

    @property
    def item_variance_(self) -> np.ndarray:
        """ndarray of float32, shape (n_items,): each item's posterior uncertainty, as the
        variance of its score ``u . v_i`` for a typical user (the mean over the fitted users).

        The posterior is the one :meth:`partial_fit_items` takes the mean of: an item's
        precision is its prior's (``regularization + prior_weight_`` per dimension; just
        ``regularization`` for established items) plus what the users who have seen it said
        (each a negative of confidence 1, or an interaction of confidence ``c``); established
        items count every user as having seen them (the ALS view). It is summarised by its
        diagonal in the eigenbasis of the users' Gram matrix (exact for an item on its prior
        alone, whose covariance is isotropic) and scaled by the fit's noise variance (the ALS
        loss per user-item pair). Zero-shot items are broad (all share one value), items
        shown to many users narrow, established items narrowest. Kept up to date by
        :meth:`add_items`, :meth:`partial_fit_items` and ``fit``; it uses the users as of the
        last fit (``partial_fit_users`` does not update it). ``recommend(exploration=...)``
        spends exposure where it is large.
        """
        check_is_fitted(self)
        return self._variance.view


# ---------------------------------------------------------------------- uncertainty
#: Items per block when the fit computes every item's posterior spread (bounded memory).
SPREAD_BLOCK = 8192


def user_eigen(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (k,) clipped at 0 and eigenvectors (k, k) of the users' Gram ``U'U``, on one
    BLAS thread (threaded, this small problem can take a second when the cores are busy)."""
    with blas_controller().limit(limits=1, user_api="blas"):
        ev, Q = np.linalg.eigh(np.asarray(gram, dtype=np.float64))
    return np.maximum(ev, 0.0), Q


def spread(rows: sp.csr_matrix, exposed: sp.csr_matrix | None, F2: np.ndarray, ev: np.ndarray,
            lam: float, alpha: float, established: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Posterior spread of items, from the diagonal of their posterior precision in the
    eigenbasis ``Q`` of the users' Gram ``U'U = Q diag(ev) Q'``.

    For item i and direction k the precision is ``lam + E_ik + A_ik``: ``lam`` the prior's
    (regularization, plus ``prior_weight_`` for items on their attribute prior), ``E_ik`` the
    sum of ``(u.q_k)^2`` over the users who have seen the item (an interaction counts as
    seeing it; for ``established`` items every user: ``ev_k``), ``A_ik`` the same over its
    interactions weighted by ``c - 1``.

    Parameters
    ----------
    rows : csr_matrix of shape (b, m)
        Interaction weights of the items with the ``m`` users whose ``(U Q)^2`` rows are ``F2``.
    exposed : csr_matrix of shape (b, m) or None
    F2 : ndarray of shape (m, k)
    ev : ndarray of shape (k,)

    Returns
    -------
    variance : ndarray of shape (b,)
        ``sum_k ev_k / precision_ik``: times the noise variance over the number of users, the
        variance of the item's score for a typical user.
    share : ndarray of shape (b,)
        How much of the posterior mean is the prior's, ``sum_k ev_k (ev_k + lam - E_ik) /
        (ev_k + lam + A_ik) / sum_k ev_k`` in [0, 1] (the model holds the users who have not
        seen the item at the prior's score): 1 for an item nobody has seen, 0 for established items.
    """
    b = rows.shape[0]
    conf1 = np.maximum(alpha * rows.data.astype(np.float64) - 1.0, 0.0)
    A = np.asarray(sp.csr_matrix((conf1, rows.indices, rows.indptr), shape=rows.shape) @ F2)
    if established:
        E = np.broadcast_to(ev, (b, len(ev)))
    else:
        Ex = sp.csr_matrix((np.ones(rows.nnz), rows.indices, rows.indptr), shape=rows.shape)
        if exposed is not None:
            Ex = (Ex + sp.csr_matrix(exposed, dtype=np.float64)).tocsr()
            Ex.data[:] = 1.0
        E = np.asarray(Ex @ F2)
    prec = lam + E + A
    variance = (ev[None, :] / prec).sum(axis=1)
    if established:
        share = np.zeros(b)
    else:
        share = (np.clip((ev + lam - E) / (ev + lam + A), 0.0, 1.0) @ ev) / max(float(ev.sum()), 1e-30)
    return variance, share


def noise_variance(user_items: sp.csr_matrix, users: np.ndarray, items: np.ndarray, alpha: float,
                   gram: np.ndarray | None = None, ciu: sp.csr_matrix | None = None) -> float:
    """The implicit-ALS loss per user-item pair at the fitted factors (unobserved pairs weigh 1
    toward 0, observed ones ``c = alpha * w`` toward 1), over the items with interactions: the
    noise variance the posterior's spread is scaled by. ``gram``: ``gram_matrix(users)`` and
    ``ciu``: ``user_items.T.tocsr()``, if already known."""

    ciu = user_items.T.tocsr() if ciu is None else ciu
    warm = np.flatnonzero(np.diff(ciu.indptr) > 0)
    if warm.size == 0 or users.shape[0] == 0:
        return 1.0
    V = np.ascontiguousarray(items[warm], dtype=np.float32)
    C = ciu[warm]
    G = gram_matrix(users) if gram is None else gram
    total = float(np.sum(G * gram_matrix(V)))  # sum over all pairs of s^2
    s = pair_dots(V, C, np.ascontiguousarray(users, dtype=np.float32)).astype(np.float64)
    c = alpha * C.data.astype(np.float64)
    total += float(np.sum(c * (1.0 - s) ** 2 - s ** 2))
    return max(total / (float(users.shape[0]) * warm.size), 1e-12)


