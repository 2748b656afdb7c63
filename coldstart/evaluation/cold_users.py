"""The cold-user setting: users held out with all their interactions, served from their
attributes alone (:func:`~coldstart.evaluation.splits.cold_user_split`), popularity as the reference.

The held-out users keep their rows in the index space (empty in ``split.train``), so a
:class:`~coldstart.core.model.ColdStartRecommender` fitted on ``split.train`` with
``user_features`` gives them their zero-shot vectors; each ranks the items with training
interactions (``split.items``) and is scored against its held-out interactions with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import clone

from coldstart.evaluation.metrics import check_int, ranking_metrics
from coldstart.evaluation.splits import ColdUserSplit

__all__ = ["compare_cold_users", "evaluate_cold_users"]

#: Users per ``recommend`` call (bounded memory for the batch's score matrix).
_BATCH = 2048


def evaluate_cold_users(model: Any, split: ColdUserSplit, k: int = 20,
                        metrics: Iterable[str] = ("recall", "ndcg")) -> dict[str, float]:
    """Mean ranking metrics of the held-out users for a model fitted on ``split.train``.

    Parameters
    ----------
    model : fitted recommender
        With implicit's ``recommend(userid, user_items, N=, filter_already_liked_items=, items=)``
        (a ColdStartRecommender fitted with ``user_features``, or a baseline).
    split : ColdUserSplit
    k : int
        Cut-off (the protocol's 20).
    metrics : iterable of str
        Names of :func:`~coldstart.evaluation.metrics.ranking_metrics`.

    Returns
    -------
    dict of str to float
        ``{metric: mean over the held-out users with a relevant item}``, plus ``users``
        (how many were scored).
    """
    if not isinstance(split, ColdUserSplit):
        raise TypeError(f"split must be a ColdUserSplit (coldstart.evaluation.splits.cold_user_split); "
                        f"received {type(split).__name__}")
    k = check_int(k, "k")
    users = split.users[np.diff(split.test.indptr)[split.users] > 0]
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if users.size == 0:
        return {**{m: float("nan") for m in names}, "users": 0}
    parts = []
    for lo in range(0, users.size, _BATCH):
        b = users[lo:lo + _BATCH]
        ids, _ = model.recommend(b, split.train[b], N=k, filter_already_liked_items=False, items=split.items)
        ids = np.asarray(ids, dtype=np.int64).reshape(len(b), -1)
        if ids.shape[1] < k:
            ids = np.hstack([ids, np.full((len(b), k - ids.shape[1]), -1, np.int64)])
        parts.append(ids)
    per_user = ranking_metrics(np.vstack(parts), split.test[users], k, names)
    return {**{m: float(np.nanmean(v)) for m, v in per_user.items()}, "users": int(users.size)}


def compare_cold_users(split: ColdUserSplit, item_features: Any, user_features: Any, model: Any = None,
                       k: int = 20) -> dict[str, dict[str, float]]:
    """Cold-user Recall@k and NDCG@k of ``model`` (default ``ColdStartRecommender()``; a clone
    is fitted on ``split.train`` with ``item_features`` and ``user_features``) and of popularity.

    Parameters
    ----------
    split : ColdUserSplit
    item_features : sparse matrix or array of shape (n_items, n_features)
    user_features : sparse matrix or array of shape (n_users, n_user_features)
        Every user's attributes (the held-out users' rows are what serves them).
    model : ColdStartRecommender, optional
    k : int

    Returns
    -------
    dict
        ``{"model": {...}, "popularity": {...}}``, each as :func:`evaluate_cold_users`.
    """
    from coldstart.core.model import ColdStartRecommender
    from coldstart.evaluation.baselines import PopularityRecommender

    fitted = clone(model if model is not None else ColdStartRecommender()).fit(
        split.train, item_features, user_features=user_features)
    pop = PopularityRecommender().fit(split.train)
    return {"model": evaluate_cold_users(fitted, split, k), "popularity": evaluate_cold_users(pop, split, k)}
