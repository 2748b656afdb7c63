"""``ColdStartRecommender``: a collaborative model plus a map from item attributes to its factors."""

from __future__ import annotations

import copy
import functools
import threading
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from coldstart.core.buffer import ReadWriteGate, RowBuffer
from coldstart.core.contract import candidates, check_n, finish, query_rows, self_first, width
from coldstart.core.topk import topk_batched
from coldstart.core.validation import (check_ids, check_item_features, check_positive,
                          check_user_items)
from coldstart.core.factorization import fit_collaborative, is_fitted_model, make_als, to_numpy_factors
from coldstart.core.mapping import RidgeMap, active_columns
from coldstart.core.solvers import (fit_map_on_interactions, fold_in, gram_matrix, map_blocks, map_path, pair_dots,
                                    solve_from_prior)
from coldstart.core.tuning import VALIDATION_K, RankingProbe, internal_split, validation_users
from coldstart.core.weighting import AttributeWeighting

_FILTERED = np.finfo(np.float32).min  # score implicit's topk gives filtered candidates
#: The plug-in map (a backend's fixed factors): CG steps of the ridge start and of the
#: refinement on the ALS loss; chosen on cold validation items (3/3 against 5/5: cold-val
#: Recall@20 .4171 vs .4131 at 60 % of the work; coldstart.integrations.spark uses the same).
PLUGIN_INIT_ITERS, PLUGIN_MAP_ITERS = 3, 3
#: The default (content-constrained) fit: CG steps of the ridge start and of the map's
#: refinement per sweep (chosen on cold validation items; coldstart.integrations.spark uses the same).
CC_INIT_ITERS, CC_MAP_ITERS = 3, 3
#: prior_weight="auto": the attribute prior weighs as much as this many typical interactions.
PRIOR_INTERACTIONS = 10.0
#: Upper bounds of the integer parameters (beyond them a fit cannot be meant: ALS solves a
#: factors x factors system per user and item; each thread has its own stack and buffers).
MAX_FACTORS, MAX_ITERATIONS, MAX_THREADS = 4096, 10_000, 1024
_GATE_INIT = threading.Lock()


def _serving(method):
    """Run a serving call as a reader of the model's state (see :class:`ReadWriteGate`)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "_items"):
            return method(self, *args, **kwargs)  # unfitted: the method raises NotFittedError
        with self._gate().reading():
            return method(self, *args, **kwargs)
    return wrapper


def _writing(method):
    """Serialise a state-changing call with the other writers (it publishes under the gate)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "_items"):
            return method(self, *args, **kwargs)
        with self._gate().writer_lock:
            return method(self, *args, **kwargs)
    return wrapper


#: Settings when not chosen on the internal split (given numbers, or a catalog too small to
#: hold items out): the map's relative penalty and the zero-shot scale chosen on citeulike-t.
CC_MAP_ALPHA, DEFAULT_ZERO_SHOT_SCALE = 3.0, 2.0
#: What the self-tuning default chooses among (``benchmarks/ABLATION.md``, session 4): free
#: ALS sweeps after the content-constrained ones (stop after ``FREE_SWEEP_PATIENCE`` sweeps
#: without a better held-out warm recall), the map's relative penalty, the zero-shot scale
#: (each grid walked from its ``_START`` index, see :func:`_search_grid`).
MAX_FREE_SWEEPS, FREE_SWEEP_PATIENCE = 6, 2
MAP_ALPHA_GRID, MAP_ALPHA_START = (1.0, 3.0, 10.0, 30.0, 100.0), 2
ZERO_SHOT_SCALE_GRID, ZERO_SHOT_SCALE_START = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0), 5
#: The zero-shot scale may cost the established items' held-out recall at most 2 %.
WARM_TOLERANCE = 0.98
#: Attributes are trusted when the map ranks the probe items at least this many times better
#: than chance (noise attributes: about 1; the collection's catalogs: 4 to 60).
MIN_ATTRIBUTE_LIFT = 1.5
#: Free sweeps on every training pair after the internal fit, when it chose free sweeps.
COMPLETION_SWEEPS = 2
#: ``recommend(exploration=...)``: Thompson sampling of the score, or its upper confidence bound.
EXPLORATION_MODES = ("thompson", "ucb")
#: ``recommend``'s default ``exploration_weight`` (see there).
EXPLORATION_WEIGHT = 0.3
#: CG steps of the zero-shot map at each penalty tried and of the final map (from the joint
#: fit's map: the validated recipe is the final one).
TUNED_MAP_ITERS = 3
#: CG steps of the final user solve (implicit's ALS takes 3 per sweep): enough that the
#: stored users are what recalculate_user gives.
FINAL_USER_CG_STEPS = 16


