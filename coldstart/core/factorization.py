"""The collaborative model: implicit's ALS, built, fitted and read back as numpy factors.

The solvers that continue from its factors (fold-in, the warm-up posterior) are in
:mod:`coldstart.core.solvers`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import scipy.sparse as sp

from coldstart.core.constants import AUTO_ALPHA_SHARE


def make_als(*, factors: int, regularization: float, alpha: float, iterations: int,
             random_state: int | None, num_threads: int):
    """implicit's CPU ``AlternatingLeastSquares`` with the given hyper-parameters."""
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                   iterations=iterations, random_state=random_state,
                                   num_threads=num_threads)


def is_fitted_model(model: Any) -> bool:
    """True when ``model`` is an implicit-style model that already holds factors."""
    return getattr(model, "item_factors", None) is not None and getattr(model, "user_factors", None) is not None


def to_numpy_factors(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """(user_factors, item_factors) of an implicit model as float32 numpy arrays (GPU → CPU)."""
    if hasattr(model, "to_cpu") and not isinstance(getattr(model, "item_factors", None), np.ndarray):
        model = model.to_cpu()
    users = np.ascontiguousarray(np.asarray(model.user_factors), dtype=np.float32)
    items = np.ascontiguousarray(np.asarray(model.item_factors), dtype=np.float32)
    return users, items


def fit_collaborative(model: Any, user_items: sp.csr_matrix, show_progress: bool = False):
    """Fit a copy of an implicit model on ``user_items`` (n_users, n_items).

    Returns (fitted copy, user_factors, item_factors).
    """
    model = copy.deepcopy(model)
    model.fit(user_items, show_progress=show_progress)
    users, items = to_numpy_factors(model)
    if not (np.all(np.isfinite(users)) and np.all(np.isfinite(items))):
        raise FloatingPointError("the collaborative model produced NaN/inf factors; lower its "
                                 "learning rate/alpha or raise its regularization")
    return model, users, items


def implicit_als_class() -> type:
    """implicit's CPU ``AlternatingLeastSquares`` class (imported on first use)."""
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares


def is_implicit_als(model: Any) -> bool:
    """True for implicit's ALS (CPU or GPU): a model whose hyper-parameters (factors,
    regularization, alpha, iterations) a CPU copy can be refitted with."""
    cls = type(model)
    return (cls.__name__ == "AlternatingLeastSquares" and cls.__module__.startswith("implicit.")
            and all(hasattr(model, a) for a in ("factors", "regularization", "alpha", "iterations")))


def median_weight(weights: np.ndarray) -> float:
    """The interactions' median weight as Spark's ``percentile_approx`` gives it (the inverted CDF
    at one half; 1 without weights); constant weights (binary data) without a partition."""
    if not np.size(weights):
        return 1.0
    lo, hi = float(np.min(weights)), float(np.max(weights))
    return lo if lo == hi else float(np.percentile(weights, 50, method="inverted_cdf"))


def auto_alpha(n_interactions: int, n_users: int, n_items: int, typical_weight: float = 1.0) -> float:
    """``alpha="auto"``: ``AUTO_ALPHA_SHARE`` / density, clipped to [1, 1000], over the
    interactions' median weight ``typical_weight``, so the observed interactions weigh about 6 %
    of the unobserved mass whatever the catalog's sparsity and whatever unit the weights are in.
    ``n_users`` / ``n_items``: the users and items *with* interactions (:func:`active_counts`):
    the others hold no factor mass in the fit, so padding a matrix with accounts or catalog items
    that never interacted does not change the model."""
    density = n_interactions / float(max(n_users, 1) * max(n_items, 1))
    typical = float(typical_weight) if np.isfinite(typical_weight) and typical_weight > 0 else 1.0
    return float(np.clip(AUTO_ALPHA_SHARE / density, 1.0, 1000.0)) / typical


def active_counts(user_items: sp.csr_matrix) -> tuple[int, int]:
    """``(users, items)`` with at least one stored interaction in ``user_items`` (CSR, no stored zeros)."""
    n_items = user_items.shape[1]
    users = int(np.count_nonzero(np.diff(user_items.indptr)))
    items = int(np.count_nonzero(np.bincount(user_items.indices, minlength=n_items)))
    return users, items
