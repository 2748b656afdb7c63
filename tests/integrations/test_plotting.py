"""Plots of benchmark curves, search results and simulations (the ``plot`` extra)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from coldstart.integrations.plotting import plot_cv_results, plot_metric_curves, plot_simulation  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_are_written(tmp_path):
    curves = [{"model": m, "setting": s, "K": k, "recall": 0.1 * k ** 0.5}
              for m in ("a", "b") for s in ("cold", "hybrid") for k in (5, 10, 20)]
    plot_metric_curves(curves, tmp_path / "curves.png")
    cv = {"param_map_alpha": np.array([1.0, 3.0, 10.0], dtype=object),
          "mean_cold:recall@20": np.array([0.3, 0.35, 0.32]), "std_cold:recall@20": np.array([0.01, 0.02, 0.01])}
    plot_cv_results(cv, tmp_path / "cv.png", param="map_alpha")
    out = {"step": [0, 1], "clicks": [3, 4], "new_item_recall": [0.1, 0.2], "new_item_exposure": [0.3, 0.2],
           "established_recall": [0.2, 0.2], "warmup_age": [0, 1], "warmup_recall": [0.1, 0.05]}
    result = {"strategies": {"zero-shot": out, "oracle": out}}
    plot_simulation(result, tmp_path / "sim.png")
    plot_simulation(result, tmp_path / "sim_rho.png", informativeness={0.0: result, 1.0: result})
    for f in ("curves.png", "cv.png", "sim.png", "sim_rho.png"):
        assert (tmp_path / f).read_bytes()[:8] == PNG
