"""``coldstart search``: hyper-parameter search cross-validated on cold validation items."""

from __future__ import annotations

import argparse
import json
import time

from coldstart.cli.data import DataError, add_data_args, load_data
from coldstart.cli.tables import markdown_table, write_outputs
from coldstart.evaluation.search import COLD_INVARIANT
from coldstart.integrations.plotting import plot_cv_results


def default_scoring(grid) -> tuple[str, str]:
    """(scoring, reason) for a grid (dict or list of dicts)."""
    keys = set()
    for g in (grid if isinstance(grid, list) else [grid]):
        keys |= set(g)
    inv = sorted(keys & COLD_INVARIANT)
    if inv:
        return "hybrid:recall@20", (f"{', '.join(inv)} rescales every zero-shot vector alike and cannot change "
                                    "a cold-only ranking: scoring the hybrid setting")
    return "cold:recall@20", "scoring the cold setting"


def register(sub) -> None:
    """Add the ``search`` sub-command to the sub-parsers ``sub``."""
    p = sub.add_parser("search", help="grid/random search over ColdStartRecommender's parameters")
    add_data_args(p)
    p.add_argument("--grid", default='{"map_alpha": [0.3, 1.0, 3.0]}',
                   help="JSON dict of parameter lists (ParameterGrid; default %(default)s)")
    p.add_argument("--n-iter", type=int, default=None, help="random search: sample this many candidates")
    p.add_argument("--cv", type=int, default=3, help="folds of the cold validation items (default 3)")
    p.add_argument("--scoring", default=None,
                   help="'<setting>:<metric>@<K>' to select on. Default: one the grid can change: "
                        "'hybrid:recall@20' when the grid holds a parameter that only rescales every "
                        f"zero-shot vector ({', '.join(sorted(COLD_INVARIANT))}: cold-only rankings "
                        "cannot move, new items only compete in the hybrid setting), else "
                        "'cold:recall@20'")
    p.add_argument("--seed", type=int, default=0, help="seed of the models, the random search and the split when the data has none (default 0)")
    p.add_argument("--json", dest="json_out", default=None)
    p.add_argument("--csv", dest="csv_out", default=None)
    p.add_argument("--plot", default=None, help="PNG of the CV score per value of the first parameter")
    p.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    """Cross-validate the grid of ``--grid`` on the cold validation items; print and write the results."""
    from coldstart.core.model import ColdStartRecommender
    from coldstart.evaluation.search import ColdStartSearchCV

    try:
        grid = json.loads(args.grid)
    except json.JSONDecodeError as exc:
        raise DataError(f"--grid is not valid JSON ({exc}); expected e.g. "
                        "'{\"map_alpha\": [0.3, 1.0]}'") from None
    if not isinstance(grid, (dict, list)) or not grid:
        raise DataError(f"--grid must be a JSON object of parameter lists; received {args.grid!r}")
    if args.scoring is None:
        args.scoring, why = default_scoring(grid)
        print(f"--scoring {args.scoring} ({why})")
    data = load_data(args)
    split, how = data.split, data.how
    print(f"{data.label}: {how}; searching {grid} with {args.cv} folds of the "
          f"{len(split.cold_val_items):,} cold validation items (test items untouched)", flush=True)
    t = time.perf_counter()
    setting = args.scoring.split(":")[0]
    kw = {"param_distributions": grid, "n_iter": args.n_iter} if args.n_iter else {"param_grid": grid}
    search = ColdStartSearchCV(ColdStartRecommender(random_state=args.seed), cv=args.cv,
                               scoring=args.scoring, settings=tuple(dict.fromkeys(("cold", setting))),
                               refit=False, random_state=args.seed, verbose=1, **kw)
    search.fit(split, data.model_features)
    df = search.results_frame()
    keep = [c for c in df.columns if c.startswith(("param_", "mean_", "std_", "rank_"))]
    print()
    print(markdown_table(df[keep].to_dict("records")))
    tied = [search.cv_results_["params"][i] for i in search.tied_best_]
    if len(tied) > 1:
        print(f"\ntie: {len(tied)} candidates share the best {args.scoring} = {search.best_score_:.4f} "
              f"(mean over {args.cv} folds): {tied}; no best among them. {time.perf_counter() - t:.0f}s")
    else:
        print(f"\nbest: {search.best_params_}  {args.scoring} = {search.best_score_:.4f} "
              f"(mean over {args.cv} folds); {time.perf_counter() - t:.0f}s")
    out = {"best_params": search.best_params_ if len(tied) == 1 else None, "tied_best_params": tied,
           "best_score": search.best_score_, "scoring": args.scoring, "cv_results": df.to_dict("records")}
    write_outputs(args, out, rows=df.to_dict("records"),
                  plot=lambda path: plot_cv_results(search.cv_results_, path, param=next(iter(grid)),
                                                    score=args.scoring))
    return 0
