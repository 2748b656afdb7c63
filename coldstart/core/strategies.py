"""The fit strategies of :class:`~coldstart.core.model.ColdStartRecommender`: the
content-constrained ALS, the self-tuned default (every setting chosen on an internal split of the
training pairs) and the map for a backend's fixed factors (plug-in mode)."""

from __future__ import annotations

import copy
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from coldstart.core.calibration import calibrate_lengths, rms
from coldstart.core.constants import (
    CC_INIT_ITERS,
    CC_MAP_ALPHA,
    CC_MAP_ITERS,
    COMPLETION_SWEEPS,
    FINAL_USER_CG_STEPS,
    FREE_SWEEP_GAIN,
    FREE_SWEEP_PATIENCE,
    ITEM_RIDGE_GAIN,
    ITEM_RIDGE_GRID,
    ITEM_RIDGE_START,
    MAP_ALPHA_GRID,
    MAP_ALPHA_START,
    MAX_FREE_SWEEPS,
    MIN_ATTRIBUTE_LIFT,
    OVERFIT_DROP,
    PLUGIN_INIT_ITERS,
    PLUGIN_MAP_ITERS,
    TUNED_MAP_ITERS,
    VALIDATION_K,
    WARM_TOLERANCE,
    ZERO_SHOT_SCALE_GRID,
)
from coldstart.core.factorization import (
    fit_collaborative,
    implicit_als_class,
    is_fitted_model,
    is_implicit_als,
    make_als,
    to_numpy_factors,
)
from coldstart.core.mapping import RidgeMap, active_columns
from coldstart.core.solvers import converged_half_step, fit_map_on_interactions, map_blocks, map_path
from coldstart.core.tuning import RankingProbe, internal_split, validation_users
from coldstart.core.validation import is_auto


