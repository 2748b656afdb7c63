"""Simulation bookkeeping: arrivals, exposure, first interactions, strategies' ordering."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart.simulation import SimulationConfig, _SyntheticEnv, simulate
from coldstart.synthetic import make_world


@pytest.fixture(scope="module")
def small():
    world = make_world(n_users=300, n_items=600, interactions_per_user=20, random_state=1)
    cfg = SimulationConfig(n_steps=3, items_per_step=40, users_per_step=200,
                           model_params={"factors": 16, "random_state": 0})
    return world, cfg, simulate(world, config=cfg)


def test_output_layout(small):
    world, cfg, res = small
    assert set(res["strategies"]) == {"zero-shot", "no-attributes", "content-profile", "oracle"}
    for out in res["strategies"].values():
        for key in ("new_item_recall", "new_item_hit_rate", "new_item_exposure", "overall_recall", "clicks"):
            assert len(out[key]) == cfg.n_steps
        assert out["step"] == [0, 1, 2]
        assert all(0.0 <= x <= 1.0 for x in out["new_item_exposure"] + out["new_item_recall"])
        assert len(out["time_to_first_interaction"]) == cfg.n_steps
        assert all(x is None or 0 <= x < cfg.n_steps for x in out["time_to_first_interaction"])
        assert out["warmup_age"] == sorted(out["warmup_age"])
    assert res["config"]["n_steps"] == 3 and res["config"]["data"] == "synthetic"


def test_no_attributes_gives_new_items_only_their_exploration_slots_at_arrival(small):
    world, cfg, res = small
    out = res["strategies"]["no-attributes"]
    # at the first step no new item has a vector: exposure is exactly the exploration slots
    assert out["new_item_exposure"][0] == pytest.approx(cfg.explore_slots / cfg.k, abs=1e-9)


def test_oracle_bounds_and_zero_shot_beats_no_attributes_at_arrival(small):
    world, cfg, res = small
    s = res["strategies"]
    assert s["oracle"]["new_item_recall"][0] >= s["zero-shot"]["new_item_recall"][0]
    assert s["zero-shot"]["new_item_recall"][0] > 2 * s["no-attributes"]["new_item_recall"][0]


def test_items_are_never_shown_before_they_arrive():
    world = make_world(n_users=200, n_items=400, random_state=2)
    cfg = SimulationConfig(n_steps=2, items_per_step=30, users_per_step=100,
                           model_params={"factors": 8, "random_state": 0})
    env = _SyntheticEnv(world, cfg, np.random.default_rng(0))
    future = env.batches[1]
    assert env.initial_log[:, future].nnz == 0
    assert not np.intersect1d(env.initial, np.concatenate(env.batches)).size

    from coldstart.simulation import ZeroShot

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
