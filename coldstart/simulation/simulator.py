"""Cold-start simulation: items arrive over time, strategies serve mixed lists, users react.

A timeline of ``n_steps``. At each step a batch of new items arrives with attributes only;
every strategy serves a top-K list over established and new items alike to the users of the
step; the users react — by the ground truth of a :class:`~coldstart.simulation.synthetic.SyntheticWorld`
(click model), or, on real data, by replaying held-out interactions of the items they are shown;
each strategy then takes its own new interactions in, as a production backend would: a full
refit every ``refit_every`` steps (default: every step, i.e. a step is one retraining period)
and in between ``partial_fit_items`` (items that arrived since the last fit, from their prior
with all their interactions) and ``partial_fit_users``.

Strategies: ``zero-shot`` (coldstart), ``no-attributes`` (the same estimator fitted without
attributes: new items have no vector until their first interaction and get ``explore_slots``
random slots per list), ``content-profile`` (cosine between attributes and the user's profile)
and, on synthetic data, ``oracle`` (ranks by the true scores); and coldstart served with
``recommend(calibrated=True)`` (``calibrated``: new items placed by their expected score, not
the zero-shot boost) and with an exploration term on top (``thompson``, ``ucb``;
``exploration_weight`` of the config); these three also pass each user's impressions
(``recommend(exposures=...)``: items shown and passed over count against the user's vector).

Per step: ``clicks`` and ``new_item_clicks`` (totals in ``total_clicks`` and
``total_new_item_clicks``), ``new_item_recall`` / ``new_item_hit_rate`` (of the relevant new items of the user,
K = ``k``), ``new_item_exposure`` (share of list slots given to items younger than
``new_age`` steps; the default 1 = the step's own arrivals, so the pool of new items has the
same size at every step), ``established_exposure`` (items established before the run) and
``warming_exposure`` (the rest: items that arrived in earlier steps), ``overall_recall``,
``established_recall`` (of the items established before the run), with an oracle in the run
``new_item_recall_vs_oracle``; per arrival cohort the mean time to first interaction
(``mean_time_to_first_click`` over every item that got one); and the
warm-up curve: recall of relevant items by their age (0 .. ``warmup_ages`` - 1), averaged over
the steps, with clicks per item at each age (and cumulated), and with an oracle in the run the
curve relative to the oracle's (whose own recall falls with age: its users have already taken
the items of each cohort they like most, so the relevant items left are the harder ones).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from coldstart.core.model import ColdStartRecommender
from coldstart.core.topk import top_k
from coldstart.evaluation.metrics import hit_rate_at_k, recall_at_k

STRATEGIES = ("zero-shot", "no-attributes", "content-profile", "oracle", "calibrated", "thompson", "ucb")


@dataclass
class SimulationConfig:
    """Knobs of a simulation run.

    Attributes
    ----------
    n_steps : int
    items_per_step : int
        New items arriving per step (replay: the cold items are cut into ``n_steps`` batches).
    initial_items : float
        Synthetic only: share of the world's items established before step 0.
    users_per_step : int or None
        Users served per step (a random sample; None = every user).
    k : int
        List length.
    relevant_per_user : int
        Synthetic only: how many relevant items a user has among the candidates of a step
        (drawn by the same choice law that made the data).
    new_age : int
        Items younger than this many steps count as new for exposure and recall (1: the
        items that arrived in the step itself, a pool of the same size at every step).
    warmup_ages : int
        Ages (in steps) the warm-up curve covers.
    warmup_window : int or None
        Items that arrived during the run and are younger than this many steps are still
        warming up: refits pass them as ``new_items`` (their vectors stay the posterior from
        their zero-shot prior, as between refits); older items with interactions become
        established (plain collaborative vectors). None (default): no age limit, an item that
        arrived with attributes keeps its prior and its interactions decide how much it
        weighs. With the current model the posterior keeps far more of the prior's score
        than the established vector at any click count, so a finite window drops an item's
        score at the hand-over (the warm-up curve falls off a cliff at that age); 0 = every
        item with interactions is established at the next refit.
    explore_slots : int
        ``no-attributes``: slots per list given to random items that arrived without a vector.
    refit_every : int or None
        Refit the model strategies (all but content-profile and oracle) on their interactions
        after every this many steps; None = never (partial fits only).
    exploration_weight : float
        ``thompson`` / ``ucb``: the ``exploration_weight`` of ``recommend``.
    base_rate : float
        Synthetic click model: click probability of a random item shown.
    model_params : dict
        Parameters of the ``ColdStartRecommender`` the strategies use (default: 128 factors,
        the synthetic world has 16; the library's default is tuned on citeulike-t's 20,000-word
        attributes and would double the cost of every refit).
    random_state : int
    """

    n_steps: int = 10
    items_per_step: int = 100
    initial_items: float = 0.6
    users_per_step: int | None = 1000
    k: int = 20
    relevant_per_user: int = 5
    new_age: int = 1
    warmup_ages: int = 3
    warmup_window: int | None = None
    explore_slots: int = 2
    refit_every: int | None = 1
    base_rate: float = 0.05
    exploration_weight: float = 0.3
    model_params: dict = field(default_factory=lambda: {"factors": 128, "random_state": 0})
    random_state: int = 0

    def check(self) -> "SimulationConfig":
        """Raise ValueError naming the first invalid knob; returns self."""
        for name in ("n_steps", "items_per_step", "k", "relevant_per_user", "new_age", "warmup_ages"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ValueError(f"SimulationConfig.{name} must be a positive integer; received {v!r}")
        if self.warmup_window is not None and not (isinstance(self.warmup_window, (int, np.integer))
                                                   and self.warmup_window >= 0):
            raise ValueError("SimulationConfig.warmup_window must be a non-negative integer or None; "
                             f"received {self.warmup_window!r}")
        for name in ("users_per_step", "refit_every"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ValueError(f"SimulationConfig.{name} must be a positive integer or None; received {v!r}")
        if not (isinstance(self.explore_slots, (int, np.integer)) and 0 <= self.explore_slots < self.k):
            raise ValueError(f"SimulationConfig.explore_slots must be an integer in [0, k); "
                             f"received {self.explore_slots!r} with k={self.k}")
        if not 0.0 < self.initial_items < 1.0:
            raise ValueError(f"SimulationConfig.initial_items must be in (0, 1); received {self.initial_items!r}")
        w = self.exploration_weight
        if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) \
                or not np.isfinite(w) or w < 0:
            raise ValueError(f"SimulationConfig.exploration_weight must be a non-negative number; received {w!r}")
        if not 0.0 < self.base_rate < 1.0:
            raise ValueError(f"SimulationConfig.base_rate must be in (0, 1); received {self.base_rate!r}")
        return self


# ----------------------------------------------------------------------------- strategies
class _Strategy:
    name = ""

    def __init__(self, features: sp.csr_matrix, config: SimulationConfig):
        self.features = features  # all items' attributes (index = item id)
        self.config = config

    def start(self, log: sp.csr_matrix, available: np.ndarray) -> None: ...

    def arrive(self, items: np.ndarray) -> None: ...

    def update(self, log: sp.csr_matrix, changed_items: np.ndarray, changed_users: np.ndarray,
               step: int) -> None: ...

    def serve(self, users: np.ndarray, log: sp.csr_matrix, available: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
        """Lists of shape (n_users, k), world item ids, -1 padded."""
        raise NotImplementedError


def _columns_csc(log: sp.csr_matrix, items: np.ndarray) -> sp.csr_matrix:
    """Interactions of ``items`` as rows: shape (len(items), n_users)."""
    return log.tocsc()[:, items].T.tocsr()


class _ModelStrategy(_Strategy):
    """A ColdStartRecommender served and updated the way a production backend would use it.

    Index space = world item ids. Established items (interactions at the last full fit) keep
    their fitted vectors until the next refit; items that arrived since are refitted after each
    step from their prior with all their interactions so far (``partial_fit_items``); users with
    new interactions are folded in again (``partial_fit_users``); every ``refit_every`` steps
    the whole model is refitted on the strategy's log.
    """

    use_attributes = True
    #: ``recommend``'s serving options (calibrated, exploration)
    serving: dict = {}
    #: pass the strategy's impressions to ``recommend`` (``exposures``)
    impressions = False

    def start(self, log, available):
        self.refits = 0
        self.arrived = np.zeros(self.features.shape[0], dtype=bool)
        self.arrival = np.full(self.features.shape[0], -1, dtype=np.int64)  # step of arrival
        self.initial = np.zeros(self.features.shape[0], dtype=bool)
        self.initial[available] = True
        self.step = -1
        # impressions (user, item): a backend with an impression log tells the model who has
        # seen a new item, so the users who saw it and did not click count against it
        self.shown = sp.csr_matrix(log.shape, dtype=np.float32)
        self._fit(log)

    def arrive(self, items):
        self.step += 1
        self.arrived[items] = True
        self.arrival[items] = self.step

    def _fit(self, log: sp.csr_matrix) -> None:
        params = dict(self.config.model_params)
        if self.use_attributes:
            X = self.features
        else:
            # no attributes at all: one indicator per item, so warm items get plain collaborative
            # vectors and items without interactions none; and no attribute prior in the updates
            X = sp.identity(self.features.shape[0], dtype=np.float32, format="csr")
            params["prior_weight"] = 0.0
        # new = not yet arrived (future items) or arrived within the warm-up window (None: at
        # any age); items established before the run are never new
        window = self.config.warmup_window
        warming = self.step - self.arrival < (np.inf if window is None else window)
        young = np.flatnonzero(~self.initial & (~self.arrived | warming))
        self.model = ColdStartRecommender(**params).fit(
            log, X, new_items=young if self.use_attributes else None,
            exposures=self.shown if self.use_attributes else None)
        self.established = np.diff(log.tocsc().indptr) > 0
        if not self.use_attributes:
            self.model.item_factors_[~self.established] = 0.0  # a writable view of the model's rows
            # the indicator features still gave every item a prior: partial fits must start from zero
            self.model._prior.view[:] = 0.0  # the model has no public setter for its priors
        self.has_vector = self.established.copy() if not self.use_attributes else None

    def update(self, log, changed_items, changed_users, step):
        cfg = self.config
        if cfg.refit_every and (step + 1) % cfg.refit_every == 0:
            self._fit(log)
            self.refits += 1
            return
        items = changed_items[~self.established[changed_items]]
        if items.size:
            # all interactions so far, from the item's prior (zero-shot vector; zero without
            # attributes): partial_fit_items counts nothing twice
            self.model.partial_fit_items(items, _columns_csc(log, items),
                                         _columns_csc(self.shown, items) if self.use_attributes else None)
            if self.has_vector is not None:
                self.has_vector[items] = True
        if changed_users.size:
            self.model.partial_fit_users(changed_users, log[changed_users])

    def serve(self, users, log, available, rng):
        cfg = self.config
        if self.use_attributes:
            with_vec, explore = available, available[:0]
        else:  # exploration goes to items that arrived during the run and still lack a vector
            known = self.has_vector[available]
            with_vec, explore = available[known], available[~known & self.arrived[available]]
        n_exp = min(cfg.explore_slots, explore.size) if not self.use_attributes else 0
        n_rec = cfg.k - n_exp
        opts = dict(self.serving)
        if opts.get("exploration") is not None:
            opts["exploration_weight"] = float(cfg.exploration_weight)
            opts["random_state"] = int(rng.integers(2 ** 31))
        if self.impressions:
            opts["exposures"] = self.shown[users]
        ids, scores = self.model.recommend(users, log[users], N=n_rec, items=with_vec, **opts)
        # already-liked items come back last with score -inf (the recommend contract): not shown
        ids = np.where(np.isneginf(np.atleast_2d(scores)), -1, np.atleast_2d(ids))
        if ids.shape[1] < n_rec:  # items= with fewer candidates than slots: pad the slots
            ids = np.hstack([ids, np.full((ids.shape[0], n_rec - ids.shape[1]), -1, dtype=ids.dtype)])
        r, c = np.nonzero(ids >= 0)
        seen = sp.csr_matrix((np.ones(len(r), np.float32), (users[r], ids[r, c])), shape=self.shown.shape)
        self.shown = (self.shown + seen).tocsr()
        self.shown.data[:] = 1.0
        if n_exp:  # distinct random items without a vector, independently per user
            pick = np.argpartition(rng.random((len(users), explore.size)), n_exp - 1, axis=1)[:, :n_exp]
            ids = np.hstack([ids, explore[pick]])
        return ids


class ZeroShot(_ModelStrategy):
    name = "zero-shot"


class Calibrated(_ModelStrategy):
    name = "calibrated"
    serving = {"calibrated": True}
    impressions = True


class Thompson(_ModelStrategy):
    name = "thompson"
    serving = {"calibrated": True, "exploration": "thompson"}
    impressions = True


class UCB(_ModelStrategy):
    name = "ucb"
    serving = {"calibrated": True, "exploration": "ucb"}
    impressions = True


class NoAttributes(_ModelStrategy):
    name = "no-attributes"
    use_attributes = False


class ContentProfile(_Strategy):
    name = "content-profile"

    def start(self, log, available):
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.preprocessing import normalize

        X = self.features.copy()
        X.data = np.abs(X.data)
        self.items = normalize(TfidfTransformer().fit(X[available]).transform(X)).tocsr()

    def serve(self, users, log, available, rng):
        from sklearn.preprocessing import normalize

        profile = normalize(log[users] @ self.items).tocsr()  # (n_users, n_features), sparse
        cand = self.items[available].tocsr()  # (n_available, n_features)
        scores = np.empty((len(users), len(available)))
        # sparse candidates times dense blocks of profiles (no sparse-sparse product), blocks
        # of at most ~2M profile entries
        step = max(1, 2_000_000 // max(1, cand.shape[1]))
        for s in range(0, len(users), step):
            scores[s:s + step] = (cand @ profile[s:s + step].toarray().T).T
        scores[log[users][:, available].nonzero()] = -np.inf
        return _best(scores, available, self.config.k)


class Oracle(_Strategy):
    name = "oracle"

    def __init__(self, features, config, world):
        super().__init__(features, config)
        self.world = world

    def serve(self, users, log, available, rng):
        scores = self.world.true_scores(users, available)
        scores[log[users][:, available].nonzero()] = -np.inf
        return _best(scores, available, self.config.k)


def _best(scores: np.ndarray, available: np.ndarray, k: int) -> np.ndarray:
    """Lists of shape (n_users, k): the world ids ``available[j]`` of the ``k`` highest
    ``scores`` (n_users, n_available) per row, best first; -1 where the score is -inf."""
    top, _ = top_k(scores, k)
    return np.where(top >= 0, available[np.maximum(top, 0)], -1)


# ----------------------------------------------------------------------------- environments
def _first_arrivals(keys: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the ``r`` smallest finite keys per row (fewer where fewer are finite)."""
    if keys.shape[1] == 0 or r <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    r = min(r, keys.shape[1])
    part = np.argpartition(keys, r - 1, axis=1)[:, :r]
    ok = np.isfinite(np.take_along_axis(keys, part, axis=1))
    return np.nonzero(ok)[0], part[ok]


