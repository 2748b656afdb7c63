"""Command line: ``coldstart demo | benchmark | search | simulate | split``.

This module only builds the parser and dispatches; each command lives in its own module
(``coldstart.cli.<command>``) with a ``register(sub)`` that adds its sub-parser.
"""

from __future__ import annotations

import argparse
import sys

from coldstart.cli import benchmark, demo, search, simulate, split
from coldstart.cli.data import DataError

#: The command modules, in the order ``--help`` lists them.
COMMANDS = (demo, split, benchmark, search, simulate)


def build_parser() -> argparse.ArgumentParser:
    """The ``coldstart`` parser with every command's sub-parser."""
    p = argparse.ArgumentParser(prog="coldstart", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command of ``argv`` (default ``sys.argv[1:]``); data errors print a message and
    return 2 instead of a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"coldstart {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
