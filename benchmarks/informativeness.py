"""Do useless attributes hurt? The default against plain implicit ALS on synthetic worlds whose
attributes are informative to a chosen degree (``coldstart.simulation.synthetic.make_world``).

For informativeness 0, 0.5 and 1 (2,000 users, 3,000 items, the protocol's seeded split), fits
the default model and ``ALSRidgeRecommender`` (plain implicit ALS for warm items, its ridge for
cold ones; fed ``|X|`` since its tf-idf needs non-negative input) and scores cold / warm /
hybrid Recall@20, plus popularity. The default treats every item without a training interaction
as new (boosted zero-shot vectors), and on these worlds 5 % of the items never get an interaction
at all: its warm recall is also scored for the same model fitted with the split's cold items named
as ``new_items`` (what a backend that knows which items it just added gets; the others without
an interaction keep their attributes' estimate unboosted).
Writes ``benchmarks/results/informativeness.{json,md}``.

Usage: ``python benchmarks/informativeness.py``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coldstart import ColdStartRecommender  # noqa: E402
from coldstart.evaluation.baselines import ALSRidgeRecommender, PopularityRecommender  # noqa: E402
from coldstart.evaluation.protocol import evaluate  # noqa: E402
from coldstart.evaluation.splits import protocol_split  # noqa: E402
from coldstart.simulation.synthetic import make_world  # noqa: E402


def main() -> int:
    rows = []
    for rho in (0.0, 0.5, 1.0):
        w = make_world(n_users=2000, n_items=3000, informativeness=rho, random_state=0)
        split = protocol_split(w.user_items, random_state=0)
        X = w.item_features
        for name, model, feats in (("coldstart", ColdStartRecommender(random_state=0), X),
                                   ("als-ridge", ALSRidgeRecommender(random_state=0), abs(X)),
                                   ("popularity", PopularityRecommender(), abs(X))):
            t = time.perf_counter()
            model.fit(split.train, feats)
            fit_s = time.perf_counter() - t
            settings = ("cold", "warm", "hybrid")  # popularity: cold items all score 0 (ties by index)
            res = evaluate(model, split, settings=settings, K=20)
            row = {"informativeness": rho, "model": name, "fit_seconds": round(fit_s, 2),
                   **{f"{s} recall@20": float(res.loc[s, "recall@20"]) for s in settings}}
            if name == "coldstart":
                row.update(free_sweeps=model.free_sweeps_, item_ridge=model.item_ridge_, map_alpha=model.map_alpha_,
                           zero_shot_scale=model.zero_shot_scale_,
                           attribute_lift=round(model.validation_["attribute_lift"], 2))
                named = ColdStartRecommender(random_state=0).fit(
                    split.train, feats, new_items=np.union1d(split.cold_val_items, split.cold_test_items))
                r2 = evaluate(named, split, settings=("warm", "hybrid"), K=20)
                row["warm recall@20, new_items named"] = float(r2.loc["warm", "recall@20"])
                row["hybrid recall@20, new_items named"] = float(r2.loc["hybrid", "recall@20"])
            rows.append(row)
            print(row, flush=True)
    lines = ["| informativeness | model | cold R@20 | warm R@20 | hybrid R@20 | warm / hybrid R@20 (new_items named) "
             "| chosen (sweeps / item ridge / map_alpha / scale / lift) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ch = (f"{r['free_sweeps']} / {r['item_ridge']:g} / {r['map_alpha']:g} / {r['zero_shot_scale']:g} / {r['attribute_lift']}"
              if r["model"] == "coldstart" else "")
        lines.append(f"| {r['informativeness']} | {r['model']} | {r.get('cold recall@20', float('nan')):.4f} | "
                     f"{r['warm recall@20']:.4f} | {r['hybrid recall@20']:.4f} | "
                     f"{r.get('warm recall@20, new_items named', float('nan')):.4f} / "
                     f"{r.get('hybrid recall@20, new_items named', float('nan')):.4f} | {ch} |")
    md = ("# Useless attributes must not hurt (synthetic worlds, 2,000 users x 3,000 items)\n\n"
          + "\n".join(lines).replace("nan", "–") + "\n\nCommand: `python benchmarks/informativeness.py`.\n")
    out = ROOT / "benchmarks" / "results"
    (out / "informativeness.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "informativeness.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split())).parse_args()  # no options; --help answers
    raise SystemExit(main())
