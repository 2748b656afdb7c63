"""``coldstart search``: hyper-parameter search cross-validated on cold validation items."""

from __future__ import annotations

import argparse
import json
import time


def register(sub) -> None:
    from .cli_data import add_data_args

    p = sub.add_parser("search", help="grid/random search over ColdStartRecommender's parameters")
    add_data_args(p)
    p.add_argument("--grid", default='{"map_alpha": [0.3, 1.0, 3.0]}',
                   help="JSON dict of parameter lists (ParameterGrid)")
    p.add_argument("--n-iter", type=int, default=None, help="random search: sample this many candidates")
    p.add_argument("--cv", type=int, default=3, help="folds of the cold validation items")
    p.add_argument("--scoring", default="cold:recall@20")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", dest="json_out", default=None)
    p.add_argument("--csv", dest="csv_out", default=None)
    p.add_argument("--plot", default=None, help="PNG of the CV score per value of the first parameter")
    p.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from .cli_data import load_data
    from .model import ColdStartRecommender
    from .reports import markdown_table, plot_cv_results, write_csv, write_json
    from .search import ColdStartSearchCV

    grid = json.loads(args.grid)
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
    print(f"\nbest: {search.best_params_}  {args.scoring} = {search.best_score_:.4f} "
          f"(mean over {args.cv} folds); {time.perf_counter() - t:.0f}s")
    out = {"best_params": search.best_params_, "best_score": search.best_score_, "scoring": args.scoring,
           "cv_results": df.to_dict("records")}
    if args.json_out:
        write_json(out, args.json_out)
    if args.csv_out:
        write_csv(df.to_dict("records"), args.csv_out)
    if args.plot:
        plot_cv_results(search.cv_results_, args.plot, param=next(iter(grid)), score=args.scoring)
    return 0
