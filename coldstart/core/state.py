"""The model's fitted state as JSON metadata and arrays: what :mod:`coldstart.core.persistence`
writes and reads, and what the Spark integration exchanges."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from coldstart.core.buffer import RowBuffer
from coldstart.core.constants import SETTINGS
from coldstart.core.solvers import gram_matrix
from coldstart.core.uncertainty import user_eigen
from coldstart.core.validation import meta_float, meta_int


class ModelState:
    """Mixin of :class:`~coldstart.core.model.ColdStartRecommender`: ``get_state`` and
    ``set_state`` (every value checked before anything is set)."""

    def get_state(self) -> dict:
        """Arrays and JSON metadata of the fitted state (see :mod:`coldstart.core.persistence`)."""
        check_is_fitted(self)
        col = self.collaborative_
        user_meta, user_arrays = self._user_state()  # the user map's part (empty without one)
        return {
            "arrays": {"user_factors": self._users.view, "item_factors": self._items.view,
                       "item_prior": self._prior.view, "is_zero_shot": self._zero_shot.view,
                       "item_variance": self._variance.view, "prior_share": self._share.view, **user_arrays},
            "meta": {"n_users": int(self.n_users_), "n_items": int(self.n_items_),
                     "n_features_in": int(self.n_features_in_), "prior_weight": float(self.prior_weight_),
                     "content_constrained": bool(self.content_constrained_),
                     "content_norm": getattr(self, "content_norm_", None),
                     "noise_variance": float(self._noise),
                     "user_sq": float(self._user_sq),  # exploration's reference user (set by fit)
                     "weight_median": getattr(self, "_weight_median", None),  # the fit's typical weight
                     "settings": {k: plain_value(getattr(self, k + "_")) for k in SETTINGS
                                  if getattr(self, k + "_", None) is not None}, **user_meta},
            "collaborative_meta": {"class": None if col is None else type(col).__name__,
                                   "regularization": self._cf_reg, "alpha": self._cf_alpha,
                                   "item_regularization": self._item_reg()},
        }

    def set_state(self, meta: dict, collaborative: dict, arrays: dict, user_map: tuple = (None, None)) -> None:
        """Restore a state written by :meth:`get_state`, checking every value first (shapes,
        dtypes, finite factors, parameters in range): ValueError/TypeError, nothing set.
        ``user_map``: the loaded ``(user_mapper, user_weighting)`` of a state with a user map."""
        users, items = arrays["user_factors"], arrays["item_factors"]
        prior, zero = arrays["item_prior"], arrays["is_zero_shot"]
        n_users = meta_int(meta, "n_users", 0)  # 0: Spark's map-only shells
        n_items = meta_int(meta, "n_items", 0)
        n_features = meta_int(meta, "n_features_in", 1)
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
        prior_weight = meta_float(meta, "prior_weight", "a non-negative number", lambda v: v >= 0)
        if not isinstance(meta["content_constrained"], bool):
            raise ValueError(f"content_constrained must be a bool; received {meta['content_constrained']!r}")
        cn = meta.get("content_norm")  # absent in files written before the length calibration
        if cn is not None:
            cn = meta_float(meta, "content_norm", "a non-negative number or None", lambda v: v >= 0)
        cf_reg = meta_float(collaborative, "regularization", "a non-negative number", lambda v: v >= 0)
        cf_alpha = meta_float(collaborative, "alpha", "a positive number", lambda v: v > 0)
        item_reg = cf_reg if collaborative.get("item_regularization") is None else meta_float(
            collaborative, "item_regularization", f"a number >= regularization ({cf_reg})", lambda v: v >= cf_reg)
        settings = meta.get("settings", {})
        if not isinstance(settings, dict) or set(settings) - set(SETTINGS):
            raise ValueError(f"settings must map some of {SETTINGS}; received {settings!r}")
        if "zero_shot_scale" in settings:
            meta_float(settings, "zero_shot_scale", "a positive number", lambda v: v > 0)
        if "map_alpha" in settings:
            meta_float(settings, "map_alpha", "a non-negative number", lambda v: v >= 0)
        if "free_sweeps" in settings:
            meta_int(settings, "free_sweeps", 0)
        if "item_ridge" in settings:
            meta_float(settings, "item_ridge", "a non-negative number", lambda v: v >= 0)
        # the posterior's spread: absent in older files (and Spark's), then computed below
        noise = 1.0 if meta.get("noise_variance") is None else meta_float(
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
        users_checked = self._checked_user_state(meta, arrays, n_users, items.shape[1])
        if (users_checked is None) != (user_map[0] is None):
            raise ValueError("the user map and the users' attribute priors must be stored together")
        if users_checked is not None:
            d_u, (umap, uweight) = users_checked[3], user_map
            if umap.n_features_in_ != d_u or (uweight is not None and uweight.n_features_in_ != d_u):
                raise ValueError(f"the user map or its weighting does not have the {d_u} user attribute columns")
            if umap.intercept_.shape != (items.shape[1],):
                raise ValueError("the user map's outputs do not match the factors")
        # exploration's reference user (absent in older files: from the users as they are now)
        user_sq = None if meta.get("user_sq") is None else meta_float(
            meta, "user_sq", "a non-negative number", lambda v: v >= 0)
        weight_median = None if meta.get("weight_median") is None else meta_float(
            meta, "weight_median", "a positive number", lambda v: v > 0)
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
        self._weight_median = weight_median
        self._user_sq = (float(np.einsum("ij,ij->", users, users, dtype=np.float64)) / max(n_users, 1)
                         if user_sq is None else user_sq)
        if variance is None:  # zero-shot items on their prior, the others as established
            ev, _ = user_eigen(gram_matrix(users))
            est = noise * float(np.sum(ev / np.maximum(ev + item_reg, 1e-30))) / max(n_users, 1)
            variance = np.where(zero, noise * self._user_sq / (item_reg + max(prior_weight, 1e-12)), est)
            share = zero.astype(np.float32)
        self._variance = RowBuffer(np.asarray(variance, dtype=np.float32))
        self._share = RowBuffer(np.asarray(share, dtype=np.float32))
        self._resolve_settings()  # files without settings (and Spark's shells): the parameters
        for k, v in settings.items():  # the settings fit chose
            setattr(self, k + "_", v)
        self._item_extra_reg = item_reg - cf_reg
        self.collaborative_ = None  # the factors are what serving needs; refit to get the object back
        if not hasattr(self, "featurizer_"):
            self.featurizer_ = None
        self._set_user_state(users_checked, *user_map)
        self._invalidate()


def plain_value(v: Any) -> Any:
    """A numpy scalar as the Python number JSON can hold."""
    return v.item() if isinstance(v, np.generic) else v
