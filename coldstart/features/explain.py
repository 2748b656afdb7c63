"""Explanations of zero-shot vectors and scores in terms of item attributes.

With a linear map, a zero-shot vector is ``v = sum_j x_j W_j + b`` over the item's weighted
attributes ``x_j``, and a score is ``u.v = sum_j x_j (W_j.u) + b.u``: both split exactly into
per-attribute contributions. For the vector, the contribution of attribute j is its component
along v, ``x_j W_j.v / ||v||`` (the contributions and the intercept's add up to ``||v||``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from coldstart.core.calibration import length_factors
from coldstart.core.validation import check_ids, check_item_features


def _zero_shot_scale(model) -> float:
    """The fitted zero-shot scale (``zero_shot_scale_``, which resolves ``"auto"``), else the parameter."""
    return float(getattr(model, "zero_shot_scale_", getattr(model, "zero_shot_scale", 1.0)))


def _linear_parts(model) -> tuple[np.ndarray, np.ndarray]:
    mapper = model.mapper_
    coef = getattr(mapper, "coef_", None)
    if coef is None:
        raise TypeError(f"explanations need a linear map with coef_; this model's map is {type(mapper).__name__}")
    coef = np.asarray(coef)
    k = model.item_factors_.shape[1]
    if coef.shape == (k, model.n_features_in_):  # scikit-learn layout (n_targets, n_features)
        coef = coef.T
    intercept = np.broadcast_to(np.asarray(getattr(mapper, "intercept_", 0.0), dtype=np.float64), (k,))
    scale = _zero_shot_scale(model)  # zero-shot vectors are scaled predictions
    return scale * coef, scale * intercept


def _length_factor(model, v: np.ndarray) -> float:
    """The zero-shot length calibration's factor for the scaled prediction ``v`` (k,)."""
    scale = _zero_shot_scale(model)
    V = np.asarray(v, dtype=np.float64)[None, :] / scale
    return float(length_factors(V, getattr(model, "content_norm_", None),
                                float(getattr(model, "zero_shot_norm_power", 0.0)))[0])


def _weighted_row(model, item_features) -> sp.csr_matrix:
    if getattr(model, "featurizer_", None) is not None and hasattr(item_features, "columns"):
        item_features = model.featurizer_.transform(item_features)
    X = check_item_features(item_features, n_features=model.n_features_in_)
    if X.shape[0] != 1:
        raise ValueError(f"item_features must hold exactly one item (1 row); received shape {X.shape}")
    Xw = model.weighting_.transform(X) if model.weighting_ is not None else X
    return sp.csr_matrix(Xw)


def _names(model, feature_names) -> np.ndarray | None:
    if feature_names is not None:
        names = np.asarray(feature_names, dtype=object)
        if names.shape != (model.n_features_in_,):
            raise ValueError(f"feature_names must have {model.n_features_in_} entries; received {names.shape}")
        return names
    fz = getattr(model, "featurizer_", None)
    if fz is not None and hasattr(fz, "get_feature_names_out"):
        return np.asarray(fz.get_feature_names_out(), dtype=object)
    return None


def _frame(cols: np.ndarray, values: np.ndarray, contrib: np.ndarray, names, top: int) -> pd.DataFrame:
    order = np.argsort(-np.abs(contrib), kind="stable")[:top]
    return pd.DataFrame({
        "attribute": names[cols[order]] if names is not None else cols[order],
        "value": values[order],
        "contribution": contrib[order],
    })


def explain_item(model, item_features: Any, feature_names: Any = None, top: int = 10) -> pd.DataFrame:
    """Attributes that contributed most to a zero-shot vector.

    Parameters
    ----------
    item_features : array-like or sparse of shape (1, n_features), or a one-row DataFrame
        when the model holds a featurizer.
    feature_names : array-like of shape (n_features,), optional
        Defaults to the featurizer's names, else column indices.
    top : int

    Returns
    -------
    DataFrame with columns ``attribute``, ``value`` (weighted attribute value) and
    ``contribution`` (component along the vector), largest magnitude first.
    """
    check_is_fitted(model)
    coef, intercept = _linear_parts(model)
    x = _weighted_row(model, item_features)
    cols, vals = x.indices, x.data.astype(np.float64)
    v = vals @ coef[cols] + intercept
    norm = np.linalg.norm(v) or 1.0
    contrib = vals * (coef[cols] @ v) / norm * _length_factor(model, v)
    return _frame(cols, vals, contrib, _names(model, feature_names), top)


def explain_score(model, userid: int, item_features: Any, feature_names: Any = None,
                  top: int = 10) -> pd.DataFrame:
    """Attributes that contributed most to the score of an item (by its attributes) for a user.

    The contributions plus the intercept's term add up to the zero-shot score ``u.v`` (each
    scaled by the vector's length calibration, ``zero_shot_norm_power``); ``attrs["score"]``
    is that score and ``attrs["remainder"]`` what the listed rows leave out.
    """
    check_is_fitted(model)
    uid, _ = check_ids(userid, model.n_users_, "userid", kind="user")
    coef, intercept = _linear_parts(model)
    u = model.user_factors_[uid[0]].astype(np.float64)
    x = _weighted_row(model, item_features)
    cols, vals = x.indices, x.data.astype(np.float64)
    contrib = vals * (coef[cols] @ u) * _length_factor(model, vals @ coef[cols] + intercept)
    df = _frame(cols, vals, contrib, _names(model, feature_names), top)
    # the scale: the zero-shot score itself, and what the listed rows leave out (the other
    # attributes and the intercept's term)
    score = float(np.asarray(model.embed_items(item_features), dtype=np.float64)[0] @ u)
    df.attrs["score"] = score
    df.attrs["remainder"] = score - float(df["contribution"].sum())
    return df


def nearest_established(model, itemid: int, N: int = 10) -> pd.DataFrame:
    """The established (collaboratively trained) items closest to ``itemid`` by cosine."""
    check_is_fitted(model)
    warm = np.flatnonzero(~model.is_zero_shot_)
    if warm.size == 0:
        raise ValueError("the model has no established items to compare with")
    ids, scores = model.similar_items(itemid, N=N + 1, items=warm)
    keep = ids != itemid
    return pd.DataFrame({"item": ids[keep][:N], "similarity": scores[keep][:N]})
