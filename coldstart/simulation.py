"""Cold-start simulation: items arrive over time, strategies serve mixed lists, users react.

A timeline of ``n_steps``. At each step a batch of new items arrives with attributes only;
every strategy serves a top-K list over established and new items alike to the users of the
step; the users react — by the ground truth of a :class:`~coldstart.synthetic.SyntheticWorld`
(click model), or, on real data, by replaying held-out interactions of the items they are shown;
each strategy then takes its own new interactions in (``partial_fit_items`` from the zero-shot
prior, ``partial_fit_users``, and a full refit every ``refit_every`` steps where configured).

Strategies: ``zero-shot`` (coldstart), ``no-attributes`` (the same collaborative model, new items
have no vector until their first interaction and get ``explore_slots`` random slots per list),
``content-profile`` (cosine between attributes and the user's profile) and, on synthetic data,
``oracle`` (ranks by the true scores).

Per step: ``new_item_recall`` / ``new_item_hit_rate`` (of the relevant new items of the user,
K = ``k``), ``new_item_exposure`` (share of list slots given to items younger than
``new_age`` steps), ``overall_recall`` and ``clicks``; per arrival cohort the mean time to
first interaction; and the warm-up curve: recall of items by their age.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from .model import ColdStartRecommender

STRATEGIES = ("zero-shot", "no-attributes", "content-profile", "oracle")


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
        Items younger than this many steps count as new for exposure and recall.
    explore_slots : int
        ``no-attributes``: slots per list given to random items without a vector.
    refit_every : int or None
        Refit the zero-shot strategy's whole model every this many steps.
    base_rate : float
        Synthetic click model: click probability of a random item shown.
    model_params : dict
        Parameters of the ``ColdStartRecommender`` the strategies use.
    random_state : int
    """

    n_steps: int = 10
    items_per_step: int = 100
    initial_items: float = 0.6
    users_per_step: int | None = 1000
    k: int = 20
    relevant_per_user: int = 5
    new_age: int = 3
    explore_slots: int = 2
    refit_every: int | None = None
    base_rate: float = 0.05
    model_params: dict = field(default_factory=lambda: {"random_state": 0})
    random_state: int = 0


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
        raise NotImplementedError


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    out = np.take_along_axis(part, order, axis=1)
    out[np.take_along_axis(scores, out, axis=1) == -np.inf] = -1
    return out


class _ModelStrategy(_Strategy):
    """Collaborative model over the items a strategy knows; index space = world item ids."""

    use_attributes = True

    def start(self, log, available):
        cols = np.zeros(self.features.shape[0], dtype=bool)
        cols[available] = True
        # fit on the established items only; unavailable items get zero-shot vectors but are
        # never candidates before they arrive
        self.model = ColdStartRecommender(**self.config.model_params).fit(log, self.features)
        self.has_vector = cols.copy()
        if not self.use_attributes:
            self.model._items.view[~cols] = 0.0
            self.model._prior.view[:] = 0.0
        self.refits = 0

    def arrive(self, items):
        if self.use_attributes:
            self.has_vector[items] = True

    def update(self, log, changed_items, changed_users, step):
        cfg = self.config
        if self.use_attributes and cfg.refit_every and step > 0 and step % cfg.refit_every == 0:
            self.model = ColdStartRecommender(**cfg.model_params).fit(log, self.features)
            self.refits += 1
            return
        if changed_items.size:
            self.model.partial_fit_items(changed_items, log.T.tocsr()[changed_items])
            self.has_vector[changed_items] = True
        if changed_users.size:
            self.model.partial_fit_users(changed_users, log[changed_users])

    def serve(self, users, log, available, rng):
        cfg = self.config
        with_vec = available[self.has_vector[available]]
        explore = available[~self.has_vector[available]]
        n_exp = min(cfg.explore_slots, explore.size) if not self.use_attributes else 0
        ids, _ = self.model.recommend(users, log[users], N=cfg.k - n_exp, items=with_vec)
        ids = np.atleast_2d(ids)
        if n_exp:
            extra = np.stack([rng.choice(explore, n_exp, replace=False) for _ in users])
            ids = np.hstack([ids, extra])
        return ids


class ZeroShot(_ModelStrategy):
    name = "zero-shot"


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

        profile = normalize(log[users] @ self.items)
        scores = np.asarray((profile @ self.items[available].T).todense())
        seen = log[users][:, available]
        scores[seen.nonzero()] = -np.inf
        top = _topk(scores, self.config.k)
        return np.where(top >= 0, available[np.maximum(top, 0)], -1)


class Oracle(_Strategy):
    name = "oracle"

    def __init__(self, features, config, world):
        super().__init__(features, config)
        self.world = world

    def serve(self, users, log, available, rng):
        scores = self.world.true_scores(users, available)
        seen = log[users][:, available]
        scores[seen.nonzero()] = -np.inf
        top = _topk(scores, self.config.k)
        return np.where(top >= 0, available[np.maximum(top, 0)], -1)


