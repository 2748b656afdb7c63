"""New items and users after ``fit``: zero-shot vectors from attributes (``add_items``) and the
warm-up from their first interactions (``partial_fit_items``, ``partial_fit_users``)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from coldstart.core.constants import ESTABLISHED_CG_STEPS, PRIOR_INTERACTIONS
from coldstart.core.serving import writing_call
from coldstart.core.solvers import fold_in, gram_matrix, solve_from_prior, solve_rows
from coldstart.core.uncertainty import user_eigen
from coldstart.core.validation import (
    check_ids,
    check_item_features,
    check_query_items,
    check_user_ids,
    reworded,
)


class Warmup:
    """Mixin of :class:`~coldstart.core.model.ColdStartRecommender`: every call here checks
    everything and computes the new vectors first, then publishes them under the model's gate
    (all or nothing; readers see the catalog before or after, never a mix)."""

    def embed_items(self, item_features) -> np.ndarray:
        """Zero-shot factors of shape (n, n_factors) for attributes of shape (n, n_features)."""
        return self._embed(self._item_input(item_features))

    def _item_input(self, item_features):
        """Checked attributes (n, n_features_in_) of new items (a DataFrame through the featurizer)."""
        check_is_fitted(self)
        if getattr(self, "featurizer_", None) is not None and hasattr(item_features, "columns"):
            item_features = self.featurizer_.transform(item_features)
        return check_item_features(item_features, n_features=self.n_features_in_)

    @writing_call
    def add_items(self, item_features) -> np.ndarray:
        """Append new items from their attributes; returns their indices, shape (n,).

        Costs O(n) amortised: no retraining, no copy of the existing factors. All or nothing:
        the attributes are checked and the vectors computed before anything changes; serving
        calls in other threads see the catalog before or after the addition, never a mix.
        """
        X = self._item_input(item_features)
        n = X.shape[0]
        var0 = self._zero_shot_variance()
        bufs = (self._items, self._prior, self._zero_shot, self._variance, self._share)
        # The new rows are computed in place, in the room reserved past each buffer's live part
        # (growing copies the live rows only; readers keep seeing the same values): nothing is
        # visible until the commits under the gate, so a failure changes nothing.
        for buf in bufs:
            buf.reserve(n)
        cached = self._item_norms  # zero-shot items leave the warm Gram matrix unchanged
        norms = None if cached is None else np.empty(n, dtype=np.float32)
        _, finite = self._embed_into(X, out=self._items.tail(n), prior=self._prior.tail(n), norms=norms)
        if not finite:
            raise FloatingPointError("add_items: the attributes gave NaN/inf vectors (a damaged map or "
                                     "featurizer?); nothing was added")
        zero = np.flatnonzero(~np.any(self._items.tail(n) != 0, axis=1))
        if zero.size:  # nothing to place them by: said, not refused (interactions will)
            warnings.warn(f"add_items: {zero.size} of the {n} new items (rows {zero[:5].tolist()} of this "
                          "call) have no attribute the model's map learned from, so their zero-shot vectors "
                          "are zero: every user scores them 0 and they have no similar items until they "
                          "get interactions", stacklevel=3)
        self._zero_shot.tail(n)[:] = True
        self._variance.tail(n)[:] = var0
        self._share.tail(n)[:] = 1.0
        if cached is not None:
            norms = np.concatenate([cached, norms])
        with self._gate().publishing():
            idx = bufs[0].commit(n)
            for buf in bufs[1:]:
                buf.commit(n)
            self.n_items_ = len(self._items)
            self._item_norms = norms if self._item_norms is cached else None  # not one built meanwhile
        return idx

    @writing_call
    def partial_fit_items(self, itemids, item_users, item_exposures=None) -> "Warmup":
        """Refit the vectors of ``itemids`` from all their interactions.

        Parameters
        ----------
        itemids : array-like of shape (n,)
        item_users : sparse matrix of shape (n, n_users)
            All interactions of each item so far (rows in the order of ``itemids``); calling
            again with the same rows gives the same vectors (nothing is counted twice).
        item_exposures : sparse matrix of shape (n, n_users), optional
            The users each item has been shown to so far (interacted or not). Without it every
            user who has not interacted keeps the item's zero-shot score, however long the item
            has been shown; with it only the users who have not seen the item keep it and the
            others who did not interact count as negatives, so the prior's hold fades as the
            item is shown (an item shown to everyone gets its collaborative vector).

        An item on its attribute prior (zero-shot at ``fit``, added by :meth:`add_items`, or
        named in ``fit(new_items=...)``) warms up from it: the solution minimises the ALS loss
        of the item's interactions plus a Gaussian prior of precision ``prior_weight_`` centred
        so that an item without interactions keeps its zero-shot vector: a first interaction
        moves it from where its attributes put it, many take it to its collaborative vector.
        An item without interactions is reset to its zero-shot vector. An established item
        (interactions at ``fit``, not named new) is re-solved from its interactions as the fit
        solved it, without the prior (the zero-shot boost is for new items); left without any,
        it gets its attributes' estimate without the boost, as a refit would give it, and warms
        up from there when interactions come back (an established item nobody chose).
        """
        with reworded(item_users, "item_users", "partial_fit_items", getattr(self, "_weight_median", None)):
            step = self._item_step(itemids, item_users, item_exposures)
        with self._gate().publishing():  # readers see all of these rows changed, or none
            self._publish_item_step(step)
        return self

    def _item_step(self, itemids, item_users, item_exposures=None, users: np.ndarray | None = None,
                   gram: np.ndarray | None = None) -> tuple:
        """:meth:`partial_fit_items` checked and computed, nothing changed: ``(ids, V, zero,
        var, share, reset)`` for :meth:`_publish_item_step`. ``users`` (n_users, k) and their
        ``gram`` (the users that count as unobserved): the users to solve against (default:
        the model's; :meth:`_partial_fit_pairs` passes the users after its user step)."""
        check_is_fitted(self)
        ids, _ = check_ids(itemids, self.n_items_, "itemids",
                           note=" (new items come through add_items(item_features) first: they need attributes)")
        if ids.size and np.asarray(itemids).dtype.kind == "f" and not np.array_equal(
                np.atleast_1d(np.asarray(itemids, dtype=np.float64)), ids):
            raise TypeError(f"itemids must be integer item indices; received {itemids!r}")
        if users is None:
            users = self._users.view
            if self._gram_users is None:
                self._gram_users = self._user_gram()
            gram = self._gram_users
        n_users = users.shape[0]
        # narrower than the users (built before users were added): none of theirs, as in implicit
        item_users = check_query_items(item_users, len(ids), n_users, name="item_users",
                                       rows_of="item in itemids", cols_of="user")
        if len(np.unique(ids)) != len(ids):
            u, c = np.unique(ids, return_counts=True)
            raise ValueError(f"itemids repeats item {int(u[c > 1][0])}; expected each item once")
        if item_exposures is not None:
            item_exposures = check_query_items(item_exposures, len(ids), n_users, name="item_exposures",
                                               rows_of="item in itemids", cols_of="user")
        V, parts = self._item_vectors(ids, item_users, item_exposures, users, gram)
        warming, has, solved, reset = parts
        counts = np.diff(item_users.indptr)
        var = np.full(len(ids), self._zero_shot_variance())
        share = np.ones(len(ids))
        if has.any() or solved.size:  # the users' eigenbasis, for the spreads only
            ev, Q = user_eigen(gram)
        if has.any():  # the posterior's spread (item_variance_) and the prior's share of its mean
            moved = warming[has]
            var[moved], share[moved] = self._spread_of(
                item_users[moved], None if item_exposures is None else item_exposures[moved], users, ev, Q,
                self._prior_precision())
        if solved.size:
            var[solved], share[solved] = self._established_spread(item_users[solved], users, ev, Q), 0.0
        share[reset] = 0.0
        if not np.all(np.isfinite(V)):
            raise FloatingPointError("partial_fit_items produced NaN/inf vectors; nothing was changed")
        return ids, V, counts == 0, var, share, reset

    def _item_vectors(self, ids: np.ndarray, item_users: sp.csr_matrix, item_exposures, users: np.ndarray,
                      gram: np.ndarray) -> tuple:
        """The vectors (n, k) :meth:`partial_fit_items` gives the known items ``ids`` from their
        rows, and ``(warming, has, solved, reset)``: the positions of the items on their prior,
        which of those moved (an interaction or an impression), and of the established items
        re-solved and reset (no interaction left)."""
        prior = self._prior.view[ids]
        # established: interactions at fit and not named new (no prior share): re-solved plainly
        est = (self._share.view[ids] == 0) & ~self._zero_shot.view[ids]
        warming = np.flatnonzero(~est)
        V = np.empty((len(ids), users.shape[1]), dtype=np.float32)
        has = np.zeros(0, dtype=bool)
        if warming.size:
            # Posterior mean from the item's zero-shot vector z with all its interactions:
            # v = z + (U'U + (reg + prior_weight) I + sum (c-1) u u')^-1 (sum c u - sum (c-1) u u' z),
            # the minimiser of the item's ALS loss plus a prior placed so that no interaction
            # gives exactly z. The placement holds every user without an interaction at z's score
            # (the U'U z in the mean), so without impressions even many interactions leave much of
            # z; with item_exposures only the users who have not seen the item are held there
            # (b - A z - E z on the right), and an item shown to everyone is collaborative.
            whole = warming.size == len(ids)
            rows = item_users if whole else item_users[warming]
            shown = None if item_exposures is None else (item_exposures if whole else item_exposures[warming])
            Vw = solve_from_prior(rows, users, self._item_reg(), self._alpha(), prior[warming],
                                  max(self.prior_weight_, 1e-12), gram=gram, exposed=shown)
            has = np.diff(rows.indptr) > 0
            if shown is not None:  # shown without an interaction: moved too (still zero-shot:
                has = has | (np.diff(shown.indptr) > 0)  # no interaction to fold users in on)
            Vw[~has] = prior[warming[~has]]
            V[warming] = Vw
        est = np.flatnonzero(est)
        counts = np.diff(item_users.indptr)[est]
        solved, reset = est[counts > 0], est[counts == 0]
        if solved.size:  # the fit's own item solve, every user a negative (implicit's recalculate_item),
            # by batched CG from zero: the same rows give the same vector, close to the exact one
            rows = sp.csr_matrix(item_users[solved], dtype=np.float32)
            rows.data *= np.float32(self._alpha())
            V[solved] = solve_rows(users, rows, self._item_reg(), gram,
                                   x0=np.zeros((solved.size, users.shape[1]), np.float32),
                                   cg_steps=ESTABLISHED_CG_STEPS)
        if reset.size:  # no interaction left: the attributes' estimate without the boost (a refit's)
            z = float(self.zero_shot_scale_)
            V[reset] = prior[reset] * np.float32(min(1.0, z) / z)
        return V, (warming, has, solved, reset)

    def _publish_item_step(self, step: tuple) -> None:
        """Under the gate: the rows of :meth:`_item_step` go live."""
        ids, V, zero, var, share, reset = step
        self._items.view[ids] = V
        self._zero_shot.view[ids] = zero
        self._variance.view[ids] = var
        self._share.view[ids] = share
        if reset.size:  # an established item left without interactions: its prior unboosted too
            self._prior.view[ids[reset]] = V[reset]
        self._item_norms = None
        self._gram_items = None

    @writing_call
    def partial_fit_users(self, userids, user_items) -> "Warmup":
        """Recompute (or add) user vectors from their interactions (users with an attribute
        prior, zero-shot at ``fit`` or from :meth:`add_users`, warm up from it as items do in
        :meth:`partial_fit_items`; the others are folded in).

        userids : array-like of int, shape (n,)
            Distinct user indices; new users take the next indices ``n_users_, n_users_ + 1,
            ...`` (no gaps).
        user_items : sparse matrix of shape (n, n_items_), rows in the order of ``userids``.

        All or nothing: everything is checked and the vectors computed before any change.
        """
        with reworded(user_items, "user_items", "partial_fit_users", getattr(self, "_weight_median", None)):
            step = self._user_step(userids, user_items)
        with self._gate().publishing():  # readers see all of these users changed, or none
            self._publish_user_step(step)
        return self

    def _user_step(self, userids, user_items) -> tuple:
        """:meth:`partial_fit_users` checked and computed, nothing changed (the buffers' room for
        the new users reserved): ``(ids, user_items, U, n_new)`` for :meth:`_publish_user_step`."""
        check_is_fitted(self)
        ids = check_user_ids(userids, self.n_users_)
        # narrower than the catalog (built before add_items): no interactions with the new items
        user_items = check_query_items(user_items, len(ids), self.n_items_, name="user_items",
                                       rows_of="user in userids")
        U = self._users_from_prior(ids, user_items, self._recalculate_users(user_items))
        if not np.all(np.isfinite(U)):
            raise FloatingPointError("partial_fit_users produced NaN/inf vectors; nothing was changed")
        n_new = int(np.count_nonzero(ids >= self.n_users_))
        if n_new:  # every allocation before the publication: it cannot fail half-way
            self._users.reserve(n_new)
            self._reserve_users(n_new)
        return ids, user_items, U, n_new

    def _publish_user_step(self, step: tuple) -> None:
        """Under the gate: the users of :meth:`_user_step` go live."""
        ids, user_items, U, n_new = step
        self._publish_users(ids, user_items, n_new)  # the user map's buffers
        if n_new:
            self._users.append(np.zeros((n_new, U.shape[1]), dtype=np.float32))
        self._users.view[ids] = U
        self.n_users_ = len(self._users)
        self._gram_users = None

    @writing_call
    def _partial_fit_pairs(self, userids, user_items, itemids, item_users, item_exposures=None,
                           weights: str | None = None) -> "Warmup":
        """:meth:`partial_fit_users` then :meth:`partial_fit_items` on the users after it, all or
        nothing: both computed first (the items against the users the first will publish), then
        published together (the DataFrame layer's ``partial_fit``; ``weights``: what its errors
        call the interactions' weights)."""
        with reworded(user_items, weights or "user_items", "partial_fit", getattr(self, "_weight_median", None)):
            ustep = self._user_step(userids, user_items)
        ids, _, U, n_new = ustep
        users = np.empty((self.n_users_ + n_new, U.shape[1]), dtype=np.float32)
        users[:self.n_users_] = self._users.view
        users[ids] = U
        counted = self._counted_users_after(ids, user_items, n_new)
        gram = gram_matrix(users if counted is None else users[counted])
        with reworded(item_users, weights or "item_users", "partial_fit", getattr(self, "_weight_median", None)):
            istep = self._item_step(itemids, item_users, item_exposures, users=users, gram=gram)
        with self._gate().publishing():  # readers see the users and the items changed, or neither
            self._publish_user_step(ustep)
            self._publish_item_step(istep)
        return self

    def _recalculate_users(self, user_items: sp.csr_matrix) -> np.ndarray:
        return fold_in(self._items.view, user_items, self._reg(), self._alpha(), gram=self._item_gram())

    def _item_gram(self) -> np.ndarray:
        """The items' Gram (k, k) of the users' unobserved-negative term, cached until the items
        change: as in training, over items with interactions only (zero-shot items, and their
        boosted scale, must not drag every user vector)."""
        if self._gram_items is None:
            self._gram_items = gram_matrix(self._items.view[~self._zero_shot.view])
        return self._gram_items


def prior_weight_from_precision(per: float) -> float:
    """``prior_weight="auto"`` from ``per``, the mean precision one observed interaction adds
    per dimension: the attribute prior is worth ``PRIOR_INTERACTIONS`` such interactions."""
    return float(max(PRIOR_INTERACTIONS * per, 1e-6))


def auto_prior_weight(conf: np.ndarray, sq: np.ndarray, k: int) -> float:
    """:func:`prior_weight_from_precision` of the mean over observed pairs of
    ``max(c - 1, 1) ||f||^2 / k``: ``conf`` (nnz,) the pairs' confidences, ``sq`` (nnz,) the
    squared norm of the other side's factor of each pair, ``k`` the factors. A pair counts for at
    least one unit of confidence: at implicit's ``alpha=1`` on binary data ``c - 1`` is 0 (the
    Hessian gains nothing) while the pair still moves the target from 0 to 1, and a zero there
    would leave the prior no weight at all."""
    per = float(np.mean(np.maximum(conf - 1.0, 1.0) * sq)) / k if conf.size else 0.0
    return prior_weight_from_precision(per)
