"""User attributes for a synthetic world, with an informativeness knob (the cold-user setting).

:func:`make_user_attributes` mirrors the item attributes of :func:`~coldstart.simulation.synthetic.make_world`:
every attribute is generated from the *signal* ``z_u = sqrt(rho) u + sqrt(1 - rho) u'``, where
``u`` is the user's true taste, ``u'`` the taste of another user drawn at random (a "ghost" from
the same distribution) and ``rho = informativeness``. The attributes' marginal distribution barely
depends on ``rho``; only their link to the user's interactions does: at 1 they are noisy
functions of the taste, at 0 pure noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["make_user_attributes"]


def make_user_attributes(world: Any, informativeness: float = 0.8, random_state: int = 0, *,
                         n_regions: int = 40, n_interests: int = 100,
                         interests_per_user: int = 4) -> tuple[pd.DataFrame, sp.csr_matrix, list[str]]:
    """Attributes of the users of ``world`` (a :class:`~coldstart.simulation.synthetic.SyntheticWorld`).

    Parameters
    ----------
    world : SyntheticWorld
        Uses ``user_factors`` (n_users, k) and ``cluster_centers`` (n_clusters, k).
    informativeness : float in [0, 1], default 0.8
        ``rho`` of the signal ``z_u`` (see the module docstring); 0: noise attributes.
    random_state : int, default 0
        Seed; the ghosts, projections and draws depend on it alone, so changing
        ``informativeness`` changes only how the attributes depend on the tastes.
    n_regions : int, default 40
        Levels of ``region`` (nearest of random prototypes to ``z_u``).
    n_interests : int, default 100
        Interest vocabulary; each user lists ``interests_per_user`` of them, drawn with
        probability ``prop. to exp(2 <t, z_u> / sqrt(k))`` (Gumbel top-k).
    interests_per_user : int, default 4

    Returns
    -------
    user_attributes : pandas.DataFrame, n_users rows (index ``user_id``)
        ``age``, ``income`` (float), ``segment`` (nearest taste-cluster centre to ``z_u``),
        ``region`` (str), ``interests`` (list of str).
    user_features : scipy.sparse.csr_matrix of shape (n_users, n_user_features), float32
        Standardised ``age`` and ``log(income)``, one-hot ``segment`` and ``region``, interest
        indicators.
    feature_names : list of str, length n_user_features
    """
    if not 0.0 <= float(informativeness) <= 1.0:
        raise ValueError(f"informativeness must be in [0, 1]; received {informativeness!r}")
    if min(n_regions, n_interests, interests_per_user) < 1 or interests_per_user > n_interests:
        raise ValueError("n_regions, n_interests and interests_per_user must be >= 1, "
                         "interests_per_user <= n_interests")
    U = np.asarray(world.user_factors, dtype=np.float64)
    centers = np.asarray(world.cluster_centers, dtype=np.float64)
    n, k = U.shape
    rng = np.random.default_rng(random_state)
    ghost = U[rng.permutation(n)]
    z = np.sqrt(informativeness) * U + np.sqrt(1.0 - informativeness) * ghost

    P = rng.standard_normal((2, k))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    raw = np.sqrt(0.9) * (z @ P.T) + np.sqrt(0.1) * rng.standard_normal((n, 2))
    age = np.clip(np.round(38.0 + 12.0 * raw[:, 0]), 16, 90)
    income = np.round(np.exp(10.3 + 0.5 * raw[:, 1]), -2)
    segment = (z @ centers.T * 2 - (centers ** 2).sum(1)).argmax(1)
    R = rng.standard_normal((n_regions, k))
    region = (z @ R.T * 2 - (R ** 2).sum(1)).argmax(1)
    T = rng.standard_normal((n_interests, k))
    logits = 2.0 * (z @ T.T) / np.sqrt(k) + rng.gumbel(size=(n, n_interests))
    interests = np.argpartition(-logits, interests_per_user - 1, axis=1)[:, :interests_per_user]
    interests.sort(axis=1)

    seg_names = np.array([f"seg_{j:02d}" for j in range(len(centers))], dtype=object)
    reg_names = np.array([f"region_{j:02d}" for j in range(n_regions)], dtype=object)
    int_names = np.array([f"interest_{j:03d}" for j in range(n_interests)], dtype=object)
    frame = pd.DataFrame({"age": age, "income": income, "segment": seg_names[segment],
                          "region": reg_names[region], "interests": [list(int_names[r]) for r in interests]},
                         index=pd.RangeIndex(n, name="user_id"))

    def standard(col):
        return (col - col.mean()) / max(float(col.std()), 1e-12)

    rows = np.arange(n)
    blocks = [sp.csr_matrix(np.column_stack([standard(age), standard(np.log(income))])),
              sp.csr_matrix((np.ones(n), (rows, segment)), shape=(n, len(centers))),
              sp.csr_matrix((np.ones(n), (rows, region)), shape=(n, n_regions)),
              sp.csr_matrix((np.ones(interests.size), (np.repeat(rows, interests_per_user), interests.ravel())),
                            shape=(n, n_interests))]
    names = (["age", "log_income"] + [f"segment={s}" for s in seg_names] + [f"region={s}" for s in reg_names]
             + [f"interest:{s}" for s in int_names])
    return frame, sp.hstack(blocks, format="csr", dtype=np.float32), names
