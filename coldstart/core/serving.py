"""Serving: ``recommend``, ``similar_items`` and ``similar_users`` in implicit's language,
with calibrated scores and exploration for items still on their attribute prior."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from coldstart.core.constants import EXPLORATION_MODES, EXPLORATION_WEIGHT, FLT_MAX
from coldstart.core.contract import asked_by, candidates, check_n, finish, query_rows, self_first, width
from coldstart.core.solvers import discount_exposures, fold_in
from coldstart.core.topk import topk_batched
from coldstart.core.validation import check_ids, check_int, check_number, reworded


def serving_call(method):
    """Run a serving call as a reader of the model's state (see :class:`ReadWriteGate`)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "_items"):
            return method(self, *args, **kwargs)  # unfitted: the method raises NotFittedError
        with self._gate().reading():
            return method(self, *args, **kwargs)
    return wrapper


def writing_call(method):
    """Serialise a state-changing call with the other writers (it publishes under the gate)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "_items"):
            return method(self, *args, **kwargs)
        with self._gate().writer_lock:
            return method(self, *args, **kwargs)
    return wrapper


class Serving:
    """Mixin of :class:`~coldstart.core.model.ColdStartRecommender`: the read-only calls, each
    a reader of the model's gate (they see the catalog before or after a write, never a mix)."""

    # ------------------------------------------------------------------ serving
    @serving_call
    def recommend(self, userid, user_items, N: int = 10, filter_already_liked_items: bool = True,
                  filter_items=None, recalculate_user: bool = False, items=None, calibrated: bool = False,
                  exploration: str | None = None, exploration_weight: float = EXPLORATION_WEIGHT,
                  random_state=None, exposures=None):
        """Top-N items for one user or a batch (the contract of ``docs/recommend_contract.md``).

        Parameters
        ----------
        userid : int or array-like of shape (n_users,)
        user_items : csr_matrix of shape (n_users, n) with n <= n_items_
            One row per user in ``userid``: the items to filter out and, with
            ``recalculate_user``, the interactions to compute the user's vector from (so users
            unknown to the model can be served). Fewer columns than the catalog (a matrix
            built before ``add_items``) mean no interactions with the items added since.
            Ignored when neither filtering nor recalculating.
        N : int
        filter_already_liked_items : bool
            Rank the user's items after every other candidate (score ``-inf``), as implicit
            ranks them last; they only show when fewer than N other candidates remain.
        filter_items : array-like of item indices, optional
            Items never to recommend.
        recalculate_user : bool
        items : array-like of item indices, optional
            Rank only these items (the result then has ``min(N, len(set(items)))`` columns).
        calibrated : bool, default False
            Place the items still on their attribute prior (zero-shot or warming up) by their
            expected score instead of the ``zero_shot_scale_`` boost: the prior's part of their
            vector (its share of the posterior mean, 1 for a zero-shot item) counts at the
            attributes' own estimate (scale 1, or the fitted scale when it is below 1, i.e.
            attributes not trusted). The boost that wins the offline protocol's mixed lists,
            where a new item brings all its future interactions, over-exposes new items when
            they are served live (``coldstart simulate``).
        exploration : {None, "thompson", "ucb"}
            Add an exploration term to the score of the items still on their attribute prior,
            from their posterior spread (``item_variance_``; established items are served at
            their mean): "ucb" adds ``exploration_weight`` standard deviations of the user's
            score, "thompson" a normal draw of that standard deviation per user and item
            (drawn from ``random_state`` and the user's id: a user's list is the same alone or
            in a batch).
        exploration_weight : float >= 0, default 0.3
            Standard deviations of the posterior spread (1 would be the posterior itself; the
            spread's noise scale is a rough estimate, and 0.3 gave the most clicks among 0.2 /
            0.3 / 0.5 in the default world's 20-step simulation, ``benchmarks/ABLATION.md``).
        random_state : int, optional
            Seed of the Thompson draws (the same seed gives the same lists).
        exposures : csr_matrix of shape (n_users, n) with n <= n_items_, optional
            One row per user in ``userid``: the items the user has been shown (impressions,
            any non-zero). Each shown item the user has no interaction with in ``user_items``
            counts, in the user's vector, as an observed zero at the confidence of one
            interaction (``alpha``) instead of an unobserved pair's 1: the user's vector solves
            the implicit-ALS system with those confidences (an exact update of the fitted or
            recalculated vector, :func:`~coldstart.core.solvers.discount_exposures`): a live
            system stops filling the lists with items the user keeps passing over
            (``benchmarks/ABLATION.md``, issue 17). With ``alpha`` at most 1 an impression
            would weigh no more than an unobserved pair, and the vectors are left as they are.

        Returns
        -------
        ids : ndarray of int32, shape (N,) for a scalar ``userid``, (n_users, N) otherwise
            ``-1`` where fewer candidates remain.
        scores : ndarray of float32, same shape; ``-inf`` for padding and liked-last items.
        """
        check_is_fitted(self)
        N = check_n(N)
        adjust = check_serving(calibrated, exploration, exploration_weight, random_state)
        scalar = np.isscalar(userid) or (isinstance(userid, np.ndarray) and userid.ndim == 0)
        uids = np.atleast_1d(np.asarray(userid))
        needed, why = asked_by(filter_already_liked_items=filter_already_liked_items,
                               recalculate_user=recalculate_user, exposures=exposures is not None)
        rows = query_rows(user_items, len(uids), self.n_items_, needed=needed, why=why)
        shown = None if exposures is None else query_rows(exposures, len(uids), self.n_items_, needed=True,
                                                          name="exposures", why="")
        if recalculate_user:
            with reworded(rows, "user_items", "recalculate_user", getattr(self, "_weight_median", None)):
                U = self._recalculate_users(rows)
        else:
            uids, _ = check_ids(uids, self.n_users_, "userid", kind="user")
            U = self._users.view[uids]
        if shown is not None:
            U = self._discounted_users(U, rows, shown)
        cand, banned = candidates(items, filter_items, self.n_items_)
        factors = self._items.view if cand is None else self._items.view[cand]
        liked = rows if filter_already_liked_items else None
        filt = liked if (liked is None or cand is None) else restrict_columns(liked, cand, self.n_items_)
        n_cols = width(N, cand)
        k = min(n_cols, factors.shape[0])
        if k == 0 or len(U) == 0:
            ids = np.full((len(U), 0), -1, dtype=np.int64)
            scores = np.full((len(U), 0), -np.inf, dtype=np.float32)
        elif adjust:
            ids, scores = self._adjusted_topk(U, uids, factors, cand, filt, banned, k, calibrated, exploration,
                                              float(exploration_weight), random_state)
            if cand is not None:
                ids = cand[ids]
        else:
            ids, scores = topk_batched(factors, U, k, filter_query_items=filt,
                                       filter_items=None if banned is None else banned.astype(np.int32),
                                       num_threads=self.num_threads)
            ids = ids.astype(np.int64)
            if cand is not None:
                ids = cand[ids]
        return finish(ids, scores, n_cols, liked=liked, cand=cand, banned=banned, scalar=scalar)

    def _discounted_users(self, U: np.ndarray, rows: sp.csr_matrix, shown: sp.csr_matrix) -> np.ndarray:
        """User vectors (b, k) with the impressions of ``shown`` (b, <= n_items) as observed zeros
        (see :meth:`recommend`'s ``exposures``); the columns of narrower matrices padded."""
        n = self.n_items_
        rows, shown = (sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n)) for m in (rows, shown))
        return discount_exposures(U, self._items.view, rows, shown, self._reg(), self._alpha(), gram=self._item_gram())

    def _adjusted_topk(self, U, uids, factors, cand, filt, banned, k, calibrated, exploration, weight, seed):
        """Raw top-k (positions in ``factors``, filtered scores ``-FLT_MAX``) with the items on
        their attribute prior scored calibrated and/or with an exploration term (see
        :meth:`recommend`); scores computed for blocks of users, all candidates at a time.
        Thompson draws come from ``(seed, user id)``: a user's list is the same alone or in a batch."""
        rows = np.arange(self.n_items_) if cand is None else cand
        share = self._share.view[rows]
        flex = np.flatnonzero(share > 0)  # on the attribute prior: zero-shot (new) or warming up
        Vf = np.array(factors[flex], dtype=np.float32)
        if calibrated and flex.size:
            f = min(1.0, 1.0 / float(self.zero_shot_scale_))
            Vf -= ((1.0 - f) * share[flex]).astype(np.float32)[:, None] * self._prior.view[rows[flex]]
        sd = None
        if exploration is not None:
            tau = self._variance.view[rows[flex]].astype(np.float64) / max(getattr(self, "_user_sq", 0.0), 1e-30)
            sd = (weight * np.sqrt(tau)).astype(np.float32)  # per unit of the user's norm
        if exploration == "thompson" and seed is None:
            seed = int(np.random.default_rng().integers(2 ** 32))
        n_u, n_c = len(U), factors.shape[0]
        ids = np.empty((n_u, k), dtype=np.int64)
        scores = np.empty((n_u, k), dtype=np.float32)
        block = max(16, (1 << 22) // max(n_c, 1))
        U = np.asarray(U, dtype=np.float32)
        for lo in range(0, n_u, block):
            Ub = U[lo:lo + block]
            S = Ub @ factors.T
            if flex.size:
                Sf = Ub @ Vf.T
                if sd is not None:
                    bonus = np.sqrt(np.einsum("ij,ij->i", Ub, Ub))[:, None] * sd[None, :]
                    if exploration == "thompson":
                        keys = uids[lo:lo + block] if np.issubdtype(uids.dtype, np.integer) \
                            else np.arange(lo, lo + len(Ub))  # recalculated users without integer ids
                        bonus *= np.stack([np.random.default_rng([seed, int(u) % 2 ** 63]).standard_normal(
                            len(flex), dtype=np.float32) for u in keys])
                    Sf += bonus
                S[:, flex] = Sf
            if banned is not None:
                S[:, banned] = -FLT_MAX
            if filt is not None:
                r, c = filt[lo:lo + block].nonzero()
                S[r, c] = -FLT_MAX
            top = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < n_c else np.tile(np.arange(n_c), (len(S), 1))
            order = np.argsort(-np.take_along_axis(S, top, axis=1), axis=1, kind="stable")
            ids[lo:lo + block] = np.take_along_axis(top, order, axis=1)
            scores[lo:lo + block] = np.take_along_axis(S, ids[lo:lo + block], axis=1)
        return ids, scores

    @serving_call
    def similar_items(self, itemid, N: int = 10, recalculate_item: bool = False, item_users=None,
                      filter_items=None, items=None):
        """Items most similar (cosine of vectors) to ``itemid``, warm or zero-shot alike.

        Parameters
        ----------
        itemid : int or array-like of shape (n,)
        N : int
        recalculate_item : bool, default False
            Compute the query items' vectors from ``item_users`` instead of using the stored
            ones: for an item the model knows, what :meth:`partial_fit_items` would store (from
            its attribute prior while it warms up, a plain re-solve once established); for an
            item it does not know (an index outside the catalog), implicit's fold-in over the
            user factors (no prior: that needs the item's attributes, ``add_items``).
        item_users : csr_matrix of shape (n, m) with m <= n_users_, optional
            Interactions of the query items (one row each); only read with ``recalculate_item``.
        filter_items : array-like of item indices, optional
        items : array-like of item indices, optional

        Returns
        -------
        ids : ndarray of int32, shape (N,) for a scalar ``itemid``, (n, N) otherwise
            The query item itself included (as implicit); ``-1`` padding.
        scores : ndarray of float32, same shape
        """
        check_is_fitted(self)
        N = check_n(N)
        scalar = np.isscalar(itemid) or (isinstance(itemid, np.ndarray) and itemid.ndim == 0)
        factors = self._items.view
        norms = self._norms_of(factors)
        if recalculate_item:
            qids = np.atleast_1d(np.asarray(itemid))
            if qids.dtype.kind == "f" and qids.ndim == 1 and np.all(np.isfinite(qids)) \
                    and np.array_equal(qids, np.round(qids)):
                qids = qids.astype(np.int64)  # integral floats, as every other item call takes them
            if qids.ndim != 1 or not (np.issubdtype(qids.dtype, np.integer) or qids.size == 0):
                raise TypeError(f"itemid must be an integer item index or a 1-D array of them (an index "
                                f"outside the catalog: an item the model does not know); received {itemid!r}")
            rows = query_rows(item_users, len(qids), self.n_users_, needed=True, rows_of="item in itemid",
                              name="item_users", cols_of="user")
            users = self._users.view
            if self._gram_users is None:
                self._gram_users = self._user_gram()
            gram = self._gram_users  # the users partial_fit_items counts as unobserved
            known = (qids >= 0) & (qids < self.n_items_)
            q = np.empty((len(qids), users.shape[1]), dtype=np.float32)
            if known.any():  # what partial_fit_items would give (warming up from the prior, or re-solved)
                q[known] = self._item_vectors(qids[known], rows[np.flatnonzero(known)], None, users, gram)[0]
            if (~known).any():  # an item the model does not know: plain fold-in (no prior)
                q[~known] = fold_in(users, rows[np.flatnonzero(~known)], self._item_reg(), self._alpha(), gram=gram)
            qn = np.linalg.norm(q, axis=1)
            q = q / np.where(qn > 0, qn, 1e-10)[:, None]
        else:
            qids, _ = check_ids(itemid, self.n_items_, "itemid")
            q = factors[qids] / norms[qids, None]
        cand, banned = candidates(items, filter_items, self.n_items_, call="similar_items")
        # the query is its own nearest item (cosine 1), ties or not; not a recalculated one
        return self._cosine_top(factors, norms, q, N, cand, banned, None if recalculate_item else qids,
                                scalar)

    def _cosine_top(self, factors, norms, q, N, cand, banned, own_ids, scalar):
        """Top ``N`` rows of ``factors`` (n, k) by cosine with the unit queries ``q`` (m, k),
        within ``cand`` / without ``banned`` (implicit's contract); with ``own_ids`` (the
        queries' own rows) each query's own row is listed first."""
        full = factors
        if cand is not None:
            factors, norms = factors[cand], norms[cand]
        n_cols = width(N, cand)
        k = min(n_cols, factors.shape[0])
        if k == 0:  # no candidate (items=[]): empty lists, as recommend gives
            return finish(np.full((len(q), 0), -1, np.int64), np.full((len(q), 0), -np.inf, np.float32),
                          n_cols, cand=cand, banned=banned, scalar=scalar)
        ids, scores = topk_batched(factors, np.ascontiguousarray(q, dtype=np.float32), k, item_norms=norms,
                                   filter_items=None if banned is None else banned.astype(np.int32),
                                   num_threads=self.num_threads)
        ids = ids.astype(np.int64)
        if cand is not None:
            ids = cand[ids]
        ids, scores = finish(ids, scores, n_cols, cand=cand, banned=banned)
        if own_ids is not None:
            own = np.any(full[own_ids] != 0, axis=1)
            ids, scores = self_first(ids, scores, own_ids, own, cand, banned)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    @serving_call
    def similar_users(self, userid, N: int = 10, filter_users=None, users=None):
        """Users most similar (cosine of user vectors) to ``userid``, the user included.

        Same contract as :meth:`similar_items` (``filter_users`` / ``users`` restrict the
        candidates like ``filter_items`` / ``items``).

        Returns
        -------
        ids : ndarray of int32, shape (N,) or (n, N); scores : ndarray of float32
        """
        check_is_fitted(self)
        N = check_n(N)
        qids, scalar = check_ids(userid, self.n_users_, "userid", kind="user")
        factors = self._users.view
        norms = np.linalg.norm(factors, axis=1).astype(np.float32)
        norms[norms == 0] = 1e-10
        q = factors[qids] / norms[qids, None]
        cand, banned = candidates(users, filter_users, self.n_users_, call="similar_users", name="users",
                                  filter_name="filter_users", kind="user")
        return self._cosine_top(factors, norms, q, N, cand, banned, qids, scalar)

    def _norms_of(self, factors: np.ndarray) -> np.ndarray:
        """Row norms (n,) of the item factors (zeros as 1e-10), cached until the items change."""
        norms = self._item_norms
        if norms is None or len(norms) != len(factors):
            norms = row_norms(factors)
            self._item_norms = norms
        return norms


def check_serving(calibrated: Any, exploration: Any, weight: Any, seed: Any) -> bool:
    """Check ``recommend``'s serving options; True when they change the scores."""
    if not isinstance(calibrated, (bool, np.bool_)):
        raise TypeError(f"calibrated must be True or False; received {calibrated!r}")
    if exploration is not None and not (isinstance(exploration, str) and exploration in EXPLORATION_MODES):
        raise ValueError(f"exploration must be None or one of {EXPLORATION_MODES}; received {exploration!r}")
    check_number(weight, "exploration_weight", "a non-negative number", lambda v: v >= 0)
    if seed is not None:
        check_int(seed, "random_state", 0, 2**32 - 1, "or None")
    return bool(calibrated) or exploration is not None


def restrict_columns(m: sp.csr_matrix, cand: np.ndarray, n: int) -> sp.csr_matrix:
    """Keep the columns in ``cand`` (sorted), renumbered to their positions in ``cand``."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[cand] = np.arange(len(cand))
    coo = m.tocoo()
    new = pos[coo.col]
    keep = new >= 0
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], new[keep])), shape=(m.shape[0], len(cand)))


def row_norms(V: np.ndarray) -> np.ndarray:
    """Row norms (n,) float32, zero rows as 1e-10 (cosine denominators)."""
    norms = np.sqrt(np.einsum("ij,ij->i", V, V, dtype=np.float64)).astype(np.float32)
    norms[norms == 0] = 1e-10
    return norms