# ----------------------------------------------------------------------------- environments
class _SyntheticEnv:
    """Users react by the world's ground truth."""

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

    def truth(self, users, candidates, seen, rng) -> sp.csr_matrix:
        """Relevant items per user: ``relevant_per_user`` picks by the true choice law among the
        candidates the user has not interacted with."""
        cand = np.broadcast_to(candidates, (len(users), len(candidates))).copy()
        cand[seen[users][:, candidates].nonzero()] = -1
        u, i = self.world.sample_interactions(users, cand, n_per_user=self.config.relevant_per_user, rng=rng)
        rows = np.searchsorted(users, u)
        return sp.csr_matrix((np.ones(len(i), np.float32), (rows, i)), shape=(len(users), self.world.n_items))

    def react(self, users, lists, rng):
        mask = self.world.sample_interactions(users, lists, rng=rng, base_rate=self.config.base_rate,
                                              return_mask=True)
        r, c = np.nonzero(mask)
        return users[r], lists[r, c]


class _ReplayEnv:
    """Real data: cold test items arrive in batches; a shown item is interacted with when the
    held-out data says the user did."""

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

    def truth(self, users, candidates, seen, rng) -> sp.csr_matrix:
        mask = np.zeros(self.held.shape[1], dtype=np.float32)
        mask[candidates] = 1.0
        t = (self.held[users] @ sp.diags(mask)).tocsr()
        t = t - t.multiply(seen[users])
        t.eliminate_zeros()
        return t.tocsr()

    def react(self, users, lists, rng):
        safe = np.maximum(lists, 0)
        hit = np.asarray(self.held[users[:, None], safe].todense()) > 0
        hit &= lists >= 0
        r, c = np.nonzero(hit)
        return users[r], lists[r, c]


