"""Synthetic cold-start worlds with a known ground truth.

:func:`make_world` draws users and items with latent tastes, samples implicit
feedback from them and generates item attributes (numeric, categorical, tags,
text) whose dependence on the latent item factors is set by a single knob,
``informativeness``.  The returned :class:`SyntheticWorld` exposes the ground
truth (factors, popularity bias, true scores) and a click model to simulate
users reacting to recommendation lists.

Generative model
----------------
* ``n_clusters`` taste clusters with centres ``c_j ~ N(0, I_k)``.  Items and
  users belong to a cluster and get factors
  ``v = sqrt(s) c + sqrt(1 - s) e`` with ``e ~ N(0, I_k)``, ``s = cluster_strength``.
* Popularity bias ``b_i = popularity_skew * N(0, 1)`` (log-normal item
  weights; ``popularity_skew = 0`` gives none), centred to mean zero.
* Interaction logit of user ``u`` with item ``i``:
  ``l_ui = <u, v_i> / (sqrt(k) * temperature) + b_i``.  Each user draws
  ``n_u`` distinct items with probability ``prop. to exp(l_ui)`` (Plackett-Luce,
  via the Gumbel-top-k trick); ``n_u`` is log-normal around
  ``interactions_per_user``.
* Attributes are generated from the *signal*
  ``z_i = sqrt(rho) v_i + sqrt(1 - rho) v'_i`` where ``v'_i`` is an independent
  "ghost" item drawn from the same prior and ``rho = informativeness``.  The
  marginal distribution of the attributes therefore barely changes with
  ``rho``; only their dependence on the true factors does.  ``rho = 1``: the
  attributes are (noisy) functions of the item factors, ``rho = 0``: they are
  independent of the factors, the popularity and the interactions.

Random streams are split per component, so with a fixed ``random_state``
changing ``informativeness`` changes only the attributes, changing
``popularity_skew`` only rescales the bias (and hence the interactions), and
dropping an attribute kind leaves the other kinds unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence, Union

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["ATTRIBUTE_KINDS", "SyntheticWorld", "make_world"]

#: Attribute kinds :func:`make_world` can generate.
ATTRIBUTE_KINDS: tuple[str, ...] = ("numeric", "categorical", "tags", "text")

RandomState = Union[int, np.random.Generator, np.random.SeedSequence, None]

# Independent random streams (order is part of the reproducibility contract).
_STREAMS = (
    "latent", "popularity", "interactions", "ghost", "numeric",
    "categorical", "tags", "text", "clicks",
)

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]  # 70 syllables


def _pseudo_words(n: int, min_syllables: int = 2) -> np.ndarray:
    """``n`` distinct pronounceable lowercase words (deterministic).

    Word ``j`` spells ``(j * 7919) mod 70**L`` in base 70 with ``L`` syllables,
    ``L`` the smallest length >= ``min_syllables`` giving enough words; the
    multiplier is coprime to 70, so the words are distinct and look mixed.
    """
    base = len(_SYLLABLES)
    n_syl = max(min_syllables, 1)
    while base**n_syl < n:
        n_syl += 1
    codes = (np.arange(n, dtype=object) * 7919) % (base**n_syl)
    words = []
    for q in codes:
        parts = []
        for _ in range(n_syl):
            parts.append(_SYLLABLES[q % base])
            q //= base
        words.append("".join(parts))
    return np.array(words, dtype=object)


def _seed_sequence(random_state: RandomState) -> np.random.SeedSequence:
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(random_state.integers(0, 2**63, size=4).tolist())
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.SeedSequence(random_state if random_state is None else int(random_state))
    raise TypeError(f"random_state must be an int, Generator, SeedSequence or None, got {type(random_state)!r}")


def _as_generator(rng: RandomState) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=1, keepdims=True)
    return x


def _gumbel_topk(logits: np.ndarray, k: np.ndarray, rng: np.random.Generator,
                 valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Plackett-Luce sample of ``k[r]`` distinct columns per row of ``logits``.

    Gumbel-top-k written as an exponential race: column ``j`` "arrives" at
    ``E_j exp(-logit_j)``, ``E_j ~ Exp(1)``; the first ``k`` arrivals are a
    draw without replacement with probabilities prop. to ``exp(logit)``.
    Returns ``(rows, cols)``, sorted by row, columns in draw order.
    """
    n_rows, n_cols = logits.shape
    with np.errstate(divide="ignore"):
        keys = np.log(rng.standard_exponential(size=logits.shape))
    keys -= logits  # ascending keys = draw order
    if valid is not None:
        keys[~valid] = np.inf
        k = np.minimum(k, valid.sum(axis=1))
    k = np.minimum(k, n_cols).astype(np.int64)
    kmax = int(k.max(initial=0))
    if kmax == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if kmax < n_cols:
        top = np.argpartition(keys, kmax - 1, axis=1)[:, :kmax]
    else:
        top = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    order = np.argsort(np.take_along_axis(keys, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    keep = np.arange(kmax)[None, :] < k[:, None]
    rows = np.broadcast_to(np.arange(n_rows)[:, None], top.shape)[keep]
    return rows.astype(np.int64), top[keep].astype(np.int64)


def _sample_categorical_rows(p: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n[r]`` i.i.d. column indices from each row distribution ``p[r]``.

    Returns a flat array, row ``r``'s draws at ``np.cumsum(n)`` boundaries.
    """
    n_rows, n_cols = p.shape
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0 + 1e-12  # guard the right edge against round-off
    rows = np.repeat(np.arange(n_rows), n)
    u = rng.random(rows.size)
    flat = (cdf + 2.0 * np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, u + 2.0 * rows, side="right")
    return np.minimum(pos - rows * n_cols, n_cols - 1)


def _lognormal_counts(mean: float, dispersion: float, size: int, lo: int, hi: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Integer counts, log-normal with the given mean and log-sd, clipped to [lo, hi]."""
    if dispersion <= 0:
        x = np.full(size, float(mean))
    else:
        mu = np.log(mean) - 0.5 * dispersion**2
        x = rng.lognormal(mu, dispersion, size=size)
    return np.clip(np.rint(x), lo, hi).astype(np.int64)


def _standardize(col: np.ndarray) -> np.ndarray:
    mu = np.nanmean(col)
    sd = np.nanstd(col)
    out = (col - mu) / (sd if sd > 0 else 1.0)
    return np.where(np.isnan(out), 0.0, out)


@dataclass(eq=False)
class SyntheticWorld:
    """A synthetic recommendation world with known ground truth.

    Attributes
    ----------
    user_items : scipy.sparse.csr_matrix, shape (n_users, n_items), float32
        Binary implicit feedback sampled from the ground truth.
    user_factors : ndarray, shape (n_users, n_factors)
        True user tastes.
    item_factors : ndarray, shape (n_items, n_factors)
        True item factors.
    item_bias : ndarray, shape (n_items,)
        True log-popularity bias (mean zero).
    item_attributes : pandas.DataFrame, n_items rows
        Raw attributes, one row per item (index = item id).  Columns depend on
        ``attribute_kinds``: ``price`` (float, ~10 % NaN), ``duration`` (float),
        ``score`` (float in [0, 10], ~15 % NaN), ``year`` (int) for
        "numeric"; ``category`` and ``brand`` (str) for "categorical";
        ``tags`` (list of str) for "tags"; ``text`` (space-joined words) for
        "text".
    item_features : scipy.sparse.csr_matrix, shape (n_items, n_features), float32
        Ready numeric version of ``item_attributes``: standardised numeric
        columns (``log(price)``, NaN imputed to 0) plus missing indicators,
        one-hot ``category`` / ``brand``, tag indicators, raw word counts.
    feature_names : list of str, length n_features
        Column names of ``item_features`` (e.g. ``"price"``,
        ``"category=cat_03"``, ``"tag:romu"``, ``"word:bafa"``).
    feature_blocks : dict of str to slice
        Column range of each attribute kind in ``item_features``.
    user_cluster, item_cluster : ndarray of int, shapes (n_users,), (n_items,)
        Latent taste cluster of each user / item.
    cluster_centers : ndarray, shape (n_clusters, n_factors)
    temperature : float
        Affinity temperature of the interaction logit.
    params : dict
        Arguments :func:`make_world` was called with.
    rng : numpy.random.Generator
        World-owned stream used by :meth:`sample_interactions` when no ``rng``
        is passed (seeded from ``random_state``).
    """

    user_items: sp.csr_matrix
    user_factors: np.ndarray
    item_factors: np.ndarray
    item_bias: np.ndarray
    item_attributes: pd.DataFrame
    item_features: sp.csr_matrix
    feature_names: list[str]
    feature_blocks: dict[str, slice]
    user_cluster: np.ndarray
    item_cluster: np.ndarray
    cluster_centers: np.ndarray
    temperature: float
    params: dict[str, Any]
    rng: np.random.Generator = field(repr=False)
    _offsets: dict[tuple[float, float], float] = field(default_factory=dict, repr=False)

    @property
    def n_users(self) -> int:
        return self.user_factors.shape[0]

    @property
    def n_items(self) -> int:
        return self.item_factors.shape[0]

    @property
    def n_factors(self) -> int:
        return self.item_factors.shape[1]

    def true_scores(self, users: Sequence[int] | np.ndarray, items: Sequence[int] | np.ndarray | None = None,
                    *, include_bias: bool = True) -> np.ndarray:
        """Ground-truth interaction logits.

        ``l_ui = <user_factors[u], item_factors[i]> / (sqrt(n_factors) * temperature) + item_bias[i]``.
        The interactions in ``user_items`` were sampled with probability
        proportional to ``exp(l_ui)``, so ranking by ``true_scores`` is the
        oracle ranking.

        Parameters
        ----------
        users : array-like of int, shape (n,)
        items : array-like of int, shape (m,) or (n, m), optional
            1-D: score every user against every item -> (n, m).
            2-D: row ``r`` holds the items of ``users[r]`` -> (n, m).
            ``None``: all items -> (n, n_items).  Negative ids (padding) get
            ``-inf``.
        include_bias : bool, default True
            Add the item popularity bias.

        Returns
        -------
        ndarray of float64, shape (n, m)
        """
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        scale = 1.0 / (np.sqrt(self.n_factors) * self.temperature)
        U = self.user_factors[users]
        if items is None:
            items = np.arange(self.n_items)
        items = np.asarray(items, dtype=np.int64)
        if items.ndim == 1:
            out = (U @ self.item_factors[items].T) * scale
            if include_bias:
                out += self.item_bias[items][None, :]
            return out
        if items.ndim != 2 or items.shape[0] != users.shape[0]:
            raise ValueError(f"2-D items must have shape (len(users), m); got {items.shape} for {users.shape[0]} users")
        pad = items < 0
        safe = np.where(pad, 0, items)
        present = np.zeros(self.n_items, dtype=bool)
        present[safe.ravel()] = True
        uniq = np.flatnonzero(present)
        inv = (np.cumsum(present) - 1)[safe]  # position of each item in uniq
        if uniq.size * users.size <= 4 * safe.size:
            # rows share their items (e.g. a broadcast candidate set): one matmul, then gather
            out = np.take_along_axis(U @ self.item_factors[uniq].T, inv, axis=1)
        else:  # per-row lists: gathered dot products, in memory-bounded chunks
            out = np.empty(safe.shape)
            step = max(1, 4_000_000 // max(1, safe.shape[1] * self.n_factors))
            for s in range(0, users.size, step):
                out[s:s + step] = np.einsum("nk,nmk->nm", U[s:s + step], self.item_factors[safe[s:s + step]])
        out *= scale
        if include_bias:
            out += self.item_bias[safe]
        out[pad] = -np.inf
        return out

    def click_offset(self, base_rate: float, sharpness: float = 1.0) -> float:
        """Logit offset ``c`` such that ``mean sigmoid(sharpness * l_ui + c) = base_rate``.

        The mean is over all (user, item) pairs (a fixed sample of 200k), i.e.
        ``base_rate`` is the click probability of an item shown uniformly at
        random.  Cached per ``(base_rate, sharpness)``.
        """
        if not 0.0 < base_rate < 1.0:
            raise ValueError("base_rate must be in (0, 1)")
        if sharpness < 0:
            raise ValueError("sharpness must be >= 0")
        key = (float(base_rate), float(sharpness))
        if key not in self._offsets:
            # fixed, seed-independent evaluation sample of pairs
            grid = np.random.default_rng(12345)
            n = min(200_000, self.n_users * self.n_items)
            u = grid.integers(0, self.n_users, n)
            i = grid.integers(0, self.n_items, n)
            scale = 1.0 / (np.sqrt(self.n_factors) * self.temperature)
            logit = np.einsum("nk,nk->n", self.user_factors[u], self.item_factors[i]) * scale + self.item_bias[i]
            logit *= sharpness
            lo, hi = -60.0, 60.0
            for _ in range(60):  # bisection: mean sigmoid is monotone in c
                mid = 0.5 * (lo + hi)
                if np.mean(1.0 / (1.0 + np.exp(-(logit + mid)))) < base_rate:
                    lo = mid
                else:
                    hi = mid
            self._offsets[key] = 0.5 * (lo + hi)
        return self._offsets[key]

    def sample_interactions(
        self,
        users: Sequence[int] | np.ndarray,
        items: Sequence[Sequence[int]] | np.ndarray,
        n_per_user: int | Sequence[int] | np.ndarray | None = None,
        rng: RandomState = None,
        *,
        base_rate: float = 0.05,
        sharpness: float = 1.0,
        return_mask: bool = False,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Simulate users reacting to the lists they were shown.

        Two click models, both driven by the ground-truth logits ``l_ui`` of
        :meth:`true_scores` (affinity + popularity bias), times ``sharpness``:

        * ``n_per_user`` given (choice model): user ``r`` picks exactly
          ``min(n_per_user[r], #shown)`` distinct shown items, sequentially
          with probability ``prop. to exp(sharpness * l_ui)`` among the remaining
          shown items (Plackett-Luce; with ``sharpness=1`` the law that
          generated ``user_items``).
        * ``n_per_user=None`` (click model): each shown item is clicked
          independently with probability ``sigmoid(sharpness * l_ui + c)``,
          with ``c = click_offset(base_rate, sharpness)`` so that a uniformly
          random item is clicked with probability ``base_rate``; good
          recommendations are clicked more often, and the number of clicks is
          random (possibly zero).  With the default world and
          ``base_rate=0.05``, the oracle top-10 list gets ~85 % clicks at
          ``sharpness=1``; lower ``sharpness`` flattens this.

        Positions are not modelled (no position bias).  Already-interacted
        items are not excluded: do not show them if that matters.

        Parameters
        ----------
        users : array-like of int, shape (n,)
        items : array-like of int, shape (n, K)
            Shown item ids per user; ``-1`` pads shorter lists (never chosen).
        n_per_user : int or array-like of int, shape (n,), optional
            Number of picks per user (choice model); ``None`` -> click model.
        rng : int, Generator or None
            Randomness; ``None`` uses the world's own stream :attr:`rng`.
        base_rate : float, default 0.05
            Click model only: click probability of a random item.
        sharpness : float >= 0, default 1.0
            Multiplier on the logits: 0 = users ignore relevance (uniform
            choice / constant ``base_rate`` clicks), 1 = the world's law.
        return_mask : bool, default False
            Return a boolean mask of shape (n, K) instead of id pairs.

        Returns
        -------
        (user_ids, item_ids) : tuple of int64 ndarrays, shape (n_interactions,)
            Interacting user and shown item ids, grouped by row of ``items``
            (choice model: in pick order; click model: in list order).
        mask : ndarray of bool, shape (n, K)
            If ``return_mask``: True where the shown item was interacted with.
        """
        rng = self.rng if rng is None else _as_generator(rng)
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        items = np.asarray(items, dtype=np.int64)
        if items.ndim == 1 and users.size == 1:
            items = items[None, :]
        if items.ndim != 2 or items.shape[0] != users.size:
            raise ValueError(f"items must have shape (len(users), K); got {items.shape} for {users.size} users")
        if items.size and items.max(initial=-1) >= self.n_items:
            raise ValueError("item id out of range")
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ValueError("user id out of range")
        valid = items >= 0
        if sharpness < 0:
            raise ValueError("sharpness must be >= 0")
        logits = self.true_scores(users, items)
        with np.errstate(invalid="ignore"):  # -inf padding * 0
            logits = np.where(valid, sharpness * logits, 0.0)
        if n_per_user is None:
            c = self.click_offset(base_rate, sharpness)
            with np.errstate(over="ignore"):
                p = 1.0 / (1.0 + np.exp(-(logits + c)))
            mask = (rng.random(items.shape) < p) & valid
            if return_mask:
                return mask
            r, k = np.nonzero(mask)
        else:
            n = np.broadcast_to(np.asarray(n_per_user, dtype=np.int64), users.shape)
            if (n < 0).any():
                raise ValueError("n_per_user must be non-negative")
            r, k = _gumbel_topk(logits, n, rng, valid=valid)
            if return_mask:
                mask = np.zeros(items.shape, dtype=bool)
                mask[r, k] = True
                return mask
        return users[r], items[r, k]


def make_world(
    n_users: int = 2000, n_items: int = 3000, n_factors: int = 16, interactions_per_user: float = 30.0,
    informativeness: float = 0.8, popularity_skew: float = 1.25,
    attribute_kinds: Sequence[str] = ATTRIBUTE_KINDS, n_tags: int = 300, vocab_size: int = 2000,
    random_state: RandomState = 0, *, n_clusters: int = 20, cluster_strength: float = 0.5,
    temperature: float = 0.5, activity_dispersion: float = 0.8, n_brands: int = 150,
    tags_per_item: float = 5.0, words_per_item: float = 40.0,
) -> SyntheticWorld:
    """Generate a synthetic cold-start world.

    Parameters
    ----------
    n_users, n_items : int
        Number of users / items.
    n_factors : int, default 16
        Dimension ``k`` of the true latent space.
    interactions_per_user : float, default 30
        Mean number of distinct items per user (log-normal activity, see
        ``activity_dispersion``; at least 1, at most ``n_items``).
    informativeness : float in [0, 1], default 0.8
        ``rho``: attributes are generated from ``z = sqrt(rho) v + sqrt(1 - rho) v'``
        (``v`` true item factors, ``v'`` independent ghost item).  1: the
        attributes are noisy functions of the item factors, 0: independent
        of everything else in the world.
    popularity_skew : float >= 0, default 1.25
        Sd of the log-popularity bias, ``b ~ N(0, popularity_skew^2)``
        (log-normal item weights).  With the other defaults the Gini of item
        interaction counts is about 0.37 at 0 (taste and cluster sizes only),
        0.56 at 1, 0.62 at 1.25 (top 1 % of items get ~10 % of interactions,
        ~5 % of items none) and 0.77 at 2 (~20 % of items none).
    attribute_kinds : sequence of {"numeric", "categorical", "tags", "text"}
        Attribute kinds to generate (columns of ``item_attributes`` and
        blocks of ``item_features``).
    n_tags : int, default 300
        Tag vocabulary size.
    vocab_size : int, default 2000
        Text vocabulary size.
    random_state : int, Generator, SeedSequence or None, default 0
        Seed.  The same seed gives the same world.
    n_clusters : int, default 20
        Number of taste clusters; also the number of item categories
        (``category`` is the cluster centre nearest to ``z``).
    cluster_strength : float in [0, 1], default 0.5
        Share of factor variance explained by the cluster centre (0: plain
        Gaussian factors, 1: all members of a cluster are identical).
    temperature : float > 0, default 0.5
        Affinity temperature; lower = users more selective (interactions
        more predictable from the factors).
    activity_dispersion : float >= 0, default 0.8
        Log-sd of the number of interactions per user (0: all equal; 0.8:
        median ~21, max ~400, user Gini ~0.44).
    n_brands : int, default 150
        Levels of the high-cardinality ``brand`` column (nearest of random
        prototypes to ``z``); 0 drops the column.
    tags_per_item : float, default 5
        Mean number of tags per item (``1 + Poisson``).
    words_per_item : float, default 40
        Mean text length in words (``1 + Poisson``).

    Returns
    -------
    SyntheticWorld
    """
    kinds = tuple(dict.fromkeys(attribute_kinds))
    unknown = set(kinds) - set(ATTRIBUTE_KINDS)
    if isinstance(attribute_kinds, str) or unknown:
        raise ValueError(f"attribute_kinds must be a sequence drawn from {ATTRIBUTE_KINDS}; got {attribute_kinds!r}")
    if not 0.0 <= informativeness <= 1.0:
        raise ValueError("informativeness must be in [0, 1]")
    if not 0.0 <= cluster_strength <= 1.0:
        raise ValueError("cluster_strength must be in [0, 1]")
    if popularity_skew < 0 or temperature <= 0 or activity_dispersion < 0:
        raise ValueError("popularity_skew and activity_dispersion must be >= 0, temperature > 0")
    if min(n_users, n_items, n_factors, n_clusters) < 1 or interactions_per_user <= 0:
        raise ValueError("sizes must be positive")
    if ("tags" in kinds and (n_tags < 1 or tags_per_item < 1)) or (
            "text" in kinds and (vocab_size < 1 or words_per_item < 1)) or n_brands < 0:
        raise ValueError("n_tags, tags_per_item, vocab_size, words_per_item must be >= 1 and n_brands >= 0")
    params = dict(
        n_users=n_users, n_items=n_items, n_factors=n_factors,
        interactions_per_user=interactions_per_user, informativeness=informativeness,
        popularity_skew=popularity_skew, attribute_kinds=kinds, n_tags=n_tags,
        vocab_size=vocab_size, random_state=random_state, n_clusters=n_clusters,
        cluster_strength=cluster_strength, temperature=temperature,
        activity_dispersion=activity_dispersion, n_brands=n_brands,
        tags_per_item=tags_per_item, words_per_item=words_per_item,
    )
    streams = dict(zip(_STREAMS, (np.random.default_rng(s) for s in _seed_sequence(random_state).spawn(len(_STREAMS)))))
    k = n_factors
    sqk = np.sqrt(k)

    # ---- latent tastes ------------------------------------------------------
    g = streams["latent"]
    centers = g.standard_normal((n_clusters, k))
    cluster_weights = g.dirichlet(np.full(n_clusters, 2.0))  # uneven cluster sizes
    a, b = np.sqrt(cluster_strength), np.sqrt(1.0 - cluster_strength)

    def draw_members(n: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        c = gen.choice(n_clusters, size=n, p=cluster_weights)
        return a * centers[c] + b * gen.standard_normal((n, k)), c

    item_factors, item_cluster = draw_members(n_items, g)
    user_factors, user_cluster = draw_members(n_users, g)

    # ---- popularity ---------------------------------------------------------
    raw_bias = streams["popularity"].standard_normal(n_items)
    item_bias = popularity_skew * (raw_bias - raw_bias.mean())

    # ---- interactions (Gumbel-top-k, chunked over users) -------------------
    g = streams["interactions"]
    n_u = _lognormal_counts(interactions_per_user, activity_dispersion, n_users, 1, n_items, g)
    scale = 1.0 / (sqk * temperature)
    rows_all, cols_all = [], []
    chunk = max(1, 2_000_000 // n_items)
    for start in range(0, n_users, chunk):
        stop = min(start + chunk, n_users)
        logits = (user_factors[start:stop] @ item_factors.T) * scale + item_bias
        r, c = _gumbel_topk(logits, n_u[start:stop], g)
        rows_all.append(r + start)
        cols_all.append(c)
    rows = np.concatenate(rows_all)
    cols = np.concatenate(cols_all)
    user_items = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n_users, n_items))
    user_items.sort_indices()

    # ---- attribute signal ---------------------------------------------------
    ghost, _ = draw_members(n_items, streams["ghost"])
    z = np.sqrt(informativeness) * item_factors + np.sqrt(1.0 - informativeness) * ghost

    columns: dict[str, Any] = {}
    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    feature_blocks: dict[str, slice] = {}

    def add_block(kind: str, mat: sp.spmatrix, block_names: list[str]) -> None:
        start = len(names)
        blocks.append(sp.csr_matrix(mat, dtype=np.float32))
        names.extend(block_names)
        feature_blocks[kind] = slice(start, len(names))

    for kind in ATTRIBUTE_KINDS:  # fixed order, independent streams
        if kind not in kinds:
            continue
        g = streams[kind]
        if kind == "numeric":
            # each column: a random unit projection of z plus 10 % noise variance
            W = g.standard_normal((4, k))
            W /= np.linalg.norm(W, axis=1, keepdims=True)
            raw = np.sqrt(0.9) * (z @ W.T) + np.sqrt(0.1) * g.standard_normal((n_items, 4))
            price = np.round(np.exp(3.0 + 0.8 * raw[:, 0]), 2)
            price[g.random(n_items) < 0.10] = np.nan
            duration = np.round(90.0 * np.exp(0.35 * raw[:, 1]), 1)
            score = np.round(10.0 / (1.0 + np.exp(-raw[:, 2])), 1)
            score[g.random(n_items) < 0.15] = np.nan
            year = np.clip(np.rint(2005 + 8.0 * raw[:, 3]), 1950, 2025).astype(np.int64)
            columns.update(price=price, duration=duration, score=score, year=year)
            num = [_standardize(np.log(price)), _standardize(duration), _standardize(score),
                   _standardize(year.astype(float)), np.isnan(price).astype(float), np.isnan(score).astype(float)]
            add_block(kind, np.column_stack(num),
                      ["price", "duration", "score", "year", "price_missing", "score_missing"])
        elif kind == "categorical":
            # category: nearest taste-cluster centre; brand: nearest random prototype
            d = (z**2).sum(1)[:, None] - 2 * z @ centers.T + (centers**2).sum(1)[None, :]
            cat = d.argmin(1)
            cat_names = np.array([f"cat_{j:02d}" for j in range(n_clusters)], dtype=object)
            columns["category"] = cat_names[cat]
            mats = [sp.csr_matrix((np.ones(n_items), (np.arange(n_items), cat)), shape=(n_items, n_clusters))]
            bnames = [f"category={s}" for s in cat_names]
            if n_brands > 0:
                P = g.standard_normal((n_brands, k))
                d = -2 * z @ P.T + (P**2).sum(1)[None, :]
                brand = d.argmin(1)
                brand_names = np.array([f"brand_{j:03d}" for j in range(n_brands)], dtype=object)
                columns["brand"] = brand_names[brand]
                mats.append(sp.csr_matrix((np.ones(n_items), (np.arange(n_items), brand)), shape=(n_items, n_brands)))
                bnames += [f"brand={s}" for s in brand_names]
            add_block(kind, sp.hstack(mats), bnames)
        elif kind == "tags":
            # log-linear tag model: p(tag | z) prop. to exp(s <t, z>/sqrt(k) + Zipf prior)
            T = g.standard_normal((n_tags, k))
            prior = -0.8 * np.log1p(g.permutation(n_tags))
            logits = 3.0 * (z @ T.T) / sqk + prior
            n_t = np.minimum(1 + g.poisson(max(tags_per_item - 1.0, 0.0), n_items), n_tags)
            r, c = _gumbel_topk(logits, n_t, g)
            tag_vocab = _pseudo_words(n_tags, min_syllables=3)
            columns["tags"] = [list(x) for x in np.split(tag_vocab[c], np.cumsum(n_t)[:-1])]
            add_block(kind, sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n_items, n_tags)),
                      [f"tag:{t}" for t in tag_vocab])
        elif kind == "text":
            # log-linear (embedding) topic model: word w has a direction e_w,
            # p(w | z) = 0.75 softmax(2 <e_w, z>/sqrt(k) + 0.5 zipf) + 0.25 Zipf background (stop words)
            E = g.standard_normal((vocab_size, k))
            zipf = -np.log1p(np.arange(vocab_size))
            p = _softmax_rows(2.0 * (z @ E.T) / sqk + 0.5 * zipf)
            background = np.exp(zipf)
            p = 0.75 * p + 0.25 * (background / background.sum())
            n_w = 1 + g.poisson(max(words_per_item - 1.0, 0.0), n_items)
            w = _sample_categorical_rows(p, n_w, g)
            vocab = _pseudo_words(vocab_size)
            columns["text"] = np.array([" ".join(x) for x in np.split(vocab[w], np.cumsum(n_w)[:-1])], dtype=object)
            r = np.repeat(np.arange(n_items), n_w)
            counts = sp.csr_matrix((np.ones(w.size), (r, w)), shape=(n_items, vocab_size))
            counts.sum_duplicates()
            add_block(kind, counts, [f"word:{t}" for t in vocab])

    item_attributes = pd.DataFrame(columns, index=pd.RangeIndex(n_items, name="item_id"))
    if blocks:
        item_features = sp.hstack(blocks, format="csr", dtype=np.float32)
    else:
        item_features = sp.csr_matrix((n_items, 0), dtype=np.float32)

    return SyntheticWorld(
        user_items=user_items, user_factors=user_factors, item_factors=item_factors,
        item_bias=item_bias, item_attributes=item_attributes, item_features=item_features,
        feature_names=names, feature_blocks=feature_blocks, user_cluster=user_cluster,
        item_cluster=item_cluster, cluster_centers=centers, temperature=float(temperature),
        params=params, rng=streams["clicks"],
    )
