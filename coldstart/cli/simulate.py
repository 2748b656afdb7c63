"""``coldstart simulate``: the cold-start simulation from the command line."""

from __future__ import annotations

import argparse
import time

from coldstart.cli.data import DataError, add_data_args, load_data
from coldstart.cli.tables import text_table, write_outputs
from coldstart.integrations.plotting import plot_simulation

#: SimulationConfig's fields by the options that set them
_OPTIONS = {"n_steps": "--steps", "items_per_step": "--items-per-step", "users_per_step": "--users-per-step",
            "new_age": "--new-age", "warmup_window": "--warmup-window", "exploration_weight": "--exploration-weight",
            "refit_every": "--refit-every"}


def register(sub) -> None:
    """Add the ``simulate`` sub-command to the sub-parsers ``sub``."""
    p = sub.add_parser("simulate", help="simulate items arriving over time and warming up")
    p.add_argument("--data", default="synthetic",
                   help="'synthetic' (default world), or a catalog folder (same as --data-dir): replay "
                        "of its split's cold test items")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--items-per-step", type=int, default=100)
    p.add_argument("--users-per-step", type=int, default=1000)
    p.add_argument("--informativeness", type=float, default=None,
                   help="synthetic only: attribute informativeness in [0, 1] (default: the world's)")
    p.add_argument("--refit-every", type=int, default=1,
                   help="refit the model strategies after every N steps (default 1; 0 = never, "
                        "partial fits only)")
    p.add_argument("--new-age", type=int, default=1,
                   help="items younger than this many steps count as new (default 1: the step's arrivals)")
    p.add_argument("--warmup-window", type=int, default=None,
                   help="refits establish items older than this many steps (default: none, an item "
                        "that arrived with attributes keeps its prior at any age)")
    p.add_argument("--strategies", default=None,
                   help="comma-separated subset of the strategies (zero-shot, no-attributes, content-profile, "
                        "oracle, calibrated, thompson, ucb; default: all that apply)")
    p.add_argument("--exploration-weight", type=float, default=0.3,
                   help="thompson / ucb: standard deviations of the score's posterior spread (default 0.3)")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p, features=False)  # replay: every strategy gets the reference features
    p.add_argument("--json", dest="json_out", default=None, help="write the results here")
    p.add_argument("--plot", default=None, help="write a PNG of the curves here (needs matplotlib)")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate on the default synthetic world or replay a catalog; print one row per strategy."""
    from coldstart.simulation.simulator import SimulationConfig, default_world, simulate

    t = time.perf_counter()
    if args.refit_every < 0:
        raise DataError(f"--refit-every must be 0 (never: partial fits only) or a number of steps; "
                        f"received {args.refit_every}")
    config = SimulationConfig(n_steps=args.steps, items_per_step=args.items_per_step,
                              users_per_step=args.users_per_step, refit_every=args.refit_every or None,
                              new_age=args.new_age, warmup_window=args.warmup_window,
                              exploration_weight=args.exploration_weight, random_state=args.seed)
    try:
        config.check()
    except ValueError as exc:  # the knob's option, not the field behind it
        msg = str(exc)
        for field, option in _OPTIONS.items():
            msg = msg.replace(f"SimulationConfig.{field}", option)
        raise DataError(msg) from None
    if args.data != "synthetic" and args.data_dir is None and args.interactions is None:
        args.data_dir = args.data
    replay = args.data_dir is not None or args.interactions is not None
    if replay and args.informativeness is not None:
        raise DataError("--informativeness sets the synthetic world's attributes; a replay uses the "
                        "catalog's own (leave it out, or use --data synthetic)")
    if args.data_dir is None and args.interactions is None:
        kw = {} if args.informativeness is None else {"informativeness": args.informativeness}
        data, split = default_world(config, **kw), None  # sized to the steps asked
    else:
        loaded = load_data(args)  # replay: the baselines' (reference) features for every strategy
        data, split = loaded.dataset, loaded.split
    strategies = args.strategies.split(",") if args.strategies else None
    result = simulate(data, strategies=strategies, config=config, split=split, verbose=True)
    rows = []
    for name, out in result["strategies"].items():
        ttfi = [x for x in out["time_to_first_interaction"] if x is not None]
        rows.append({"strategy": name, "clicks": out["total_clicks"], "clicks (step 1)": out["clicks"][0],
                     "new-item clicks": out["total_new_item_clicks"],
                     "new recall (step 1)": out["new_item_recall"][0],
                     "new recall (mean)": sum(out["new_item_recall"]) / len(out["step"]),
                     "new exposure": sum(out["new_item_exposure"]) / len(out["step"]),
                     "overall recall": sum(out["overall_recall"]) / len(out["step"]),
                     "established recall": sum(out["established_recall"]) / len(out["step"]),
                     "steps to 1st click": sum(ttfi) / len(ttfi) if ttfi else None,
                     "never clicked": sum(out["never_interacted_share"]) / len(out["step"])})
    print(text_table(rows))
    write_outputs(args, result, plot=lambda path: plot_simulation(result, path))
    print(f"done in {time.perf_counter() - t:.1f}s")
    return 0
