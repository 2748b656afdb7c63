"""Simulation bookkeeping: arrivals, exposure, first interactions, strategies' ordering."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.simulation.simulator import STRATEGIES, SimulationConfig, SyntheticEnv, default_world, simulate
from coldstart.simulation.synthetic import make_world


@pytest.fixture(scope="module")
def small():
    world = make_world(n_users=300, n_items=600, interactions_per_user=20, random_state=1)
    cfg = SimulationConfig(n_steps=3, items_per_step=40, users_per_step=200,
                           model_params={"factors": 16, "random_state": 0})
    return world, cfg, simulate(world, config=cfg)


def test_output_layout(small):
    world, cfg, res = small
    assert set(res["strategies"]) == {"zero-shot", "no-attributes", "content-profile", "oracle",
                                      "calibrated", "thompson", "ucb"}
    for out in res["strategies"].values():
        assert out["total_clicks"] == sum(out["clicks"]) and out["total_new_item_clicks"] == sum(out["new_item_clicks"])
        shares = np.add(np.add(out["new_item_exposure"], out["established_exposure"]), out["warming_exposure"])
        np.testing.assert_allclose(shares, 1.0)
        assert out["warming_exposure"][0] == 0.0  # nothing arrived before the first step
        assert out["mean_time_to_first_click"] is None or 0 <= out["mean_time_to_first_click"] < cfg.n_steps
        assert len(out["new_item_recall_vs_oracle"]) == cfg.n_steps
        for key in ("new_item_recall", "new_item_hit_rate", "new_item_exposure", "overall_recall", "clicks"):
            assert len(out[key]) == cfg.n_steps
        assert out["step"] == [0, 1, 2]
        assert all(0.0 <= x <= 1.0 for x in out["new_item_exposure"] + out["new_item_recall"])
        assert len(out["time_to_first_interaction"]) == cfg.n_steps
        assert all(x is None or 0 <= x < cfg.n_steps for x in out["time_to_first_interaction"])
        assert out["warmup_age"] == sorted(out["warmup_age"])
        assert len(out["established_recall"]) == cfg.n_steps
        assert all(0.0 <= x <= 1.0 for x in out["established_recall"])
        np.testing.assert_allclose(out["warmup_cumulative_clicks_per_item"],
                                   np.cumsum(out["warmup_clicks_per_item"]))
        ratio = [a / b for a, b in zip(out["warmup_recall"], res["strategies"]["oracle"]["warmup_recall"])]
        np.testing.assert_allclose(out["warmup_recall_vs_oracle"], ratio)
    assert res["strategies"]["oracle"]["warmup_recall_vs_oracle"] == [1.0] * len(out["warmup_age"])
    assert res["config"]["n_steps"] == 3 and res["config"]["data"] == "synthetic"
    assert res["config"]["warmup_window"] is None  # the default: no age limit on warming up


def test_no_attributes_gives_new_items_only_their_exploration_slots_at_arrival(small):
    world, cfg, res = small
    out = res["strategies"]["no-attributes"]
    # at the first step no new item has a vector: exposure is exactly the exploration slots
    assert out["new_item_exposure"][0] == pytest.approx(cfg.explore_slots / cfg.k, abs=1e-9)


def test_oracle_bounds_and_zero_shot_beats_no_attributes_at_arrival(small):
    world, cfg, res = small
    s = res["strategies"]
    # the oracle ranks by the world's own relevance: the most clicks of any strategy (a boost
    # can give new items more of the slots, and so more new-item recall, than the oracle does)
    for name, out in s.items():
        assert s["oracle"]["clicks"][0] >= out["clicks"][0], name
        assert s["oracle"]["overall_recall"][0] >= out["overall_recall"][0], name
    assert s["zero-shot"]["new_item_recall"][0] > 2 * s["no-attributes"]["new_item_recall"][0]


def test_items_are_never_shown_before_they_arrive():
    world = make_world(n_users=200, n_items=400, random_state=2)
    cfg = SimulationConfig(n_steps=2, items_per_step=30, users_per_step=100,
                           model_params={"factors": 8, "random_state": 0})
    env = SyntheticEnv(world, cfg, np.random.default_rng(0))
    future = env.batches[1]
    assert env.initial_log[:, future].nnz == 0
    assert not np.intersect1d(env.initial, np.concatenate(env.batches)).size

    from coldstart.simulation.simulator import ZeroShot

    strat = ZeroShot(world.item_features, cfg)
    strat.start(env.initial_log, env.initial)
    available = np.union1d(env.initial, env.batches[0])
    strat.arrive(env.batches[0])
    lists = strat.serve(np.arange(50), env.initial_log, available, np.random.default_rng(0))
    assert not np.isin(lists, future).any()
    assert np.isin(lists[lists >= 0], available).all()


def test_bad_strategy_names_are_refused():
    with pytest.raises(ValueError, match="unknown or inapplicable"):
        simulate(make_world(n_users=100, n_items=300, random_state=0),
                 strategies=("zero-shot", "magic"), config=SimulationConfig(n_steps=1, items_per_step=10))


# ----------------------------------------------------------------------------- strategy bookkeeping
@pytest.fixture
def started():
    """A zero-shot strategy without refits after step 0's arrivals, and a log with clicks on new
    items and on established ones."""
    from coldstart.simulation.simulator import ZeroShot

    world = make_world(n_users=200, n_items=400, random_state=3)
    cfg = SimulationConfig(n_steps=2, items_per_step=40, refit_every=None,
                           model_params={"factors": 8, "random_state": 0})
    env = SyntheticEnv(world, cfg, np.random.default_rng(0))
    strat = ZeroShot(world.item_features, cfg)
    strat.start(env.initial_log, env.initial)
    strat.arrive(env.batches[0])
    rng = np.random.default_rng(1)
    new = env.batches[0][:10]
    old = env.initial[:10]
    users = rng.choice(world.n_users, 30, replace=False)
    delta = sp.csr_matrix((np.ones(60, np.float32), (np.repeat(users, 2), np.concatenate(
        [rng.choice(new, 30), rng.choice(old, 30)]))), shape=env.initial_log.shape)
    delta.data[:] = 1.0
    log = env.initial_log + delta
    log.data[:] = 1.0
    return strat, log.tocsr(), new, old, users


def test_partial_fits_count_each_interaction_once(started):
    strat, log, new, old, users = started
    clicked = np.unique(log[:, new].nonzero()[1])
    items = new[clicked]
    prior = strat.model._prior.view[items].copy()
    no_users = np.zeros(0, np.int64)  # user vectors fixed, so only the item side can change
    strat.update(log, items, no_users, step=0)
    once = strat.model.item_factors_[items].copy()
    assert not np.allclose(once, prior)  # the clicks moved the new items
    # the same log again (no new interaction): the vectors must not move again
    strat.update(log, items, no_users, step=1)
    np.testing.assert_allclose(strat.model.item_factors_[items], once, rtol=1e-5, atol=1e-9)


def test_partial_fits_leave_established_items_to_the_refit(started):
    strat, log, new, old, users = started
    before = strat.model.item_factors_[old].copy()
    strat.update(log, old, np.unique(users), step=0)
    np.testing.assert_array_equal(strat.model.item_factors_[old], before)


def _partial_fit_again(strat, items, log):
    """What partial_fit_items gives ``items`` from the strategy's log: a refit must give items
    still warming up the same."""
    strat.model.partial_fit_items(items, log.T.tocsr()[items], strat.shown.T.tocsr()[items])


def test_refits_keep_young_items_warming_up(started):
    """At a refit, items younger than warmup_window get the partial-fit posterior from their
    zero-shot prior (the refit does not take their boost away); with a window of 0 they are
    established like every other item with interactions."""
    strat, log, new, old, users = started
    clicked = new[np.unique(log[:, new].nonzero()[1])]
    strat.config = SimulationConfig(**{**strat.config.__dict__, "warmup_window": 3})
    strat._fit(log)  # a refit right after the batch arrived (age 0 < warmup_window = 3)
    young = strat.model.item_factors_[clicked].copy()
    _partial_fit_again(strat, clicked, log)
    np.testing.assert_allclose(strat.model.item_factors_[clicked], young, rtol=1e-5, atol=1e-7)
    strat.config = SimulationConfig(**{**strat.config.__dict__, "warmup_window": 0})
    strat._fit(log)
    assert not np.allclose(strat.model.item_factors_[clicked], young)


@pytest.mark.parametrize("window, warming", [(None, True), (3, False), (11, True)])
def test_warmup_window_counts_steps_since_arrival(started, window, warming):
    """Ten steps after arrival an item is still warming up without a window (the default) or
    with a longer one, and established with a shorter one; items established before the run
    are never passed as new."""
    strat, log, new, old, users = started
    clicked = new[np.unique(log[:, new].nonzero()[1])]
    strat.config = SimulationConfig(**{**strat.config.__dict__, "warmup_window": window})
    strat.step += 10
    strat._fit(log)
    got = strat.model.item_factors_[clicked].copy()
    _partial_fit_again(strat, clicked, log)
    assert np.allclose(strat.model.item_factors_[clicked], got, rtol=1e-5, atol=1e-7) == warming
    old_clicked = old[np.unique(log[:, old].nonzero()[1])]
    before = strat.model.item_factors_[old_clicked].copy()
    strat.model.partial_fit_items(old_clicked, log.T.tocsr()[old_clicked])
    assert not np.allclose(strat.model.item_factors_[old_clicked], before)


def _worst_step_down(curve):
    """The smallest ratio of warm-up recall at an age to the age before (1 = never falls)."""
    c = np.asarray(curve)
    return float(np.min(c[1:] / c[:-1]))


@pytest.mark.slow  # two 6-step simulations on a 1,200-item world: the curve needs the size
def test_warmup_curve_has_no_cliff():
    """Recall by age falls gently for every strategy (users take the best items of each cohort
    first: the oracle's falls too), but a refit that establishes items at some age drops them
    from their zero-shot-boosted posterior to a far smaller collaborative vector: a cliff at
    that age. The default (no window) must not have one; a 1-step window on the same world
    shows the test can see it."""
    world = make_world(n_users=600, n_items=1200, interactions_per_user=20, random_state=2)
    base = dict(n_steps=6, items_per_step=40, users_per_step=400, warmup_ages=5,
                model_params={"factors": 16, "random_state": 0}, random_state=2)
    default = simulate(world, strategies=("zero-shot",), config=SimulationConfig(**base))
    windowed = simulate(world, strategies=("zero-shot",), config=SimulationConfig(warmup_window=1, **base))
    curve = default["strategies"]["zero-shot"]["warmup_recall"]
    assert len(curve) == 5
    assert _worst_step_down(curve) > 0.7, curve
    assert _worst_step_down(windowed["strategies"]["zero-shot"]["warmup_recall"]) < 0.55


def test_refit_cadence_and_warmup_ages():
    world = make_world(n_users=200, n_items=500, random_state=4)
    base = dict(n_steps=4, items_per_step=30, users_per_step=100, warmup_ages=2,
                model_params={"factors": 8, "random_state": 0})
    # refits after the steps where (step + 1) % every == 0, none after the last step
    for every, expected in ((1, 3), (2, 1), (3, 1), (None, 0)):
        res = simulate(world, strategies=("zero-shot", "no-attributes"),
                       config=SimulationConfig(refit_every=every, **base))
        for out in res["strategies"].values():
            assert out["refits"] == expected, every
            assert out["warmup_age"] == [0, 1]


def test_no_attributes_ignores_attributes():
    from coldstart.simulation.simulator import NoAttributes

    world = make_world(n_users=200, n_items=400, random_state=5)
    cfg = SimulationConfig(n_steps=2, items_per_step=40, model_params={"factors": 8, "random_state": 0})
    env = SyntheticEnv(world, cfg, np.random.default_rng(0))
    noise = sp.random(world.n_items, 50, density=0.1, format="csr", random_state=0, dtype=np.float32)
    lists = []
    for X in (world.item_features, noise):
        strat = NoAttributes(sp.csr_matrix(X), cfg)
        strat.start(env.initial_log, env.initial)
        strat.arrive(env.batches[0])
        available = np.union1d(env.initial, env.batches[0])
        lists.append(strat.serve(np.arange(60), env.initial_log, available, np.random.default_rng(0)))
        # items without interactions have no vector, and nothing pulls them toward attributes
        empty = np.diff(env.initial_log.tocsc().indptr) == 0
        assert not strat.model.item_factors_[empty].any()
        assert not strat.model._prior.view.any()
    np.testing.assert_array_equal(lists[0], lists[1])
    # the exploration slots go to the step's arrivals only
    assert np.isin(lists[0][:, -cfg.explore_slots:], env.batches[0]).all()


def test_truth_is_one_draw_less_each_strategys_history():
    world = make_world(n_users=100, n_items=300, random_state=6)
    cfg = SimulationConfig(n_steps=2, items_per_step=30, relevant_per_user=4)
    env = SyntheticEnv(world, cfg, np.random.default_rng(0))
    users = np.arange(0, 100, 2)
    cand = np.union1d(env.initial, env.batches[0])
    rel = env.relevance(users, cand, np.random.default_rng(1))
    none = sp.csr_matrix((len(users), len(cand)))
    t0 = env.truth(users, cand, rel, none)
    assert (np.diff(t0.indptr) == cfg.relevant_per_user).all()
    assert np.isin(t0.indices, cand).all()
    # a strategy whose users already took some of those items: they drop out, others replace them
    r, c = t0.nonzero()
    took = sp.csr_matrix((np.ones(len(users)), (np.arange(len(users)), np.searchsorted(cand, c[np.r_[0, np.cumsum(
        np.diff(t0.indptr))[:-1]]]))), shape=none.shape)
    t1 = env.truth(users, cand, rel, took)
    assert t1.multiply(t0).nnz == t0.nnz - len(users)
    assert (np.diff(t1.indptr) == cfg.relevant_per_user).all()
    # restricted to the new items: the first picks among them, within the same draw
    is_new = np.isin(cand, env.batches[0])
    tn = env.truth(users, cand, rel, none, is_new)
    assert np.isin(tn.indices, env.batches[0]).all()
    assert (np.diff(tn.indptr) == cfg.relevant_per_user).all()


@pytest.mark.parametrize("knob, value", [("n_steps", 0), ("new_age", 0), ("refit_every", 0),
                                         ("explore_slots", 20), ("initial_items", 1.0),
                                         ("warmup_window", -1), ("warmup_window", 1.5)])
def test_bad_config_is_refused_naming_the_knob(knob, value):
    with pytest.raises(ValueError, match=f"SimulationConfig.{knob}"):
        simulate(make_world(n_users=50, n_items=200, random_state=0),
                 config=SimulationConfig(**{knob: value}))


def test_the_default_world_sizes_itself_to_the_steps():
    assert STRATEGIES[:4] == ("zero-shot", "no-attributes", "content-profile", "oracle")
    ten = SimulationConfig(n_steps=10, items_per_step=100)
    assert default_world(ten).n_items == 3000  # the former default world, unchanged
    twenty = SimulationConfig(n_steps=20, items_per_step=100)
    world = default_world(twenty)
    assert world.n_items == 5000
    env = SyntheticEnv(world, twenty, np.random.default_rng(0))
    assert len(env.batches) == 20 and all(len(b) == 100 for b in env.batches)
    odd = SimulationConfig(n_steps=7, items_per_step=333, initial_items=0.55)
    env = SyntheticEnv(default_world(odd, n_users=50), odd, np.random.default_rng(0))
    assert all(len(b) == 333 for b in env.batches)


def test_calibrated_serving_gives_new_items_less_of_the_lists_than_the_boost(small):
    world, cfg, res = small
    s = res["strategies"]
    assert s["calibrated"]["new_item_exposure"][0] < s["zero-shot"]["new_item_exposure"][0]
    assert s["ucb"]["new_item_exposure"][0] >= s["calibrated"]["new_item_exposure"][0]


def test_exploration_spends_exposure_on_the_uncertain_new_items(small):
    """One step of the same world: without an exploration weight ucb and thompson serve what
    calibrated serving does; with a large one both give the new items many times its exposure."""
    world, _, _ = small
    exposure = {}
    for w in (0.0, 2.0):
        cfg = SimulationConfig(n_steps=1, items_per_step=40, users_per_step=200, exploration_weight=w,
                               model_params={"factors": 16, "random_state": 0})
        res = simulate(world, config=cfg, strategies=["calibrated", "ucb", "thompson"])["strategies"]
        exposure[w] = {name: r["new_item_exposure"][0] for name, r in res.items()}
    assert exposure[0.0]["ucb"] == exposure[0.0]["thompson"] == exposure[0.0]["calibrated"]
    assert exposure[2.0]["calibrated"] == exposure[0.0]["calibrated"]
    assert exposure[2.0]["ucb"] > 10 * exposure[2.0]["calibrated"]
    assert exposure[2.0]["thompson"] > 10 * exposure[2.0]["calibrated"]


def test_cli_simulate_20_steps_on_the_default_world(tmp_path, capsys):
    """Refused before the default world sized itself (3,000 items: enough for 12 steps)."""
    import json

    from coldstart.cli.main import main

    out = tmp_path / "sim.json"
    assert main(["simulate", "--steps", "20", "--users-per-step", "30", "--strategies", "oracle",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["config"]["n_items"] == 5000 and len(res["strategies"]["oracle"]["clicks"]) == 20
    assert "clicks (step 1)" in capsys.readouterr().out
