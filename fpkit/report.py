"""`fpkit report DIR` / `fpkit ls DIR`: plots and a markdown + HTML summary of a results folder."""

from __future__ import annotations

from html import escape
from pathlib import Path

from .atomic import atomic_write
from .experiment.store import RunStore

# plotted along the video by default: metrics with a direction that falling apart cannot fake
# (fpkit.metrics.headline_metrics; Laplacian variance rises for speckle, so it is not among them)
DEFAULT_REPORT_METRICS = ("color_hist_distance", "color_shift", "ssim_first", "flicker")
# Measures a comparison leads with, lower is better for each: the toy's world-referenced drift and
# likeness (when the runs carry them), else start-end drifts of offline metrics whose direction is
# unambiguous (a change of colour or of fidelity to the start image is drift; a change of Laplacian
# variance is not: it rises for speckle as well as for sharpness).
COMPARISON_MEASURES = (("world_drift_hist", "colour drift (Hellinger, start vs end window)"),
                       ("world_drift_background", "background drift (RGB L2)"),
                       ("world_hist_distance", "colour distance to the true frames"),
                       ("color_shift_drift", "colour-shift drift (start-end contrast, Delta E)"),
                       ("ssim_first_drift", "change of SSIM to the first frame (start-end contrast)"))
PAIR_COLUMNS = ("image", "prompt", "seed")  # runs that share these share the start image and noise
LENGTH_COLUMNS = ("num_sections", "seconds", "num_frames")


def comparison_arm(table) -> str | None:
    """What a report compares: the method when several are in the table, else the sampling type."""
    for arm in ("method", "sampling_type"):
        if arm in table and table[arm].nunique() > 1:
            return arm
    return None


def summary_tables(table, arm: str | None = None, baseline: str | None = None, measures=None) -> list:
    """[(column, what, paired_table)] for each lead measure the table has: per length and arm the mean
    with its 95% bootstrap interval over paired inputs and, against `baseline`, the paired difference."""
    from .metrics import paired_table

    arm = arm or comparison_arm(table)
    if arm is None or arm not in table:
        return []
    if baseline is not None and baseline not in set(table[arm]):
        raise ValueError(f"baseline {baseline!r} is not a value of {arm!r}: {sorted(set(table[arm]), key=str)}")
    pair = [c for c in PAIR_COLUMNS if c in table]
    by = [c for c in LENGTH_COLUMNS if c in table and table[c].nunique() > 1][:1]
    if arm != "sampling_type" and "sampling_type" in table and table["sampling_type"].nunique() > 1:
        by.append("sampling_type")
    out = []
    for value, what in (lead_measures(table) if measures is None else measures):
        if value not in table or table[value].isna().all():
            continue
        out.append((value, what, paired_table(table, value, arm=arm, baseline=baseline, pair=pair, by=by)))
    return out


def lead_measures(table) -> list[tuple[str, str]]:
    """[(column, what)] a comparison of `table` leads with: the COMPARISON_MEASURES it carries, else
    the start-end drifts of the headline metrics it carries (fpkit.metrics.headline_metrics).
    Reports and SweepDashboard share it."""
    from .metrics import get_metric, headline_metrics

    def filled(c):
        return c in table and table[c].notna().any()

    return [(v, w) for v, w in COMPARISON_MEASURES if filled(v)] or \
        [(f"{m}_drift", f"{get_metric(m).description} (start-end contrast)") for m in headline_metrics()
         if filled(f"{m}_drift")]


_STAT_COLUMNS = ("mean", "low", "high", "n", "diff", "diff_low", "diff_high", "clear")


def _groups(summary, arm: str) -> list[str]:
    """The grouping columns of a paired_table result (a length, the sampling type ...)."""
    return [c for c in summary.columns if c != arm and c not in _STAT_COLUMNS]


def _interval(m, lo, hi, sign: str = "") -> str:
    import math

    if not math.isfinite(lo):
        return f"{m:{sign}.4g} (one input: no interval)"
    return f"{m:{sign}.4g} [{lo:{sign}.4g}, {hi:{sign}.4g}]"


