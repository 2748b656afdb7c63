"""Reports: tables on stdout, JSON and CSV files, and plots (the ``plot`` extra)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.4f}"
    return str(v)


def markdown_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A markdown table of ``rows`` (list of dicts)."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out)


def pivot_rows(rows: Sequence[dict], metrics: Sequence[str] = ("recall@20", "ndcg@20"),
               settings: Sequence[str] = ("cold", "warm", "hybrid")) -> list[dict]:
    """One row per model with ``<setting> <metric>`` columns and the fit time."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    out = []
    for m in models:
        row: dict[str, Any] = {"model": m}
        for s in settings:
            for metric in metrics:
                hit = [r for r in rows if r["model"] == m and r["setting"] == s]
                row[f"{s} {metric}"] = hit[0][metric] if hit else None
        fit = [r["fit_seconds"] for r in rows if r["model"] == m]
        row["fit s"] = fit[0] if fit else None
        out.append(row)
    return out


def write_json(obj: Any, path: str | Path) -> None:
    Path(path).write_text(json.dumps(obj, indent=1, default=_json_default) + "\n")


def _json_default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_csv(rows: Sequence[dict], path: str | Path) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: _json_default(v) if isinstance(v, np.generic) else v for k, v in r.items()})


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'coldstart[plot]'") from exc
    return plt


def plot_metric_curves(curves: Sequence[dict], path: str | Path, metric: str = "recall") -> None:
    """metric@K curves per model, one panel per setting.

    ``curves``: rows ``{"model", "setting", "K", "<metric>@K"...}`` — each row holds the metric
    at one K under the key ``metric`` (e.g. ``{"model": "coldstart", "setting": "cold", "K": 10,
    "recall": 0.3}``).
    """
    plt = _plt()
    settings = list(dict.fromkeys(c["setting"] for c in curves))
    fig, axes = plt.subplots(1, len(settings), figsize=(4.5 * len(settings), 3.6), squeeze=False)
    for ax, s in zip(axes[0], settings):
        for m in dict.fromkeys(c["model"] for c in curves):
            pts = sorted((c["K"], c[metric]) for c in curves if c["model"] == m and c["setting"] == s)
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=3, label=m)
        ax.set_xscale("log")
        ax.set_title(f"{s}: {metric}@K")
        ax.set_xlabel("K")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cv_results(cv_results: dict, path: str | Path, param: str, score: str = "cold:recall@20") -> None:
    """Cross-validated score (mean ± std over folds) per value of one hyper-parameter."""
    plt = _plt()
    x = np.asarray(cv_results[f"param_{param}"], dtype=float)
    mean, std = np.asarray(cv_results[f"mean_{score}"]), np.asarray(cv_results[f"std_{score}"])
    order = np.argsort(x)
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.errorbar(x[order], mean[order], yerr=std[order], marker="o", capsize=3)
    if np.all(x > 0) and x.max() / max(x.min(), 1e-12) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(score)
    ax.set_title("cross-validation over cold validation folds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_by_activity(frames: dict, path: str | Path, metric: str = "recall@20") -> None:
    """Metric per bin of user activity, one line per model; ``frames``: model → evaluate() frame
    with a (setting, activity) index."""
    plt = _plt()
    settings = list(dict.fromkeys(s for df in frames.values() for s in df.index.get_level_values(0)))
    fig, axes = plt.subplots(1, len(settings), figsize=(4.5 * len(settings), 3.6), squeeze=False)
    for ax, s in zip(axes[0], settings):
        for m, df in frames.items():
            sub = df.loc[s]
            sub = sub[sub.index != "all"]
            ax.plot(range(len(sub)), sub[metric].to_numpy(), marker="o", label=m)
            ax.set_xticks(range(len(sub)))
            ax.set_xticklabels([str(i) for i in sub.index], rotation=30, fontsize=7)
        ax.set_title(f"{s}: {metric} by user activity")
        ax.set_xlabel("training interactions of the user")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_rows(rows: Iterable[dict], columns: Sequence[str] | None = None) -> None:
    print(markdown_table(list(rows), columns))
