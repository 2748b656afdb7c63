"""The command line's table writer: text and markdown tables, benchmark pivots, JSON and CSV."""

from __future__ import annotations

import json

import numpy as np

from coldstart.cli.tables import (
    format_value,
    markdown_table,
    pivot_rows,
    text_table,
    write_csv,
    write_json,
    write_outputs,
)


def test_pivot_gives_one_row_per_model_with_blanks_for_missing_settings():
    rows = [{"model": "a", "setting": "cold", "recall@20": 0.5, "ndcg@20": 0.25, "users": 3, "fit_seconds": 1.0},
            {"model": "p", "setting": "warm", "recall@20": 0.1, "ndcg@20": 0.05, "users": 3, "fit_seconds": 2.0}]
    pivot = pivot_rows(rows)
    assert [r["model"] for r in pivot] == ["a", "p"]
    assert pivot[1]["cold recall@20"] is None and pivot[1]["fit s"] == 2.0
    table = markdown_table(pivot)
    assert "| a | 0.5000 | 0.2500 |" in table
    assert table.splitlines()[3].startswith("| p |  |  | 0.1000 | 0.0500 |")
    assert markdown_table([]) == "(no rows)"


def test_cells_and_the_aligned_text_table():
    assert [format_value(v) for v in (None, float("nan"), np.float32(0.25), 3, "x")] == ["", "", "0.2500", "3", "x"]
    rows = [{"strategy": "zero-shot", "clicks": 12, "ttfi": None}, {"strategy": "ucb", "clicks": 7, "ttfi": 1.5}]
    lines = text_table(rows).splitlines()
    assert lines[0] == "strategy   clicks  ttfi  "
    assert lines[1] == "---------  ------  ------"
    assert lines[2].rstrip() == "zero-shot  12"
    assert lines[3] == "ucb        7       1.5000"
    assert text_table(rows, ["clicks"]).splitlines()[0] == "clicks"


def test_json_and_csv_take_numpy_values(tmp_path):
    rows = [{"model": "a", "recall": np.float32(0.5), "users": np.int64(3)}, {"model": "b", "extra": 1}]
    write_json({"rows": rows, "ids": np.arange(2)}, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == {"rows": [{"model": "a", "recall": 0.5, "users": 3},
                                                                      {"model": "b", "extra": 1}], "ids": [0, 1]}
    write_csv(rows, tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text().splitlines() == ["model,recall,users,extra", "a,0.5,3,", "b,,,1"]


def test_outputs_are_written_only_when_asked(tmp_path, capsys):
    from argparse import Namespace

    plotted = []
    args = Namespace(json_out=str(tmp_path / "r.json"), csv_out=None, plot=str(tmp_path / "p.png"))
    write_outputs(args, {"a": 1}, rows=[{"a": 1}], plot=plotted.append)
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": 1}
    assert plotted == [str(tmp_path / "p.png")] and not (tmp_path / "r.csv").exists()
    assert capsys.readouterr().out.splitlines() == [f"wrote {args.json_out}", f"wrote {args.plot}"]
    write_outputs(Namespace(json_out=None), {"a": 1})  # a command without --csv / --plot
    assert capsys.readouterr().out == ""