def summary_lines(table, arm: str | None = None, baseline: str | None = None, measures=None,
                  tables=None) -> list[str]:
    """Markdown: per lead measure and length, the arms ranked by mean with 95% bootstrap intervals
    over paired inputs (and the paired difference to `baseline`, "yes" where its interval excludes 0).
    `tables`: summary_tables' result when the caller already has it."""
    arm = arm or comparison_arm(table)
    tables = summary_tables(table, arm, baseline, measures) if tables is None else tables
    if not tables:
        return []
    pair = [c for c in PAIR_COLUMNS if c in table]
    n = len(table.drop_duplicates(pair)) if pair else len(table)
    head = f"## Which {arm} drifts least? (means over {n} paired inputs, 95% bootstrap intervals; lower is better"
    lines = [head + (f"; differences against {baseline!r}" if baseline is not None else "") + ")", ""]
    for value, what, t in tables:
        by = _groups(t, arm)
        t = t.copy()
        t["mean [95%]"] = [_interval(m, lo, hi) for m, lo, hi in zip(t["mean"], t["low"], t["high"])]
        cols = [*by, arm, "mean [95%]", "n"]
        if baseline is not None:
            t[f"vs {baseline} [95%]"] = [_interval(d, lo, hi, "+") if a != baseline else "-"
                                         for a, d, lo, hi in zip(t[arm], t["diff"], t["diff_low"], t["diff_high"])]
            t["clear"] = ["yes" if c else "" for c in t["clear"]]
            cols += [f"vs {baseline} [95%]", "clear"]
        lines += [f"### {what} (`{value}`)", "", t[cols].to_markdown(index=False), ""]
    return lines


def comparison_lines(table, arm: str = "method", baseline: str = "none") -> list[str]:
    """The method comparison against `baseline` (summary_lines with a baseline; [] when the table
    has fewer than two arms or no baseline rows)."""
    if arm not in table or table[arm].nunique() < 2 or baseline not in set(table[arm]):
        return []
    return summary_lines(table, arm, baseline)


def method_cost_table(table, arm: str = "method", baseline: str = "none", drift: str = "world_drift_hist",
                      distance: str = "world_hist_distance",
                      likeness=("world_visible", "world_speed_ratio", "world_motion_follow", "world_sharpness_ratio")):
    """What a method buys and what it costs, one row per arm (one length and model: filter first):
    mean `drift` with its 95% interval, the paired difference to `baseline` for `drift` and for
    `distance` (to the true frames), and the median of each `likeness` column; ranked by drift."""
    from .metrics import paired_table

    pair = [c for c in PAIR_COLUMNS if c in table]
    ranked = paired_table(table, drift, arm=arm, baseline=baseline, pair=pair, by=[])
    rows = ranked[[arm, "mean", "low", "high", "n"]].copy()
    rows[f"vs {baseline} [95%]"] = [
        "-" if a == baseline else _interval(d, lo, hi, "+") + (" *" if c else "")
        for a, d, lo, hi, c in zip(ranked[arm], ranked["diff"], ranked["diff_low"], ranked["diff_high"], ranked["clear"])]
    if distance in table:
        dist = paired_table(table, distance, arm=arm, baseline=baseline, pair=pair, by=[]).set_index(arm)
        rows[f"{distance} vs {baseline} [95%]"] = [
            "-" if a == baseline else _interval(dist.at[a, "diff"], dist.at[a, "diff_low"], dist.at[a, "diff_high"], "+")
            + (" *" if dist.at[a, "clear"] else "") for a in ranked[arm]]
    medians = table.groupby(arm)[[c for c in likeness if c in table]].median()
    rows = rows.merge(medians.add_suffix(" (median)"), left_on=arm, right_index=True, how="left")
    return rows.reset_index(drop=True)


