"""``coldstart benchmark``: every available model on a dataset's split, three settings."""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from coldstart.cli.data import DataError, add_data_args, load_data
from coldstart.cli.tables import markdown_table, pivot_rows, write_outputs
from coldstart.integrations.plotting import plot_metric_curves

SETTINGS = ("cold", "warm", "hybrid")


def available_models(random_state: int = 0) -> dict:
    """Model name → unfitted estimator: the default coldstart model and every baseline
    (LightFM only when the ``benchmark`` extra is installed)."""
    from coldstart.core.model import ColdStartRecommender
    from coldstart.evaluation import baselines as B

    models = {
        "coldstart": ColdStartRecommender(random_state=random_state),
        "content-profile": B.ContentProfileRecommender(),
        "als-ridge": B.ALSRidgeRecommender(random_state=random_state),
        "random": B.RandomRecommender(random_state=random_state),
        "popularity": B.PopularityRecommender(),
    }
    try:
        import lightfm  # noqa: F401

        models["lightfm"] = B.LightFMRecommender(random_state=random_state)
    except ImportError:
        pass
    return models


def load_split_for(dataset: str, data_dir: str | None, seed: int = 0):
    """The dataset and its split: ``DIR/<dataset>/split/`` if present, else the seeded protocol split."""
    from coldstart.evaluation.datasets import load_dataset
    from coldstart.evaluation.splits import protocol_split

    ds = load_dataset(dataset, data_dir)
    if ds.path is not None and (ds.path / "split").is_dir():
        return ds, ds.load_split(), "fixed split folder"
    return ds, protocol_split(ds.user_items, random_state=seed), f"protocol split (seed {seed})"


def run_benchmark(dataset: str = "citeulike-t", data_dir: str | None = None, models: list[str] | None = None,
                  K: int = 20, seed: int = 0, verbose: bool = True, curves_K: tuple[int, ...] = (),
                  data=None):
    """Fit and evaluate; returns (rows, curves, fitted models).

    ``data`` (a :class:`coldstart.cli.data.CLIData`) replaces ``dataset`` / ``data_dir``: its
    split, the baselines' features and the coldstart model's features.
    """
    from coldstart.evaluation.protocol import evaluate

    if data is None:
        ds, split, how = load_split_for(dataset, data_dir, seed)
        features = {}
    else:
        ds, split, how, dataset = data.dataset, data.split, data.how, data.label
        features = {"coldstart": data.model_features}
    if verbose:
        print(f"{dataset}: {ds.shape[0]:,} users x {ds.shape[1]:,} items, {how}", flush=True)
    zoo = available_models(seed)
    names = models or list(zoo)
    unknown = [m for m in names if m not in zoo]
    if unknown:
        raise ValueError(f"unknown or unavailable models {unknown}; available: {list(zoo)}")
    rows, curves, fitted = [], [], {}
    for name in names:
        model = zoo[name]
        t = time.perf_counter()
        model.fit(split.train, features.get(name, ds.item_features))
        fit_s = time.perf_counter() - t
        fitted[name] = model
        settings = [s for s in SETTINGS if not (name == "popularity" and s == "cold")]
        res = evaluate(model, split, settings=settings, K=K, metrics=("recall", "ndcg"))
        for s in settings:
            rows.append({"model": name, "setting": s, f"recall@{K}": float(res.loc[s, f"recall@{K}"]),
                         f"ndcg@{K}": float(res.loc[s, f"ndcg@{K}"]), "users": int(res.loc[s, "users"]),
                         "fit_seconds": round(fit_s, 3)})
        for k in curves_K:
            rk = evaluate(model, split, settings=settings, K=k, metrics=("recall", "ndcg"))
            for s in settings:
                curves.append({"model": name, "setting": s, "K": k, "recall": float(rk.loc[s, f"recall@{k}"]),
                               "ndcg": float(rk.loc[s, f"ndcg@{k}"])})
        if verbose:
            print(f"  {name:16s} fit {fit_s:7.2f}s  " + "  ".join(
                f"{r['setting']} R@{K} {r[f'recall@{K}']:.4f}" for r in rows if r["model"] == name), flush=True)
    return rows, curves, fitted


