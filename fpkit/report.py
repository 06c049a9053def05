"""`fpkit report DIR` / `fpkit ls DIR`: plots and a markdown + HTML summary of a results folder."""

from __future__ import annotations

from html import escape
from pathlib import Path

from .atomic import atomic_write
from .experiment.store import RunStore

DEFAULT_REPORT_METRICS = ("laplacian_var", "brightness", "color_shift", "ssim_first", "flicker")
# Measures a method comparison leads with, lower is better for each: the toy's world-referenced
# drift and likeness (when the runs carry them), else the start-end colour drift.
COMPARISON_MEASURES = (("world_drift_hist", "colour drift (Hellinger, start vs end window)"),
                       ("world_drift_background", "background drift (RGB L2)"),
                       ("world_hist_distance", "colour distance to the true frames"),
                       ("color_shift_drift", "colour-shift drift (start-end contrast)"))


def comparison_lines(table, arm: str = "method", baseline: str = "none") -> list[str]:
    """Markdown: per measure and length, the arms ranked by mean with 95% bootstrap intervals and the
    paired difference to `baseline` (same clip and noise); "yes" where that interval excludes 0."""
    from .metrics import paired_table

    if arm not in table or table[arm].nunique() < 2 or baseline not in set(table[arm]):
        return []
    pair = [c for c in ("image", "prompt", "seed") if c in table]
    by = [c for c in ("num_sections", "sampling_type") if c in table and table[c].nunique() > 1]
    lines = [f"## {arm} against {baseline!r} (means over {table[pair[0]].nunique()} paired inputs, 95% bootstrap "
             "intervals; lower is better)", ""]
    for value, what in COMPARISON_MEASURES:
        if value not in table or table[value].isna().all():
            continue
        t = paired_table(table, value, arm=arm, baseline=baseline, pair=pair, by=by)
        t["mean [95%]"] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in zip(t["mean"], t["low"], t["high"])]
        t[f"vs {baseline} [95%]"] = [f"{d:+.4g} [{lo:+.4g}, {hi:+.4g}]" if a != baseline else "-"
                                     for a, d, lo, hi in zip(t[arm], t["diff"], t["diff_low"], t["diff_high"])]
        t["clear"] = ["yes" if c else "" for c in t["clear"]]
        lines += [f"### {what} (`{value}`)", "",
                  t[[*by, arm, "mean [95%]", f"vs {baseline} [95%]", "clear"]].to_markdown(index=False), ""]
    return lines


def load_results(results_dir, all_runs: bool = False):
    """(table, per-frame metrics of the table's runs, experiment dict): the last grid's finished
    runs, or with `all_runs` every finished run in the folder."""
    import pandas as pd

    store = RunStore(results_dir)
    table = store.read_table(all_runs)
    frames = [f for f in (store.folder(i).read_metrics() for i in table.get("run_id", [])) if f is not None]
    per_frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table, per_frame, store.read_experiment()


def write_report(results_dir, metrics=None, window_s: float = 1.0, all_runs: bool = False) -> Path:
    """Quality-vs-length curves per sampling type, drift bars per config, report.md and report.html."""
    import matplotlib.pyplot as plt

    from . import metrics as fm
    from .plots import drift_bars, quality_vs_length

    results_dir = Path(results_dir)
    table, per_frame, exp = load_results(results_dir, all_runs)
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
            atomic_write(plots / name, lambda p: fig.savefig(p, dpi=110, format="png"))
            plt.close(fig)
            figures.append(name)
    for m in chosen:
        if f"{m}_drift" in table:
            fig = drift_bars(table, m)
            name = f"drift_{m}.png"
            atomic_write(plots / name, lambda p: fig.savefig(p, dpi=110, format="png"))
            plt.close(fig)
            figures.append(name)
    title = exp.get("name", results_dir.name)
    shown = [c for c in table.columns if not c.endswith("_mean") or c.split("_mean")[0] in chosen]
    shown = [c for c in shown if not c.endswith("_drift") or c.split("_drift")[0] in chosen]
    md = [f"# {title}", "", exp.get("description", ""), "",
          f"{len(table)} finished runs. Drift = the paper's start-end contrast |M(first 15%) - M(last 15%)|.", ""]
    md += comparison_lines(table)
    md += [f"![{f}](plots/{f})" for f in figures] + ["", table[shown].to_markdown(index=False)]
    atomic_write(results_dir / "report.md", "\n".join(md) + "\n")
    # names, descriptions, prompts and paths are the experiment author's text: escaped, never markup
    html = [f"<html><head><meta charset='utf-8'><title>{escape(str(title))}</title></head><body>"
            f"<h1>{escape(str(title))}</h1>", f"<p>{escape(str(exp.get('description', '')))}</p>"]
    html += [f"<img src='plots/{escape(f)}' style='max-width:48%'>" for f in figures]
    html += [table[shown].to_html(index=False, escape=True, float_format=lambda v: f"{v:.4g}"), "</body></html>"]
    atomic_write(results_dir / "report.html", "\n".join(html))
    return results_dir / "report.md"


def list_results(results_dir, all_runs: bool = False) -> str:
    """The last grid's runs (planned / finished / to do), or with `all_runs` every finished run in
    the folder; one line per finished run showing the fields that tell the runs apart (names,
    content such as prompt text and image hashes, model, versions)."""
    store = RunStore(results_dir)
    if not store.exists():
        raise FileNotFoundError(f"no results folder at {store.root} (run `fpkit run EXP.toml` first)")
    exp = store.read_experiment()
    planned = exp.get("run_ids")
    done = store.done_ids(None if all_runs or planned is None else planned)
    if planned is None or all_runs:
        head = f"{store.root}: {len(done)} finished runs"
        if planned is not None:
            head += f" ({sum(i in set(planned) for i in done)} of them in the last grid, marked *)"
    else:
        head = (f"{store.root}: experiment {exp.get('name', '?')}, {len(planned)} runs planned, {len(done)} finished, "
                f"{len(planned) - len(done)} to do")
    described = [(i, _describe(store.folder(i).read_config())) for i in done]
    keys = list(dict.fromkeys(k for _, d in described for k in d))
    varying = [k for k in keys if len({str(d.get(k)) for _, d in described}) > 1]
    lines = [head]
    if described:
        mark = (lambda i: "*" if i in set(planned) else " ") if all_runs and planned else (lambda i: "")
        rows = [[mark(i) + i, *(_short(d.get(k)) for k in varying)] for i, d in described]
        widths = [max(len(str(r[c])) for r in rows + [["run_id", *varying]]) for c in range(len(varying) + 1)]
        for r in [["run_id", *varying], *rows]:
            lines.append("  " + "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


_NOT_SHOWN = {"run_id", "experiment", "fingerprint", "image_latents"}


def _describe(config: dict) -> dict:
    """A run's config.json flattened: the names and values as written, then what the fingerprint
    adds (prompt text, image hashes, model identity, record, metrics, versions)."""
    out = {k: v for k, v in config.items() if k not in _NOT_SHOWN}
    fp = config.get("fingerprint") or {"format": 1}
    for key, value in fp.items():
        if key == "sample" or key in ("seed",):
            continue
        name = {"prompt": "prompt_text", "image": "image_sha", "last_image": "last_image_sha"}.get(key, key)
        if isinstance(value, dict):
            out.update({f"{name}.{k}": v for k, v in value.items() if f"{name}.{k}" != "model.name"})
        else:
            out[name] = value
    return out


def _short(value) -> str:
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:10]
    return text if len(text) <= 32 else text[:29] + "..."