class SyntheticEnv:
    """A synthetic world cut into a timeline: users react by the world's ground truth.

    Like :class:`ReplayEnv` it holds ``initial`` (item ids established before step 0),
    ``initial_log`` (their interactions, CSR (n_users, n_items)), ``batches`` (the item ids
    arriving at each step), ``users`` (who may be served) and ``features`` (n_items,
    n_features), and answers :meth:`relevance`, :meth:`truth` and :meth:`react`.
    """

    def __init__(self, world, config: SimulationConfig, rng: np.random.Generator):
        self.world, self.config = world, config
        n = world.n_items
        n_init = int(round(config.initial_items * n))
        order = rng.permutation(n)
        self.initial = np.sort(order[:n_init])
        rest = order[n_init:]
        self.batches = [np.sort(rest[i * config.items_per_step:(i + 1) * config.items_per_step])
                        for i in range(config.n_steps)]
        if any(b.size == 0 for b in self.batches):
            raise ValueError(f"the world has {n} items: not enough for {config.n_steps} steps of "
                             f"{config.items_per_step} new items after {n_init} initial ones")
        mask = np.zeros(n, dtype=bool)
        mask[self.initial] = True
        self.initial_log = (world.user_items @ sp.diags(mask.astype(np.float32))).tocsr()
        self.initial_log.eliminate_zeros()
        self.users = np.arange(world.n_users)
        self.features = world.item_features

    def relevance(self, users, candidates, rng) -> np.ndarray:
        """One draw of the choice law for the step, shared by the strategies: exponential-race
        keys of shape (n_users, n_candidates), ``log E - logit``; the smallest keys are the
        picks (a Plackett-Luce sample, as :meth:`SyntheticWorld.sample_interactions` draws)."""
        logits = self.world.true_scores(users, candidates)
        with np.errstate(divide="ignore"):
            return np.log(rng.standard_exponential(logits.shape)) - logits

    def truth(self, users, candidates, relevance, seen, columns=None) -> sp.csr_matrix:
        """Relevant items per user, shape (n_users, n_items): the first ``relevant_per_user``
        picks of the step's draw among ``candidates[columns]`` the user has not interacted with
        (``seen``: sparse, shape (n_users, n_candidates))."""
        keys = relevance.copy()
        keys[seen.nonzero()] = np.inf
        cols = np.arange(len(candidates)) if columns is None else np.flatnonzero(columns)
        r, c = _first_arrivals(keys[:, cols], self.config.relevant_per_user)
        return sp.csr_matrix((np.ones(len(r), np.float32), (r, candidates[cols[c]])),
                             shape=(len(users), self.world.n_items))

    def react(self, users, lists, rng):
        mask = self.world.sample_interactions(users, lists, rng=rng, base_rate=self.config.base_rate,
                                              return_mask=True)
        r, c = np.nonzero(mask)
        return users[r], lists[r, c]


