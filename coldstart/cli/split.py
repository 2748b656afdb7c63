"""``coldstart split``: write the protocol's item cold-start split of a catalog as a folder."""

from __future__ import annotations

import argparse

from coldstart.cli.data import DataError, add_data_args, load_data, temporal_of


def register(sub) -> None:
    """Add the ``split`` sub-command to the sub-parsers ``sub``."""
    p = sub.add_parser("split", help="write the protocol's item cold-start split of a catalog as a folder",
                       description="Write train.csv, warm_test.csv, cold_val.csv and cold_test.csv "
                                   "(header user,item; the catalog's own ids) to --out.")
    add_data_args(p, features=False)
    p.add_argument("--out", required=True, help="split folder to write (e.g. DIR/split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cold-fraction", type=float, default=0.1,
                   help="share of the interacted items in each of cold validation and cold test")
    p.add_argument("--warm-test-fraction", type=float, default=0.1)
    p.set_defaults(func=cmd_split)


def cmd_split(args: argparse.Namespace) -> int:
    """Write the protocol's seeded split of the command line's data to ``--out``."""
    from coldstart.evaluation.datasets import write_split_ids
    from coldstart.evaluation.splits import protocol_split, write_split

    data = load_data(args, need_split=False, need_features=False)
    ds = data.dataset
    try:
        split = (temporal_of(ds, args.temporal) if getattr(args, "temporal", None) is not None else
                 protocol_split(ds.user_items, cold_fraction=args.cold_fraction,
                                warm_test_fraction=args.warm_test_fraction, random_state=args.seed))
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if ds.user_ids is not None:
        write_split_ids(split, args.out, ds.user_ids, ds.item_ids)
    else:
        write_split(split, args.out)
    print(split.summary().to_string())
    print(f"wrote {args.out}")
    return 0
