"""``ColdStartRecommender``: a collaborative model plus a map from item attributes to its factors."""

from __future__ import annotations

import copy
import threading
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from coldstart.core.buffer import ReadWriteGate, RowBuffer
from coldstart.core.calibration import calibrate_rows, rms
from coldstart.core.constants import (
    CC_MAP_ALPHA,
    DEFAULT_ZERO_SHOT_SCALE,
    MAX_FACTORS,
    MAX_ITERATIONS,
    MAX_THREADS,
)
from coldstart.core.factorization import active_counts, auto_alpha, is_fitted_model, median_weight
from coldstart.core.mapping import RidgeMap
from coldstart.core.serving import Serving, row_norms
from coldstart.core.solvers import gram_matrix, solve_from_prior
from coldstart.core.state import ModelState
from coldstart.core.strategies import FitStrategies
from coldstart.core.uncertainty import Uncertainty
from coldstart.core.users import ColdUsers, check_user_features
from coldstart.core.validation import (
    breakdown_error,
    check_ids,
    check_int,
    check_item_features,
    check_number,
    check_positive,
    check_user_items,
    is_auto,
)
from coldstart.core.warmup import Warmup, auto_prior_weight
from coldstart.core.weighting import AttributeWeighting

_GATE_INIT = threading.Lock()


