"""Hyper-parameter search by cross-validation over the cold validation items.

The protocol keeps the cold test items for one final number, so model selection happens on the
cold *validation* items only. ``ColdStartSearchCV`` cuts them into ``cv`` folds; for each
candidate and fold it fits on ``train`` plus the other folds' interactions and ranks the fold's
items (the cold setting, and optionally the hybrid one, where the fold's items compete with all
warm items and the cold test items are excluded from the candidates). Scores are averaged over
folds, with their standard deviation, as in scikit-learn's ``GridSearchCV``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, ParameterSampler

from coldstart.evaluation.protocol import evaluate
from coldstart.evaluation.splits import ColdStartSplit

#: Parameters that scale every zero-shot vector by one factor: they cannot change a ranking of
#: cold items among themselves, so a search over them must score a setting where cold items
#: compete with warm ones.
COLD_INVARIANT = frozenset({"zero_shot_scale"})


def cold_val_folds(split: ColdStartSplit, n_splits: int = 3, random_state: int = 0):
    """Yield ``(fold_split, fold_items)``: the fold's cold validation items become the cold
    test part of a derived split whose training part holds ``train`` and the other folds."""
    items = split.cold_val_items
    if not (isinstance(n_splits, (int, np.integer)) and 2 <= n_splits <= len(items)):
        raise ValueError(f"cv must be an integer in [2, {len(items)}] (number of cold validation "
                         f"items); received {n_splits!r}")
    rng = np.random.default_rng(random_state)
    folds = np.array_split(rng.permutation(items), n_splits)
    cv = split.cold_val.tocsc()
    for fold in folds:
        fold = np.sort(fold)
        mask = np.zeros(split.shape[1], dtype=bool)
        mask[fold] = True
        held = (cv @ sp.diags(mask.astype(np.float32))).tocsr()
        rest = (cv @ sp.diags((~mask).astype(np.float32))).tocsr()
        train = (split.train + rest).tocsr()
        # the real cold test items sit in cold_val here: the settings exclude them from candidates
        yield ColdStartSplit(train=train, warm_test=split.warm_test, cold_val=split.cold_test,
                             cold_test=held), fold


class ColdStartSearchCV:
    """Grid or random search over a coldstart estimator, cross-validated on cold validation items.

    Parameters
    ----------
    estimator : estimator with ``fit(user_items, item_features)`` and implicit's ``recommend``
    param_grid : dict or list of dicts, optional
        As in ``sklearn.model_selection.ParameterGrid``.
    param_distributions : dict, optional
        As in ``ParameterSampler`` (random search, ``n_iter`` candidates); exclusive with ``param_grid``.
    n_iter : int
    cv : int
        Number of folds of the cold validation items.
    scoring : str
        Metric to select on, ``"<setting>:<metric>@<K>"`` with setting ``cold`` or ``hybrid``,
        e.g. ``"cold:recall@20"`` (default) or ``"hybrid:ndcg@20"``.
    settings : tuple of str
        Settings to score in every fold (must include the one of ``scoring``).
    K : int
    refit : bool
        Refit the best candidate on ``split.train`` (cold validation items stay unseen).
    random_state : int
    verbose : int

    Attributes
    ----------
    cv_results_ : dict of arrays
        ``params``, ``param_<name>``, ``mean_<setting>:<metric>``, ``std_...``, ``split<i>_...``,
        ``rank_<scoring>``, ``mean_fit_time``.
    best_params_, best_score_, best_index_, best_estimator_
        The first candidate with the best mean score.
    tied_best_ : ndarray of int
        Every candidate whose mean score equals ``best_score_`` (more than one: a tie, which
        ``rank_<scoring>`` shows as a shared rank 1).
    """

    def __init__(self, estimator: Any, param_grid: Mapping | Iterable | None = None,
                 param_distributions: Mapping | None = None, n_iter: int = 10, cv: int = 3,
                 scoring: str = "cold:recall@20", settings: tuple[str, ...] = ("cold",), K: int = 20,
                 refit: bool = True, random_state: int = 0, verbose: int = 0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.cv = cv
        self.scoring = scoring
        self.settings = settings
        self.K = K
        self.refit = refit
        self.random_state = random_state
        self.verbose = verbose

    def _candidates(self) -> list[dict]:
        if (self.param_grid is None) == (self.param_distributions is None):
            raise ValueError("give exactly one of param_grid and param_distributions")
        if self.param_grid is not None:
            return list(ParameterGrid(self.param_grid))
        return list(ParameterSampler(self.param_distributions, n_iter=self.n_iter,
                                     random_state=self.random_state))

    def fit(self, split: ColdStartSplit, item_features) -> "ColdStartSearchCV":
        """Run the search on ``split`` (its test parts are never scored) and item attributes.

        With a :class:`~coldstart.frame.recommender.FrameRecommender` as the estimator, ``split`` is a
        :class:`~coldstart.frame.recommender.FrameSplit` and ``item_features`` its item attributes (as
        ``FrameRecommender.fit`` takes them): the search runs on the inner model in the index
        space of the attributes' items and the split's users (same results as that index
        path), and ``best_estimator_`` is a FrameRecommender refitted on ``split.train``.
        """
        from coldstart.frame.recommender import FrameRecommender, FrameSplit

        if isinstance(self.estimator, FrameRecommender) or isinstance(split, FrameSplit):
            return self._fit_frame(split, item_features)
        if not isinstance(split, ColdStartSplit):
            raise TypeError(f"split must be a ColdStartSplit; received {type(split).__name__}")
        setting, _, metric = self.scoring.partition(":")
        if setting not in ("cold", "hybrid") or "@" not in metric:
            raise ValueError(f"scoring must look like 'cold:recall@20'; received {self.scoring!r}")
        settings = tuple(dict.fromkeys((*self.settings, setting)))
        metric_names = sorted({m.split("@")[0] for m in (metric, f"recall@{self.K}", f"ndcg@{self.K}")})
        candidates = self._candidates()
        varied = {k for k in candidates[0] if len({repr(c.get(k)) for c in candidates}) > 1} if candidates else set()
        if setting == "cold" and varied and varied <= COLD_INVARIANT:
            warnings.warn(f"the candidates differ only in {sorted(varied)}, which rescales every zero-shot vector "
                          f"alike: every cold-only ranking ties; score the hybrid setting "
                          f"(scoring='hybrid:recall@{self.K}')", UserWarning, stacklevel=2)
        folds = list(cold_val_folds(split, self.cv, self.random_state))
        rows = []
        for ci, params in enumerate(candidates):
            fit_times, scores = [], []
            for fi, (fold_split, _) in enumerate(folds):
                est = clone(self.estimator).set_params(**params)
                t = time.perf_counter()
                est.fit(fold_split.train, item_features)
                fit_times.append(time.perf_counter() - t)
                res = evaluate(est, fold_split, settings=settings, K=self.K, metrics=metric_names)
                scores.append({f"{s}:{c}": float(res.loc[s, c]) for s in settings for c in res.columns
                               if c != "users"})
                if self.verbose:
                    print(f"[search] candidate {ci + 1}/{len(candidates)} {params} fold {fi + 1}/"
                          f"{len(folds)}: {self.scoring} = {scores[-1][self.scoring]:.4f} "
                          f"({fit_times[-1]:.1f}s fit)", flush=True)
            rows.append((params, fit_times, scores))
        self.cv_results_ = self._results(rows)
        key = f"mean_{self.scoring}"
        self.best_index_ = int(np.nanargmax(self.cv_results_[key]))
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(self.cv_results_[key][self.best_index_])
        self.tied_best_ = np.flatnonzero(self.cv_results_[key] == self.best_score_)
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_.fit(split.train, item_features)
        return self

    def _fit_frame(self, split, item_attributes) -> "ColdStartSearchCV":
        from coldstart.core.model import ColdStartRecommender
        from coldstart.frame.recommender import FrameRecommender, FrameSplit

        frame = self.estimator
        if not (isinstance(frame, FrameRecommender) and isinstance(split, FrameSplit)):
            raise TypeError("a FrameSplit goes with a FrameRecommender estimator and vice versa; received "
                            f"{type(frame).__name__} with {type(split).__name__}")
        index_split, X = frame_search_space(frame, split, item_attributes)
        inner = frame.model if frame.model is not None else ColdStartRecommender()
        search = ColdStartSearchCV(inner, param_grid=self.param_grid,
                                   param_distributions=self.param_distributions, n_iter=self.n_iter,
                                   cv=self.cv, scoring=self.scoring, settings=self.settings, K=self.K,
                                   refit=False, random_state=self.random_state, verbose=self.verbose)
        search.fit(index_split, X)
        for name in ("cv_results_", "best_index_", "best_params_", "best_score_", "tied_best_"):
            setattr(self, name, getattr(search, name))
        if self.refit:
            best = FrameRecommender(model=clone(inner).set_params(**self.best_params_),
                                    user_col=frame.user_col, item_col=frame.item_col,
                                    weight_col=frame.weight_col, duplicates=frame.duplicates)
            self.best_estimator_ = best.fit(split.train, item_attributes)
        return self

    def _results(self, rows) -> dict[str, np.ndarray]:
        out: dict[str, Any] = {"params": [p for p, _, _ in rows]}
        names = sorted({k for p, _, _ in rows for k in p})
        for n in names:
            out[f"param_{n}"] = np.array([p.get(n) for p, _, _ in rows], dtype=object)
        out["mean_fit_time"] = np.array([np.mean(t) for _, t, _ in rows])
        out["std_fit_time"] = np.array([np.std(t) for _, t, _ in rows])
        keys = list(rows[0][2][0])
        for k in keys:
            per = np.array([[s[k] for s in sc] for _, _, sc in rows])  # (candidates, folds)
            out[f"mean_{k}"] = per.mean(axis=1)
            out[f"std_{k}"] = per.std(axis=1)
            for i in range(per.shape[1]):
                out[f"split{i}_{k}"] = per[:, i]
        mean = out[f"mean_{self.scoring}"]
        # ties share a rank (the smallest, as scikit-learn's rankdata(method="min"))
        out[f"rank_{self.scoring}"] = (pd.Series(-mean).rank(method="min", na_option="bottom")
                                       .to_numpy(dtype=int))
        return out

    def results_frame(self) -> pd.DataFrame:
        """``cv_results_`` as a DataFrame sorted by rank (params as columns)."""
        df = pd.DataFrame({k: v for k, v in self.cv_results_.items() if k != "params"})
        return df.sort_values(f"rank_{self.scoring}").reset_index(drop=True)


def frame_search_space(frame, split, item_attributes):
    """The index space :class:`ColdStartSearchCV` searches a FrameRecommender in.

    Items: the rows of ``item_attributes`` in their order (as ``FrameRecommender.fit``);
    users: the split's users in order of first appearance (train first). Returns
    ``(ColdStartSplit, item feature matrix or frame for the inner model)``.
    """
    item_index, X = frame._features_of(item_attributes)
    parts = [getattr(split, p)[split.user_col] for p in ("train", "warm_test", "cold_val", "cold_test")]
    users = pd.unique(pd.concat(parts, ignore_index=True))
    return split.to_index(users, pd.Index(item_index), unknown_users="raise"), X
