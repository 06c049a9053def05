"""Drift summaries derived from a long per-frame table (compute()'s output): the paper's start-end
contrast, fixed-time windows, per-section curves, and a one-row-per-run summary.

All of them take the defined (non-NaN) values of each (run, metric) in frame order; a previous-frame
metric thus has T - 1 values for a T-frame video.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

_EPS = 1e-9  # so 0.15 * 30 = 4.5 rounds up as written, whatever the binary representation says


def check_positive(name: str, value) -> float:
    """`value` as a float if it is a finite real number > 0, else ValueError naming it. Bools are
    refused (True would pass as 1 fps); NaN would pass a plain `value <= 0` test."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def end_frames(n: int, ratio: float = 0.15) -> int:
    """Values in each end window of the start-end contrast: k = max(1, floor(ratio * n + 1/2)),
    i.e. ratio * n rounded half up, at least 1, at most n."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if not 0 < ratio <= 0.5:
        raise ValueError(f"ratio must be in (0, 0.5], got {ratio!r}")
    return int(min(n, max(1, math.floor(ratio * n + 0.5 + _EPS))))


def _runs(table, run_id):
    if run_id is None:
        return table
    sub = table[table["run_id"] == run_id]
    if sub.empty:
        raise ValueError(f"run_id {run_id!r} not in table; runs: {sorted(table['run_id'].unique())}")
    return sub


def _defined(table, metrics=None, position: str = "frame"):
    for col in ("run_id", position, "metric", "value"):
        if col not in table.columns:
            raise ValueError(f"table needs column {col!r}; got {list(table.columns)}")
    if metrics is not None:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = sorted(set(names) - set(table["metric"]))
        if unknown:
            raise ValueError(f"metrics {unknown} not in table; it has {sorted(table['metric'].unique())}")
        table = table[table["metric"].isin(names)]
    return table[table["value"].notna()].sort_values(position, kind="stable")


def start_end_contrast(table, ratio: float = 0.15, metrics=None, position: str = "frame"):
    """The paper's Delta_drift(M) = |M(first ratio of frames) - M(last ratio)| per run and metric.

    Columns: run_id, metric, n (defined values), k (values per end, see end_frames), start, end,
    delta (end - start), contrast (|delta|). `position` orders the values (frame, window, ...)."""
    import pandas as pd

    end_frames(1, ratio)  # validate ratio even for an empty table
    rows = []
    for (run, metric), group in _defined(table, metrics, position).groupby(["run_id", "metric"], sort=False):
        v = group["value"].to_numpy()
        k = end_frames(len(v), ratio)
        start, end = float(v[:k].mean()), float(v[-k:].mean())
        rows.append(dict(run_id=run, metric=metric, n=len(v), k=k, start=start, end=end, delta=end - start,
                         contrast=abs(end - start)))
    return pd.DataFrame(rows, columns=["run_id", "metric", "n", "k", "start", "end", "delta", "contrast"])


def window_frames(window_s: float, fps: float) -> int:
    """Frames per window: window_s * fps rounded half up, at least 1."""
    check_positive("window_s", window_s)
    check_positive("fps", fps)
    return max(1, math.floor(window_s * fps + 0.5 + _EPS))


def windowed(table, window_s: float = 1.0, fps: float | None = None, metrics=None):
    """M(t) over consecutive fixed windows of window_frames(window_s, fps) frames (last one partial).

    Columns: run_id, window, frame_start, frame_stop, t_start, t_end (seconds), metric, value (mean
    of defined values), n_frames (defined values in the window). fps defaults to table.attrs["fps"]."""
    fps = fps if fps is not None else table.attrs.get("fps")
    if fps is None:
        raise ValueError("fps unknown: pass fps= (compute() stores it in table.attrs['fps'])")
    w = window_frames(window_s, fps)
    data = _defined(table, metrics)
    last = table.groupby("run_id")["frame"].max().rename("last")
    data = data.assign(window=data["frame"].to_numpy() // w)
    out = (data.groupby(["run_id", "window", "metric"], sort=True)["value"]
           .agg(value="mean", n_frames="count").reset_index().join(last, on="run_id"))
    out["frame_start"] = out["window"] * w
    out["frame_stop"] = np.minimum(out["frame_start"] + w, out["last"] + 1)
    out["t_start"] = out["frame_start"] / fps
    out["t_end"] = out["frame_stop"] / fps
    return out[["run_id", "window", "frame_start", "frame_stop", "t_start", "t_end", "metric", "value", "n_frames"]]


def section_curves(table, trace, order: str = "temporal", run_id: str | None = None, metrics=None):
    """Each metric averaged over each section's frames (Trace.section_frames), in temporal order
    (by section index) or generation order (inverted strategies generate the end first).

    Frame 0, the start image, belongs to no section. Columns: run_id, section (temporal index),
    order (generation order), frame_start, frame_stop, metric, value, n_frames."""
    if order not in ("temporal", "generation"):
        raise ValueError(f"order must be 'temporal' or 'generation', got {order!r}")
    sub = _runs(table, run_id)
    runs = sub["run_id"].unique()
    if len(runs) != 1:
        raise ValueError(f"table holds runs {sorted(runs)}; pass run_id= for the one this trace belongs to")
    num_frames = int(sub["frame"].max()) + 1
    expected = trace.settings.get("num_frames")
    if expected is not None and expected != num_frames:
        raise ValueError(f"table has {num_frames} frames but the trace's video has {expected}")
    plans = [rec.plan for rec in trace.sections]
    section_of = np.full(num_frames, -1)
    for p in plans:
        frames = trace.section_frames(p)
        if frames.stop > num_frames:
            raise ValueError(f"section {p.index} spans frames {frames.start}..{frames.stop - 1}, "
                             f"the table only {num_frames}")
        section_of[frames.start:frames.stop] = p.index
    data = _defined(sub, metrics)
    data = data.assign(section=section_of[data["frame"].to_numpy()])
    data = data[data["section"] >= 0]
    out = data.groupby(["section", "metric"], sort=False)["value"].agg(value="mean", n_frames="count").reset_index()
    by_index = {p.index: p for p in plans}
    out["order"] = out["section"].map(lambda i: by_index[i].order)
    out["frame_start"] = out["section"].map(lambda i: trace.section_frames(by_index[i]).start)
    out["frame_stop"] = out["section"].map(lambda i: trace.section_frames(by_index[i]).stop)
    out["run_id"] = runs[0]
    key = "section" if order == "temporal" else "order"
    out = out.sort_values([key, "metric"], kind="stable").reset_index(drop=True)
    return out[["run_id", "section", "order", "frame_start", "frame_stop", "metric", "value", "n_frames"]]


def summary(table, run_id: str | None = None, ratio: float = 0.15):
    """One row per run: run_id, num_frames, then {metric}_mean and {metric}_drift (start-end contrast)."""
    import pandas as pd

    sub = _runs(table, run_id)
    data = _defined(sub)
    means = data.groupby(["run_id", "metric"], sort=False)["value"].mean().unstack("metric")
    contrast = start_end_contrast(sub, ratio).set_index(["run_id", "metric"])["contrast"].unstack("metric")
    metric_order = list(dict.fromkeys(sub["metric"]))
    frames = sub.groupby("run_id", sort=False)["frame"].max() + 1
    columns = {"run_id": frames.index, "num_frames": frames.to_numpy()}
    for m in metric_order:  # built at once: 40 column insertions per run cost more than the metrics' means
        columns[f"{m}_mean"] = means[m].reindex(frames.index).to_numpy() if m in means else np.nan
        columns[f"{m}_drift"] = contrast[m].reindex(frames.index).to_numpy() if m in contrast else np.nan
    return pd.DataFrame(columns)