class FitStrategies:
    """Mixin of :class:`~coldstart.core.model.ColdStartRecommender`: each strategy returns
    ``(user_factors, item_factors, content)`` (content: the map's prediction for every item)
    and sets ``mapper_`` and ``collaborative_``."""

    def _fit_factors(self, user_items, Xw, warm) -> tuple:
        """One strategy, by the parameters: plug-in (a fitted ``collaborative``), self-tuned (the
        default), content-constrained (all settings given), or plain (a custom ``mapper`` or a
        collaborative model other than implicit's ALS: fitted first, the map on its items).
        Returns ``(users (n_users, k), items (n_items, k), content (n_items, k))``."""
        n_users, n_items = user_items.shape
        col = self.collaborative
        Xwarm = Xw[warm]
        if not has_value(Xwarm):
            # nothing for a map to learn from (e.g. attributes filled in for new items only)
            return self._fit_without_attributes(user_items, Xw, warm)
        if col is not None and is_fitted_model(col):
            # plug-in mode: the backend's factors stay exactly as they are; only the map is learned
            users, items = self._plugin_factors(col, user_items.shape)
            self.collaborative_ = col
            if is_auto(self.map_alpha) or is_auto(self.zero_shot_scale):
                self._tune_plugin(col, user_items, Xw, warm)
            self.mapper_ = self._fit_plugin_map(col, user_items, Xw, warm, users, items)
            self.content_constrained_ = False
            return users, items, self._predict(Xw)
        with threadpool_limits(1, "blas"):  # implicit's ALS wants single-threaded BLAS
            base = col if col is not None else make_als(
                factors=self.factors, regularization=self.regularization,
                alpha=self._alpha_for(user_items, None), iterations=self.iterations,
                random_state=self.random_state, num_threads=self.num_threads)
            constrain = self.mapper is None and isinstance(base, implicit_als_class())
            self.content_constrained_ = constrain
            if constrain and self._self_tuned():
                users, items, content = self._fit_self_tuned(base, user_items, Xw, warm)
                self.content_constrained_ = self.free_sweeps_ == 0
                return users, items, content
            if constrain:
                return self._fit_content_constrained(base, user_items, Xw, warm)
            self.collaborative_, users, items = fit_collaborative(
                base, user_items, show_progress=self._run_option("progress"))
            self.mapper_ = self._make_mapper().fit(Xw[warm], items[warm])
            return users, items, self._predict(Xw)

    @staticmethod
    def _plugin_factors(col, shape: tuple) -> tuple:
        """A fitted backend's ``(users, items)`` for ``user_items`` of ``shape``, the users copied
        (the model's partial fits never write into the backend's arrays; the items are copied
        when the model takes them in)."""
        users, items = to_numpy_factors(col)
        if users.shape[0] != shape[0] or items.shape[0] != shape[1]:
            raise ValueError(
                f"collaborative is already fitted with {users.shape[0]} users and {items.shape[0]} "
                f"items, but user_items has shape {shape}; expected the same users and items (in the "
                "same order) as the fitted model")
        return np.array(users, copy=True), items

    def _fit_without_attributes(self, user_items, Xw, warm) -> tuple:
        """No item with interactions has an attribute value: the collaborative model alone (a
        fitted ``collaborative`` kept as it is, else fitted plainly) and a map that predicts zero,
        with a warning; the settings stay as given (nothing to tune a map on)."""
        warnings.warn(f"item_features: none of the {int(warm.sum())} items with interactions has an "
                      "attribute value, so the map has nothing to learn from: the model is its "
                      "collaborative part alone and every zero-shot vector is zero (new items rank by "
                      "their interactions only)", UserWarning, stacklevel=4)
        col = self.collaborative
        if col is not None and is_fitted_model(col):
            users, items = self._plugin_factors(col, user_items.shape)
            self.collaborative_ = col
        else:
            with threadpool_limits(1, "blas"):
                base = col if col is not None else make_als(
                    factors=self.factors, regularization=self.regularization,
                    alpha=self._alpha_for(user_items, None), iterations=self.iterations,
                    random_state=self.random_state, num_threads=self.num_threads)
                self.collaborative_, users, items = fit_collaborative(
                    base, user_items, show_progress=self._run_option("progress"))
        self.content_constrained_ = False
        self.validation_ = {"skipped": "no item with interactions has an attribute value"}
        self.mapper_ = self._fitted_map(np.zeros((0, items.shape[1]), np.float32), np.zeros(0, np.int64),
                                        Xw.shape[1])
        return users, items, self._predict(Xw)

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
        check_finite(U, Vs)
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
           interactions, several where they are coarse; only when they beat the constrained fit
           by ``FREE_SWEEP_GAIN``), then the established items' extra ridge by the same Recall@K
           (``item_ridge_``), and the users re-solved against them.
        3. The map's penalty, refitted on the ALS loss with those users, by the probe items'
           Recall@K (cold ranking).
        4. The zero-shot scale by the Recall@K of probe pairs and probe items in one list (mixed
           ranking), as long as the warm probe keeps ``WARM_TOLERANCE`` of its best over the
           scales.
        5. The chosen model completed on every training pair (items at the chosen ridge; no
           free sweep of its own where the free sweeps overfit without a ridge), and the chosen
           map refitted.
        Returns ``(U, V, content)``; the scores behind each choice are in ``validation_``.
        """
        als = copy.deepcopy(als)
        reg, alpha = float(als.regularization), self._alpha_for(user_items, als)
        als.alpha = alpha
        threads, solver = self.num_threads, als.solver
        rs = self.random_state
        rng = np.random.default_rng(None if rs is None else [int(rs), 1])
        seconds, stage_start = {}, time.perf_counter()

        def lap(stage):  # the seconds each stage took (validation_["seconds"])
            nonlocal stage_start
            now = time.perf_counter()
            seconds[stage], stage_start = now - stage_start, now
        split, skipped = self._split_for_tuning(user_items, Xw, rng)
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
        lap("internal_fit")
        if split is None:  # nothing to hold out: the fixed defaults
            report["skipped"] = skipped
            for _ in range(self.free_sweeps_):
                solver(cui0, U, V, reg, num_threads=threads)
                solver(ciu0, V, U, reg, num_threads=threads)
            cui, ciu = cui0, ciu0
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
            auto = is_auto(self.free_sweeps)
            constrained = (best_s, best) if auto else None  # to go back to (FREE_SWEEP_GAIN)
            for t in range(1, (MAX_FREE_SWEEPS if auto else self.free_sweeps_) + 1):
                solver(cui0, U, V, reg, num_threads=threads)
                solver(ciu0, V, U, reg, num_threads=threads)
                self._sweep_done()
                report["free_sweeps"][t] = s = warm_score(U, V)
                if s > best_s or not auto:
                    best_t, best_s, best = t, s, (U.copy(), V.copy())
                    if constrained is not None and best_s >= FREE_SWEEP_GAIN * constrained[0]:
                        constrained = None  # never taken back: its copies go
                elif t - best_t >= FREE_SWEEP_PATIENCE:
                    break
            if constrained is not None and best_t > 0:
                # the warm items leave their attributes' image only when the held-out pairs
                # clearly ask for it (as the items' ridge below)
                best_t, (best_s, best) = 0, constrained
            del constrained
            U, V = best
            self.free_sweeps_ = best_t
            lap("free_sweeps")
            # 2b. the items' ridge: the warm items re-solved, users fixed, at ridge reg + c * the
            # mean eigenvalue of U'U for c walked on a grid, by the same probe; taken only when it
            # beats plain ALS's item solve by ITEM_RIDGE_GAIN (the backend's own solve is kept
            # unless the held-out pairs clearly say otherwise). The users then answer the chosen
            # items (as the completion's users will) before the map and the scale are chosen.
            mean_ev = float(np.einsum("ij,ij->", U, U, dtype=np.float64)) / U.shape[1]
            report["item_ridge"] = {0.0: best_s}
            self.item_ridge_, warm_ref = 0.0, best_s
            top = [best_s, 0.0, None]

            def ridge_score(c):  # the warm items re-solved at the extra ridge c, users fixed
                Vc = V.copy()
                solver(ciu0, Vc, U, reg + c * mean_ev, num_threads=threads)
                report["item_ridge"][c] = sc = warm_score(U, Vc)
                if sc > top[0]:
                    top[:] = sc, c, Vc
                return sc

            search_grid(ITEM_RIDGE_GRID, ITEM_RIDGE_START, ridge_score)
            if top[0] >= ITEM_RIDGE_GAIN * best_s and top[2] is not None:
                warm_ref, self.item_ridge_, best = top
            item_reg = reg + self.item_ridge_ * mean_ev
            self._item_extra_reg = item_reg - reg  # every later item solve uses the same ridge
            # the sweeps past the chosen one overfit (the probe fell by more than 1 - OVERFIT_DROP)
            # and no ridge holds the items back: the completion adds no free sweep of its own, which
            # would go past the peak the probe found
            last = report["free_sweeps"][max(report["free_sweeps"])]
            overfit = auto and self.item_ridge_ == 0 and last < OVERFIT_DROP * best_s
            completion_sweeps = 0 if overfit or self.free_sweeps_ == 0 else COMPLETION_SWEEPS
            report["completion_sweeps"] = completion_sweeps  # the content-constrained model: none
            if self.item_ridge_ > 0:
                V = best
                solver(cui0, U, V, reg, num_threads=threads)
                warm_ref = warm_score(U, V)
            report["item_ridge_users"] = warm_ref  # the reference of the scale's warm guard
            lap("item_ridge")
            # 3. the map's penalty on the probe items, users fixed. Zero-shot in the internal fit:
            # the probe items and the items whose every pair is a probe pair (as the protocol's
            # warm items without a training pair).
            zs0 = np.union1d(split.probe_items, np.flatnonzero(warm & ~warm0))
            X_zs0 = sp.csr_matrix(Xw[zs0] if cols is None else Xw[zs0][:, cols], dtype=np.float32)
            users_c = validation_users(split.probe_item_pairs, rng)
            rms_warm = rms(V[warm0])
            path = map_path(X_warm0, None, U, W_joint, threads, blocks0)  # one first pass for all
            W_sel, ref_sel, Z_sel = self._choose_map_alpha(
                lambda lam: path(lam, TUNED_MAP_ITERS),
                lambda Wl: rms(blocks0.rows(lambda Xb, _, __: np.asarray(Xb @ Wl), Wl.shape[1])),  # X W on all cores
                U, V.shape, X_zs0, zs0, split, users_c, report)
            lap("map_alpha")
            # 4. the zero-shot scale on mixed lists: probe pairs and probe items together
            self._choose_zero_shot_scale(U, V, Z_sel, split, zs0, cand_w, users_w, users_c, warm_ref,
                                         fit_on, rng, report)
            lap("zero_shot_scale")
            # 5. completion on every training pair, from the chosen state
            cui = (alpha * user_items).astype(np.float32).tocsr()
            ciu = cui.T.tocsr()
            Xc = Xw if cols is None else Xw[:, cols]
            if self.free_sweeps_ == 0:  # still content-constrained: users against X W, items a half-step
                V = np.zeros_like(V)
                V[warm] = np.asarray(Xc[warm] @ W_joint, dtype=np.float32)
                solver(cui, U, V, reg, num_threads=threads)
                solver(ciu, V, U, item_reg, num_threads=threads)
            else:  # the internal zero-shot items from their attributes first, then free sweeps
                V[zs0] = np.asarray(Xc[zs0] @ W_sel, dtype=np.float32) * np.float32(rms_warm / max(ref_sel, 1e-12))
                solver(ciu, V, U, item_reg, num_threads=threads)
                for _ in range(completion_sweeps):
                    solver(cui, U, V, reg, num_threads=threads)
                    solver(ciu, V, U, item_reg, num_threads=threads)
            # the users last, on the final items, solved to convergence (as recalculate_user
            # computes a user: an exact solve; users with many interactions FINAL_USER_CG_STEPS CG steps)
            converged_half_step(cui, U, V, reg, num_threads=threads, cg_steps=FINAL_USER_CG_STEPS)
            # the final map by the recipe that was validated: TUNED_MAP_ITERS steps at the
            # chosen penalty from the joint fit's map, with the final users and every warm item
            X_warm, cols_f, d = active_columns(Xw[warm])
            W = np.zeros((X_warm.shape[1], V.shape[1]), np.float32)
            W[slice(None) if cols is None else (cols if cols_f is None else np.searchsorted(cols_f, cols))] = W_joint
            cols = cols_f
        W = fit_map_on_interactions(X_warm, ciu[np.flatnonzero(warm)], U, self.map_alpha_, W,
                                    iters=TUNED_MAP_ITERS, num_threads=threads)
        self.mapper_ = self._fitted_map(W, cols, d)
        if split is not None:
            lap("completion")
            report["seconds"] = seconds
        als.user_factors, als.item_factors = U, V
        self.collaborative_ = als
        self.validation_ = report
        check_finite(U, V)
        return U, V, self._predict(Xw)

    def _tune_plugin(self, col, user_items, Xw, warm) -> None:
        """Plug-in mode's "auto" settings (``map_alpha``, ``zero_shot_scale``), chosen as the
        default fit chooses them (steps 3 and 4 of :meth:`_fit_self_tuned`) on an internal split,
        with a private copy of the backend: implicit's ALS at the backend's hyper-parameters
        (factors, regularization, alpha, iterations, CG steps) refitted on the internal training
        pairs. The backend itself is never refitted: its factors stay as they are. The scale
        that fits a backend's scores depends on its confidence scale (``alpha``), which no fixed
        boost can follow. Other backends (and catalogs too small to hold items out) keep the
        fixed settings, with the reason in ``validation_["skipped"]``."""
        if not is_implicit_als(col):
            self.validation_ = {"skipped": f"plug-in backend {type(col).__name__} is not implicit's "
                                "AlternatingLeastSquares (nothing to refit on an internal split): fixed settings"}
            return
        if self.mapper is not None:  # the choices are the library's map's: a custom one is served as it is
            self.validation_ = {"skipped": "a custom mapper: fixed settings (the choices are the default map's)"}
            return
        rs, threads = self.random_state, self.num_threads
        rng = np.random.default_rng(None if rs is None else [int(rs), 1])
        seconds, start = {}, time.perf_counter()
        split, skipped = self._split_for_tuning(user_items, Xw, rng)
        if split is None:
            self.validation_ = {"skipped": skipped}
            return
        alpha = float(col.alpha)
        copy_ = make_als(factors=int(col.factors), regularization=float(col.regularization), alpha=alpha,
                         iterations=int(col.iterations), random_state=rs, num_threads=threads)
        copy_.cg_steps = int(getattr(col, "cg_steps", copy_.cg_steps))
        copy_.use_cg = bool(getattr(col, "use_cg", copy_.use_cg))
        fit_on = split.train
        with threadpool_limits(1, "blas"):
            _, U, V = fit_collaborative(copy_, fit_on)
        seconds["backend_copy"] = time.perf_counter() - start
        warm0 = np.bincount(fit_on.indices, minlength=fit_on.shape[1]) > 0
        cand_w = np.flatnonzero(warm0)
        users_w = validation_users(split.probe_pairs, rng)
        report = {"map_alpha": {}, "zero_shot_scale": {}, "plugin_backend_copy": {
            "factors": int(col.factors), "alpha": alpha, "iterations": int(col.iterations)}}
        report["warm_reference"] = warm_ref = RankingProbe(split.probe_pairs, users_w, cand_w,
                                                           exclude=fit_on).score(U, V)
        # the plug-in map's recipe on the copy
        fit_map, X_warm0, cols, _ = self._plugin_map_path(fit_on, alpha, Xw, warm0, U, V)
        zs0 = np.union1d(split.probe_items, np.flatnonzero(warm & ~warm0))
        X_zs0 = sp.csr_matrix(Xw[zs0] if cols is None else Xw[zs0][:, cols], dtype=np.float32)
        users_c = validation_users(split.probe_item_pairs, rng)
        lap = time.perf_counter()
        _, _, Z_sel = self._choose_map_alpha(fit_map, lambda Wl: rms(np.asarray(X_warm0 @ Wl)), U, V.shape, X_zs0,
                                             zs0, split, users_c, report)
        seconds["map_alpha"], lap = time.perf_counter() - lap, time.perf_counter()
        self._choose_zero_shot_scale(U, V, Z_sel, split, zs0, cand_w, users_w, users_c, warm_ref, fit_on,
                                     rng, report)
        seconds["zero_shot_scale"] = time.perf_counter() - lap
        report["seconds"] = seconds
        self.validation_ = report

    @staticmethod
    def _split_for_tuning(user_items, Xw, rng) -> tuple:
        """``(internal split, None)``, or ``(None, why)`` where there is nothing to tune on: a
        catalog too small to hold items out, or a split whose training items hold no attribute
        value (every item with attributes drawn as a probe item)."""
        split = internal_split(user_items, rng)
        if split is None:
            return None, "fewer than 20 items with interactions: nothing to hold out, fixed settings"
        if not has_value(Xw[np.bincount(split.train.indices, minlength=split.train.shape[1]) > 0]):
            return None, ("the internal split's training items hold no attribute value (the few items with "
                          "attributes were all held out): fixed settings")
        return split, None

    def _choose_map_alpha(self, fit_map, ref_of, U, shape, X_zs0, zs0, split, users_c, report) -> tuple:
        """Step 3 of the self-tuning (and plug-in mode's): the map's penalty by the probe items'
        Recall@K, users ``U`` fixed. ``fit_map(lam) -> W``, ``ref_of(W)``: the RMS length of its
        predictions on the internal warm items; the probe items' zero-shot vectors are the rows
        ``zs0`` of an (``shape``) zero matrix. Sets ``map_alpha_`` (when "auto"); returns the chosen
        ``(W, ref, Z)``, ``Z`` the calibrated zero-shot vectors (len(zs0), k)."""
        found = {}
        cold_probe = RankingProbe(split.probe_item_pairs, users_c, split.probe_items)

        def cold_score(lam):  # the map at penalty lam and the probe items' Recall@K
            Wl = fit_map(lam)
            ref = ref_of(Wl)
            Z = calibrate_lengths(np.asarray(X_zs0 @ Wl, dtype=np.float32), ref, self.zero_shot_norm_power)
            Vc = np.zeros(shape, np.float32)
            Vc[zs0] = Z
            s = cold_probe.score(U, Vc)
            found[lam], report["map_alpha"][lam] = (Wl, ref, Z), s
            return s

        if is_auto(self.map_alpha):
            self.map_alpha_ = search_grid(MAP_ALPHA_GRID, MAP_ALPHA_START, cold_score)
        else:
            cold_score(self.map_alpha_)
        return found[self.map_alpha_]

    def _choose_zero_shot_scale(self, U, V, Z_sel, split, zs0, cand_w, users_w, users_c, warm_ref,
                                fit_on, rng, report) -> None:
        """Step 4 of the self-tuning (and plug-in mode's): the zero-shot scale by the Recall@K of
        probe pairs and probe items ranked together (``U``, ``V`` the internal state, ``Z_sel``
        the probe items' calibrated vectors, rows ``zs0``; ``cand_w`` the internal warm items),
        among the scales that keep ``WARM_TOLERANCE`` of the established lists' best
        (``warm_ref`` or better); the smallest scale where the attributes rank the probe items no
        better than chance. Sets ``zero_shot_scale_`` (when "auto") and fills ``report``."""
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

        scaled = []  # one product per probe for every scale: the zero-shot rows' scores scale with z

        def hybrid_score(z):  # mixed lists, as long as the established ones lose < 2 %
            if not scaled:
                Vh[zs0] = Z_sel
                scaled.extend((hybrid_probe.scaled(U, Vh, zs0), warm_probe.scaled(U, Vh, zs0)))
                # the established lists' reference: their best held-out recall, without the
                # zero-shot items or with them at any scale of the grid (as served lists hold
                # them; some of their pairs are probe pairs, so a boost can first gain there and
                # then lose more on the established items)
                for g in ZERO_SHOT_SCALE_GRID:
                    report["zero_shot_scale_warm"][g] = scaled[1](g)
                report["warm_guard"] = max(warm_ref, *report["zero_shot_scale_warm"].values())
            h = report["zero_shot_scale"][z] = scaled[0](z)
            w, ref = report["zero_shot_scale_warm"][z], report["warm_guard"]
            return h if w >= WARM_TOLERANCE * ref else w / max(ref, 1e-12) - 2.0

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
        if is_auto(self.zero_shot_scale):
            # every scale of the grid is scored (each costs a merge of two short lists per user,
            # not a product): a walk stopped at a dip short of a higher maximum
            # (benchmarks/ABLATION.md, session 16); ties keep the smaller scale
            if lift < MIN_ATTRIBUTE_LIFT:
                self.zero_shot_scale_ = ZERO_SHOT_SCALE_GRID[0]
            else:
                score = {z: hybrid_score(z) for z in ZERO_SHOT_SCALE_GRID}
                self.zero_shot_scale_ = max(ZERO_SHOT_SCALE_GRID, key=lambda z: (score[z], -z))

    def _fit_plugin_map(self, col, user_items, Xw, warm, users, items):
        """The map for a backend's fixed factors: with a custom ``mapper`` a regression on the
        warm item vectors; otherwise the same map family as the default fit, started by a ridge
        on the item vectors and refined on the ALS loss with the backend's users."""
        if self.mapper is not None:
            return self._make_mapper().fit(Xw[warm], items[warm])
        alpha = float(getattr(col, "alpha", self._alpha_for(user_items, None)))
        path, X_warm, cols, d = self._plugin_map_path(user_items, alpha, Xw, warm, users, items)
        return self._fitted_map(path(self.map_alpha_), cols, d)

    def _plugin_map_path(self, user_items, alpha: float, Xw, warm, users, items) -> tuple:
        """The plug-in map's recipe for factors ``(users, items)`` fitted on ``user_items``: a
        ridge start on the warm items' vectors, then PLUGIN_MAP_ITERS CG steps on the ALS loss,
        users fixed. Returns ``(fit(lam) -> W, X_warm, cols, d)``; the first pass is shared by every
        penalty (:func:`~coldstart.core.solvers.map_path`)."""
        X_warm, cols, d = active_columns(Xw[warm])
        threads = self.num_threads
        W0 = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=PLUGIN_INIT_ITERS, tol=0.0,
                      num_threads=threads).fit(X_warm, items[warm]).coef_
        ciu = (alpha * user_items).astype(np.float32).T.tocsr()[np.flatnonzero(warm)]
        path = map_path(X_warm, ciu, users, W0, threads)
        return (lambda lam: path(lam, PLUGIN_MAP_ITERS)), X_warm, cols, d

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


def has_value(X) -> bool:
    """Whether the attribute rows X (dense or sparse) hold any non-zero value."""
    return bool(X.count_nonzero() if sp.issparse(X) else np.count_nonzero(X))


def check_finite(U: np.ndarray, V: np.ndarray) -> None:
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(V))):
        raise FloatingPointError("the content-constrained ALS produced NaN/inf factors; raise "
                                 "regularization or lower alpha")


def search_grid(grid: tuple, start: int, score) -> Any:
    """The best value of an ordered ``grid`` for ``score(value)`` (higher is better), by a
    walk from ``grid[start]`` toward the better neighbour while it improves: a unimodal score
    costs about three evaluations instead of ``len(grid)`` (for scores that each cost a fit).
    Ties keep the smaller value. A flat start (the next value scores exactly the same: nothing
    the value changes has moved yet) looks further up until the score moves, and walks on from
    there if it rose."""
    s = {start: score(grid[start])}
    if start + 1 < len(grid):
        s[start + 1] = score(grid[start + 1])
    top = start + 1
    while top + 1 < len(grid) and s[top] == s[start]:
        top += 1
        s[top] = score(grid[top])
    step = 1 if s.get(top, -np.inf) > s[start] else -1
    i = top if step == 1 else start
    while 0 <= i + step < len(grid):
        s[i + step] = score(grid[i + step])
        if s[i + step] <= s[i]:
            break
        i += step
    return grid[max(s, key=lambda j: (s[j], -j))]


