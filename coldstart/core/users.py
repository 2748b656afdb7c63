"""New users from their attributes: the item side's attribute map, mirrored.

``fit(..., user_features=X_u)`` learns a map from weighted user attributes into the user factor
space, with the item map's machinery and the roles of users and items swapped: an
:class:`~coldstart.core.weighting.AttributeWeighting` fitted on the users with interactions, a
ridge start on their factors (:class:`~coldstart.core.mapping.RidgeMap`), then the map refined
on the ALS loss of their interactions with the item factors held fixed
(:func:`~coldstart.core.solvers.fit_map_on_interactions`). Users without interactions get the
map's prediction ("zero-shot" users), :meth:`ColdUsers.add_users` appends new ones, and
``partial_fit_users`` warms them up from that prior (:func:`~coldstart.core.solvers.solve_from_prior`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from coldstart.core.buffer import RowBuffer
from coldstart.core.constants import (
    CC_MAP_ALPHA,
    MAP_ALPHA_START,
    PLUGIN_INIT_ITERS,
    PROBE_USER_FRACTION,
    USER_ATTRIBUTE_GAIN,
    USER_MAP_ALPHA_GRID,
    USER_MAP_CONSTANT,
    USER_MAP_ITERS,
)
from coldstart.core.mapping import RidgeMap, active_columns
from coldstart.core.serving import writing_call
from coldstart.core.solvers import gram_matrix, map_path, solve_from_prior
from coldstart.core.strategies import search_grid
from coldstart.core.tuning import RankingProbe, validation_users
from coldstart.core.validation import check_item_features, describe, is_auto, meta_float, meta_int
from coldstart.core.warmup import auto_prior_weight
from coldstart.core.weighting import AttributeWeighting

#: Fewest users with interactions from which a share is held out to choose the user map's penalty.
MIN_PROBE_USERS = 20


def check_user_features(user_features, n_users: int | None = None, n_features: int | None = None):
    """Validate user attributes of shape (n_users, n_user_features): CSR float32 (sparse stays
    sparse) or a float32 ndarray; the errors name ``user_features``."""
    if hasattr(user_features, "iloc") and not sp.issparse(user_features):
        raise TypeError(f"user_features received a pandas {type(user_features).__name__}; pass a numeric "
                        "matrix of shape (n_users, n_user_features), or use coldstart.FrameRecommender, "
                        "whose fit(user_features=) takes a DataFrame indexed by user id")
    X = check_item_features(user_features, "user_features", n_features=n_features, kind="user")
    if n_users is not None and X.shape[0] != n_users:
        raise ValueError(f"user_features must have one row per user of user_items: expected {n_users} "
                         f"rows, received {describe(user_features)}")
    return X


class ColdUsers:
    """Mixin of :class:`~coldstart.core.model.ColdStartRecommender`: the user map (fitted in
    ``fit`` when ``user_features`` is given), :meth:`embed_users`, :meth:`add_users`, and the
    users' attribute priors that ``partial_fit_users`` warms up from."""

    # ------------------------------------------------------------------ fitting
    def _fit_user_map(self, user_items: sp.csr_matrix, XU) -> None:
        """After the item side is final: the user map and the zero-shot users (``XU`` None:
        no user map, the user side untouched).

        The weighted attributes get a constant column whose coefficients are the map's
        ``intercept_`` (penalised 1 / ``USER_MAP_CONSTANT**2`` as much as the others): the penalty
        shrinks every prediction toward the one vector that best serves all users, so that
        uninformative attributes leave cold users ranking as the average user does.

        The map's relative penalty: ``map_alpha`` when a number; with "auto" chosen in
        ``USER_MAP_ALPHA_GRID`` by the Recall@20 of *probe users* (``PROBE_USER_FRACTION`` of
        the users with interactions, at most 1,000 scored) whose vectors come from the map
        fitted on the other users, ranking the items with interactions against all their
        interactions; then ``inf`` (the intercept alone, no attribute used) unless the best
        penalty beats it by ``USER_ATTRIBUTE_GAIN``. The item factors were fitted with the probe
        users' interactions, so the choice sees a little of their tastes through the items;
        their attributes never enter the map. ``validation_["user_map_alpha"]``: the scores.
        """
        self._user_prior = self._user_zero_shot = self._user_has_prior = None
        self.user_mapper_ = self.user_weighting_ = self.n_user_features_in_ = None
        self.user_prior_weight_ = self.user_map_alpha_ = None
        if XU is None:
            return
        U, V = self._users.view, self._items.view
        warm_u = np.diff(user_items.indptr) > 0
        warm_i = ~self._zero_shot.view
        self.user_weighting_ = self._make_user_weighting()
        XUw = XU if self.user_weighting_ is None else self.user_weighting_.fit(XU[warm_u]).transform(XU)
        # a constant column: its coefficients become the map's intercept (the one vector that best
        # serves every user), what the penalty shrinks the prediction toward instead of zero, so
        # that uninformative attributes fall back to ranking as the average user does
        Xa = sp.hstack([sp.csr_matrix(XUw), np.full((XUw.shape[0], 1), USER_MAP_CONSTANT, np.float32)],
                       format="csr", dtype=np.float32)
        Vf = np.ascontiguousarray(V[warm_i], dtype=np.float32)
        cui = (self._alpha() * user_items).astype(np.float32).tocsr()[:, np.flatnonzero(warm_i)].tocsr()
        rows = np.flatnonzero(warm_u)
        report: dict = {}
        lam = (self._choose_user_penalty(rows, Xa, cui, U, Vf, report) if is_auto(self.map_alpha)
               else float(self.map_alpha))
        d = XU.shape[1]
        if np.isinf(lam):  # attributes no better than none: every user on the intercept
            W = self._user_map_path(Xa[:, d:], rows, cui, U, Vf)[0](USER_MAP_ALPHA_GRID[0], USER_MAP_ITERS)
            coef, cols = np.zeros((0, W.shape[1]), np.float32), np.zeros(0, np.int64)
        else:
            path, cols = self._user_map_path(Xa, rows, cui, U, Vf)
            W = path(lam, USER_MAP_ITERS)
            coef, cols = W[:-1], None if cols is None else cols[:-1]
        mapper = RidgeMap(alpha=lam, fit_intercept=True)  # the constant column's row: intercept_
        mapper.set_coef(np.ascontiguousarray(coef, dtype=np.float32), cols, d)
        mapper.intercept_ = np.ascontiguousarray(USER_MAP_CONSTANT * W[-1], dtype=np.float32)
        mapper.n_iter_ = USER_MAP_ITERS
        prior = np.ascontiguousarray(mapper.predict(XUw), dtype=np.float32)
        if not np.all(np.isfinite(prior)):
            raise FloatingPointError("the user map produced NaN/inf vectors; raise regularization or "
                                     "lower alpha")
        self.user_mapper_, self.user_map_alpha_ = mapper, lam
        self.n_user_features_in_ = XU.shape[1]
        if isinstance(getattr(self, "validation_", None), dict) and report:
            self.validation_["user_map_alpha"] = report
        users = np.array(U, dtype=np.float32)
        users[~warm_u] = prior[~warm_u]
        self._users = RowBuffer(users)
        self._user_prior = RowBuffer(prior)
        self._user_zero_shot = RowBuffer(~warm_u, dtype=bool)
        self._user_has_prior = RowBuffer(~warm_u, dtype=bool)  # established users fold in as before
        self.user_prior_weight_ = self._user_prior_weight(cui, Vf)
        self._gram_users = None

    def _choose_user_penalty(self, rows, Xa, cui, U, Vf, report: dict) -> float:
        """The map's relative penalty by the probe users' Recall@20 (see :meth:`_fit_user_map`)."""
        if rows.size < MIN_PROBE_USERS:
            return CC_MAP_ALPHA
        rs = self.random_state
        rng = np.random.default_rng(None if rs is None else [int(rs), 2])
        probe = np.sort(rng.choice(rows, size=max(1, int(round(PROBE_USER_FRACTION * rows.size))),
                                   replace=False))
        train = np.setdiff1d(rows, probe)
        path, cols = self._user_map_path(Xa, train, cui, U, Vf)
        Xp = Xa[probe] if cols is None else Xa[probe][:, cols]
        truth = cui[probe]  # the probe users' rows, in order (row r: probe[r])
        scored = validation_users(truth, rng)
        probe_rank = RankingProbe(truth, scored, np.arange(Vf.shape[0]))

        def score(lam):
            report[lam] = s = probe_rank.score(np.asarray(Xp @ path(lam, USER_MAP_ITERS)), Vf)
            return s

        best = float(search_grid(USER_MAP_ALPHA_GRID, MAP_ALPHA_START, score))
        # against no attributes at all: the intercept alone (inf: chosen when at least as good)
        d = Xa.shape[1] - 1
        W0 = self._user_map_path(Xa[:, d:], train, cui, U, Vf)[0](USER_MAP_ALPHA_GRID[0], USER_MAP_ITERS)
        report[np.inf] = s0 = probe_rank.score(np.asarray(Xa[probe][:, d:] @ W0), Vf)
        return best if report[best] >= USER_ATTRIBUTE_GAIN * s0 else np.inf

    def _user_map_path(self, Xa, rows, cui, U, Vf):
        """The user map on the ALS loss of ``rows``' interactions, item factors ``Vf`` fixed,
        started from a ridge on their factors: ``(fit(lam, iters) -> W, active columns)``
        (:func:`~coldstart.core.solvers.map_path`)."""
        Xw, cols, _ = active_columns(Xa[rows])
        W0 = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=PLUGIN_INIT_ITERS, tol=0.0,
                      num_threads=self.num_threads).fit(Xw, U[rows]).coef_
        return map_path(Xw, cui[rows], Vf, W0, self.num_threads), cols

    def _make_user_weighting(self):
        """The ``weighting`` parameter for the user attributes ("auto": ``AttributeWeighting()``)."""
        if is_auto(self.weighting):
            return AttributeWeighting()
        return None if self.weighting is None else clone(self.weighting)

    def _user_prior_weight(self, cui: sp.csr_matrix, Vf: np.ndarray) -> float:
        """``prior_weight`` mirrored: with "auto", the user prior worth ``PRIOR_INTERACTIONS``
        typical interactions (the mean over observed pairs of ``max(c_ui - 1, 1) ||v_i||^2 / k``)."""
        if not is_auto(self.prior_weight):
            return float(self.prior_weight)
        sq = np.einsum("ij,ij->i", Vf, Vf).astype(np.float64)[cui.indices]
        return auto_prior_weight(cui.data.astype(np.float64), sq, Vf.shape[1])

    # ------------------------------------------------------------------ new users
    def _check_user_map(self, call: str) -> None:
        check_is_fitted(self)
        if getattr(self, "user_mapper_", None) is None:
            raise NotFittedError(f"{call} needs a user map: fit the model with user_features (an array "
                                 "of shape (n_users, n_user_features)) first")

    def embed_users(self, user_features) -> np.ndarray:
        """Zero-shot user factors of shape (n, n_factors) for attributes of shape (n, n_user_features)."""
        return self._embed_users(user_features, "embed_users")

    def _embed_users(self, user_features, call: str) -> np.ndarray:
        """:meth:`embed_users`, its errors naming ``call``."""
        self._check_user_map(call)
        X = check_user_features(user_features, n_features=self.n_user_features_in_)
        Xw = X if self.user_weighting_ is None else self.user_weighting_.transform(X)
        return np.ascontiguousarray(self.user_mapper_.predict(Xw), dtype=np.float32)

    @writing_call
    def add_users(self, user_features) -> np.ndarray:
        """Append new users from their attributes; returns their indices, shape (n,).

        Costs O(n) amortised, no retraining. All or nothing: the attributes are checked and
        the vectors computed before anything changes; serving calls in other threads see the
        users before or after the addition. Their first interactions refine the vectors
        (``partial_fit_users``, from this prior).
        """
        V = self._embed_users(user_features, "add_users")
        if not np.all(np.isfinite(V)):
            raise FloatingPointError("add_users: the attributes gave NaN/inf vectors (a damaged map?); "
                                     "nothing was added")
        with self._gate().publishing():
            n = len(V)
            for buf in (self._users, self._user_prior, self._user_zero_shot, self._user_has_prior):
                buf.reserve(n)  # every allocation first: the appends below cannot fail half-way
            idx = self._users.append(V)
            self._user_prior.append(V)
            self._user_zero_shot.append(np.ones(n, dtype=bool))
            self._user_has_prior.append(np.ones(n, dtype=bool))
            self.n_users_ = len(self._users)
        return idx

    @property
    def user_is_zero_shot_(self) -> np.ndarray:
        """ndarray of bool, shape (n_users,): users whose vector comes from attributes alone
        (all False without a user map)."""
        check_is_fitted(self)
        zs = getattr(self, "_user_zero_shot", None)
        return np.zeros(self.n_users_, dtype=bool) if zs is None else zs.view

    # ------------------------------------------------------------------ warm-up
    def _user_gram(self) -> np.ndarray:
        """``U'U`` (k, k) over the users with interactions: zero-shot users are not negatives
        of every item (in the fit they had no vector yet), as zero-shot items are not for users."""
        users = self._users.view
        zs = getattr(self, "_user_zero_shot", None)
        return gram_matrix(users) if zs is None else gram_matrix(users[~zs.view])

    def _users_from_prior(self, ids: np.ndarray, user_items: sp.csr_matrix, U: np.ndarray) -> np.ndarray:
        """``U`` (n, k), the folded-in vectors of ``ids``, with the users that warm up from an
        attribute prior (zero-shot at fit or added by :meth:`add_users`) solved from it instead
        (the posterior of :meth:`partial_fit_items`, roles swapped); those without interactions
        get the prior back. Established users and new users without attributes keep ``U``."""
        if getattr(self, "_user_prior", None) is None:
            return U
        known = ids < len(self._user_prior)
        sel = np.flatnonzero(known)
        sel = sel[self._user_has_prior.view[ids[sel]]]
        if not sel.size:
            return U
        prior = self._user_prior.view[ids[sel]]
        items = self._items.view
        if self._gram_items is None:
            self._gram_items = gram_matrix(items[~self._zero_shot.view])
        rows = user_items[sel]
        out = U.copy()
        out[sel] = solve_from_prior(rows, items, self._reg(), self._alpha(), prior,
                                    max(self.user_prior_weight_, 1e-12), gram=self._gram_items)
        empty = np.diff(rows.indptr) == 0
        out[sel[empty]] = prior[empty]
        return out

    def _reserve_users(self, n_new: int) -> None:
        """Room for ``n_new`` more users in the user map's buffers (before any publication)."""
        if getattr(self, "_user_prior", None) is not None:
            for buf in (self._user_prior, self._user_zero_shot, self._user_has_prior):
                buf.reserve(n_new)

    def _counted_users_after(self, ids: np.ndarray, user_items: sp.csr_matrix, n_new: int) -> np.ndarray | None:
        """Which users :meth:`_user_gram` will count once ``partial_fit_users(ids, user_items)``
        with ``n_new`` new users is published (n_users_ + n_new,) bool; None: all of them."""
        if getattr(self, "_user_prior", None) is None:
            return None
        zs = np.concatenate([self._user_zero_shot.view, np.zeros(n_new, bool)])
        known = ids < len(self._user_has_prior)
        sel = ids[known][self._user_has_prior.view[ids[known]]]
        zs[sel] = np.diff(user_items.indptr)[np.flatnonzero(known)[self._user_has_prior.view[ids[known]]]] == 0
        return ~zs

    def _publish_users(self, ids: np.ndarray, user_items: sp.csr_matrix, n_new: int) -> None:
        """Under the gate, in ``partial_fit_users``: the user map's buffers grow with the new
        users (no prior), and a user with a prior is zero-shot exactly when it has no interaction."""
        if getattr(self, "_user_prior", None) is None:
            return
        if n_new:
            k = self._user_prior.view.shape[1]
            bufs = (self._user_prior, self._user_zero_shot, self._user_has_prior)
            for buf in bufs:
                buf.reserve(n_new)  # every allocation first: the appends cannot fail half-way
            for buf, rows in zip(bufs, (np.zeros((n_new, k), np.float32), np.zeros(n_new, bool),
                                        np.zeros(n_new, bool))):
                buf.append(rows)
        has = self._user_has_prior.view[ids]
        self._user_zero_shot.view[ids[has]] = np.diff(user_items.indptr)[has] == 0

    # ------------------------------------------------------------------ state
    def _user_state(self) -> tuple[dict, dict]:
        """``(meta, arrays)`` of the user map's part of the state (empty without one)."""
        if getattr(self, "_user_prior", None) is None:
            return {}, {}
        meta = {"n_user_features_in": int(self.n_user_features_in_),
                "user_prior_weight": float(self.user_prior_weight_)}
        arrays = {"user_prior": self._user_prior.view, "user_is_zero_shot": self._user_zero_shot.view,
                  "user_has_prior": self._user_has_prior.view}
        return meta, arrays

    def _checked_user_state(self, meta: dict, arrays: dict, n_users: int, k: int):
        """The user map's part of a state written by :meth:`_user_state`, checked (nothing set):
        None when absent (files without a user map)."""
        names = ("user_prior", "user_is_zero_shot", "user_has_prior")
        got = [arrays.get(n) for n in names]
        if all(a is None for a in got) and "n_user_features_in" not in meta:
            return None
        if any(a is None for a in got):
            raise ValueError(f"{', '.join(names)} and meta n_user_features_in must be stored together")
        prior, zero, has = got
        if not np.issubdtype(prior.dtype, np.floating) or prior.shape != (n_users, k):
            raise ValueError(f"user_prior must be a float array of shape ({n_users}, {k}); received "
                             f"{prior.dtype} {prior.shape}")
        if not np.all(np.isfinite(prior)):
            raise ValueError("user_prior holds NaN or infinite values; expected finite factors")
        for name, a in (("user_is_zero_shot", zero), ("user_has_prior", has)):
            if a.dtype != bool or a.shape != (n_users,):
                raise ValueError(f"{name} must be boolean of shape ({n_users},); received {a.dtype} {a.shape}")
        d = meta_int(meta, "n_user_features_in", 1)
        pw = meta_float(meta, "user_prior_weight", "a non-negative number", lambda v: v >= 0)
        return prior, zero, has, d, pw

    def _set_user_state(self, checked, mapper=None, weighting=None) -> None:
        """Set what :meth:`_checked_user_state` returned, with the loaded map and weighting."""
        self._user_prior = self._user_zero_shot = self._user_has_prior = None
        self.n_user_features_in_ = self.user_prior_weight_ = None
        self.user_mapper_, self.user_weighting_ = mapper, weighting
        self.user_map_alpha_ = None if mapper is None else float(mapper.alpha)
        if checked is None:
            return
        prior, zero, has, d, pw = checked
        self._user_prior, self._user_zero_shot = RowBuffer(prior), RowBuffer(zero, dtype=bool)
        self._user_has_prior = RowBuffer(has, dtype=bool)
        self.n_user_features_in_, self.user_prior_weight_ = d, pw