# ----------------------------------------------------------------------------- the loop
def _recall(lists: np.ndarray, truth: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user recall and hit (NaN where the user has no relevant item)."""
    from .metrics import hit_rate_at_k, recall_at_k

    n_rel = np.diff(truth.indptr)
    rec = recall_at_k(lists, truth, k)
    hit = hit_rate_at_k(lists, truth, k).astype(float)
    hit[n_rel == 0] = np.nan
    return rec, hit


def simulate(data: Any = "synthetic", strategies: Sequence[str] | None = None,
             config: SimulationConfig | None = None, split: Any = None,
             verbose: bool = False) -> dict:
    """Run a cold-start simulation.

    Parameters
    ----------
    data : SyntheticWorld, "synthetic" (the default world) or a Dataset (replay; needs ``split``)
    strategies : names among ``STRATEGIES`` (default: all that apply; ``oracle`` needs synthetic data)
    config : SimulationConfig
    split : ColdStartSplit, for replay

    Returns
    -------
    dict ``{"config": {...}, "strategies": {name: {"step": [...], "new_item_recall": [...], ...}}}``
    """
    from .synthetic import SyntheticWorld, make_world

    config = config or SimulationConfig()
    rng = np.random.default_rng(config.random_state)
    if isinstance(data, str) and data == "synthetic":
        data = make_world(random_state=config.random_state)
    synthetic = isinstance(data, SyntheticWorld)
    if synthetic:
        env = _SyntheticEnv(data, config, rng)
    else:
        if split is None:
            split = data.load_split()
        env = _ReplayEnv(data, split, config, rng)
    names = list(strategies) if strategies is not None else [
        s for s in STRATEGIES if synthetic or s != "oracle"]
    bad = [s for s in names if s not in STRATEGIES or (s == "oracle" and not synthetic)]
    if bad:
        raise ValueError(f"unknown or inapplicable strategies {bad}; expected some of {STRATEGIES} "
                         "(oracle needs synthetic data)")
    features = sp.csr_matrix(env.features)
    n_items = features.shape[0]
    classes = {"zero-shot": ZeroShot, "no-attributes": NoAttributes, "content-profile": ContentProfile}
    runs = {}
    for name in names:
        strat = Oracle(features, config, data) if name == "oracle" else classes[name](features, config)
        t = time.perf_counter()
        strat.start(env.initial_log, env.initial)
        runs[name] = {"strategy": strat, "log": env.initial_log.copy().tocsr(),
                      "first": np.full(n_items, -1), "fit_seconds": time.perf_counter() - t,
                      "clicks_by_age": {}, "recall_by_age": {}, "out": {
                          "step": [], "new_item_recall": [], "new_item_hit_rate": [],
                          "new_item_exposure": [], "overall_recall": [], "clicks": [],
                          "new_item_clicks": []}}
    arrival = np.full(n_items, -1)
    available = env.initial.copy()
    for step, batch in enumerate(env.batches):
        arrival[batch] = step
        available = np.union1d(available, batch)
        age = np.where(arrival >= 0, step - arrival, 10 ** 6)
        new_pool = available[age[available] < config.new_age]
        users = env.users if config.users_per_step is None or config.users_per_step >= len(env.users) \
            else np.sort(rng.choice(env.users, config.users_per_step, replace=False))
        step_seed = int(rng.integers(2 ** 31))
        for name, run in runs.items():
            strat, log = run["strategy"], run["log"]
            strat.arrive(batch)
            srng = np.random.default_rng([step_seed, 1])
            lists = np.asarray(strat.serve(users, log, available, srng), dtype=np.int64)
            # the relevant items of a step are the same for every strategy given the same history
            truth_new = env.truth(users, new_pool, log, np.random.default_rng([step_seed, 2]))
            truth_all = env.truth(users, available, log, np.random.default_rng([step_seed, 3]))
            rec_new, hit_new = _recall(lists, truth_new, config.k)
            rec_all, _ = _recall(lists, truth_all, config.k)
            shown_new = (lists >= 0) & (age[np.maximum(lists, 0)] < config.new_age)
            cu, ci = env.react(users, lists, np.random.default_rng([step_seed, 4]))
            fresh = np.asarray(log[cu, ci]).ravel() == 0
            cu, ci = cu[fresh], ci[fresh]
            # warm-up curve: recall of the truth items of each age
            for a in range(config.new_age):
                items_a = available[age[available] == a]
                if items_a.size:
                    m = np.zeros(n_items, dtype=np.float32)
                    m[items_a] = 1
                    ta = (truth_all @ sp.diags(m)).tocsr()
                    ra, _ = _recall(lists, ta, config.k)
                    if np.isfinite(ra).any():
                        run["recall_by_age"].setdefault(a, []).append(float(np.nanmean(ra)))
                    run["clicks_by_age"].setdefault(a, []).append(int(np.isin(ci, items_a).sum()))
            out = run["out"]
            out["step"].append(step)
            out["new_item_recall"].append(float(np.nanmean(rec_new)) if np.isfinite(rec_new).any() else 0.0)
            out["new_item_hit_rate"].append(float(np.nanmean(hit_new)) if np.isfinite(hit_new).any() else 0.0)
            out["new_item_exposure"].append(float(shown_new.sum() / max((lists >= 0).sum(), 1)))
            out["overall_recall"].append(float(np.nanmean(rec_all)) if np.isfinite(rec_all).any() else 0.0)
            out["clicks"].append(int(len(ci)))
            out["new_item_clicks"].append(int((age[ci] < config.new_age).sum()))
            first = run["first"]
            newly = np.unique(ci[first[ci] < 0])
            first[newly] = step
            if len(ci):
                delta = sp.csr_matrix((np.ones(len(ci), np.float32), (cu, ci)), shape=log.shape)
                run["log"] = log = (log + delta).tocsr()
            strat.update(log, np.unique(ci), np.unique(cu), step)
        if verbose:
            print(f"[simulate] step {step + 1}/{len(env.batches)}: " + ", ".join(
                f"{n} {r['out']['new_item_recall'][-1]:.3f}" for n, r in runs.items()), flush=True)
    result = {"config": {**asdict(config), "data": "synthetic" if synthetic else getattr(data, "name", "replay"),
                         "n_items": int(n_items), "n_users_served": int(len(env.users)),
                         "initial_items": int(len(env.initial))}, "strategies": {}}
    if synthetic:
        result["config"]["world"] = {k: v for k, v in data.params.items() if not hasattr(v, "__len__") or isinstance(v, str)}
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
        ages = sorted(run["recall_by_age"])
        out["warmup_age"] = ages
        out["warmup_recall"] = [float(np.mean(run["recall_by_age"][a])) for a in ages]
        out["warmup_clicks_per_item"] = [
            float(np.mean(run["clicks_by_age"][a])) / max(config.items_per_step, 1) for a in ages]
        out["fit_seconds"] = run["fit_seconds"]
        result["strategies"][name] = out
    return result


def plot_simulation(result: dict, path: str, informativeness: dict | None = None) -> None:
    """Metrics over time per strategy, warm-up curves, and (if given) the effect of attribute
    informativeness ``{rho: result}`` on first-step new-item recall. Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        raise ImportError("plots need matplotlib: pip install 'coldstart[plot]'") from exc
    panels = ["new_item_recall", "new_item_exposure", "overall_recall", "warmup"]
    n = len(panels) + (1 if informativeness else 0)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6))
    for name, out in result["strategies"].items():
        for ax, key in zip(axes, panels[:3]):
            ax.plot(out["step"], out[key], marker="o", ms=3, label=name)
            ax.set_title(key.replace("_", " "))
            ax.set_xlabel("step")
        axes[3].plot(out["warmup_age"], out["warmup_recall"], marker="o", label=name)
    axes[3].set_title("warm-up: recall of items by age")
    axes[3].set_xlabel("item age (steps)")
    axes[0].legend(fontsize=8)
    if informativeness:
        ax = axes[-1]
        rhos = sorted(informativeness)
        for name in next(iter(informativeness.values()))["strategies"]:
            ax.plot(rhos, [informativeness[r]["strategies"][name]["new_item_recall"][0] for r in rhos],
                    marker="o", label=name)
        ax.set_title("first-step new-item recall\nvs attribute informativeness")
        ax.set_xlabel("informativeness")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