class ColdStartRecommender(BaseEstimator):
    """Zero-shot item embeddings on top of an implicit-style collaborative model.

    The collaborative model (implicit's ALS by default) learns user and item factors from
    interactions; a regression maps weighted item attributes into the item factor space.
    Items without interactions get the mapped vector ("zero-shot"), and can be added after
    fitting with :meth:`add_items`; their first interactions refine it (:meth:`partial_fit_items`).

    The default fit starts as a *content-constrained* ALS: every item vector is its attributes'
    image ``x_i W``; implicit's solver fits the users against ``X W`` and ``W`` is refined on the
    ALS loss itself, so the factor space is learned to be predictable from attributes. How far
    to trust the attributes is then decided from the training data alone, on an internal split
    (probe items play new items, probe pairs the established items' future interactions):
    how many free ALS sweeps the warm items get away from ``x_i W`` (``free_sweeps``), the
    map's penalty (``map_alpha``) and the zero-shot scale (``zero_shot_scale``). The choices and
    the held-out scores behind them are ``free_sweeps_``, ``map_alpha_``, ``zero_shot_scale_``
    and ``validation_``; numbers given for all three skip the internal split.

    Parameters
    ----------
    factors : int
        Latent dimensions of the default ALS, 1 to 4096 (ignored when ``collaborative`` is given). Item
        vectors are constrained to ``x_i W``, so the map's penalty, not ``factors``, bounds
        their freedom: 256 beat 128 (and matched 384) on cold validation items.
    regularization : float
        L2 penalty of the ALS solves (also used by fold-ins).
    alpha : float or "auto"
        Confidence scale of interactions: confidence = ``alpha * weight`` (implicit's
        convention). "auto": 0.05 / density of ``user_items`` (clipped to [1, 1000]), so that
        the observed interactions weigh about 5 % of the unobserved mass on any catalog.
    iterations : int
        ALS sweeps.
    collaborative : implicit model, optional
        A model with ``fit(user_items)``, ``user_factors`` and ``item_factors``. If it is
        already fitted its factors are used as they are and only the map is fitted (plug-in
        mode). An unfitted implicit ALS is fitted content-constrained, any other model plainly.
    mapper : scikit-learn regressor, optional
        Map from weighted attributes to factors (multi-output ``fit``/``predict``); defaults to
        :class:`~coldstart.core.mapping.RidgeMap`. A custom mapper is fitted after the
        collaborative model (no content constraint).
    weighting : AttributeWeighting or "auto" or None
        Attribute weighting, fitted on the items with interactions; ``None`` uses attributes as given.
        "auto": ``AttributeWeighting()``, or ``AttributeWeighting("unit", norm=None)`` (one
        global scale) when a featurizer already weighted the attributes.
    map_alpha : float or "auto"
        Penalty of the map on the ALS loss, relative to the mean eigenvalue of the users' Gram
        matrix ``U'U`` (the units of the data term). "auto": chosen in {1, 3, 10, 30, 100} by
        the probe items' Recall@20 (a catalog whose attributes are coarse or noisy needs a
        heavier penalty); 3 in plug-in mode and inside the content-constrained sweeps.
    prior_weight : float or "auto"
        Precision of the attribute prior from which new items' vectors are refitted as their
        interactions arrive (:meth:`partial_fit_items`), in the units of ``regularization``.
        "auto": as much as ten typical interactions (ten times the mean precision one observed
        interaction adds per dimension), so the rate at which items warm up does not depend on
        the catalog's size or confidence scale.
    zero_shot_scale : float or "auto"
        Multiplier of the mapped vectors of items without interactions. Ridge predictions are
        shrunk toward the mean; scaling them up lets new items compete with established ones
        in mixed lists. "auto": chosen in [0.25, 4] by the Recall@20 of probe pairs and probe
        items ranked together, among the scales that cost the established items' held-out
        recall less than 2 % (items without training pairs are boosted too); 2 in plug-in mode.
    zero_shot_norm_power : float in [0, 1]
        How far each zero-shot vector's length is pulled toward the typical length ``r`` (the
        RMS length of the map's predictions for the items with interactions, ``content_norm_``):
        the map's ``x W`` becomes ``x W (r / |x W|) ** p``. The map predicts an item's
        direction (whose users) much better than its length (how popular: what a ridge map
        shrinks by how familiar the item's attributes are), so ``p = 0.5`` — half-way in log
        length — ranks new items better (cold NDCG@20 +0.010 on citeulike-t validation); 0
        keeps the map's lengths, 1 gives every new item the same length.
    featurizer : transformer, optional
        E.g. :class:`~coldstart.features.featurizer.ItemFeaturizer`: then ``item_features`` everywhere
        may be a pandas DataFrame of raw item attributes, turned into a matrix by it.
    random_state : int, optional
        Seed (an integer in [0, 2**32 - 1]) of the initial factors; None: a fresh one each fit.
    num_threads : int
        Threads for ALS, the map's sparse products and batched top-k (0 = all cores; at most
        1024). Different thread counts give slightly different factors (the same top lists in
        practice): the threads split the sums over users and items differently, and
        floating-point addition depends on the summation order. The same ``num_threads`` and
        ``random_state`` give the same factors on the same machine.
    show_progress : bool
    free_sweeps : int or "auto"
        Free ALS sweeps (users and items both unconstrained) after the content-constrained
        ones: 0 keeps warm items near ``x_i W`` (attributes that explain the interactions);
        more let them move to what their interactions say (coarse attributes). "auto": as long
        as the probe pairs' Recall@20 improves (at most 6, stopped after 2 without gain).

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users, n_factors)
    item_factors_ : ndarray of shape (n_items, n_factors)
        Collaborative vectors for items with interactions, zero-shot vectors for the others.
    is_zero_shot_ : ndarray of bool, shape (n_items,)
        Items whose vector comes from attributes alone.
    n_items_, n_users_, n_features_in_ : int
    collaborative_ : the fitted collaborative model
    weighting_ : fitted AttributeWeighting or None
    mapper_ : fitted regressor
    prior_weight_ : float
        The attribute prior's precision in use.
    content_norm_ : float
        RMS length of the map's predictions for the items with interactions (the reference
        length of ``zero_shot_norm_power``).
    content_constrained_ : bool
        Whether the factors were learned content-constrained (no free sweep).
    free_sweeps_, map_alpha_, zero_shot_scale_ : int, float, float
        The settings in use (chosen, given, or the fixed defaults of plug-in mode).
    validation_ : dict or None
        The internal split's scores behind each choice: ``{"free_sweeps": {t: warm recall},
        "map_alpha": {alpha: cold recall}, "zero_shot_scale": {scale: mixed-list recall},
        "zero_shot_scale_warm": {scale: warm recall with the zero-shot items among the
        candidates}, "attribute_lift": the probe items' Recall@K over a random ranking's, K a
        tenth of the probe items up to 20}`` (Recall@20, at most 1,000 users each); None when
        nothing was chosen. Attributes with a lift below 1.5 are
        not trusted: their zero-shot vectors get the smallest scale.
    """

    def __init__(self, factors: int = 256, regularization: float = 0.1, alpha: Any = "auto",
                 iterations: int = 4, collaborative: Any = None, mapper: Any = None,
                 weighting: Any = "auto", map_alpha: Any = "auto", prior_weight: Any = "auto",
                 zero_shot_scale: Any = "auto", zero_shot_norm_power: float = 0.5, featurizer: Any = None,
                 random_state: int | None = None, num_threads: int = 0, show_progress: bool = False,
                 free_sweeps: Any = "auto"):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.collaborative = collaborative
        self.mapper = mapper
        self.weighting = weighting
        self.map_alpha = map_alpha
        self.prior_weight = prior_weight
        self.zero_shot_scale = zero_shot_scale
        self.zero_shot_norm_power = zero_shot_norm_power
        self.featurizer = featurizer
        self.random_state = random_state
        self.num_threads = num_threads
        self.show_progress = show_progress
        self.free_sweeps = free_sweeps

    # ------------------------------------------------------------------ fitting
    def fit(self, user_items, item_features, new_items=None, exposures=None, show_progress: bool | None = None,
            callback=None) -> "ColdStartRecommender":
        """Fit the collaborative model and the attribute map (all or nothing: the work is done
        on a copy whose state replaces this model's, under the gate, only once it succeeded;
        a failed refit leaves the model as it was, and readers see the old or the new one).

        Parameters
        ----------
        user_items : sparse matrix of shape (n_users, n_items)
            Interaction weights (implicit's convention). Items with an empty column get
            zero-shot vectors.
        item_features : sparse matrix or array-like of shape (n_items, n_features)
            Real-valued attributes (counts, indicators, signed numbers, dense vectors).
        new_items : array-like of item indices, optional
            Items still warming up (e.g. those that arrived in the last few retraining
            periods). Their vectors are what :meth:`partial_fit_items` gives — the posterior
            from their zero-shot vector with their interactions — so a refit does not take a
            new item's zero-shot boost away after its first interactions. The other items are
            established: collaborative vectors, and for those without any interaction the
            attributes' estimate without the ``zero_shot_scale`` boost. Default (None): every
            item without interactions is new (the cold-start protocol's view).
        exposures : sparse matrix of shape (n_users, n_items), optional
            Impressions (nonzero = the user was shown the item), used for ``new_items`` only:
            a new item keeps its zero-shot score for the users who have not seen it yet, and
            the users who saw it and did not interact count as negatives, so the item leaves
            its prior as it is shown, not at an arbitrary age (see :meth:`partial_fit_items`).
        show_progress : bool, optional
            A progress bar over the ALS sweeps (implicit's argument); None: the
            ``show_progress`` parameter.
        callback : callable, optional
            ``callback(sweep, elapsed_seconds)`` after each ALS sweep of the default fit
            (content-constrained, then free), as implicit's ``fit(callback=)`` without a loss.

        Returns
        -------
        self
        """
        if not isinstance(user_items, (sp.csr_matrix, sp.csr_array)):
            from implicit.utils import ParameterWarning

            warnings.warn(f"user_items is a {type(user_items).__name__}; expected a CSR matrix (converted, "
                          "which costs a copy), as implicit's fit", ParameterWarning, stacklevel=2)
        if show_progress is not None and not isinstance(show_progress, (bool, np.bool_)):
            raise TypeError(f"show_progress must be True, False or None; received {show_progress!r}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable(sweep, elapsed_seconds); received {callback!r}")
        params = set(self.get_params(deep=False))
        work = copy.copy(self)  # the parameters are shared (fit never changes them), not the state
        for name in [k for k in vars(work) if k not in params]:
            delattr(work, name)
        work._run = {"progress": self.show_progress if show_progress is None else bool(show_progress),
                     "callback": callback, "start": time.perf_counter(), "sweep": 0}
        work._fit_state(user_items, item_features, new_items, exposures)
        del work._run
        with self._gate().publishing():
            for name in [k for k in vars(self) if k not in params and k != "_rw_gate"]:
                delattr(self, name)
            vars(self).update({k: v for k, v in vars(work).items() if k not in params and k != "_rw_gate"})
        return self

    def _fit_state(self, user_items, item_features, new_items=None, exposures=None) -> "ColdStartRecommender":
        """The fit itself, on the working copy of :meth:`fit`."""
        self._check_params()
        self._resolve_settings()
        user_items = check_user_items(user_items)
        n_users, n_items = user_items.shape
        if new_items is not None:
            new_items, _ = check_ids(new_items, n_items, "new_items")
        if exposures is not None:
            exposures = check_user_items(exposures, "exposures", n_items=n_items, allow_empty=True)
            if exposures.shape[0] != n_users:
                raise ValueError(f"exposures must have the shape of user_items {user_items.shape}; "
                                 f"received {exposures.shape}")
        if self.featurizer is not None:
            self.featurizer_ = clone(self.featurizer)
            item_features = self.featurizer_.fit_transform(item_features)
        else:
            self.featurizer_ = None
        X = check_item_features(item_features, n_rows=n_items)
        item_counts = np.bincount(user_items.indices, minlength=n_items)
        warm = item_counts > 0

        self.n_users_, self.n_items_ = n_users, n_items
        self.n_features_in_ = X.shape[1]
        if not warm.any():
            raise ValueError("user_items has no item with interactions; expected some warm items "
                             "to learn the attribute map from")
        self.weighting_ = self._make_weighting()
        if self.weighting_ is not None:  # fitted on the items with interactions, like the map
            Xw = self.weighting_.fit(X[warm]).transform(X)
        else:
            Xw = X

        col = self.collaborative
        if col is not None and is_fitted_model(col):
            # plug-in mode: the backend's factors stay exactly as they are; only the map is learned
            users, items = to_numpy_factors(col)
            if users.shape[0] != n_users or items.shape[0] != n_items:
                raise ValueError(
                    f"collaborative is already fitted with {users.shape[0]} users and {items.shape[0]} "
                    f"items, but user_items has shape {user_items.shape}; expected the same users and "
                    "items (in the same order) as the fitted model")
            self.collaborative_ = col
            self.mapper_ = self._fit_plugin_map(col, user_items, Xw, warm, users, items)
            content = self._predict(Xw)
            self.content_constrained_ = False
        else:
            with threadpool_limits(1, "blas"):  # implicit's ALS wants single-threaded BLAS
                base = col if col is not None else make_als(
                    factors=self.factors, regularization=self.regularization,
                    alpha=self._alpha_for(user_items, None), iterations=self.iterations,
                    random_state=self.random_state, num_threads=self.num_threads)
                constrain = self.mapper is None and isinstance(base, _implicit_als_class())
                self.content_constrained_ = constrain
                if constrain and self._self_tuned():
                    users, items, content = self._fit_self_tuned(base, user_items, Xw, warm)
                    self.content_constrained_ = self.free_sweeps_ == 0
                elif constrain:
                    users, items, content = self._fit_content_constrained(base, user_items, Xw, warm)
                else:
                    self.collaborative_, users, items = fit_collaborative(
                        base, user_items, show_progress=self._run_option("progress"))
                    self.mapper_ = self._make_mapper().fit(Xw[warm], items[warm])
                    content = self._predict(Xw)

        self._cf_reg = float(getattr(self.collaborative_, "regularization", self.regularization))
        self._cf_alpha = float(getattr(self.collaborative_, "alpha", self._alpha_for(user_items, None)))
        self.prior_weight_ = self._resolve_prior_weight(user_items, users)
        self._k = items.shape[1]
        self.content_norm_ = _rms(content[warm])
        content = self._calibrate(content)
        prior = np.ascontiguousarray(self.zero_shot_scale_ * content, dtype=np.float32)
        items = np.array(items, dtype=np.float32)
        items[~warm] = prior[~warm]
        if new_items is not None:
            is_new = np.zeros(n_items, dtype=bool)
            is_new[new_items] = True
            # with impressions, a new item shown without any interaction moves too
            moved = warm if exposures is None else warm | (np.diff(exposures.tocsc().indptr) > 0)
            new = np.flatnonzero(is_new & moved)
            if new.size:
                rows = user_items.T.tocsr()[new]
                shown = None if exposures is None else exposures.T.tocsr()[new]
                items[new] = solve_from_prior(rows, users, self._reg(), self._alpha(), prior[new],
                                              max(self.prior_weight_, 1e-12), gram=gram_matrix(users),
                                              exposed=shown)
            # established items that never got an interaction: the attributes' estimate without
            # the new-item boost (and later interactions start from it)
            old_cold = ~is_new & ~warm
            prior[old_cold] = content[old_cold]
            items[old_cold] = content[old_cold]
        self._users = RowBuffer(users)
        self._items = RowBuffer(items)
        self._prior = RowBuffer(prior)
        self._zero_shot = RowBuffer(~warm, dtype=bool)
        self._invalidate()
        self._refresh_uncertainty(user_items, new_items, exposures)
        return self

    def _fit_content_constrained(self, als, user_items, Xw, warm):
        """implicit's ALS with every item vector constrained to its attributes' image ``x_i W``
        (:meth:`_constrained_sweeps`); each warm item then gets one collaborative half-step
        started from ``x_i W`` and ``W`` is the map of the joint fit."""
        als = copy.deepcopy(als)
        reg, alpha = float(als.regularization), self._alpha_for(user_items, als)
        als.alpha = alpha
        cui = (alpha * user_items).astype(np.float32).tocsr()
        ciu = cui.T.tocsr()
        U, M, W, cols, d, _, _ = self._constrained_sweeps(als, cui, ciu, Xw, warm, self.map_alpha_)
        Vs = M.copy()
        als.solver(ciu, Vs, U, reg, num_threads=self.num_threads)
        self.mapper_ = self._fitted_map(W, cols, d)
        als.user_factors, als.item_factors = U, Vs
        self.collaborative_ = als
        _check_finite(U, Vs)
        return U, Vs, self._predict(Xw)

    def _constrained_sweeps(self, als, cui, ciu, Xw, warm, lam):
        """The content-constrained ALS sweeps, the map's relative penalty ``lam``: ``(U, M, W,
        cols, d, X_warm, blocks)``, the last two the warm items' active attribute rows and their
        row blocks with the confidences (:func:`~coldstart.core.solvers.map_blocks`), for reuse.

        One plain ALS sweep (implicit's solver) starts it and a ridge of its item factors on the
        attributes starts ``W``. Then each sweep solves the users against ``X W`` with implicit's
        solver and refines ``W`` on the ALS loss itself, users fixed
        (:func:`~coldstart.core.solvers.fit_map_on_interactions`): the factor space is learned to
        be predictable from attributes. Finally the users are solved against ``M = X W`` (rows
        of the items without interactions are zero). ``W`` lives on the active columns ``cols``
        of the ``d`` attributes (:func:`~coldstart.core.mapping.active_columns`).
        """
        n_users, n_items = cui.shape
        k, reg = int(als.factors), float(als.regularization)
        rng = np.random.default_rng(self.random_state)
        U = (rng.random((n_users, k), dtype=np.float32) * 0.01)
        V = (rng.random((n_items, k), dtype=np.float32) * 0.01)
        solver, threads = als.solver, self.num_threads
        solver(cui, U, V, reg, num_threads=threads)
        solver(ciu, V, U, reg, num_threads=threads)
        X_warm, cols, d = active_columns(Xw[warm])
        start = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=CC_INIT_ITERS, tol=0.0,
                         num_threads=threads).fit(X_warm, V[warm])
        W = start.coef_
        ciu_warm = ciu[np.flatnonzero(warm)]
        mblocks = map_blocks(X_warm, ciu_warm, threads)  # the map's row blocks, for every sweep
        M = np.zeros((n_items, k), np.float32)

        def image(W):  # X W on all cores
            return mblocks.rows(lambda Xb, _, __: np.asarray(Xb @ W), k)

        from tqdm.auto import tqdm

        for _ in tqdm(range(self.iterations), desc="content-constrained ALS", unit="sweep",
                      disable=not self._run_option("progress")):
            M[warm] = image(W)
            solver(cui, U, M, reg, num_threads=threads)
            W = fit_map_on_interactions(X_warm, ciu_warm, U, lam, W, iters=CC_MAP_ITERS,
                                        num_threads=threads, blocks=mblocks)
            self._sweep_done()
        M[warm] = image(W)
        solver(cui, U, M, reg, num_threads=threads)
        return U, M, W, cols, d, X_warm, mblocks

    def _fit_self_tuned(self, als, user_items, Xw, warm):
        """The default fit, every setting chosen on an internal split of ``user_items``
        (:mod:`coldstart.core.tuning`: probe items play the cold items, probe pairs the warm test).

        1. Content-constrained sweeps on the internal training pairs (:meth:`_constrained_sweeps`).
        2. Free ALS sweeps from there while the probe pairs' Recall@K improves: how far the warm
           items may leave their attributes' image (none where the attributes explain the
           interactions, several where they are coarse).
        3. The map's penalty, refitted on the ALS loss with those users, by the probe items'
           Recall@K (cold ranking).
        4. The zero-shot scale by the Recall@K of probe pairs and probe items in one list (mixed
           ranking).
        5. The chosen model completed on every training pair, and the chosen map refitted.
        Returns ``(U, V, content)``; the scores behind each choice are in ``validation_``.
        """
        als = copy.deepcopy(als)
        reg, alpha = float(als.regularization), self._alpha_for(user_items, als)
        als.alpha = alpha
        threads, solver = self.num_threads, als.solver
        rs = self.random_state
        rng = np.random.default_rng(None if rs is None else [int(rs), 1])
        split = internal_split(user_items, rng)
        fit_on = user_items if split is None else split.train
        cui0 = (alpha * fit_on).astype(np.float32).tocsr()
        ciu0 = cui0.T.tocsr()
        warm0 = np.bincount(fit_on.indices, minlength=fit_on.shape[1]) > 0
        # the joint fit's own penalty is fixed: map_alpha is the zero-shot map's (step 3)
        U, M, W, cols, d, X_warm0, blocks0 = self._constrained_sweeps(als, cui0, ciu0, Xw, warm0, CC_MAP_ALPHA)
        W_joint = W
        V = M.copy()
        solver(ciu0, V, U, reg, num_threads=threads)
        report = {"free_sweeps": {}, "map_alpha": {}, "zero_shot_scale": {}}
        if split is None:  # too small to hold anything out: the fixed defaults
            for _ in range(self.free_sweeps_):
                solver(cui0, U, V, reg, num_threads=threads)
                solver(ciu0, V, U, reg, num_threads=threads)
            cui = cui0
            X_warm, cols, d = active_columns(Xw[warm])
            W = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=PLUGIN_INIT_ITERS, tol=0.0,
                         num_threads=threads).fit(X_warm, V[warm]).coef_
        else:
            # 2. free sweeps, scored on the probe pairs among the internal warm items
            users_w = validation_users(split.probe_pairs, rng)
            cand_w = np.flatnonzero(warm0)

            warm_score = RankingProbe(split.probe_pairs, users_w, cand_w, exclude=fit_on).score

            best_t, best_s, best = 0, warm_score(U, V), (U.copy(), V.copy())
            report["free_sweeps"][0] = best_s
            auto = _auto(self.free_sweeps)
            for t in range(1, (MAX_FREE_SWEEPS if auto else self.free_sweeps_) + 1):
                solver(cui0, U, V, reg, num_threads=threads)
                solver(ciu0, V, U, reg, num_threads=threads)
                self._sweep_done()
                report["free_sweeps"][t] = s = warm_score(U, V)
                if s > best_s or not auto:
                    best_t, best_s, best = t, s, (U.copy(), V.copy())
                elif t - best_t >= FREE_SWEEP_PATIENCE:
                    break
            U, V = best
            self.free_sweeps_ = best_t
            # 3. the map's penalty on the probe items, users fixed. Zero-shot in the internal fit:
            # the probe items and the items whose every pair is a probe pair (as the protocol's
            # warm items without a training pair).
            zs0 = np.union1d(split.probe_items, np.flatnonzero(warm & ~warm0))
            X_zs0 = sp.csr_matrix(Xw[zs0] if cols is None else Xw[zs0][:, cols], dtype=np.float32)
            users_c = validation_users(split.probe_item_pairs, rng)
            rms_warm = _rms(V[warm0])
            found = {}
            path = map_path(X_warm0, None, U, W_joint, threads, blocks0)  # one first pass for all
            cold_probe = RankingProbe(split.probe_item_pairs, users_c, split.probe_items)

            def cold_score(lam):  # the map at penalty lam and the probe items' Recall@K
                Wl = path(lam, TUNED_MAP_ITERS)
                ref = _rms(np.asarray(X_warm0 @ Wl))
                Z = _calibrated(np.asarray(X_zs0 @ Wl, dtype=np.float32), ref, self.zero_shot_norm_power)
                Vc = np.zeros_like(V)
                Vc[zs0] = Z
                s = cold_probe.score(U, Vc)
                found[lam], report["map_alpha"][lam] = (Wl, ref, Z), s
                return s

            if _auto(self.map_alpha):
                self.map_alpha_ = _search_grid(MAP_ALPHA_GRID, MAP_ALPHA_START, cold_score)
            else:
                cold_score(self.map_alpha_)
            W_sel, ref_sel, Z_sel = found[self.map_alpha_]
            # 4. the zero-shot scale on mixed lists: probe pairs and probe items together
            truth = (split.probe_pairs + split.probe_item_pairs).tocsr()
            users_h = validation_users(truth, rng)
            # the warm probe with the internal zero-shot items that are not probe items among the
            # candidates: what boosting them costs the established items' lists
            cand_h = np.union1d(cand_w, zs0)
            Vh = V.copy()

            junk0 = np.setdiff1d(zs0, split.probe_items)
            cand_wz = np.union1d(cand_w, junk0)
            report["zero_shot_scale_warm"] = {}
            hybrid_probe = RankingProbe(truth, users_h, cand_h, exclude=fit_on)
            warm_probe = RankingProbe(split.probe_pairs, users_w, cand_wz, exclude=fit_on)

            warm_ref = report["free_sweeps"][self.free_sweeps_]  # no zero-shot item among the warm

            def hybrid_score(z):  # mixed lists, as long as the established ones lose < 2 %
                Vh[zs0] = z * Z_sel
                h = report["zero_shot_scale"][z] = hybrid_probe.score(U, Vh)
                w = report["zero_shot_scale_warm"][z] = warm_probe.score(U, Vh)
                return h if w >= WARM_TOLERANCE * warm_ref else w / max(warm_ref, 1e-12) - 2.0

            # attributes that rank the probe items no better than chance are not trusted: their
            # zero-shot vectors get the smallest scale (a boost would only buy the protocol's
            # mixed lists, whose truth holds every interaction of the new items, with noise)
            # (at a cut-off of a tenth of the probe items, so that chance stays small and a lift
            # of perfect attributes large on a small catalog too)
            lift_probe = RankingProbe(split.probe_item_pairs, users_c, split.probe_items,
                                      K=max(1, min(VALIDATION_K, len(split.probe_items) // 10)))
            Vc = np.zeros_like(V)
            Vc[zs0] = Z_sel
            report["attribute_lift"] = lift = lift_probe.score(U, Vc) / max(lift_probe.chance(), 1e-12)
            if _auto(self.zero_shot_scale):
                self.zero_shot_scale_ = (ZERO_SHOT_SCALE_GRID[0] if lift < MIN_ATTRIBUTE_LIFT else
                                         _search_grid(ZERO_SHOT_SCALE_GRID, ZERO_SHOT_SCALE_START, hybrid_score))
            # 5. completion on every training pair, from the chosen state
            cui = (alpha * user_items).astype(np.float32).tocsr()
            ciu = cui.T.tocsr()
            Xc = Xw if cols is None else Xw[:, cols]
            if self.free_sweeps_ == 0:  # still content-constrained: users against X W, items a half-step
                V = np.zeros_like(V)
                V[warm] = np.asarray(Xc[warm] @ W_joint, dtype=np.float32)
                solver(cui, U, V, reg, num_threads=threads)
                solver(ciu, V, U, reg, num_threads=threads)
            else:  # the internal zero-shot items from their attributes first, then free sweeps
                V[zs0] = np.asarray(Xc[zs0] @ W_sel, dtype=np.float32) * np.float32(rms_warm / max(ref_sel, 1e-12))
                solver(ciu, V, U, reg, num_threads=threads)
                for _ in range(COMPLETION_SWEEPS):
                    solver(cui, U, V, reg, num_threads=threads)
                    solver(ciu, V, U, reg, num_threads=threads)
            # the users last, on the final items, solved to convergence (as recalculate_user
            # computes a user: an exact solve)
            from implicit.cpu._als import least_squares_cg

            least_squares_cg(cui, U, V, reg, num_threads=threads, cg_steps=FINAL_USER_CG_STEPS)
            # the final map by the recipe that was validated: TUNED_MAP_ITERS steps at the
            # chosen penalty from the joint fit's map, with the final users and every warm item
            X_warm, cols_f, d = active_columns(Xw[warm])
            W = np.zeros((X_warm.shape[1], V.shape[1]), np.float32)
            W[slice(None) if cols is None else (cols if cols_f is None else np.searchsorted(cols_f, cols))] = W_joint
            cols = cols_f
        W = fit_map_on_interactions(X_warm, cui.T.tocsr()[np.flatnonzero(warm)], U, self.map_alpha_, W,
                                    iters=TUNED_MAP_ITERS, num_threads=threads)
        self.mapper_ = self._fitted_map(W, cols, d)
        als.user_factors, als.item_factors = U, V
        self.collaborative_ = als
        self.validation_ = report
        _check_finite(U, V)
        return U, V, self._predict(Xw)

    def _fit_plugin_map(self, col, user_items, Xw, warm, users, items):
        """The map for a backend's fixed factors: with a custom ``mapper`` a regression on the
        warm item vectors; otherwise the same map family as the default fit, started by a ridge
        on the item vectors and refined on the ALS loss with the backend's users."""
        if self.mapper is not None:
            return self._make_mapper().fit(Xw[warm], items[warm])
        X_warm, cols, d = active_columns(Xw[warm])
        threads = self.num_threads
        W = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=PLUGIN_INIT_ITERS, tol=0.0,
                     num_threads=threads).fit(X_warm, items[warm]).coef_
        alpha = float(getattr(col, "alpha", self._alpha_for(user_items, None)))
        ciu = (alpha * user_items).astype(np.float32).T.tocsr()[np.flatnonzero(warm)]
        W = fit_map_on_interactions(X_warm, ciu, users, self.map_alpha_, W, iters=PLUGIN_MAP_ITERS,
                                    num_threads=threads)
        return self._fitted_map(W, cols, d)

    def _fitted_map(self, W: np.ndarray, cols: np.ndarray | None, d: int) -> RidgeMap:
        """The map ``x -> x W`` as a fitted RidgeMap (no intercept), ``W`` (n_active, k) on the
        active attribute columns ``cols`` of ``d`` (see :func:`~coldstart.core.mapping.active_columns`). Only the active
        rows are kept (``mapper.columns_``): memory and file size follow the attributes the
        fitted items use, not the declared width."""
        mapper = RidgeMap(alpha=getattr(self, "map_alpha_", self.map_alpha), fit_intercept=False)
        mapper.set_coef(np.ascontiguousarray(W, dtype=np.float32), cols, d)
        mapper.intercept_, mapper.n_iter_ = np.zeros(W.shape[1], np.float32), 0
        return mapper

    def _run_option(self, name: str):
        """An option of the running :meth:`fit` (progress bar, callback)."""
        run = self.__dict__.get("_run")
        if run is None:
            return self.show_progress if name == "progress" else None
        return run[name]

    def _sweep_done(self) -> None:
        """Count an ALS sweep of the running fit and tell its callback."""
        run = self.__dict__.get("_run")
        if run is not None:
            run["sweep"] += 1
            if run["callback"] is not None:
                run["callback"](run["sweep"], time.perf_counter() - run["start"])

    def _self_tuned(self) -> bool:
        """Whether the default fit chooses any setting on an internal split."""
        return (_auto(self.free_sweeps) or self.free_sweeps != 0 or _auto(self.map_alpha)
                or _auto(self.zero_shot_scale))

    def _resolve_settings(self) -> None:
        """The settings in use before any is chosen: given numbers, or the fixed defaults."""
        self.map_alpha_ = CC_MAP_ALPHA if _auto(self.map_alpha) else float(self.map_alpha)
        self.zero_shot_scale_ = (DEFAULT_ZERO_SHOT_SCALE if _auto(self.zero_shot_scale)
                                 else float(self.zero_shot_scale))
        self.free_sweeps_ = 0 if _auto(self.free_sweeps) else int(self.free_sweeps)
        self.validation_ = None

    def _alpha_for(self, user_items, als) -> float:
        """``alpha``, or with "auto" 0.05 / density: positives then carry about 5 % of the weight
        of the unobserved mass whatever the catalog's sparsity."""
        if self.collaborative is not None and als is not None:
            return float(als.alpha)
        if self.alpha != "auto":
            return float(self.alpha)
        density = user_items.nnz / float(user_items.shape[0] * user_items.shape[1])
        return float(np.clip(0.05 / density, 1.0, 1000.0))

    def _resolve_prior_weight(self, user_items: sp.csr_matrix, users: np.ndarray) -> float:
        """``prior_weight``, or with "auto" the attribute prior worth ``PRIOR_INTERACTIONS``
        typical interactions: that many times the mean, over observed pairs, of the precision
        one interaction adds per dimension, ``(c_ui - 1) ||u_u||^2 / k``. A new item's first
        interactions then move it at a rate that does not depend on the catalog's scale."""
        if self.prior_weight != "auto":
            return float(self.prior_weight)
        conf = self._alpha() * user_items.data.astype(np.float64)
        pair_user = np.repeat(np.arange(user_items.shape[0]), np.diff(user_items.indptr))
        sq = np.einsum("ij,ij->i", users, users).astype(np.float64)[pair_user]
        per = float(np.mean(np.maximum(conf - 1.0, 0.0) * sq)) / users.shape[1] if conf.size else 0.0
        return float(max(PRIOR_INTERACTIONS * per, 1e-6))

    def _make_weighting(self):
        if self.weighting == "auto":
            # a featurizer already weights and balances its blocks: keep its relative weights and
            # only put the rows on the unit scale the map's penalty is calibrated for
            if self.featurizer_ is not None:
                return AttributeWeighting(scheme="unit", norm=None)
            return AttributeWeighting()
        if self.weighting is None:
            return None
        if isinstance(self.weighting, str):
            raise ValueError(f"weighting must be 'auto', None or a transformer; received {self.weighting!r}")
        return clone(self.weighting)

    def _make_mapper(self):
        return RidgeMap(alpha=self.map_alpha_) if self.mapper is None else clone(self.mapper)

    def _predict(self, Xw) -> np.ndarray:
        V = np.asarray(self.mapper_.predict(Xw), dtype=np.float32)
        if V.ndim == 1:
            V = V[:, None]
        return np.ascontiguousarray(V)

    def _check_params(self) -> None:
        """Validate every constructor parameter (called by ``fit`` and on loading): the error
        names the parameter, the value received and what is expected."""
        _check_int(self.factors, "factors", 1, MAX_FACTORS)
        _check_int(self.iterations, "iterations", 1, MAX_ITERATIONS)
        _check_int(self.num_threads, "num_threads", 0, MAX_THREADS, "0 = all cores")
        if self.random_state is not None:
            _check_int(self.random_state, "random_state", 0, 2**32 - 1, "or None")
        check_positive(self.regularization, "regularization", allow_zero=True)
        if not _auto(self.alpha):
            _check_number(self.alpha, "alpha", "'auto' or a positive number", lambda v: v > 0)
        if not _auto(self.map_alpha):
            _check_number(self.map_alpha, "map_alpha", "a non-negative number", lambda v: v >= 0)
        if not _auto(self.prior_weight):
            _check_number(self.prior_weight, "prior_weight", "'auto' or a non-negative number",
                          lambda v: v >= 0)
        if not _auto(self.zero_shot_scale):
            _check_number(self.zero_shot_scale, "zero_shot_scale", "a positive number", lambda v: v > 0)
        fs = getattr(self, "free_sweeps", "auto")
        if not _auto(fs) and not (isinstance(fs, (int, np.integer)) and not isinstance(fs, bool)
                                  and 0 <= fs <= 1000):
            raise ValueError(f"free_sweeps must be 'auto' or an integer in [0, 1000]; received {fs!r}")
        _check_number(self.zero_shot_norm_power, "zero_shot_norm_power", "a number in [0, 1]",
                      lambda v: 0.0 <= v <= 1.0)
        if not isinstance(self.show_progress, (bool, np.bool_)):
            raise TypeError(f"show_progress must be True or False; received {self.show_progress!r}")
        w = self.weighting
        if not (w is None or _auto(w) or (not isinstance(w, str) and hasattr(w, "fit")
                                          and hasattr(w, "transform"))):
            raise ValueError(f"weighting must be 'auto', None or a transformer with fit/transform "
                             f"(e.g. coldstart.AttributeWeighting()); received {w!r}")
        if self.mapper is not None and not (hasattr(self.mapper, "fit") and hasattr(self.mapper, "predict")):
            raise TypeError(f"mapper must be None or a regressor with fit/predict; received {self.mapper!r}")
        col = self.collaborative
        if col is not None and not (hasattr(col, "fit") or is_fitted_model(col)):
            raise TypeError(f"collaborative must be None or an implicit-style model with fit(user_items) "
                            f"and user_factors/item_factors; received {col!r}")
        fz = self.featurizer
        if fz is not None and not (hasattr(fz, "fit_transform") and hasattr(fz, "transform")):
            raise TypeError(f"featurizer must be None or a transformer with fit_transform/transform "
                            f"(e.g. coldstart.ItemFeaturizer()); received {fz!r}")

    def _length_factor(self, V: np.ndarray) -> np.ndarray:
        """Per-row factor ``(content_norm_ / |v|) ** zero_shot_norm_power`` (n,); 1 for zero rows."""
        return _length_factors(V, getattr(self, "content_norm_", None), float(self.zero_shot_norm_power))

    def _calibrate(self, V: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The map's predictions (n, k) with lengths pulled toward ``content_norm_``, times
        ``scale``: float32, in place when ``V`` is a float32 C-contiguous array."""
        V = np.ascontiguousarray(V, dtype=np.float32)
        V *= (scale * self._length_factor(V)).astype(np.float32)[:, None]
        return V

    def _embed(self, X) -> np.ndarray:
        """Zero-shot vectors: the map's prediction, length-calibrated, times ``zero_shot_scale``."""
        Xw = self.weighting_.transform(X) if self.weighting_ is not None else X
        V = self._predict(Xw)
        if V.shape[1] != self._n_factors():
            raise ValueError(f"mapper predicted shape {V.shape}; expected (n, {self._n_factors()})")
        return self._calibrate(V, self.zero_shot_scale_)  # V is the prediction's own array

    def _n_factors(self) -> int:
        return self._k

    def _invalidate(self) -> None:
        self._item_norms = None
        self._gram_items = None
        self._gram_users = None

    # ------------------------------------------------------------------ uncertainty
    def _refresh_uncertainty(self, user_items, new_items=None, exposures=None) -> None:
        """Every item's posterior spread from the final state of a fit (``item_variance_``):
        established items (interactions, not ``new_items``) count every user as having seen
        them; items still warming up count the users they were shown to (``exposures``) or
        interacted with; items without either keep their attribute prior's spread."""
        users, items = self._users.view, self._items.view
        n_users, n_items = users.shape[0], items.shape[0]
        G = gram_matrix(users)
        ev, Q = _user_eigen(G)
        self._noise = _noise_variance(user_items, users, items, self._alpha())
        self._user_sq = float(np.trace(G)) / max(n_users, 1)
        lam_new = self._reg() + max(self.prior_weight_, 1e-12)
        var = np.full(n_items, self._zero_shot_variance(), dtype=np.float64)
        share = np.ones(n_items)
        ciu = user_items.T.tocsr()
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
            for lo in range(0, est.size, _SPREAD_BLOCK):
                b = est[lo:lo + _SPREAD_BLOCK]
                v, _ = _spread(ciu[b], None, F2, ev, self._reg(), self._alpha(), established=True)
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
        """``(variance, share)`` (b,) of items warming up from their prior (:func:`_spread` on
        the users they touch only), the variance scaled to score units."""
        Ex = rows if exposed is None else (rows + exposed)
        cols = np.unique(sp.csr_matrix(Ex).indices)
        F2 = np.square(np.asarray(users[cols], dtype=np.float64) @ Q)

        def local(M):
            M = sp.csr_matrix(M, dtype=np.float64)
            return sp.csr_matrix((M.data, np.searchsorted(cols, M.indices), M.indptr),
                                 shape=(M.shape[0], len(cols)))

        v, share = _spread(local(rows), None if exposed is None else local(exposed), F2, ev, lam,
                           self._alpha())
        return v * self._noise / max(users.shape[0], 1), share

    def _zero_shot_variance(self) -> float:
        """Score variance, for a typical user, of an item on its attribute prior alone:
        ``noise * mean |u|^2 / (regularization + prior_weight_)`` (the prior is isotropic)."""
        lam = self._reg() + max(self.prior_weight_, 1e-12)
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

    # ------------------------------------------------------------------ fitted state
    @property
    def user_factors_(self) -> np.ndarray:
        """ndarray of shape (n_users, n_factors)."""
        check_is_fitted(self)
        return self._users.view

    @property
    def item_factors_(self) -> np.ndarray:
        """ndarray of shape (n_items, n_factors)."""
        check_is_fitted(self)
        return self._items.view

    @property
    def is_zero_shot_(self) -> np.ndarray:
        """ndarray of bool, shape (n_items,): vectors that come from attributes alone."""
        check_is_fitted(self)
        return self._zero_shot.view

    # ------------------------------------------------------------------ new items
    def embed_items(self, item_features) -> np.ndarray:
        """Zero-shot factors of shape (n, n_factors) for attributes of shape (n, n_features)."""
        check_is_fitted(self)
        if getattr(self, "featurizer_", None) is not None and hasattr(item_features, "columns"):
            item_features = self.featurizer_.transform(item_features)
        X = check_item_features(item_features, n_features=self.n_features_in_)
        return self._embed(X)

    @_writing
    def add_items(self, item_features) -> np.ndarray:
        """Append new items from their attributes; returns their indices, shape (n,).

        Costs O(n) amortised: no retraining, no copy of the existing factors. All or nothing:
        the attributes are checked and the vectors computed before anything changes; serving
        calls in other threads see the catalog before or after the addition, never a mix.
        """
        V = self.embed_items(item_features)
        if not np.all(np.isfinite(V)):
            raise FloatingPointError("add_items: the attributes gave NaN/inf vectors (a damaged map or "
                                     "featurizer?); nothing was added")
        var0 = self._zero_shot_variance()
        with self._gate().publishing():
            n = len(V)
            for buf in (self._items, self._prior, self._zero_shot, self._variance, self._share):
                buf.reserve(n)  # every allocation first: the appends below cannot fail half-way
            idx = self._items.append(V)
            self._prior.append(V)
            self._zero_shot.append(np.ones(n, dtype=bool))
            self._variance.append(np.full(n, var0, dtype=np.float32))
            self._share.append(np.ones(n, dtype=np.float32))
            self.n_items_ = len(self._items)
            norms = self._item_norms
            if norms is not None:  # zero-shot items leave the warm Gram matrix unchanged
                self._item_norms = np.concatenate([norms, _row_norms(V)])
        return idx

    @_writing
    def partial_fit_items(self, itemids, item_users, item_exposures=None) -> "ColdStartRecommender":
        """Refit the vectors of ``itemids`` from all their interactions, starting from their prior.

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

        The solution minimises the ALS loss of the item's interactions plus a Gaussian prior
        of precision ``prior_weight_`` centred so that an item without interactions keeps its
        zero-shot vector: a first interaction moves it from where its attributes put it, many
        take it to its collaborative vector. An item without interactions is reset to its
        zero-shot vector.
        """
        check_is_fitted(self)
        ids, _ = check_ids(itemids, self.n_items_, "itemids")
        if ids.size and np.asarray(itemids).dtype.kind == "f" and not np.array_equal(
                np.atleast_1d(np.asarray(itemids, dtype=np.float64)), ids):
            raise TypeError(f"itemids must be integer item indices; received {itemids!r}")
        item_users = check_user_items(item_users, "item_users", n_items=self.n_users_, allow_empty=True)
        if item_users.shape[0] != len(ids):
            raise ValueError(f"item_users must have one row per item in itemids ({len(ids)}); "
                             f"received shape {item_users.shape}")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("itemids contains repeated items; expected each item once")
        users = self._users.view
        if self._gram_users is None:
            self._gram_users = gram_matrix(users)
        # Posterior mean from the item's zero-shot vector z with all its interactions:
        # v = z + (U'U + (reg + prior_weight) I + sum (c-1) u u')^-1 (sum c u - sum (c-1) u u' z),
        # the minimiser of the item's ALS loss plus a prior placed so that no interaction
        # gives exactly z. The placement holds every user without an interaction at z's score
        # (the U'U z in the mean), so without impressions even many interactions leave much of
        # z; with item_exposures only the users who have not seen the item are held there
        # (b - A z - E z on the right), and an item shown to everyone is collaborative.
        if item_exposures is not None:
            item_exposures = check_user_items(item_exposures, "item_exposures", n_items=self.n_users_,
                                              allow_empty=True)
            if item_exposures.shape[0] != len(ids):
                raise ValueError(f"item_exposures must have one row per item in itemids ({len(ids)}); "
                                 f"received shape {item_exposures.shape}")
        V = solve_from_prior(item_users, users, self._reg(), self._alpha(), self._prior.view[ids],
                             max(self.prior_weight_, 1e-12), gram=self._gram_users, exposed=item_exposures)
        has = np.diff(item_users.indptr) > 0
        if item_exposures is not None:  # shown without an interaction: moved too (still zero-shot:
            has = has | (np.diff(item_exposures.indptr) > 0)  # no interaction to fold users in on)
        V[~has] = self._prior.view[ids[~has]]
        if not np.all(np.isfinite(V)):
            raise FloatingPointError("partial_fit_items produced NaN/inf vectors; nothing was changed")
        zero = np.diff(item_users.indptr) == 0
        var = np.full(len(ids), self._zero_shot_variance())
        share = np.ones(len(ids))
        if has.any():  # the posterior's spread (item_variance_) and the prior's share of its mean
            ev, Q = _user_eigen(self._gram_users)
            var[has], share[has] = self._spread_of(
                item_users[has], None if item_exposures is None else item_exposures[has], users, ev, Q,
                self._reg() + max(self.prior_weight_, 1e-12))
        with self._gate().publishing():  # readers see all of these rows changed, or none
            self._items.view[ids] = V
            self._zero_shot.view[ids] = zero
            self._variance.view[ids] = var
            self._share.view[ids] = share
            self._item_norms = None
            self._gram_items = None
        return self

    @_writing
    def partial_fit_users(self, userids, user_items) -> "ColdStartRecommender":
        """Recompute (or add) user vectors from their interactions.

        userids : array-like of int, shape (n,)
            Distinct user indices; new users take the next indices ``n_users_, n_users_ + 1,
            ...`` (no gaps).
        user_items : sparse matrix of shape (n, n_items_), rows in the order of ``userids``.

        All or nothing: everything is checked and the vectors computed before any change.
        """
        check_is_fitted(self)
        ids = _check_user_ids(userids, self.n_users_)
        user_items = check_user_items(user_items, n_items=self.n_items_, allow_empty=True)
        if user_items.shape[0] != len(ids):
            raise ValueError(f"user_items must have one row per user in userids ({len(ids)}); "
                             f"received shape {user_items.shape}")
        U = self._recalculate_users(user_items)
        if not np.all(np.isfinite(U)):
            raise FloatingPointError("partial_fit_users produced NaN/inf vectors; nothing was changed")
        n_new = int(np.count_nonzero(ids >= self.n_users_))
        with self._gate().publishing():  # readers see all of these users changed, or none
            if n_new:
                self._users.reserve(n_new)
                self._users.append(np.zeros((n_new, U.shape[1]), dtype=np.float32))
            self._users.view[ids] = U
            self.n_users_ = len(self._users)
            self._gram_users = None
        return self

    def _reg(self) -> float:
        return self._cf_reg

    def _alpha(self) -> float:
        return self._cf_alpha

    def _recalculate_users(self, user_items: sp.csr_matrix) -> np.ndarray:
        items = self._items.view
        if self._gram_items is None:
            # as in training, the unobserved-negative term runs over items with interactions
            # only: zero-shot items (and their boosted scale) must not drag every user vector
            self._gram_items = gram_matrix(items[~self._zero_shot.view])
        return fold_in(items, user_items, self._reg(), self._alpha(), gram=self._gram_items)

    # ------------------------------------------------------------------ serving
    @_serving
    def recommend(self, userid, user_items, N: int = 10, filter_already_liked_items: bool = True,
                  filter_items=None, recalculate_user: bool = False, items=None, calibrated: bool = False,
                  exploration: str | None = None, exploration_weight: float = EXPLORATION_WEIGHT,
                  random_state=None):
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
            spread's noise scale is a rough estimate, and 0.3 gave the most clicks among 0.1 /
            0.3 / 1 in the default world's 20-step simulation, ``benchmarks/live_cold_start.py``).
        random_state : int, optional
            Seed of the Thompson draws (the same seed gives the same lists).

        Returns
        -------
        ids : ndarray of int32, shape (N,) for a scalar ``userid``, (n_users, N) otherwise
            ``-1`` where fewer candidates remain.
        scores : ndarray of float32, same shape; ``-inf`` for padding and liked-last items.
        """
        check_is_fitted(self)
        N = check_n(N)
        adjust = _check_serving(calibrated, exploration, exploration_weight, random_state)
        scalar = np.isscalar(userid) or (isinstance(userid, np.ndarray) and userid.ndim == 0)
        uids = np.atleast_1d(np.asarray(userid))
        rows = query_rows(user_items, len(uids), self.n_items_,
                          needed=bool(filter_already_liked_items or recalculate_user))
        if recalculate_user:
            U = self._recalculate_users(rows)
        else:
            uids, _ = check_ids(uids, self.n_users_, "userid", kind="user")
            U = self._users.view[uids]
        cand, banned = candidates(items, filter_items, self.n_items_)
        factors = self._items.view if cand is None else self._items.view[cand]
        liked = rows if filter_already_liked_items else None
        filt = liked if (liked is None or cand is None) else _restrict_columns(liked, cand, self.n_items_)
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
                S[:, banned] = -_FLT_MAX
            if filt is not None:
                r, c = filt[lo:lo + block].nonzero()
                S[r, c] = -_FLT_MAX
            top = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < n_c else np.tile(np.arange(n_c), (len(S), 1))
            order = np.argsort(-np.take_along_axis(S, top, axis=1), axis=1, kind="stable")
            ids[lo:lo + block] = np.take_along_axis(top, order, axis=1)
            scores[lo:lo + block] = np.take_along_axis(S, ids[lo:lo + block], axis=1)
        return ids, scores

    @_serving
    def similar_items(self, itemid, N: int = 10, recalculate_item: bool = False, item_users=None,
                      filter_items=None, items=None):
        """Items most similar (cosine of vectors) to ``itemid``, warm or zero-shot alike.

        Parameters
        ----------
        itemid : int or array-like of shape (n,)
        N : int
        recalculate_item : bool, default False
            Compute the query items' vectors from ``item_users`` (implicit-ALS fold-in over
            the user factors, as implicit does) instead of using the stored ones; for an item
            the model does not know, ``itemid`` is then only its row in ``item_users``. The
            attribute prior is not used (it needs the item's attributes: ``add_items``).
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
            rows = query_rows(item_users, len(qids), self.n_users_, needed=True, rows_of="item in itemid",
                              name="item_users", cols_of="user")
            users = self._users.view
            gram = gram_matrix(users)
            known = (qids >= 0) & (qids < self.n_items_)
            q = np.empty((len(qids), users.shape[1]), dtype=np.float32)
            if known.any():  # what partial_fit_items would give: the posterior around the prior
                q[known] = solve_from_prior(rows[np.flatnonzero(known)], users, self._reg(), self._alpha(),
                                            self._prior.view[qids[known]], max(self.prior_weight_, 1e-12),
                                            gram=gram)
            if (~known).any():  # an item the model does not know: plain fold-in (no prior)
                q[~known] = fold_in(users, rows[np.flatnonzero(~known)], self._reg(), self._alpha(), gram=gram)
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

    @_serving
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

    # ------------------------------------------------------------------ explanations
    def explain_item(self, item_features, feature_names=None, top: int = 10):
        """DataFrame of the attributes that contributed most to this item's zero-shot vector."""
        from coldstart.features.explain import explain_item

        return explain_item(self, item_features, feature_names, top)

    def explain_score(self, userid: int, item_features, feature_names=None, top: int = 10):
        """DataFrame of the attributes that contributed most to the item's score for ``userid``."""
        from coldstart.features.explain import explain_score

        return explain_score(self, userid, item_features, feature_names, top)

    def nearest_established(self, itemid: int, N: int = 10):
        """DataFrame of the established items closest to ``itemid``."""
        from coldstart.features.explain import nearest_established

        return nearest_established(self, itemid, N)

    # ------------------------------------------------------------------ persistence
    def save(self, path, key: bytes | str | None = None) -> None:
        """Write the fitted model to one file at exactly ``path`` (atomic; no pickle).

        key : bytes or str, optional
            A secret to sign the file with (HMAC-SHA256); ``load(path, key=...)`` then refuses
            any file not signed with it (forged or modified).
        """
        from coldstart.core.persistence import save_model

        save_model(self, path, key=key)

    @classmethod
    def load(cls, path, key: bytes | str | None = None) -> "ColdStartRecommender":
        """Read a model written by :meth:`save`. Never unpickles; every malformed, damaged or
        out-of-range file raises :class:`~coldstart.core.persistence.ModelFileError`. With ``key``,
        the file must be signed with it."""
        from coldstart.core.persistence import load_model

        return load_model(path, cls, key=key)

    def _get_state(self) -> dict:
        """Arrays and JSON metadata of the fitted state (see :mod:`coldstart.core.persistence`)."""
        col = self.collaborative_
        return {
            "arrays": {"user_factors": self._users.view, "item_factors": self._items.view,
                       "item_prior": self._prior.view, "is_zero_shot": self._zero_shot.view,
                       "item_variance": self._variance.view, "prior_share": self._share.view},
            "meta": {"n_users": int(self.n_users_), "n_items": int(self.n_items_),
                     "n_features_in": int(self.n_features_in_), "prior_weight": float(self.prior_weight_),
                     "content_constrained": bool(self.content_constrained_),
                     "content_norm": getattr(self, "content_norm_", None),
                     "noise_variance": float(self._noise),
                     "settings": {k: _plain(getattr(self, k + "_")) for k in _SETTINGS
                                  if getattr(self, k + "_", None) is not None}},
            "collaborative_meta": {"class": None if col is None else type(col).__name__,
                                   "regularization": self._cf_reg, "alpha": self._cf_alpha},
        }

    def _set_state(self, meta: dict, collaborative: dict, arrays: dict) -> None:
        """Restore a state written by :meth:`_get_state`, checking every value first (shapes,
        dtypes, finite factors, parameters in range): ValueError/TypeError, nothing set."""
        users, items = arrays["user_factors"], arrays["item_factors"]
        prior, zero = arrays["item_prior"], arrays["is_zero_shot"]
        n_users = _meta_int(meta, "n_users", 0)  # 0: Spark's map-only shells
        n_items = _meta_int(meta, "n_items", 0)
        n_features = _meta_int(meta, "n_features_in", 1)
        for name, a in (("user_factors", users), ("item_factors", items), ("item_prior", prior)):
            if not np.issubdtype(a.dtype, np.floating) or a.ndim != 2:
                raise ValueError(f"{name} must be a 2-D float array; received {a.dtype} {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} holds NaN or infinite values; expected finite factors")
        if zero.dtype != bool:
            raise ValueError(f"is_zero_shot must be boolean; received {zero.dtype}")
        if users.shape[0] != n_users or items.shape[0] != n_items or prior.shape != items.shape \
                or zero.shape != (n_items,) or users.shape[1] != items.shape[1] or items.shape[1] < 1:
            raise ValueError("array shapes do not match the metadata")
        prior_weight = _meta_float(meta, "prior_weight", "a non-negative number", lambda v: v >= 0)
        if not isinstance(meta["content_constrained"], bool):
            raise ValueError(f"content_constrained must be a bool; received {meta['content_constrained']!r}")
        cn = meta.get("content_norm")  # absent in files written before the length calibration
        if cn is not None:
            cn = _meta_float(meta, "content_norm", "a non-negative number or None", lambda v: v >= 0)
        cf_reg = _meta_float(collaborative, "regularization", "a non-negative number", lambda v: v >= 0)
        cf_alpha = _meta_float(collaborative, "alpha", "a positive number", lambda v: v > 0)
        settings = meta.get("settings", {})
        if not isinstance(settings, dict) or set(settings) - set(_SETTINGS):
            raise ValueError(f"settings must map some of {_SETTINGS}; received {settings!r}")
        if "zero_shot_scale" in settings:
            _meta_float(settings, "zero_shot_scale", "a positive number", lambda v: v > 0)
        if "map_alpha" in settings:
            _meta_float(settings, "map_alpha", "a non-negative number", lambda v: v >= 0)
        if "free_sweeps" in settings:
            _meta_int(settings, "free_sweeps", 0)
        # the posterior's spread: absent in older files (and Spark's), then computed below
        noise = 1.0 if meta.get("noise_variance") is None else _meta_float(
            meta, "noise_variance", "a positive number", lambda v: v > 0)
        variance, share = arrays.get("item_variance"), arrays.get("prior_share")
        if (variance is None) != (share is None):
            raise ValueError("item_variance and prior_share must be stored together")
        if variance is not None:
            for name, a, hi in (("item_variance", variance, np.inf), ("prior_share", share, 1.0)):
                if not np.issubdtype(a.dtype, np.floating) or a.shape != (n_items,):
                    raise ValueError(f"{name} must be a float array of shape ({n_items},); "
                                     f"received {a.dtype} {a.shape}")
                if not (np.all(np.isfinite(a)) and np.all(a >= 0) and np.all(a <= hi)):
                    raise ValueError(f"{name} must hold finite values in [0, {hi}]")
        # every value checked: now set
        self._users, self._items = RowBuffer(users), RowBuffer(items)
        self._prior, self._zero_shot = RowBuffer(prior), RowBuffer(zero, dtype=bool)
        self.n_users_, self.n_items_ = n_users, n_items
        self._k = items.shape[1]
        self.n_features_in_ = n_features
        self.prior_weight_ = prior_weight
        self.content_constrained_ = meta["content_constrained"]
        self.content_norm_ = cn
        self._cf_reg, self._cf_alpha = cf_reg, cf_alpha
        self._noise = noise
        self._user_sq = float(np.einsum("ij,ij->", users, users, dtype=np.float64)) / max(n_users, 1)
        if variance is None:  # zero-shot items on their prior, the others as established
            ev, _ = _user_eigen(gram_matrix(users))
            est = noise * float(np.sum(ev / np.maximum(ev + cf_reg, 1e-30))) / max(n_users, 1)
            variance = np.where(zero, noise * self._user_sq / (cf_reg + max(prior_weight, 1e-12)), est)
            share = zero.astype(np.float32)
        self._variance = RowBuffer(np.asarray(variance, dtype=np.float32))
        self._share = RowBuffer(np.asarray(share, dtype=np.float32))
        self._resolve_settings()  # files without settings (and Spark's shells): the parameters
        for k, v in settings.items():  # the settings fit chose
            setattr(self, k + "_", v)
        self.collaborative_ = None  # the factors are what serving needs; refit to get the object back
        if not hasattr(self, "featurizer_"):
            self.featurizer_ = None
        self._invalidate()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_items")

    # ------------------------------------------------------------------ threads
    def _gate(self) -> ReadWriteGate:
        """The model's reader/writer gate (created once, on first use; never pickled)."""
        gate = self.__dict__.get("_rw_gate")
        if gate is None:
            with _GATE_INIT:
                gate = self.__dict__.get("_rw_gate")
                if gate is None:
                    gate = self._rw_gate = ReadWriteGate()
        return gate

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_rw_gate", None)  # locks do not pickle or copy; a copy gets its own
        return state

    def _norms_of(self, factors: np.ndarray) -> np.ndarray:
        """Row norms (n,) of the item factors (zeros as 1e-10), cached until the items change."""
        norms = self._item_norms
        if norms is None or len(norms) != len(factors):
            norms = _row_norms(factors)
            self._item_norms = norms
        return norms


#: Settings chosen in ``fit`` (the ``<name>_`` attributes, where the model has them) that a
#: saved model keeps.
_SETTINGS = ("zero_shot_scale", "map_alpha", "free_sweeps")


_FLT_MAX = float(np.finfo(np.float32).max)


def _check_serving(calibrated: Any, exploration: Any, weight: Any, seed: Any) -> bool:
    """Check ``recommend``'s serving options; True when they change the scores."""
    if not isinstance(calibrated, (bool, np.bool_)):
        raise TypeError(f"calibrated must be True or False; received {calibrated!r}")
    if exploration is not None and not (isinstance(exploration, str) and exploration in EXPLORATION_MODES):
        raise ValueError(f"exploration must be None or one of {EXPLORATION_MODES}; received {exploration!r}")
    _check_number(weight, "exploration_weight", "a non-negative number", lambda v: v >= 0)
    if seed is not None:
        _check_int(seed, "random_state", 0, 2**32 - 1, "or None")
    return bool(calibrated) or exploration is not None


def _auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _check_int(value: Any, name: str, lo: int, hi: int, note: str = "") -> None:
    """``value`` an integer (not a bool) in [lo, hi], else a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer >= {lo}")
        raise ValueError(f"{name} must be {what}; received {value!r} (expected {lo} to {hi}"
                         f"{', ' + note if note else ''})")


def _check_number(value: Any, name: str, expected: str, ok) -> None:
    """``value`` a finite real number (not a bool) with ``ok(value)``, else a ValueError."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))
            or not np.isfinite(value) or not ok(value)):
        raise ValueError(f"{name} must be {expected}; received {value!r}")


def _row_norms(V: np.ndarray) -> np.ndarray:
    """Row norms (n,) float32, zero rows as 1e-10 (cosine denominators)."""
    norms = np.sqrt(np.einsum("ij,ij->i", V, V, dtype=np.float64)).astype(np.float32)
    norms[norms == 0] = 1e-10
    return norms


def _check_user_ids(userids: Any, n_users: int) -> np.ndarray:
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


def _meta_int(meta: dict, key: str, lo: int) -> int:
    v = meta[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{key} must be an integer >= {lo}; received {v!r}")
    return v


def _meta_float(meta: dict, key: str, expected: str, ok) -> float:
    v = meta[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or not ok(v):
        raise ValueError(f"{key} must be {expected}; received {v!r}")
    return float(v)


def _implicit_als_class():
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares


def _restrict_columns(m: sp.csr_matrix, cand: np.ndarray, n: int) -> sp.csr_matrix:
    """Keep the columns in ``cand`` (sorted), renumbered to their positions in ``cand``."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[cand] = np.arange(len(cand))
    coo = m.tocoo()
    new = pos[coo.col]
    keep = new >= 0
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], new[keep])), shape=(m.shape[0], len(cand)))


def _rms(V: np.ndarray) -> float:
    """Root mean square row length of V (n, k); 0 for no rows."""
    if len(V) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.einsum("ij,ij->i", V, V, dtype=np.float64))))


def _length_factors(V: np.ndarray, ref: float | None, power: float) -> np.ndarray:
    """Per-row factors ``(ref / |v|) ** power`` (n,) that pull the lengths of V (n, k) ``power``
    of the way, in log, toward ``ref``; 1 for zero rows, and all 1 without ``ref`` or ``power``."""
    n = np.sqrt(np.einsum("ij,ij->i", V, V, dtype=np.float64))
    out = np.ones(len(n))
    if power and ref:
        pos = n > 0
        out[pos] = (ref / n[pos]) ** power
    return out


def _calibrated(V: np.ndarray, ref: float, power: float) -> np.ndarray:
    """Rows of V (n, k) with lengths pulled ``power`` of the way, in log, toward ``ref``."""
    return (V * _length_factors(V, ref, power)[:, None]).astype(np.float32)


def _check_finite(U: np.ndarray, V: np.ndarray) -> None:
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(V))):
        raise FloatingPointError("the content-constrained ALS produced NaN/inf factors; raise "
                                 "regularization or lower alpha")


def _search_grid(grid: tuple, start: int, score) -> Any:
    """The best value of an ordered ``grid`` for ``score(value)`` (higher is better), by a
    walk from ``grid[start]`` toward the better neighbour while it improves: a unimodal score
    costs about three evaluations instead of ``len(grid)``. Ties keep the smaller value."""
    s = {start: score(grid[start])}
    if start + 1 < len(grid):
        s[start + 1] = score(grid[start + 1])
    step = 1 if s.get(start + 1, -np.inf) > s[start] else -1
    i = start + 1 if step == 1 else start
    while 0 <= i + step < len(grid):
        s[i + step] = score(grid[i + step])
        if s[i + step] <= s[i]:
            break
        i += step
    return grid[max(s, key=lambda j: (s[j], -j))]


# ---------------------------------------------------------------------- uncertainty
#: Items per block when the fit computes every item's posterior spread (bounded memory).
_SPREAD_BLOCK = 8192


def _user_eigen(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (k,) clipped at 0 and eigenvectors (k, k) of the users' Gram ``U'U``."""
    ev, Q = np.linalg.eigh(np.asarray(gram, dtype=np.float64))
    return np.maximum(ev, 0.0), Q


def _spread(rows: sp.csr_matrix, exposed: sp.csr_matrix | None, F2: np.ndarray, ev: np.ndarray,
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


def _noise_variance(user_items: sp.csr_matrix, users: np.ndarray, items: np.ndarray, alpha: float) -> float:
    """The implicit-ALS loss per user-item pair at the fitted factors (unobserved pairs weigh 1
    toward 0, observed ones ``c = alpha * w`` toward 1), over the items with interactions: the
    noise variance the posterior's spread is scaled by."""

    ciu = user_items.T.tocsr()
    warm = np.flatnonzero(np.diff(ciu.indptr) > 0)
    if warm.size == 0 or users.shape[0] == 0:
        return 1.0
    V = np.ascontiguousarray(items[warm], dtype=np.float32)
    C = ciu[warm]
    total = float(np.sum(gram_matrix(users) * gram_matrix(V)))  # sum over all pairs of s^2
    s = pair_dots(V, C, np.ascontiguousarray(users, dtype=np.float32)).astype(np.float64)
    c = alpha * C.data.astype(np.float64)
    total += float(np.sum(c * (1.0 - s) ** 2 - s ** 2))
    return max(total / (float(users.shape[0]) * warm.size), 1e-12)