def length_trend(table, value: str, arm: str = "sampling_type", length: str = "num_sections"):
    """Does `value` grow with length? Per arm: the mean at the shortest and at the longest length
    and the paired difference longest - shortest (same start image and noise) with its 95% bootstrap
    interval; `grows` / `falls` when the interval excludes 0."""
    import pandas as pd

    from .metrics import paired_difference

    pair = [c for c in PAIR_COLUMNS if c in table]
    lo, hi = table[length].min(), table[length].max()
    rows = []
    for name, g in table.groupby(arm, sort=True):
        wide = g.pivot_table(index=pair, columns=length, values=value, aggfunc="mean")[[lo, hi]].dropna()
        diff = paired_difference(wide[hi].to_numpy(), wide[lo].to_numpy(), n_boot=5000)
        trend = "grows" if diff.low > 0 else "falls" if diff.high < 0 else "unclear"
        rows.append({arm: name, f"at {lo}": wide[lo].mean(), f"at {hi}": wide[hi].mean(), "diff": diff.estimate,
                     "low": diff.low, "high": diff.high, "n": diff.n, "trend": trend})
    return pd.DataFrame(rows)


def constant_settings(table) -> dict:
    """Columns with one value over every run (stated once in a report, not repeated per row)."""
    skip = {"run_id", "experiment"}
    out = {}
    for c in table.columns:
        if c in skip or c.endswith(("_mean", "_drift")) or c.startswith("world_"):
            continue
        if table[c].isna().all():
            continue
        values = table[c].astype(str).unique()
        if len(values) == 1:
            out[c] = values[0]
    return out


def load_results(results_dir, all_runs: bool = False):
    """(table, per-frame metrics of the table's runs, experiment dict): the last grid's finished
    runs, or with `all_runs` every finished run in the folder."""
    import pandas as pd

    store = RunStore(results_dir)
    table = store.read_table(all_runs)
    per_frame = store.read_frames(list(table.get("run_id", [])))
    return table, per_frame if per_frame is not None else pd.DataFrame(), store.read_experiment()


def frame_curves(per_frame, table, window_s: float = 1.0, fps: int = 30):
    """Per-frame metrics averaged in windows of `window_s` (fpkit.metrics.windowed), joined with each
    run's config columns: what quality_vs_length draws."""
    from . import metrics as fm

    curves = fm.windowed(per_frame, window_s=window_s, fps=fps)
    config_cols = [c for c in ("sampling_type", "method", "latent_window_size", "flow_shift", "num_frames",
                               "num_sections", "frames", "sections", "image") if c in table]
    return curves.merge(table[["run_id", *config_cols]], on="run_id", how="left")


