"""The command line's one table writer: rows (a list of dicts) as aligned text, markdown, JSON or CSV.

Every command and benchmark script prints and writes its results through these functions, so
a number looks the same everywhere: floats with four decimals, ``None`` and NaN as blanks.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["format_value", "text_table", "markdown_table", "pivot_rows", "write_json", "write_csv",
           "write_outputs"]


def format_value(v: Any) -> str:
    """A table cell: floats with four decimals, ``None`` and NaN blank, anything else ``str``."""
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def _columns(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    return list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))


def text_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Rows as left-aligned columns under a header and a rule (for a terminal).

    ``columns`` picks and orders the keys (default: every key, in order of appearance).
    """
    columns = _columns(rows, columns)
    cells = [[format_value(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(s.ljust(w) for s, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def markdown_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Rows as a markdown table (for reports and READMEs); ``"(no rows)"`` when empty.

    ``columns`` picks and orders the keys (default: those of the first row).
    """
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(format_value(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out)


def pivot_rows(rows: Sequence[dict], metrics: Sequence[str] = ("recall@20", "ndcg@20"),
               settings: Sequence[str] = ("cold", "warm", "hybrid")) -> list[dict]:
    """Benchmark rows (one per model and setting) to one row per model.

    Columns ``model``, ``"<setting> <metric>"`` for each setting and metric (None where the
    model has no row for the setting) and ``"fit s"``.
    """
    out = []
    for m in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == m]
        row: dict[str, Any] = {"model": m}
        for s in settings:
            hit = [r for r in mine if r["setting"] == s]
            for metric in metrics:
                row[f"{s} {metric}"] = hit[0][metric] if hit else None
        row["fit s"] = mine[0]["fit_seconds"]
        out.append(row)
    return out


def _plain(o: Any):
    """numpy scalars and arrays as Python numbers and lists (what json and csv can write)."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(obj: Any, path: str | Path) -> None:
    """``obj`` as indented JSON (numpy scalars and arrays converted)."""
    Path(path).write_text(json.dumps(obj, indent=1, default=_plain) + "\n")


def write_csv(rows: Sequence[dict], path: str | Path) -> None:
    """Rows as CSV with a header: the union of their keys, in order of appearance."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=_columns(rows, None))
        w.writeheader()
        for r in rows:
            w.writerow({k: _plain(v) if isinstance(v, np.generic) else v for k, v in r.items()})


def write_outputs(args, obj: Any, rows: Sequence[dict] | None = None,
                  plot: Callable[[str], None] | None = None) -> None:
    """Write what a command was asked for, each followed by ``wrote PATH``: ``obj`` as JSON to
    ``args.json_out``, ``rows`` as CSV to ``args.csv_out`` and ``plot(path)`` to ``args.plot``;
    an option that is None or that the command does not have is skipped."""
    for path, write in ((getattr(args, "json_out", None), lambda p: write_json(obj, p)),
                        (getattr(args, "csv_out", None), lambda p: write_csv(rows, p)),
                        (getattr(args, "plot", None), plot)):
        if path:
            write(path)
            print(f"wrote {path}")
