"""Cold-start simulation runs recorded in the repo: the default synthetic world, the same world
with uninformative attributes (the honesty check), an informativeness sweep, the default world
with partial fits only (no refit) and with finite warm-up windows (3 steps, the former default,
and 0), and the replay of citeulike-t's cold test items arriving in batches.

Usage (from the repository root)::

    python benchmarks/simulation.py [--quick]

Writes ``benchmarks/results/simulation.json`` / ``.md`` and ``simulation.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart.cli.tables import markdown_table  # noqa: E402
from coldstart.evaluation.datasets import load_dataset  # noqa: E402
from coldstart.integrations.plotting import plot_simulation  # noqa: E402
from coldstart.simulation.simulator import SimulationConfig, simulate  # noqa: E402
from coldstart.simulation.synthetic import make_world  # noqa: E402


def summary(name: str, result: dict, only: tuple | None = None) -> list[dict]:
    rows = []
    for s, out in result["strategies"].items():
        if only is not None and s not in only:
            continue
        n = len(out["step"])
        ttfi = [x for x in out["time_to_first_interaction"] if x is not None]
        rows.append({"run": name, "strategy": s, "new recall step 1": out["new_item_recall"][0],
                     "new recall last": out["new_item_recall"][-1],
                     "new recall mean": sum(out["new_item_recall"]) / n,
                     "new exposure": sum(out["new_item_exposure"]) / n,
                     "overall recall": sum(out["overall_recall"]) / n,
                     "established recall": sum(out["established_recall"]) / n,
                     "steps to 1st click": sum(ttfi) / len(ttfi) if ttfi else None,
                     "warm-up recall by age": " / ".join(f"{x:.3f}" for x in out["warmup_recall"]),
                     "warm-up / oracle": " / ".join(f"{x:.2f}" for x in out.get("warmup_recall_vs_oracle", [])
                                                    if x is not None)})
    return rows


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="fewer steps and users")
    args = p.parse_args()
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    steps, users = (4, 400) if args.quick else (10, 1000)
    t = time.perf_counter()
    runs, rows = {}, []
    ages = min(steps, 6)  # the warm-up curve past the 3-step window of the windowed run
    cfg = SimulationConfig(n_steps=steps, users_per_step=users, warmup_ages=ages)
    runs["synthetic"] = simulate(make_world(random_state=0), config=cfg)
    rows += summary("synthetic (informativeness 0.8)", runs["synthetic"])
    sweep = {}
    for rho in (0.0, 0.5, 1.0):
        r = simulate(make_world(random_state=0, informativeness=rho), config=cfg,
                     strategies=("zero-shot", "no-attributes"))
        sweep[rho] = r
        rows += summary(f"synthetic (informativeness {rho})", r)
    sweep[0.8] = runs["synthetic"]
    runs["partial_fits_only"] = simulate(make_world(random_state=0), strategies=("zero-shot", "no-attributes"),
                                         config=SimulationConfig(n_steps=steps, users_per_step=users,
                                                                 refit_every=None))
    rows += summary("synthetic, partial fits only (no refit)", runs["partial_fits_only"])
    # finite warm-up windows (the oracle again, unchanged, for the curve relative to it)
    runs["warmup_window_3"] = simulate(make_world(random_state=0), strategies=("zero-shot", "oracle"),
                                       config=SimulationConfig(n_steps=steps, users_per_step=users,
                                                               warmup_ages=ages, warmup_window=3))
    rows += summary("synthetic, warm-up window 3 (refits establish items after 3 steps)",
                    runs["warmup_window_3"], only=("zero-shot",))
    runs["no_warmup_window"] = simulate(make_world(random_state=0), strategies=("zero-shot", "oracle"),
                                        config=SimulationConfig(n_steps=steps, users_per_step=users,
                                                                warmup_ages=ages, warmup_window=0))
    rows += summary("synthetic, warm-up window 0 (a refit makes every item established)",
                    runs["no_warmup_window"], only=("zero-shot",))
    ds = load_dataset("citeulike-t")
    runs["replay"] = simulate(ds, config=SimulationConfig(n_steps=min(steps, 5), users_per_step=None))
    rows += summary("citeulike-t replay", runs["replay"])
    table = markdown_table(rows)
    print(table)
    plot_simulation(runs["synthetic"], str(out_dir / "simulation.png"),
                    informativeness={k: sweep[k] for k in sorted(sweep)})
    plot_simulation(runs["replay"], str(out_dir / "simulation_replay.png"))
    (out_dir / "simulation.json").write_text(json.dumps(
        {"runs": runs, "informativeness_sweep": {str(k): v for k, v in sweep.items()}}, indent=1) + "\n")
    per_step = ["| run | strategy | new-item recall per step |", "|---|---|---|"]
    for run_name, key in (("synthetic (informativeness 0.8)", "synthetic"),
                          ("synthetic, partial fits only (no refit)", "partial_fits_only"),
                          ("synthetic, warm-up window 3", "warmup_window_3"),
                          ("synthetic, warm-up window 0", "no_warmup_window"),
                          ("citeulike-t replay", "replay")):
        for s, out in runs[key]["strategies"].items():
            if key in ("warmup_window_3", "no_warmup_window") and s != "zero-shot":
                continue
            per_step.append(f"| {run_name} | {s} | " + " ".join(f"{x:.3f}" for x in out["new_item_recall"]) + " |")
    (out_dir / "simulation.md").write_text(
        "# Cold-start simulation\n\n"
        "New items = the items that arrived in the step (`new_age` 1); the model strategies are "
        "refitted after every step unless stated, every item that arrived during the run passed to "
        "the refit as still warming up whatever its age (`warmup_window` None) unless a window is "
        "stated; warm-up recall = recall of relevant items by age in steps (0 / 1 / 2 ...), "
        "warm-up / oracle = that recall over the oracle's at the same age (the oracle's own falls "
        "with age: its users have already taken the items of each cohort they like most); "
        "established recall = recall of the relevant items established before the run.\n\n"
        + table + "\n\n" + "\n".join(per_step)
        + f"\n\nCommand: `python benchmarks/simulation.py"
        f"{' --quick' if args.quick else ''}` ({time.perf_counter() - t:.0f} s).\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