def section_seconds(table, fps: int = 30) -> float | None:
    """Seconds of video per section when every run shares it (frames after the start image over
    sections), else None: where quality_vs_length marks section boundaries."""
    if not ({"frames", "sections"} <= set(table.columns) and len(table)):
        return None
    per = ((table["frames"] - 1) / table["sections"]).dropna()
    return float(per.iloc[0]) / fps if len(per) and per.nunique() == 1 else None


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def write_report(results_dir, metrics=None, window_s: float = 1.0, all_runs: bool = False,
                 arm: str | None = None, baseline: str | None = None) -> Path:
    """report.md and report.html for a results folder, the answer first: the ranked summary per
    length and arm (method, else sampling type) with 95% intervals over paired inputs, the plots
    that carry it (interval bars per lead measure, quality along the video with bands and section
    boundaries), the settings common to every run stated once, and the per-run table as table.csv
    (per-frame metrics as frames.parquet). A method comparison is paired against "none" unless
    `baseline` names another arm."""
    from .plots import drift_bars, interval_bars, quality_vs_length

    results_dir = Path(results_dir)
    table, per_frame, exp = load_results(results_dir, all_runs)
    arm = arm or comparison_arm(table)
    if arm is not None and arm not in table:
        raise ValueError(f"arm {arm!r} is not a column of the table; columns: {list(table.columns)}")
    if baseline is None and arm == "method" and "none" in set(table["method"]):
        baseline = "none"  # methods are judged against sampling without one, paired on the same inputs
    fps = exp.get("fps", 30)
    plots = results_dir / "plots"
    plots.mkdir(exist_ok=True)
    available = sorted(set(per_frame["metric"])) if len(per_frame) else []
    chosen = [m for m in (metrics or DEFAULT_REPORT_METRICS) if m in available] or available[:3]
    tables = summary_tables(table, arm, baseline)
    lead_figures = []
    for value, what, t in tables:
        by = _groups(t, arm)
        name = f"summary_{value}.png"
        _save(interval_bars(t, value, arm, by=by, baseline=baseline), plots / name)
        lead_figures.append(name)
    figures = []
    if len(per_frame):
        curves = frame_curves(per_frame, table, window_s, fps)
        by = arm if arm in curves else "run_id"
        length = next((c for c in ("num_sections", "num_frames") if c in curves and curves[c].nunique() > 1), None)
        section_s = section_seconds(table, fps)
        for m in chosen:
            name = f"quality_vs_length_{m}.png"
            _save(quality_vs_length(curves, m, by=by, length=length, section_s=section_s), plots / name)
            figures.append(name)
    for m in chosen:
        if f"{m}_drift" in table:
            name = f"drift_{m}.png"
            _save(drift_bars(table, m, color_by=arm or "sampling_type"), plots / name)
            figures.append(name)
    atomic_write(results_dir / "table.csv", lambda p: table.to_csv(p, index=False))
    if len(per_frame):
        RunStore(results_dir).write_frames(per_frame)
    title = exp.get("name", results_dir.name)
    constant = constant_settings(table)
    varying = [c for c in table.columns if c not in constant]
    md = [f"# {title}", "", exp.get("description", ""), "",
          f"{len(table)} finished runs. Drift = the paper's start-end contrast |M(first 15%) - M(last 15%)| "
          "(frames after the start image).", ""]
    sheets = contact_sheets(results_dir, table, exp, arm, plots)
    md += summary_lines(table, arm, baseline, tables=tables)
    md += [f"![{f}](plots/{f})" for f in lead_figures] + [""]
    if sheets:
        md += ["## The same frames side by side (first input)", ""] + [f"![{n}](plots/{n})" for n, _ in sheets] + [""]
    if constant:
        md += ["## Settings common to every run", "", ", ".join(f"`{k}` = {v}" for k, v in constant.items()), ""]
    md += ["## Plots", ""] + [f"![{f}](plots/{f})" for f in figures]
    md += ["", f"## Every run ({len(table)}): [table.csv](table.csv) (also table.parquet), columns that vary: "
           + ", ".join(f"`{c}`" for c in varying if not c.endswith(("_mean", "_drift")))
           + ("; per-frame metrics: frames.parquet" if len(per_frame) else ""), ""]
    atomic_write(results_dir / "report.md", "\n".join(md) + "\n")
    atomic_write(results_dir / "report.html", _html(title, exp, table, tables, baseline, constant,
                                                    lead_figures, figures, sheets))
    written = {*lead_figures, *figures, *(name for name, _ in sheets)}
    for old in plots.glob("*.png"):  # a previous report's figures of metrics or lengths no longer shown
        if old.name not in written:
            old.unlink()
    return results_dir / "report.md"


def read_video(path):
    """(T, 3, H, W) float in [0, 1] from a run's mp4 (imageio's ffmpeg), or None if unreadable."""
    try:
        import imageio.v3 as iio
        import torch

        frames = iio.imread(path, plugin="FFMPEG")
    except Exception:  # a missing or damaged file leaves its row out of the sheet, never the report
        return None
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0


