"""`fpkit report DIR` / `fpkit ls DIR`: plots and a markdown + HTML summary of a results folder."""

from __future__ import annotations

import json
from pathlib import Path

from .experiment import finished_runs

DEFAULT_REPORT_METRICS = ("laplacian_var", "brightness", "color_shift", "ssim_first", "flicker")


def load_results(results_dir):
    """(table, per-frame metrics of every finished run, experiment dict)."""
    import pandas as pd

    results_dir = Path(results_dir)
    table_path = results_dir / "table.parquet"
    if not table_path.is_file():
        raise FileNotFoundError(f"no results table at {table_path} (run `fpkit run EXP.toml` first)")
    table = pd.read_parquet(table_path)
    frames = [pd.read_parquet(p / "metrics.parquet") for p in finished_runs(results_dir)
              if (p / "metrics.parquet").is_file()]
    per_frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    exp = json.loads((results_dir / "experiment.json").read_text()) if (results_dir / "experiment.json").is_file() \
        else {}
    return table, per_frame, exp


def write_report(results_dir, metrics=None, window_s: float = 1.0) -> Path:
    """Quality-vs-length curves per sampling type, drift bars per config, report.md and report.html."""
    import matplotlib.pyplot as plt

    from . import metrics as fm
    from .plots import drift_bars, quality_vs_length

    results_dir = Path(results_dir)
    table, per_frame, exp = load_results(results_dir)
    fps = exp.get("fps", 30)
    plots = results_dir / "plots"
    plots.mkdir(exist_ok=True)
    available = sorted(set(per_frame["metric"])) if len(per_frame) else []
    chosen = [m for m in (metrics or DEFAULT_REPORT_METRICS) if m in available] or available[:3]
    figures = []
    if len(per_frame):
        curves = fm.windowed(per_frame, window_s=window_s, fps=fps)
        config_cols = [c for c in ("sampling_type", "latent_window_size", "flow_shift", "num_frames") if c in table]
        curves = curves.merge(table[["run_id", *config_cols]], on="run_id", how="left")
        by = "sampling_type" if "sampling_type" in curves else "run_id"
        for m in chosen:
            fig = quality_vs_length(curves, m, by=by)
            name = f"quality_vs_length_{m}.png"
            fig.savefig(plots / name, dpi=110)
            plt.close(fig)
            figures.append(name)
    for m in chosen:
        if f"{m}_drift" in table:
            fig = drift_bars(table, m)
            name = f"drift_{m}.png"
            fig.savefig(plots / name, dpi=110)
            plt.close(fig)
            figures.append(name)
    title = exp.get("name", results_dir.name)
    shown = [c for c in table.columns if not c.endswith("_mean") or c.split("_mean")[0] in chosen]
    shown = [c for c in shown if not c.endswith("_drift") or c.split("_drift")[0] in chosen]
    md = [f"# {title}", "", exp.get("description", ""), "",
          f"{len(table)} finished runs. Drift = the paper's start-end contrast |M(first 15%) - M(last 15%)|.", ""]
    md += [f"![{f}](plots/{f})" for f in figures] + ["", table[shown].to_markdown(index=False)]
    (results_dir / "report.md").write_text("\n".join(md) + "\n")
    html = [f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>",
            f"<p>{exp.get('description', '')}</p>"]
    html += [f"<img src='plots/{f}' style='max-width:48%'>" for f in figures]
    html += [table[shown].to_html(index=False, float_format=lambda v: f"{v:.4g}"), "</body></html>"]
    (results_dir / "report.html").write_text("\n".join(html))
    return results_dir / "report.md"


def list_results(results_dir) -> str:
    """A short listing: finished runs with their main config fields."""
    results_dir = Path(results_dir)
    runs = finished_runs(results_dir)
    lines = [f"{results_dir}: {len(runs)} finished runs"]
    for p in runs:
        cfg = json.loads((p / "config.json").read_text())
        keys = ("sampling_type", "latent_window_size", "flow_shift", "num_frames", "seed")
        lines.append(f"  {p.name}  " + " ".join(f"{k}={cfg[k]}" for k in keys if k in cfg))
    return "\n".join(lines)