class ReplayEnv:
    """Real data (a split): its cold test items arrive in ``n_steps`` batches; a shown item is
    interacted with when the held-out data says the user did. Same attributes and methods as
    :class:`SyntheticEnv`."""

    def __init__(self, dataset, split, config: SimulationConfig, rng: np.random.Generator):
        self.config = config
        cold = split.cold_test_items
        order = rng.permutation(cold)
        self.batches = [np.sort(b) for b in np.array_split(order, config.n_steps)]
        n_items = split.shape[1]
        established = np.zeros(n_items, dtype=bool)
        established[split.warm_items] = True
        self.initial = np.flatnonzero(established)
        self.initial_log = split.train
        self.held = (split.cold_test + split.warm_test).tocsr()
        self.users = np.flatnonzero(np.diff(split.cold_test.indptr) > 0)
        self.features = dataset.item_features

    def relevance(self, users, candidates, rng) -> sp.csr_matrix:
        """Held-out interactions of the users with the candidates, shape (n_users, n_candidates)."""
        return self.held[users][:, candidates].tocsr()

    def truth(self, users, candidates, relevance, seen, columns=None) -> sp.csr_matrix:
        t = (relevance - relevance.multiply(seen)).tocoo()
        keep = t.data > 0
        if columns is not None:
            keep &= columns[t.col]
        return sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (t.row[keep], candidates[t.col[keep]])),
                             shape=(len(users), self.held.shape[1]))

    def react(self, users, lists, rng):
        safe = np.maximum(lists, 0)
        hit = np.asarray(self.held[users[:, None], safe].todense()) > 0
        hit &= lists >= 0
        r, c = np.nonzero(hit)
        return users[r], lists[r, c]


