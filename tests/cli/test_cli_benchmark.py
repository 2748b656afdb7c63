"""The benchmark CLI's JSON rows and the report writers (tables, CSV, plots)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_cli_writes_the_documented_rows(tmp_path):
    out = tmp_path / "bench.json"
    csv = tmp_path / "bench.csv"
    res = subprocess.run([sys.executable, "-m", "coldstart", "benchmark", "--dataset", "citeulike-t",
                          "--models", "random,popularity,content-profile", "--json", str(out), "--csv", str(csv)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = json.loads(out.read_text())
    keys = {"model", "setting", "recall@20", "ndcg@20", "users", "fit_seconds"}
    assert all(set(r) == keys for r in rows)
    got = {(r["model"], r["setting"]) for r in rows}
    assert ("content-profile", "cold") in got and ("popularity", "hybrid") in got
    assert ("popularity", "cold") not in got  # popularity is warm/hybrid only
    cp = next(r for r in rows if r["model"] == "content-profile" and r["setting"] == "cold")
    assert cp["recall@20"] == pytest.approx(0.3837, abs=0.0015)  # EVALUATION.md's reference
    assert csv.read_text().splitlines()[0].startswith("model,setting")
    assert "| model |" in res.stdout


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    from coldstart.cli.reports import markdown_table, plot_cv_results, plot_metric_curves, pivot_rows

    curves = [{"model": m, "setting": s, "K": k, "recall": 0.1 * k ** 0.5}
              for m in ("a", "b") for s in ("cold", "hybrid") for k in (5, 10, 20)]
    plot_metric_curves(curves, tmp_path / "curves.png")
    cv = {"param_map_alpha": np.array([1.0, 3.0, 10.0], dtype=object),
          "mean_cold:recall@20": np.array([0.3, 0.35, 0.32]), "std_cold:recall@20": np.array([0.01, 0.02, 0.01])}
    plot_cv_results(cv, tmp_path / "cv.png", param="map_alpha")
    for f in ("curves.png", "cv.png"):
        assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [{"model": "a", "setting": "cold", "recall@20": 0.5, "ndcg@20": 0.25, "users": 3, "fit_seconds": 1.0}]
    table = markdown_table(pivot_rows(rows))
    assert "| a | 0.5000 | 0.2500 |" in table