def contact_sheets(results_dir, table, exp: dict, arm: str | None, plots: Path) -> list[tuple[str, dict]]:
    """Per length, the first paired input's videos side by side at the same frames (the real clip
    first when the start image is a toy world clip): [(png name, {row label: run_id})]."""
    from .plots import contact_sheet

    if arm is None or "run_id" not in table or not len(table):
        return []
    store = RunStore(results_dir)
    pair = [c for c in PAIR_COLUMNS if c in table]
    first = table.sort_values(pair).iloc[0]
    same = table
    for c in pair:
        same = same[same[c] == first[c]]
    length = next((c for c in LENGTH_COLUMNS if c in table and table[c].nunique() > 1), None)
    out = []
    for n, group in (same.groupby(length, sort=True) if length else [(None, same)]):
        videos, runs = {}, {}
        also = "sampling_type" if arm != "sampling_type" and "sampling_type" in group \
            and group["sampling_type"].nunique() > 1 else None
        for _, row in group.sort_values([arm, *([also] if also else [])]).iterrows():
            video = read_video(store.folder(row["run_id"]).video)
            label = str(row[arm]) + (f" ({row[also]})" if also else "")
            if video is not None:
                videos[label], runs[label] = video, row["run_id"]
        if not videos:
            continue
        images = (exp.get("inputs") or {}).get("images") or []
        real = _toy_real(images, first.get("image"), max(v.shape[0] for v in videos.values()))
        if real is not None:
            videos = {"real": real, **videos}
        name = f"contact_{length}_{n}.png" if length else "contact.png"
        fig = contact_sheet(videos, count=10, title=f"{first.get('image', '')} seed {first.get('seed', '')}"
                            + (f", {length} {n}" if length else ""))
        _save(fig, plots / name)
        out.append((name, runs))
    return out


def _toy_real(images: list, name, num_frames: int):
    """The world's own continuation when the named input image is a toy clip (toy:<seed>), else None."""
    spec = next((i.get("spec") for i in images if isinstance(i, dict) and i.get("name") == name), None)
    if not (isinstance(spec, str) and spec.startswith("toy:") and spec[4:].isdigit()):
        return None
    try:
        from fpkit.toy.world import real_video
    except ImportError:
        return None
    return real_video(int(spec[4:]), num_frames)


def _html(title, exp, table, tables, baseline, constant, lead_figures, figures, sheets=()) -> str:
    """A page a reader opens without a kernel, at screen width: the summary tables, their plots, the
    common settings and links to the per-run table. Everything the experiment author wrote is
    escaped, never markup."""
    parts = [f"<html><head><meta charset='utf-8'><title>{escape(str(title))}</title>",
             "<style>body{max-width:1100px;margin:auto;font-family:sans-serif}img{max-width:100%}"
             "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style>",
             "</head><body>", f"<h1>{escape(str(title))}</h1>", f"<p>{escape(str(exp.get('description', '')))}</p>",
             f"<p>{len(table)} finished runs.</p>"]
    for value, what, t in tables:
        t = t.drop(columns=[c for c in ("clear",) if baseline is None and c in t])
        parts += [f"<h3>{escape(what)} ({escape(value)})</h3>",
                  t.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4g}")]
    parts += [f"<img src='plots/{escape(f)}'>" for f in lead_figures]
    for name, runs in sheets:
        parts += [f"<h3>{escape(name[:-4].replace('_', ' '))}: the same frames side by side</h3>",
                  f"<img src='plots/{escape(name)}'>", "<div>"]
        parts += [f"<figure style='display:inline-block;margin:4px'><video src='runs/{escape(r)}/video.mp4' "
                  f"width='160' controls loop muted></video><figcaption style='font-size:11px'>{escape(label)}"
                  "</figcaption></figure>" for label, r in runs.items()]
        parts.append("</div>")
    if constant:
        parts += ["<h2>Settings common to every run</h2>",
                  "<p>" + escape(", ".join(f"{k} = {v}" for k, v in constant.items())) + "</p>"]
    parts += ["<h2>Plots</h2>"] + [f"<img src='plots/{escape(f)}' style='max-width:49%'>" for f in figures]
    parts += ["<p>Every run: <a href='table.csv'>table.csv</a> (also table.parquet).</p>", "</body></html>"]
    return "\n".join(parts)


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
