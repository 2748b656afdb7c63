"""Where the command line gets its data: a folder (plain or CiteULike format), two files, or the bundle.

Every data command (``benchmark``, ``search``, ``simulate``, ``demo``, ``split``) takes the same
options (:func:`add_data_args`) and calls :func:`load_data`, which returns the dataset, its
split (the folder's ``split/``, else the protocol's seeded split) and the features each model
is fitted on.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

FEATURES_HELP = (
    "item attributes of a plain-format catalog: 'auto' (default) fits the coldstart model on "
    "ItemFeaturizer's default features of items.csv and every baseline on the protocol's "
    "reference features (EVALUATION.md: indicators, word counts, decade buckets; the features "
    "EVALUATION.md's published baselines were measured on); "
    "'reference' gives every model the reference features (like-for-like). CiteULike folders "
    "always use their word counts."
)


class DataError(Exception):
    """Bad data or data options on the command line: printed without a traceback."""


@dataclass
class CLIData:
    """A dataset ready for the commands.

    ``features`` is what the baselines use, ``model_features`` what the coldstart model uses
    (the same matrix unless ``--features auto`` on a plain-format catalog).
    """

    dataset: object
    split: object
    how: str
    features: sp.csr_matrix
    model_features: sp.csr_matrix
    model_feature_names: np.ndarray
    label: str

    def features_for(self, model_name: str) -> sp.csr_matrix:
        return self.model_features if model_name == "coldstart" else self.features


def add_data_args(p: argparse.ArgumentParser, dataset_default: str = "citeulike-t",
                  features: bool = True) -> None:
    """The data options shared by every data command (``features``: offer ``--features``)."""
    g = p.add_argument_group("data (one of: --data-dir, --interactions, or the bundled --dataset)")
    g.add_argument("--dataset", default=dataset_default,
                   help=f"bundled dataset, or sub-folder of --data-dir (default {dataset_default})")
    g.add_argument("--data-dir", default=None,
                   help="a catalog folder: the plain format (interactions.csv, items.csv, optional "
                        "meta.json and split/; CSV or Parquet) or the CiteULike format (users.dat, "
                        "mult.dat, ...), detected; or a folder holding <dataset>/")
    g.add_argument("--interactions", default=None, help="interactions file (CSV or Parquet)")
    g.add_argument("--items", default=None, help="item attribute file (CSV or Parquet), with --interactions")
    g.add_argument("--user-col", default="user", help="user id column (default user)")
    g.add_argument("--item-col", default="item", help="item id column, both files (default item)")
    g.add_argument("--weight-col", default="weight",
                   help="weight column, read if present (default weight); the protocol's splits are binary: "
                        "every pair counts once (use FrameRecommender(weight_col=...) for weights)")
    g.add_argument("--timestamp-col", default="timestamp",
                   help="timestamp column, read if present (default timestamp); used by --temporal")
    g.add_argument("--temporal", default=None, metavar="CUTOFF",
                   help="split by time instead of the protocol's random split: items first seen after "
                        "CUTOFF (a number, or a date for date columns) are the cold items, the earlier half "
                        "of them validation (coldstart.evaluation.splits.temporal_split); overrides a split/ folder")
    if features:
        g.add_argument("--features", choices=("auto", "reference"), default="auto", help=FEATURES_HELP)


def _load_dataset(args: argparse.Namespace):
    """(dataset, label); raises DataError with a readable message."""
    from coldstart.evaluation.datasets import (
        from_frames,
        is_citeulike_format,
        is_folder_format,
        load_citeulike,
        load_dataset,
        load_folder,
        read_table,
    )

    cols = dict(user_col=args.user_col, item_col=args.item_col, weight_col=args.weight_col,
                timestamp_col=args.timestamp_col)
    try:
        if getattr(args, "interactions", None):
            if getattr(args, "data_dir", None):
                raise DataError("give either --data-dir or --interactions/--items, not both")
            inter = Path(args.interactions)
            if not inter.is_file():
                raise DataError(f"--interactions {str(inter)!r}: no such file")
            items_path = Path(args.items) if args.items else None
            if items_path is not None and not items_path.is_file():
                raise DataError(f"--items {str(items_path)!r}: no such file")
            ds = from_frames(read_table(inter), None if items_path is None else read_table(items_path),
                             name=inter.stem, sources=(str(inter), str(items_path or "items")), **cols)
            return ds, str(inter)
        if getattr(args, "items", None):
            raise DataError("--items needs --interactions (or put items.csv in a --data-dir folder)")
        if args.data_dir is None:
            return load_dataset(args.dataset), args.dataset
        base = Path(args.data_dir)
        if not base.is_dir():
            raise DataError(f"--data-dir {str(base)!r} is not a folder")
        for folder in (base, base / args.dataset):
            if is_folder_format(folder):
                return load_folder(folder, **cols), folder.name
            if is_citeulike_format(folder):
                return load_citeulike(folder), folder.name
        sub = base / args.dataset
        raise DataError(
            f"--data-dir {str(base)!r}: found neither the plain format (interactions.csv / "
            f"interactions.parquet) nor the CiteULike format (users.dat) in it"
            + (f" or in {str(sub)!r}" if sub.is_dir() else f", and it has no sub-folder {args.dataset!r}")
        )
    except DataError:
        raise
    except (FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        if args.weight_col and f": {args.weight_col} is " in msg:
            msg += (f" (the commands count every pair once: --weight-col '' leaves the "
                    f"{args.weight_col!r} column unread)")
        raise DataError(msg) from None


def load_data(args: argparse.Namespace, need_split: bool = True, need_features: bool = True) -> CLIData:
    """The dataset of the command line, its split and the features of each model (with
    ``need_features``, DataError where no item has an attribute value: the models rank new items
    from their attributes)."""
    from coldstart.evaluation.splits import protocol_split

    ds, label = _load_dataset(args)
    split, how = None, ""
    if need_split:
        try:
            if getattr(args, "temporal", None) is not None:
                split, how = temporal_of(ds, args.temporal), f"temporal split (items first seen after {args.temporal})"
            elif ds.path is not None and (ds.path / "split").is_dir():
                split, how = ds.load_split(), "fixed split folder"
            else:
                split, how = protocol_split(ds.user_items, random_state=args.seed), \
                    f"protocol split (seed {args.seed})"
        except (FileNotFoundError, ValueError) as exc:
            raise DataError(str(exc)) from None
    model_features, model_names = ds.item_features, ds.feature_names
    try:
        if ds.item_ids is not None and ds.items is not None and getattr(args, "features", "reference") == "auto":
            model_features, model_names, _ = ds.featurize()
    except ValueError as exc:
        raise DataError(f"{label}: the item attributes give no feature ({exc}); expected an items table "
                        "with at least one attribute column that holds values") from None
    if need_features:
        checked = [("", ds.item_features)] + ([(" (--features auto)", model_features)]
                                              if model_features is not ds.item_features else [])
        for what, X in checked:
            if X.shape[1] == 0 or sp.csr_matrix(X).count_nonzero() == 0:
                source = "no items table" if ds.items is None else "no attribute value in the items table"
                raise DataError(f"{label}: {source}{what}: {X.shape[1]} feature columns, none with a value; "
                                "expected item attributes (an items.csv with attribute columns, or --items): "
                                "the models rank new items from them")
    return CLIData(ds, split, how, ds.item_features, model_features, model_names, label)


def temporal_of(ds, cutoff: str):
    """The dataset's temporal split at ``cutoff`` (a number, or a date for date columns)."""
    import pandas as pd

    from coldstart.evaluation.splits import temporal_split

    inter = getattr(ds, "interactions", None)
    if inter is None or "timestamp" not in inter.columns:
        raise DataError("--temporal needs timestamps: the interactions have no timestamp column "
                        "(name it with --timestamp-col)")
    frame = inter[["user", "item", "timestamp"]].copy()
    t = frame["timestamp"]
    numeric = pd.to_numeric(t, errors="coerce")
    if numeric.notna().all():  # numbers (read as text from a CSV, or not)
        frame["timestamp"] = numeric
        try:
            when = float(cutoff)
        except ValueError:
            raise DataError(f"--temporal {cutoff!r}: the timestamps are numbers; expected a number") from None
    else:
        try:
            frame["timestamp"], when = pd.to_datetime(t), pd.Timestamp(cutoff)
        except (ValueError, TypeError) as exc:
            raise DataError(f"--temporal {cutoff!r}: cannot compare it with the timestamps ({exc})") from None
    return temporal_split(frame, when, shape=ds.user_items.shape)


def item_label(ds, i: int) -> str:
    """External id of item ``i`` (and its first text column, e.g. a title), for printing."""
    if ds.item_ids is None:
        return str(i)
    ext = str(ds.item_ids[i])
    if ds.items is not None and ds.kinds:
        text = [c for c, k in ds.kinds.items() if k == "text"]
        if text:
            title = ds.item_table()[text[0]].iloc[i]
            if isinstance(title, str) and title.strip():
                return f"{ext} ({title.strip()})"
    return ext


def user_label(ds, u: int) -> str:
    return str(u) if ds.user_ids is None else str(ds.user_ids[u])