def register(sub) -> None:
    """Add the ``benchmark`` sub-command to the sub-parsers ``sub``."""
    p = sub.add_parser("benchmark", help="every model on a dataset's split: cold, warm, hybrid",
                       description="Fit every model on the training part of the split (the folder's "
                                   "split/, else the protocol's split made with --seed) and evaluate "
                                   "cold, warm and hybrid at K = 20 (EVALUATION.md).")
    add_data_args(p)
    p.add_argument("--models", default=None, help="comma-separated subset")
    p.add_argument("--seed", type=int, default=0, help="seed of the models and of the split when "
                                                      "the data has none (default 0)")
    p.add_argument("--json", dest="json_out", default=None)
    p.add_argument("--csv", dest="csv_out", default=None)
    p.add_argument("--plot", default=None, help="PNG of recall@K curves per model and setting")
    p.add_argument("--user-features", default=None,
                   help="user attribute file (CSV or Parquet: the --user-col id column and numeric "
                        "columns, one row per user): adds the cold-user setting (10 %% of the users held "
                        "out with all their interactions, served from these attributes; coldstart and "
                        "popularity)")
    p.set_defaults(func=cmd_benchmark)


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Benchmark every model (or ``--models``) on the command line's data; print and write the rows."""
    curves_K = (5, 10, 20, 50, 100) if args.plot else ()
    names = [m.strip() for m in args.models.split(",")] if args.models else None
    if names:  # before the data are loaded
        zoo = available_models(args.seed)
        unknown = [m for m in names if m not in zoo]
        if unknown:
            raise DataError(f"--models: unknown or unavailable {unknown}; available: {', '.join(zoo)}")
    data = load_data(args)
    rows, curves, _ = run_benchmark(models=names, seed=args.seed, curves_K=curves_K, data=data)
    if args.user_features:
        rows += cold_user_rows(data, args.user_features, args.user_col, args.seed)
    print()
    print(markdown_table(pivot_rows(rows, settings=SETTINGS + (("cold-users",) if args.user_features else ()))))
    write_outputs(args, rows, rows=rows, plot=lambda path: plot_metric_curves(curves, path))
    return 0


def cold_user_rows(data, path: str, user_col: str, seed: int = 0, K: int = 20) -> list[dict]:
    """The cold-user setting of ``benchmark --user-features``: rows for coldstart and popularity
    (:func:`coldstart.evaluation.cold_users.compare_cold_users`)."""
    from coldstart.cli.data import DataError
    from coldstart.core.model import ColdStartRecommender
    from coldstart.evaluation.cold_users import compare_cold_users
    from coldstart.evaluation.datasets import read_table
    from coldstart.evaluation.splits import cold_user_split

    ds = data.dataset
    try:
        table = read_table(path)
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"--user-features {path!r}: {exc}") from None
    if user_col not in table.columns or getattr(ds, "user_ids", None) is None:
        raise DataError(f"--user-features {path!r} needs a {user_col!r} id column (--user-col) and a "
                        "dataset with user ids (--interactions or a plain-format folder)")
    table = table.drop_duplicates(user_col).set_index(user_col)
    bad = []
    for c in table.columns:  # CSV cells are read as strings
        try:
            table[c] = pd.to_numeric(table[c])
        except (ValueError, TypeError):
            bad.append(c)
    missing = ~pd.Index(ds.user_ids).isin(table.index)
    if bad or missing.any():
        raise DataError(f"--user-features {path!r}: " + (f"non-numeric columns {bad}" if bad else
                        f"no row for users {list(np.asarray(ds.user_ids)[missing][:5])}"))
    XU = table.loc[ds.user_ids].to_numpy(dtype=np.float32)
    split = cold_user_split(ds.user_items, 0.1, random_state=seed)
    res = compare_cold_users(split, data.model_features, XU, ColdStartRecommender(random_state=seed), K)
    print(f"  cold users ({res['model']['users']:,} held out): " + "  ".join(
        f"{m} R@{K} {res[m]['recall']:.4f}" for m in ("model", "popularity")), flush=True)
    return [{"model": "coldstart" if m == "model" else m, "setting": "cold-users", f"recall@{K}": res[m]["recall"],
             f"ndcg@{K}": res[m]["ndcg"], "users": res[m]["users"], "fit_seconds": None}
            for m in ("model", "popularity")]
