"""Plots of benchmark, search and simulation results as PNG files (the ``plot`` extra).

matplotlib is optional: it is imported inside each function (with the non-interactive Agg
backend), and a missing install raises ImportError naming the extra. Each function takes the
plain rows or dicts the command line writes as JSON, so a result can be plotted again later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["plot_metric_curves", "plot_cv_results", "plot_simulation"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("plots need matplotlib: pip install 'coldstart[plot]'") from exc
    return plt


def _panels(n: int):
    """(figure, the row of ``n`` axes) at the size every multi-panel plot here uses."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.6), squeeze=False)
    return fig, axes[0]


def _save(fig, path: str | Path, legend_axis=None) -> None:
    if legend_axis is not None:
        legend_axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def plot_metric_curves(curves: Sequence[dict], path: str | Path, metric: str = "recall") -> None:
    """metric@K against K (log scale) per model, one panel per setting.

    ``curves``: rows ``{"model", "setting", "K", metric: value}``, one per model, setting and K
    (e.g. ``{"model": "coldstart", "setting": "cold", "K": 10, "recall": 0.3}``), as
    ``coldstart benchmark --plot`` computes them.
    """
    settings = list(dict.fromkeys(c["setting"] for c in curves))
    fig, axes = _panels(len(settings))
    for ax, s in zip(axes, settings):
        for m in dict.fromkeys(c["model"] for c in curves):
            pts = sorted((c["K"], c[metric]) for c in curves if c["model"] == m and c["setting"] == s)
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=3, label=m)
        ax.set_xscale("log")
        ax.set_title(f"{s}: {metric}@K")
        ax.set_xlabel("K")
    _save(fig, path, legend_axis=axes[0])


def plot_cv_results(cv_results: dict, path: str | Path, param: str, score: str = "cold:recall@20") -> None:
    """Cross-validated ``score`` (mean ± std over the folds) per value of the numeric
    hyper-parameter ``param``; ``cv_results`` as ``ColdStartSearchCV.cv_results_``. The x axis
    is logarithmic when the values span more than a factor 20."""
    x = np.asarray(cv_results[f"param_{param}"], dtype=float)
    mean, std = np.asarray(cv_results[f"mean_{score}"]), np.asarray(cv_results[f"std_{score}"])
    order = np.argsort(x)
    fig, [ax] = _panels(1)
    ax.errorbar(x[order], mean[order], yerr=std[order], marker="o", capsize=3)
    if np.all(x > 0) and x.max() / max(x.min(), 1e-12) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(score)
    ax.set_title("cross-validation over cold validation folds")
    _save(fig, path)


def plot_simulation(result: dict, path: str | Path, informativeness: dict | None = None) -> None:
    """The result of :func:`coldstart.simulation.simulate`: clicks, new-item recall, new-item
    exposure and established recall per step for each strategy, the warm-up curve (recall of
    items by age), and with ``informativeness`` (``{rho: result}``) first-step new-item recall
    against the attributes' informativeness."""
    keys = ["clicks", "new_item_recall", "new_item_exposure", "established_recall"]
    fig, axes = _panels(len(keys) + 1 + (1 if informativeness else 0))
    warm = axes[len(keys)]
    for name, out in result["strategies"].items():
        for ax, key in zip(axes, keys):
            ax.plot(out["step"], out[key], marker="o", ms=3, label=name)
            ax.set_title(key.replace("_", " "))
            ax.set_xlabel("step")
        warm.plot(out["warmup_age"], out["warmup_recall"], marker="o", label=name)
    warm.set_title("warm-up: recall of items by age")
    warm.set_xlabel("item age (steps)")
    if informativeness:
        ax = axes[-1]
        rhos = sorted(informativeness)
        for name in next(iter(informativeness.values()))["strategies"]:
            ax.plot(rhos, [informativeness[r]["strategies"][name]["new_item_recall"][0] for r in rhos],
                    marker="o", label=name)
        ax.set_title("first-step new-item recall\nvs attribute informativeness")
        ax.set_xlabel("informativeness")
    _save(fig, path, legend_axis=axes[0])