# ----------------------------------------------------------------------------- the loop
def _recall(lists: np.ndarray, truth: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user recall and hit (NaN where the user has no relevant item)."""
    n_rel = np.diff(truth.indptr)
    rec = recall_at_k(lists, truth, k)
    hit = hit_rate_at_k(lists, truth, k).astype(float)
    hit[n_rel == 0] = np.nan
    return rec, hit


def _keep_items(truth: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``truth`` with only the columns where ``keep`` (bool, shape (n_items,)) is True."""
    t = truth.tocoo()
    m = keep[t.col]
    return sp.csr_matrix((t.data[m], (t.row[m], t.col[m])), shape=truth.shape)


def _mean(x: np.ndarray) -> float:
    return float(np.nanmean(x)) if np.isfinite(x).any() else 0.0


#: The default world's size when the steps fit in it (``make_world``'s default).
DEFAULT_WORLD_ITEMS = 3000


def default_world(config: SimulationConfig | None = None, **world_params: Any):
    """The default synthetic world, sized to the run: ``make_world``'s 3,000 items, or as many
    as ``config``'s steps need (``n_steps * items_per_step`` new items after an
    ``initial_items`` share of established ones): 5,000 for 20 steps of 100. ``world_params``
    go to :func:`~coldstart.simulation.synthetic.make_world` (default ``random_state``: the config's)."""
    from coldstart.simulation.synthetic import make_world

    config = (config or SimulationConfig()).check()
    need = int(np.ceil(config.n_steps * config.items_per_step / (1.0 - config.initial_items)))
    # the initial share of a world of `need` items may round down: one more step of margin
    while need - int(round(config.initial_items * need)) < config.n_steps * config.items_per_step:
        need += 1
    world_params.setdefault("n_items", max(DEFAULT_WORLD_ITEMS, need))
    world_params.setdefault("random_state", config.random_state)
    return make_world(**world_params)


def simulate(data: Any = "synthetic", strategies: Sequence[str] | None = None,
             config: SimulationConfig | None = None, split: Any = None,
             verbose: bool = False) -> dict:
    """Run a cold-start simulation.

    Parameters
    ----------
    data : SyntheticWorld, "synthetic" (the default world, sized to the run: :func:`default_world`)
        or a Dataset (replay; needs ``split``)
    strategies : names among ``STRATEGIES`` (default: all that apply; ``oracle`` needs synthetic data)
    config : SimulationConfig
    split : ColdStartSplit, for replay

    Returns
    -------
    dict ``{"config": {...}, "strategies": {name: {"step": [...], "new_item_recall": [...], ...}}}``
    """
    from coldstart.simulation.synthetic import SyntheticWorld

    config = (config or SimulationConfig()).check()
    rng = np.random.default_rng(config.random_state)
    if isinstance(data, str) and data == "synthetic":
        data = default_world(config)
    synthetic = isinstance(data, SyntheticWorld)
    if synthetic:
        env = SyntheticEnv(data, config, rng)
    else:
        if split is None:
            split = data.load_split()
        env = ReplayEnv(data, split, config, rng)
    names = list(strategies) if strategies is not None else [
        s for s in STRATEGIES if synthetic or s != "oracle"]
    bad = [s for s in names if s not in STRATEGIES or (s == "oracle" and not synthetic)]
    if bad:
        raise ValueError(f"unknown or inapplicable strategies {bad}; expected some of {STRATEGIES} "
                         "(oracle needs synthetic data)")
    features = sp.csr_matrix(env.features)
    n_items = features.shape[0]
    classes = {"zero-shot": ZeroShot, "no-attributes": NoAttributes, "content-profile": ContentProfile,
               "calibrated": Calibrated, "thompson": Thompson, "ucb": UCB}
    runs = {}
    for name in names:
        strat = Oracle(features, config, data) if name == "oracle" else classes[name](features, config)
        t = time.perf_counter()
        strat.start(env.initial_log, env.initial)
        runs[name] = {"strategy": strat, "log": env.initial_log.copy().tocsr(),
                      "first": np.full(n_items, -1), "fit_seconds": time.perf_counter() - t,
                      "clicks_by_age": {}, "recall_by_age": {}, "out": {
                          "step": [], "new_item_recall": [], "new_item_hit_rate": [],
                          "new_item_exposure": [], "established_exposure": [], "warming_exposure": [],
                          "overall_recall": [], "established_recall": [], "clicks": [], "new_item_clicks": []}}
    arrival = np.full(n_items, -1)
    available = env.initial.copy()
    for step, batch in enumerate(env.batches):
        arrival[batch] = step
        available = np.union1d(available, batch)
        age = np.where(arrival >= 0, step - arrival, 10 ** 6)
        is_new = age < config.new_age  # (n_items,)
        users = env.users if config.users_per_step is None or config.users_per_step >= len(env.users) \
            else np.sort(rng.choice(env.users, config.users_per_step, replace=False))
        step_seed = int(rng.integers(2 ** 31))
        # what the users of this step would pick is drawn once; each strategy's truth is that
        # draw less what its own users have already interacted with
        relevance = env.relevance(users, available, np.random.default_rng([step_seed, 2]))
        for name, run in runs.items():
            strat, log = run["strategy"], run["log"]
            strat.arrive(batch)
            srng = np.random.default_rng([step_seed, 1])
            lists = np.asarray(strat.serve(users, log, available, srng), dtype=np.int64)
            seen = log[users][:, available]
            truth_all = env.truth(users, available, relevance, seen)
            truth_new = env.truth(users, available, relevance, seen, is_new[available])
            rec_new, hit_new = _recall(lists, truth_new, config.k)
            rec_all, _ = _recall(lists, truth_all, config.k)
            shown = lists >= 0
            shown_new = shown & is_new[np.maximum(lists, 0)]
            cu, ci = env.react(users, lists, np.random.default_rng([step_seed, 4]))
            fresh = np.asarray(log[cu, ci]).ravel() == 0
            cu, ci = cu[fresh], ci[fresh]
            # warm-up curve: recall of the relevant items of each age, clicks per item of that age
            for a in range(min(config.warmup_ages, step + 1)):
                ra, _ = _recall(lists, _keep_items(truth_all, age == a), config.k)
                if np.isfinite(ra).any():
                    run["recall_by_age"].setdefault(a, []).append(float(np.nanmean(ra)))
                run["clicks_by_age"].setdefault(a, []).append(int((age[ci] == a).sum()))
            rec_est, _ = _recall(lists, _keep_items(truth_all, arrival < 0), config.k)
            out = run["out"]
            out["step"].append(step)
            out["new_item_recall"].append(_mean(rec_new))
            out["new_item_hit_rate"].append(_mean(hit_new))
            out["new_item_exposure"].append(float(shown_new.sum() / max(shown.sum(), 1)))
            shown_est = shown & (arrival[np.maximum(lists, 0)] < 0)
            out["established_exposure"].append(float(shown_est.sum() / max(shown.sum(), 1)))
            out["warming_exposure"].append(float((shown & ~shown_est & ~shown_new).sum() / max(shown.sum(), 1)))
            out["overall_recall"].append(_mean(rec_all))
            out["established_recall"].append(_mean(rec_est))
            out["clicks"].append(int(len(ci)))
            out["new_item_clicks"].append(int(is_new[ci].sum()))
            first = run["first"]
            newly = np.unique(ci[first[ci] < 0])
            first[newly] = step
            if len(ci):
                delta = sp.csr_matrix((np.ones(len(ci), np.float32), (cu, ci)), shape=log.shape)
                run["log"] = log = (log + delta).tocsr()
            if step < len(env.batches) - 1:  # nothing is served after the last step
                strat.update(log, np.unique(ci), np.unique(cu), step)
        if verbose:
            print(f"[simulate] step {step + 1}/{len(env.batches)}: " + ", ".join(
                f"{n} {r['out']['new_item_recall'][-1]:.3f}" for n, r in runs.items()), flush=True)
    result = {"config": {**asdict(config), "data": "synthetic" if synthetic else getattr(data, "name", "replay"),
                         "n_items": int(n_items), "n_users_served": int(len(env.users)),
                         "initial_items": int(len(env.initial))}, "strategies": {}}
    if synthetic:
        result["config"]["world"] = {k: v for k, v in data.params.items() if not hasattr(v, "__len__") or isinstance(v, str)}
    batch_size = float(np.mean([len(b) for b in env.batches]))  # replay: not items_per_step
    for name, run in runs.items():
        out = run["out"]
        first = run["first"]
        ttfi, never = [], []
        for step, batch in enumerate(env.batches):
            got = first[batch] >= 0
            ttfi.append(float(np.mean(first[batch][got] - step)) if got.any() else None)
            never.append(float(1 - got.mean()))
        out["time_to_first_interaction"] = ttfi
        out["never_interacted_share"] = never
        arrived = np.concatenate(env.batches)
        got = first[arrived] >= 0
        out["mean_time_to_first_click"] = float(np.mean(first[arrived][got] - arrival[arrived][got])) \
            if got.any() else None
        out["total_clicks"] = int(sum(out["clicks"]))
        out["total_new_item_clicks"] = int(sum(out["new_item_clicks"]))
        ages = sorted(run["recall_by_age"])
        out["warmup_age"] = ages
        out["warmup_recall"] = [float(np.mean(run["recall_by_age"][a])) for a in ages]
        out["warmup_clicks_per_item"] = [
            float(np.mean(run["clicks_by_age"][a])) / max(batch_size, 1.0) for a in ages]
        out["warmup_cumulative_clicks_per_item"] = np.cumsum(out["warmup_clicks_per_item"]).tolist()
        out["fit_seconds"] = run["fit_seconds"]
        out["refits"] = int(getattr(run["strategy"], "refits", 0))
        result["strategies"][name] = out
    if "oracle" in result["strategies"]:
        # the oracle's own curve falls with age (its users have already taken the items they
        # like most of each cohort): the ratio is what a strategy keeps of the attainable recall
        ora = result["strategies"]["oracle"]["warmup_recall"]
        ora_new = result["strategies"]["oracle"]["new_item_recall"]
        for name, out in result["strategies"].items():
            out["warmup_recall_vs_oracle"] = [x / o if o > 0 else None
                                              for x, o in zip(out["warmup_recall"], ora)]
            out["new_item_recall_vs_oracle"] = [x / o if o > 0 else None
                                                for x, o in zip(out["new_item_recall"], ora_new)]
    return result

