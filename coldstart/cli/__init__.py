"""The ``coldstart`` command line: one module per command."""

from coldstart.cli.main import main

__all__ = ["main"]
