"""The cold-start evaluation protocol (``EVALUATION.md``) for any implicit-style model.

A model only needs implicit's ``recommend`` contract::

    ids, scores = model.recommend(userids, user_items, N=K,
                                  filter_already_liked_items=True, items=candidates)

with ``userids`` a 1-D int array, ``user_items`` the CSR rows of the training matrix for
those users (one row per user, in order), and 2-D ``(ids, scores)`` back, short rows
padded with ``-1`` or, as implicit's ``topk`` does, with filtered items scored
``-numpy.finfo(float32).max``.

Settings (K = 20 in the protocol)
---------------------------------
============  =================================  =================================================
setting       truth (users with >= 1 of it)      candidates (``items=``)
============  =================================  =================================================
cold          ``cold_test``                      cold test items
warm          ``warm_test``                      warm items (neither cold val nor cold test)
hybrid        ``warm_test + cold_test``          every item except the cold validation items
cold-val      ``cold_val``                       cold validation items
hybrid-val    ``warm_test + cold_val``           every item except the cold test items
============  =================================  =================================================

Every call filters the user's training items (``filter_already_liked_items=True`` with the
user's ``split.train`` rows); in the cold settings this removes nothing, since training
holds no cold item.

How implicit 0.7 treats ``items=``
----------------------------------
``MatrixFactorizationBase.recommend`` sorts ``items``, scores only ``item_factors[items]``,
clips ``N`` to ``len(items)``, remaps the liked-items filter into the subset (so
``filter_already_liked_items=True`` works together with ``items``), refuses ``items`` together
with a non-empty ``filter_items``, and maps ids back through the sorted ``items``. Filtered
entries are not removed but returned last with score ``-FLT_MAX`` when fewer than ``N``
candidates remain, so they come back as real item ids; the evaluator treats any entry
scored ``<= -FLT_MAX`` (or NaN) as padding. Ties in implicit's ``topk`` are not broken by
lower index; the evaluator scores the lists a model returns as they are.

Anything else a model returns outside the setting's candidates, or among the user's
training items, counts as a miss, is left out of coverage, and raises one warning per
setting.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart.core.contract import FLT_MAX
from coldstart.evaluation.metrics import (
    RANKING_METRICS,
    catalog_coverage,
    check_int,
    new_item_mean_rank,
    new_item_share,
    ranking_metrics,
    row_membership,
)
from coldstart.evaluation.splits import ColdStartSplit

__all__ = ["evaluate", "recommend_in_batches", "SETTINGS", "METRICS", "setting_spec", "SettingSpec"]

#: Settings understood by :func:`evaluate`.
SETTINGS: tuple[str, ...] = ("cold", "warm", "hybrid", "cold-val", "hybrid-val")

#: Metric names understood by :func:`evaluate`. ``coverage`` is list-level (distinct
#: recommended candidates / number of candidates); ``new_share`` and ``new_rank`` (share of
#: cold items in the lists, their mean 1-based rank) are computed in the hybrid settings only.
METRICS: tuple[str, ...] = RANKING_METRICS + ("coverage", "new_share", "new_rank")

_DEFAULT_METRICS = ("recall", "ndcg", "precision", "map", "hit_rate", "coverage",
                    "new_share", "new_rank")


@dataclass(frozen=True)
class SettingSpec:
    """What one setting ranks: its truth, its candidates, and which candidates are new.

    Attributes
    ----------
    name : str
    truth : csr_matrix of shape (n_users, n_items)
    candidates : ndarray of int64, sorted
    new_items : ndarray of int64 or None
        Cold items among the candidates (hybrid settings), for ``new_share`` / ``new_rank``.
    """

    name: str
    truth: sp.csr_matrix
    candidates: np.ndarray
    new_items: np.ndarray | None


def setting_spec(split: ColdStartSplit, setting: str) -> SettingSpec:
    """Truth, candidates and new items of one protocol setting.

    Parameters
    ----------
    split : ColdStartSplit
    setting : {"cold", "warm", "hybrid", "cold-val", "hybrid-val"}

    Returns
    -------
    SettingSpec
    """
    all_items = np.arange(split.n_items, dtype=np.int64)
    if setting == "cold":
        return SettingSpec(setting, split.cold_test, split.cold_test_items, None)
    if setting == "cold-val":
        return SettingSpec(setting, split.cold_val, split.cold_val_items, None)
    if setting == "warm":
        return SettingSpec(setting, split.warm_test, split.warm_items, None)
    if setting == "hybrid":
        truth = (split.warm_test + split.cold_test).tocsr()
        cand = np.setdiff1d(all_items, split.cold_val_items)
        return SettingSpec(setting, truth, cand, split.cold_test_items)
    if setting == "hybrid-val":
        truth = (split.warm_test + split.cold_val).tocsr()
        cand = np.setdiff1d(all_items, split.cold_test_items)
        return SettingSpec(setting, truth, cand, split.cold_val_items)
    raise ValueError(f"setting must be one of {SETTINGS}; received {setting!r}")


def _selection(value: str | Iterable[str], allowed: tuple[str, ...], name: str) -> list[str]:
    """``value`` (one name or several) as a non-empty list of names from ``allowed``."""
    names = [value] if isinstance(value, str) else list(value)
    if not names or any(v not in allowed for v in names):
        raise ValueError(f"{name} must be a non-empty selection of {allowed}; received {value!r}")
    return names


def _check_model(model: Any) -> None:
    if not callable(getattr(model, "recommend", None)):
        raise TypeError(
            f"model must expose implicit's recommend(userid, user_items, N, "
            f"filter_already_liked_items, filter_items, recalculate_user, items); received "
            f"{type(model).__name__} without a recommend method"
        )


def _to_index_space(model: Any, split: Any) -> tuple[Any, Any]:
    """A FrameRecommender with a FrameSplit -> its index-space model and the split in its ids."""
    from coldstart.frame.recommender import FrameRecommender, FrameSplit

    if isinstance(split, FrameSplit):
        if not isinstance(model, FrameRecommender):
            raise TypeError(f"a FrameSplit (DataFrames of external ids) needs a coldstart.FrameRecommender "
                            f"fitted on its train; received {type(model).__name__} (use a ColdStartSplit "
                            "for index-space models)")
        return model.model_ if hasattr(model, "model_") else model, model.index_split(split)
    if isinstance(model, FrameRecommender) and isinstance(split, ColdStartSplit):
        raise TypeError("a FrameRecommender is evaluated on a coldstart.frame.recommender.FrameSplit (split_frame / "
                        "temporal_split_frame of the interactions DataFrame); received a ColdStartSplit "
                        "(index space: evaluate recommender.model_ on it instead)")
    return model, split


def _as_2d(a: Any, n_rows: int, what: str, model: Any) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 1 and n_rows == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise ValueError(
            f"{type(model).__name__}.recommend returned {what} of shape {arr.shape} for {n_rows} "
            f"users; expected a 2-D array with one row per user"
        )
    return arr


def recommend_in_batches(model: Any, users: np.ndarray, user_items: sp.csr_matrix, k: int,
                         candidates: np.ndarray | None = None, *, batch_size: int = 1024,
                         filter_already_liked_items: bool = True
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """Call ``model.recommend`` over user batches and stack the results.

    Parameters
    ----------
    model : object with implicit's ``recommend``
    users : ndarray of int, shape (n,)
        User indices.
    user_items : csr_matrix of shape (n_users, n_items)
        The full training matrix; each batch passes its users' rows.
    k : int
        ``N`` of the call.
    candidates : ndarray of int, optional
        Passed as ``items=``.
    batch_size : int, default 1024
    filter_already_liked_items : bool, default True

    Returns
    -------
    ids : ndarray of shape (n, k), int64
        Exactly ``k`` columns (padded with ``-1``, truncated if the model returns more).
    scores : ndarray of shape (n, k), float64, or None
        ``None`` when the model returns no score array of matching shape.
    """
    users = np.asarray(users, dtype=np.int64)
    n = users.size
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores: np.ndarray | None = np.full((n, k), -np.inf, dtype=np.float64)
    for start in range(0, n, batch_size):
        batch = users[start:start + batch_size]
        rows = user_items[batch]
        if not isinstance(rows, sp.csr_matrix):
            rows = sp.csr_matrix(rows)
        ids, scores = model.recommend(batch, rows, N=k,
                                      filter_already_liked_items=filter_already_liked_items,
                                      items=candidates)
        ids = _as_2d(ids, batch.size, "ids", model)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            if np.issubdtype(ids.dtype, np.floating) and np.all(np.mod(ids, 1) == 0):
                ids = ids.astype(np.int64)
            else:
                raise TypeError(
                    f"{type(model).__name__}.recommend returned ids of dtype {ids.dtype}; "
                    "expected integer item indices"
                )
        m = min(k, ids.shape[1])
        out_ids[start:start + batch.size, :m] = ids[:, :m]
        if out_scores is not None:
            sc = np.asarray(scores) if scores is not None else None
            if sc is not None and sc.ndim == 1 and batch.size == 1:
                sc = sc[None, :]
            if sc is None or sc.shape != ids.shape or not np.issubdtype(sc.dtype, np.number):
                out_scores = None
            else:
                out_scores[start:start + batch.size, :m] = sc[:, :m]
    return out_ids, out_scores


def _activity_bins(activity: np.ndarray, by_activity: int | Sequence[float]
                   ) -> tuple[np.ndarray, list[str]]:
    """Assign every user an activity bin. Returns (bin index per user, labels)."""
    if isinstance(by_activity, (int, np.integer)) and not isinstance(by_activity, bool):
        if by_activity < 1:
            raise ValueError(f"by_activity must be >= 1 bins or a sequence of edges; received {by_activity}")
        edges = np.unique(np.quantile(activity, np.linspace(0, 1, int(by_activity) + 1)))
    else:
        try:
            edges = np.unique(np.asarray(by_activity, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(
                "by_activity must be an int (number of quantile bins) or a sequence of bin "
                f"edges; received {by_activity!r}"
            ) from None
        if edges.size < 2:
            raise ValueError(f"by_activity edges must hold at least 2 values; received {by_activity!r}")
    if edges.size < 2:  # every user has the same activity
        edges = np.array([edges[0] - 1, edges[0]]) if edges.size else np.array([-1.0, 0.0])
    # bins (e_i, e_{i+1}], the first one closed on the left; activity is an integer count
    idx = np.searchsorted(edges, activity, side="left") - 1
    idx = np.clip(idx, 0, edges.size - 2)
    outside = (activity < edges[0]) | (activity > edges[-1])
    idx = np.where(outside, -1, idx)
    labels = []
    for i in range(edges.size - 1):
        lo = int(np.ceil(edges[i])) if i == 0 else int(np.floor(edges[i])) + 1
        hi = int(np.floor(edges[i + 1]))
        labels.append(f"{lo}" if lo == hi else f"{lo}-{hi}")
    return idx, labels


def evaluate(model: Any, split: ColdStartSplit,
             settings: str | Iterable[str] = ("cold", "warm", "hybrid"), K: int = 20,
             metrics: Iterable[str] = _DEFAULT_METRICS, batch_size: int = 1024,
             by_activity: int | Sequence[float] | None = None, per_user: bool = False
             ) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Score a fitted model on the protocol's settings.

    Parameters
    ----------
    model : object
        Fitted on ``split.train``; exposes implicit's ``recommend`` (see the module docs).
    split : ColdStartSplit
    settings : str or iterable of str, default ("cold", "warm", "hybrid")
        Any of ``"cold"``, ``"warm"``, ``"hybrid"``, and for model selection ``"cold-val"``
        and ``"hybrid-val"``.
    K : int, default 20
        Cut-off; the model is asked for ``N=K``.
    metrics : iterable of str
        Any of ``"recall"``, ``"ndcg"``, ``"precision"``, ``"map"``, ``"hit_rate"``,
        ``"coverage"``, ``"new_share"``, ``"new_rank"`` (see :mod:`coldstart.evaluation.metrics`).
        Per-user metrics are averaged over users (macro); ``new_rank`` over the users whose
        list holds a new item. The last two are NaN outside the hybrid settings.
    batch_size : int, default 1024
        Users per ``recommend`` call.
    by_activity : int or sequence of float, optional
        Also report the metrics per bin of the users' number of training interactions:
        an int gives that many quantile bins (edges from the activity of all users of the
        split, so bins are the same in every setting), a sequence gives the bin edges
        ``(e0, e1], (e1, e2], ...`` (the first bin includes ``e0``).
    per_user : bool, default False
        Also return the per-user results (``user``: the index, or a FrameRecommender's own user id).

    Returns
    -------
    summary : pandas.DataFrame
        One row per setting (index ``setting``), columns ``users`` and ``<metric>@<K>``.
        With ``by_activity``, the index is (``setting``, ``activity``), with an ``"all"`` row
        per setting followed by its bins labelled by their training-interaction range.
    per_user : pandas.DataFrame, only if ``per_user=True``
        Columns ``setting``, ``user``, ``n_train``, ``n_relevant`` and the per-user metrics.
    """
    _check_model(model)
    from coldstart.frame.recommender import FrameRecommender

    frame_model = model if isinstance(model, FrameRecommender) else None  # per-user rows in its ids
    model, split = _to_index_space(model, split)
    if not isinstance(split, ColdStartSplit):
        raise TypeError(f"split must be a coldstart.evaluation.splits.ColdStartSplit (or a "
                        f"coldstart.frame.recommender.FrameSplit with a FrameRecommender); received "
                        f"{type(split).__name__}")
    names = _selection(settings, SETTINGS, "settings")
    K = check_int(K, "K")
    metric_names = _selection(metrics, METRICS, "metrics")
    batch_size = check_int(batch_size, "batch_size")

    train = split.train
    activity = np.diff(train.indptr).astype(np.int64)
    if by_activity is not None:
        bin_of_user, bin_labels = _activity_bins(activity, by_activity)
    ranking = [m for m in metric_names if m in RANKING_METRICS]
    cols = [f"{m}@{K}" for m in metric_names]

    summary_rows: list[dict[str, Any]] = []
    per_user_frames: list[pd.DataFrame] = []
    for name in names:
        spec = setting_spec(split, name)
        truth = spec.truth
        if spec.candidates is not None and len(spec.candidates) <= K:
            warnings.warn(f"setting {name!r} ranks {len(spec.candidates)} candidate items at K={K}: every "
                          "list holds all of them, so every model scores the same (use a smaller K or a "
                          "larger split)", UserWarning, stacklevel=2)
        n_rel = np.diff(truth.indptr)
        users = np.flatnonzero(n_rel > 0)
        ids, scores = recommend_in_batches(model, users, train, K, spec.candidates,
                                           batch_size=batch_size)
        if ids.size and ids.max() >= split.n_items:
            raise ValueError(
                f"{type(model).__name__}.recommend returned item {ids.max()} in setting {name!r}; "
                f"expected item indices < {split.n_items} (the split's n_items)"
            )
        ids, n_invalid = _sanitize(ids, scores, spec.candidates, train[users], split.n_items)
        if n_invalid:
            warnings.warn(
                f"{type(model).__name__}.recommend returned {n_invalid} items outside the "
                f"{name!r} candidates or among the users' training items; they count as misses "
                "(check that the model honours items= and filter_already_liked_items)",
                RuntimeWarning, stacklevel=2,
            )
        per: dict[str, np.ndarray] = ranking_metrics(ids, truth[users], K, ranking)
        if spec.new_items is not None:
            if "new_share" in metric_names:
                per["new_share"] = new_item_share(ids, spec.new_items, K)
            if "new_rank" in metric_names:
                per["new_rank"] = new_item_mean_rank(ids, spec.new_items, K)

        def summarise(mask: np.ndarray) -> dict[str, Any]:
            row: dict[str, Any] = {"users": int(mask.sum())}
            for m in metric_names:
                if m == "coverage":
                    row[f"{m}@{K}"] = catalog_coverage(ids[mask], K, spec.candidates)
                elif m in per:
                    vals = per[m][mask]
                    ok = ~np.isnan(vals)
                    row[f"{m}@{K}"] = float(vals[ok].mean()) if ok.any() else np.nan
                else:
                    row[f"{m}@{K}"] = np.nan
            return row

        everyone = np.ones(users.size, dtype=bool)
        row = {"setting": name, **summarise(everyone)}
        if by_activity is not None:
            row["activity"] = "all"
        summary_rows.append(row)
        if by_activity is not None:
            ub = bin_of_user[users]
            for b, label in enumerate(bin_labels):
                summary_rows.append({"setting": name, "activity": label, **summarise(ub == b)})
        if per_user:
            frame = pd.DataFrame({"setting": name, "user": users, "n_train": activity[users],
                                  "n_relevant": n_rel[users]})
            for m in metric_names:
                if m in per:
                    frame[m] = per[m]
            per_user_frames.append(frame)

    index = ["setting", "activity"] if by_activity is not None else ["setting"]
    summary = pd.DataFrame(summary_rows, columns=index + ["users"] + cols).set_index(index)
    if per_user:
        pu = (pd.concat(per_user_frames, ignore_index=True) if per_user_frames else pd.DataFrame())
        if frame_model is not None and len(pu):  # a FrameRecommender: its users' own ids
            pu["user"] = frame_model.user_ids_.external_ids[pu["user"].to_numpy()]
        return summary, pu
    return summary


def _sanitize(ids: np.ndarray, scores: np.ndarray | None, candidates: np.ndarray,
              train_rows: sp.csr_matrix, n_items: int) -> tuple[np.ndarray, int]:
    """Turn padding-like entries into -1; count real entries that break the setting's rules.

    Padding: ``-1`` ids, and any id scored NaN or ``<= -FLT_MAX`` (implicit's filtered
    sentinel). Violations (returned as ``-1`` too, and counted): ids outside the candidates,
    or among the user's training items.
    """
    ids = ids.copy()
    pad = ids < 0
    if scores is not None:
        pad |= np.isnan(scores) | (scores <= -FLT_MAX)
    ids[pad] = -1
    cand = np.zeros(n_items, dtype=bool)
    cand[candidates] = True
    train_rows = train_rows.tocsr()
    train_rows.sort_indices()
    bad = (ids >= 0) & (~cand[np.where(ids >= 0, ids, 0)] | row_membership(ids, train_rows))
    ids[bad] = -1
    return ids, int(bad.sum())