class ColdStartRecommender(FitStrategies, Warmup, ColdUsers, Serving, Uncertainty, ModelState, BaseEstimator):
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
    map's penalty (``map_alpha``) and the zero-shot scale (``zero_shot_scale``), and with them
    how strongly the established items are regularised (``item_ridge_``: an extra ridge on
    their final solve). The choices and the held-out scores behind them are ``free_sweeps_``,
    ``map_alpha_``, ``zero_shot_scale_``, ``item_ridge_`` and ``validation_``; numbers given for
    the first three skip the internal split (and the extra ridge). Plug-in mode (a fitted
    backend) chooses the map's penalty and the zero-shot scale the same way, on a private copy
    of the backend refitted on the internal split: the backend's own factors stay as they are.

    Parameters
    ----------
    factors : int
        Latent dimensions of the default ALS, 1 to 4096 (ignored when ``collaborative`` is given). Item
        vectors are constrained to ``x_i W``, so the map's penalty, not ``factors``, bounds
        their freedom.
    regularization : float
        L2 penalty of the ALS solves (also used by fold-ins).
    alpha : float or "auto"
        Confidence scale of interactions: confidence = ``alpha * weight`` (implicit's
        convention). "auto": 1/16 / density (clipped to [1, 1000]) over the median weight, the
        density counted among the users and items with interactions, so that the observed
        interactions weigh about 6 % of the unobserved mass on any catalog, in any unit (binary
        data: 1/16 / density), whatever accounts or catalog items without interactions pad
        ``user_items``.
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
        global scale) when a featurizer already weighted the attributes. ``AttributeWeighting``
        reads non-negative columns as counts (tf-idf): raw continuous numbers (a year, a price)
        say little there; bin them (``ItemFeaturizer`` does) or standardise them first.
    map_alpha : float or "auto"
        Penalty of the map on the ALS loss, relative to the mean eigenvalue of the users' Gram
        matrix ``U'U`` (the units of the data term). "auto": chosen in {1, 3, 10, 30, 100} by
        the probe items' Recall@20 (a catalog whose attributes are coarse or noisy needs a
        heavier penalty); in plug-in mode the same way, on a private copy of the backend
        refitted on the internal split (implicit's ALS; 3 for other backends); 3 inside the
        content-constrained sweeps.
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
        items ranked together, among the scales that keep 98 % of the established items' best
        held-out recall over the scales (items without training pairs are among their
        candidates and boosted too, as new items are in served lists); in plug-in mode the
        same way, on the backend's private copy (the scale that suits a backend follows its
        confidence scale ``alpha``; 2 for backends other than implicit's ALS).
    zero_shot_norm_power : float in [0, 1]
        How far each zero-shot vector's length is pulled toward the typical length ``r`` (the
        RMS length of the map's predictions for the items with interactions, ``content_norm_``):
        the map's ``x W`` becomes ``x W (r / |x W|) ** p``. The map predicts an item's
        direction (whose users) much better than its length (how popular: what a ridge map
        shrinks by how familiar the item's attributes are), so ``p = 0.5`` — half-way in log
        length — ranks new items better (``benchmarks/ABLATION.md``); 0
        keeps the map's lengths, 1 gives every new item the same length.
    featurizer : transformer, optional
        E.g. :class:`~coldstart.features.featurizer.ItemFeaturizer`: then ``item_features`` everywhere
        may be a pandas DataFrame of raw item attributes, turned into a matrix by it.
    random_state : int, optional
        Seed (an integer in [0, 2**32 - 1]) of the initial factors; None: a fresh one each fit.
    num_threads : int
        Threads for ALS, the map's sparse products and batched top-k (0 = all cores; at most
        1024). Different thread counts give different factors: the threads split the map's sums
        over items differently, floating-point addition depends on the summation order, and
        where two settings score alike on the internal split the self-tuning's choice can go
        the other way (ml-latest-small at 1 and 2 threads: another zero-shot scale, top-20
        lists 92 % the same). The same ``num_threads`` (not 0, which follows the cores) and
        ``random_state`` give the same factors on the same machine.
    show_progress : bool
    free_sweeps : int or "auto"
        Free ALS sweeps (users and items both unconstrained) after the content-constrained
        ones: 0 keeps warm items near ``x_i W`` (attributes that explain the interactions);
        more let them move to what their interactions say (coarse attributes). "auto": as long
        as the probe pairs' Recall@20 improves (at most 5, stopped after 2 without gain), and
        none unless the best beats the content-constrained fit's by 5 %.

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
        The settings in use (chosen, given, or the fixed defaults where nothing is chosen). Free sweeps
        are chosen only when the best of them beats the content-constrained fit's held-out warm
        recall by 5 %.
    item_ridge_ : float
        The extra ridge of the established items' final ALS solve, in units of the mean
        eigenvalue of the users' Gram ``U'U`` (0: implicit's ``regularization`` alone), chosen
        by the internal split's warm probe among 0, 1, 3, 10, 30, 100; 0 when nothing is chosen.
        Every later item solve (warm-up posteriors of ``new_items`` and :meth:`partial_fit_items`,
        ``recalculate_item``, the posterior spread) uses the same ridge, so an item that warms
        up is regularised as the established ones are.
    user_mapper_ : fitted RidgeMap or None
        Map from weighted user attributes to user factors (``fit(user_features=...)``; None without).
    user_weighting_ : fitted AttributeWeighting or None
    n_user_features_in_ : int or None
    user_map_alpha_, user_prior_weight_ : float or None
        The user map's relative penalty (``inf``: no attribute beat none, every cold user is
        on the map's intercept) and the user attribute prior's precision (as ``map_alpha_`` /
        ``prior_weight_`` for items).
    validation_ : dict or None
        The internal split's scores behind each choice: ``{"free_sweeps": {t: warm recall},
        "item_ridge": {c: warm recall}, "item_ridge_users": warm recall after the users'
        re-solve, "completion_sweeps": free sweeps on every training pair after the internal fit
        (none where none was chosen, or where the free sweeps overfit and no ridge was taken), "map_alpha": {alpha: cold
        recall}, "zero_shot_scale": {scale: mixed-list recall},
        "zero_shot_scale_warm": {scale: warm recall with the zero-shot items among the
        candidates}, "warm_guard": the best of those and "item_ridge_users" (a scale must keep
        98 % of it; both only when the scale was searched), "attribute_lift": the probe items' Recall@K over a random ranking's, K a
        tenth of the probe items up to 20, "seconds": {stage: wall seconds} of the internal fit,
        free sweeps, item ridge, map_alpha, zero_shot_scale and completion stages (what the
        self-tuning costs)}`` (Recall@20, each over 1,000 random users with a held-out pair, more
        where those hold fewer than 4,000 held-out pairs); None when nothing was
        chosen; ``"skipped"``: why no setting was chosen on a split (a catalog with fewer than
        20 items with interactions, no attribute value on any of them, or a plug-in backend
        other than implicit's ALS). Attributes with a lift below 1.5 are not trusted: their
        zero-shot vectors get the smallest scale. In plug-in mode: ``"map_alpha"``,
        ``"zero_shot_scale"``, ``"zero_shot_scale_warm"``, ``"warm_guard"``,
        ``"attribute_lift"`` as above on the backend's copy, ``"warm_reference"`` (the copy's
        warm probe recall), ``"plugin_backend_copy"`` (its hyper-parameters) and ``"seconds"``
        (``backend_copy``, ``map_alpha``, ``zero_shot_scale``).
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
            callback=None, user_features=None) -> "ColdStartRecommender":
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
            attributes' estimate without the ``zero_shot_scale`` boost (times the fitted scale
            where it is below 1: attributes not trusted). Default (None): every item without
            interactions is new (the cold-start protocol's view; a catalog with many old items
            that never got an interaction should name its new items, since boosted they take
            the established items' places, ``benchmarks/results/informativeness.md``).
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
        user_features : sparse matrix or array-like of shape (n_users, n_user_features), optional
            User attributes (as ``item_features``). Then a map from them into the user factor
            space is learned as the item map is, roles swapped (:mod:`coldstart.core.users`):
            users with an empty row in ``user_items`` get their vector from their attributes,
            :meth:`add_users` adds new ones and ``partial_fit_users`` warms them up from it.
            Without it the user side is what it was (the same factors).

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
        try:
            work._fit_state(user_items, item_features, new_items, exposures, user_features)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
            # a ValueError only when it is a numerical breakdown (non-finite values), never a
            # refusal of a parameter or an input
            numerical = isinstance(exc, (np.linalg.LinAlgError, FloatingPointError))  # LinAlgError is a ValueError
            err = breakdown_error(user_items, exc) if numerical or "NaN or infinite" in str(exc) else exc
            if err is exc:
                raise
            raise err from exc
        del work._run
        # after the writers already running (a partial fit computed on the old state publishes
        # before this, never after it), then every reader sees the old model or the new one
        with self._gate().writer_lock, self._gate().publishing():
            for name in [k for k in vars(self) if k not in params and k != "_rw_gate"]:
                delattr(self, name)
            vars(self).update({k: v for k, v in vars(work).items() if k not in params and k != "_rw_gate"})
        return self

    def _fit_state(self, user_items, item_features, new_items=None, exposures=None,
                   user_features=None) -> "ColdStartRecommender":
        """The fit itself, on the working copy of :meth:`fit`: validate, weight, one strategy
        (:class:`~coldstart.core.strategies.FitStrategies`), finish, the user map."""
        user_items, X, new_items, exposures = self._validated(user_items, item_features, new_items, exposures)
        XU = None if user_features is None else check_user_features(user_features, n_users=self.n_users_)
        warm = np.bincount(user_items.indices, minlength=user_items.shape[1]) > 0
        self.weighting_ = self._make_weighting()
        # the weighting is fitted on the items with interactions, like the map
        Xw = X if self.weighting_ is None else self.weighting_.fit(X[warm]).transform(X)
        users, items, content = self._fit_factors(user_items, Xw, warm)
        self._finish(user_items, warm, users, items, content, new_items, exposures)
        self._fit_user_map(user_items, XU)
        return self

    def _validated(self, user_items, item_features, new_items, exposures) -> tuple:
        """Every parameter and input checked (and the featurizer fitted): ``(user_items CSR,
        X (n_items, n_features), new_items or None, exposures or None)``."""
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
            if isinstance(self.featurizer, type):
                raise TypeError(f"featurizer must be an instance (e.g. {self.featurizer.__name__}()); "
                                f"received the class {self.featurizer.__name__}")
            self.featurizer_ = clone(self.featurizer)
            item_features = self.featurizer_.fit_transform(item_features)
        else:
            self.featurizer_ = None
        X = check_item_features(item_features, n_rows=n_items)
        if X.shape[1] == 1:
            advice = ("give the items more attribute columns" if self.featurizer is not None else
                      "pass a number through ItemFeaturizer (it bins it) or give more attribute columns")
            warnings.warn("item_features has a single column: every zero-shot vector lies on one "
                          "direction, so new items rank alike for every user (with the default row "
                          f"normalisation they are all the same vector); {advice}", UserWarning,
                          stacklevel=4)  # fit -> _fit_state -> _validated
        self.n_users_, self.n_items_ = n_users, n_items
        self.n_features_in_ = X.shape[1]
        if user_items.nnz == 0:
            raise ValueError("user_items has no item with interactions; expected some warm items "
                             "to learn the attribute map from")
        return user_items, X, new_items, exposures

    def _finish(self, user_items, warm, users, items, content, new_items, exposures) -> None:
        """From the strategy's factors and the map's predictions ``content`` (n_items, k) to the
        served state: calibrated zero-shot vectors for items without interactions, the
        posterior of the ``new_items`` that have some, the buffers and the uncertainty."""
        n_items = len(warm)
        self._cf_reg = float(getattr(self.collaborative_, "regularization", self.regularization))
        self._cf_alpha = float(getattr(self.collaborative_, "alpha", self._alpha_for(user_items, None)))
        self._weight_median = median_weight(user_items.data)  # what an outlier is, in the partial fits
        self.prior_weight_ = self._resolve_prior_weight(user_items, users)
        self._k = items.shape[1]
        self.content_norm_ = rms(content[warm])
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
                items[new] = solve_from_prior(rows, users, self._item_reg(), self._alpha(), prior[new],
                                              max(self.prior_weight_, 1e-12), gram=gram_matrix(users),
                                              exposed=shown)
            # established items that never got an interaction: the attributes' estimate without
            # the new-item boost (scale 1, or the fitted scale where it shrinks untrusted
            # attributes), and later interactions start from it
            old_cold = ~is_new & ~warm
            prior[old_cold] = min(1.0, self.zero_shot_scale_) * content[old_cold]
            items[old_cold] = prior[old_cold]
        self._users = RowBuffer(users)
        self._items = RowBuffer(items)
        self._prior = RowBuffer(prior)
        self._zero_shot = RowBuffer(~warm, dtype=bool)
        self._invalidate()
        self._refresh_uncertainty(user_items, new_items, exposures)

    def _self_tuned(self) -> bool:
        """Whether the default fit chooses any setting on an internal split."""
        return (is_auto(self.free_sweeps) or self.free_sweeps != 0 or is_auto(self.map_alpha)
                or is_auto(self.zero_shot_scale))

    def _resolve_settings(self) -> None:
        """The settings in use before any is chosen: given numbers, or the fixed defaults."""
        self.map_alpha_ = CC_MAP_ALPHA if is_auto(self.map_alpha) else float(self.map_alpha)
        self.zero_shot_scale_ = (DEFAULT_ZERO_SHOT_SCALE if is_auto(self.zero_shot_scale)
                                 else float(self.zero_shot_scale))
        self.free_sweeps_ = 0 if is_auto(self.free_sweeps) else int(self.free_sweeps)
        self.item_ridge_, self._item_extra_reg = 0.0, 0.0
        self.validation_ = None

    def _alpha_for(self, user_items, als) -> float:
        """``alpha``, or with "auto" :func:`~coldstart.core.factorization.auto_alpha` over the users
        and items with interactions."""
        if self.collaborative is not None and als is not None:
            return float(als.alpha)
        if self.alpha != "auto":
            return float(self.alpha)
        return auto_alpha(user_items.nnz, *active_counts(user_items), typical_weight=median_weight(user_items.data))

    def _resolve_prior_weight(self, user_items: sp.csr_matrix, users: np.ndarray) -> float:
        """``prior_weight``, or with "auto" the attribute prior worth ``PRIOR_INTERACTIONS``
        typical interactions: that many times the mean, over observed pairs, of the precision
        one interaction adds per dimension, ``max(c_ui - 1, 1) ||u_u||^2 / k``. A new item's first
        interactions then move it at a rate that does not depend on the catalog's scale."""
        if self.prior_weight != "auto":
            return float(self.prior_weight)
        conf = self._alpha() * user_items.data.astype(np.float64)
        pair_user = np.repeat(np.arange(user_items.shape[0]), np.diff(user_items.indptr))
        sq = np.einsum("ij,ij->i", users, users).astype(np.float64)[pair_user]
        return auto_prior_weight(conf, sq, users.shape[1])

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

    def _predict(self, Xw, out: np.ndarray | None = None, each=None) -> np.ndarray:
        """The map's prediction (n, k), float32 C-contiguous, written into ``out`` when given;
        ``each(start, rows)`` is applied to consecutive blocks of it (a float32 RidgeMap does
        both in its worker threads, each block while it is in cache: no (n, k) copy or pass)."""
        m = self.mapper_
        if (out is not None or each is not None) and isinstance(m, RidgeMap) and m.coef_active_.dtype == np.float32:
            return m.predict(Xw, out=out, each=each)
        V = np.asarray(m.predict(Xw), dtype=np.float32)
        if V.ndim == 1:
            V = V[:, None]
        V = np.ascontiguousarray(V)
        if out is not None:
            if V.shape != out.shape:
                raise ValueError(f"mapper predicted shape {V.shape}; expected {out.shape}")
            np.copyto(out, V)
            V = out
        if each is not None:
            each(0, V)
        return V

    def _check_params(self) -> None:
        """Validate every constructor parameter (called by ``fit`` and on loading): the error
        names the parameter, the value received and what is expected."""
        check_int(self.factors, "factors", 1, MAX_FACTORS)
        check_int(self.iterations, "iterations", 1, MAX_ITERATIONS)
        check_int(self.num_threads, "num_threads", 0, MAX_THREADS, "0 = all cores")
        if self.random_state is not None:
            check_int(self.random_state, "random_state", 0, 2**32 - 1, "or None")
        check_positive(self.regularization, "regularization", allow_zero=True)
        if not is_auto(self.alpha):
            check_number(self.alpha, "alpha", "'auto' or a positive number", lambda v: v > 0)
        if not is_auto(self.map_alpha):
            check_number(self.map_alpha, "map_alpha", "a non-negative number", lambda v: v >= 0)
        if not is_auto(self.prior_weight):
            check_number(self.prior_weight, "prior_weight", "'auto' or a non-negative number",
                          lambda v: v >= 0)
        if not is_auto(self.zero_shot_scale):
            check_number(self.zero_shot_scale, "zero_shot_scale", "a positive number", lambda v: v > 0)
        fs = getattr(self, "free_sweeps", "auto")
        if not is_auto(fs) and not (isinstance(fs, (int, np.integer)) and not isinstance(fs, bool)
                                  and 0 <= fs <= 1000):
            raise ValueError(f"free_sweeps must be 'auto' or an integer in [0, 1000]; received {fs!r}")
        check_number(self.zero_shot_norm_power, "zero_shot_norm_power", "a number in [0, 1]",
                      lambda v: 0.0 <= v <= 1.0)
        if not isinstance(self.show_progress, (bool, np.bool_)):
            raise TypeError(f"show_progress must be True or False; received {self.show_progress!r}")
        w = self.weighting
        if not (w is None or is_auto(w) or (not isinstance(w, str) and hasattr(w, "fit")
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

    def _calibrate(self, V: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The map's predictions (n, k) with lengths pulled toward ``content_norm_``, times
        ``scale``: float32, in place when ``V`` is a float32 C-contiguous array."""
        V = np.ascontiguousarray(V, dtype=np.float32)
        calibrate_rows(V, getattr(self, "content_norm_", None), float(self.zero_shot_norm_power), scale)
        return V

    def _embed(self, X) -> np.ndarray:
        """Zero-shot vectors: the map's prediction, length-calibrated, times ``zero_shot_scale``."""
        return self._embed_into(X)[0]

    def _embed_into(self, X, out: np.ndarray | None = None, prior: np.ndarray | None = None,
                    norms: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
        """:meth:`_embed` written into ``out`` (n, k) float32 when given (e.g. a buffer's reserved
        rows), also copied into ``prior`` (n, k) and its row norms (as ``row_norms``) into
        ``norms`` (n,) when given: each block of rows is calibrated and copied as soon as the
        map has predicted it, while in cache. Returns the vectors and whether all are finite."""
        Xw = self.weighting_.transform(X) if self.weighting_ is not None else X
        k, ref, power, scale = (self._n_factors(), getattr(self, "content_norm_", None),
                                float(self.zero_shot_norm_power), self.zero_shot_scale_)
        finite = []

        def finish(start: int, V: np.ndarray) -> None:
            if V.shape[1] != k:
                raise ValueError(f"mapper predicted {V.shape[1]} outputs; expected {k}")
            finite.append(calibrate_rows(V, ref, power, scale))
            if prior is not None:
                prior[start:start + len(V)] = V
            if norms is not None:
                norms[start:start + len(V)] = row_norms(V)

        V = self._predict(Xw, out, finish)
        return V, all(finite)

    def _n_factors(self) -> int:
        return self._k

    def _invalidate(self) -> None:
        self._item_norms = None
        self._gram_items = None
        self._gram_users = None


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

    def _reg(self) -> float:
        return self._cf_reg

    def _item_reg(self) -> float:
        """The ridge of every item solve (the fit's final one, warm-up posteriors, fold-ins):
        implicit's ``regularization`` plus the chosen extra ridge (``item_ridge_``)."""
        return self._cf_reg + getattr(self, "_item_extra_reg", 0.0)

    def _prior_precision(self) -> float:
        """Per-dimension precision of an item on its attribute prior alone (before any user has
        seen it): the items' ridge plus ``prior_weight_``."""
        return self._item_reg() + max(self.prior_weight_, 1e-12)

    def _alpha(self) -> float:
        return self._cf_alpha

    # ------------------------------------------------------------------ explanations
    def explain_item(self, item_features, feature_names=None, top: int = 10):
        """DataFrame of the ``top`` attributes that contributed most to an item's zero-shot
        vector. ``item_features``: its attribute row (1, n_features), or a one-row DataFrame
        with a featurizer; ``feature_names``: the columns' names (default: the featurizer's)."""
        from coldstart.features.explain import explain_item

        return explain_item(self, item_features, feature_names, top)

    def explain_score(self, userid: int, item_features, feature_names=None, top: int = 10):
        """DataFrame of the ``top`` attributes that contributed most to an item's score for
        ``userid``; ``item_features`` and ``feature_names`` as in :meth:`explain_item`."""
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
        the file must be signed with it.

        The loaded model serves as the saved one did (factors, priors, spreads, settings,
        ``validation_``) and its parameters are the saved ones, but for ``collaborative``: a
        backend object is not written, so ``collaborative`` and ``collaborative_`` are None, and
        a refit of the loaded model fits its own ALS unless one is given again
        (``set_params(collaborative=backend)``)."""
        from coldstart.core.persistence import load_model

        return load_model(path, cls, key=key)

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


