"""Matplotlib figures shared by reports, widgets and notebooks. Each takes tables, returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt

STRATEGY_COLORS = {"vanilla": "tab:red", "inverted_anti_drifting": "tab:blue", "anti_drifting": "tab:green"}


def quality_vs_length(curves, metric: str, by: str = "sampling_type", ax=None):
    """Windowed metric M(t) against time, one line per value of `by` (mean over runs, band = min-max).

    curves: long table with columns t_start, t_end, metric, value and `by` (fpkit.metrics.windowed
    output joined with run config)."""
    data = curves[curves["metric"] == metric]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for key, grp in data.groupby(by, sort=True):
        t = (grp["t_start"] + grp["t_end"]) / 2
        stats = grp.assign(t=t).groupby("t")["value"].agg(["mean", "min", "max"])
        color = STRATEGY_COLORS.get(key)
        ax.plot(stats.index, stats["mean"], marker="o", ms=3, label=str(key), color=color)
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15, color=color)
    ax.set_xlabel("time in video (s)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs length")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def drift_bars(table, metric: str, label_cols=None, color_by: str = "sampling_type", ax=None):
    """Start-end contrast (`{metric}_drift`) per run configuration, coloured by `color_by`."""
    column = f"{metric}_drift"
    if column not in table:
        raise ValueError(f"no column {column!r}; drift columns: {[c for c in table if c.endswith('_drift')]}")
    label_cols = label_cols or [c for c in ("sampling_type", "latent_window_size", "flow_shift", "num_frames",
                                            "seed") if c in table and table[c].nunique() > 1]
    data = table.sort_values(label_cols or ["run_id"])
    labels = data[label_cols].astype(str).agg(" ".join, axis=1) if label_cols else data["run_id"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4, 0.45 * len(data) + 2), 3.5))
    else:
        fig = ax.figure
    colors = [STRATEGY_COLORS.get(v, "tab:gray") for v in data.get(color_by, [None] * len(data))]
    ax.bar(range(len(data)), data[column], color=colors)
    ax.set_xticks(range(len(data)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"|{metric}(start) - {metric}(end)|")
    ax.set_title(f"drift of {metric} per run")
    fig.tight_layout()
    return fig
