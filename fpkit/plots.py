"""Matplotlib figures shared by reports, widgets and notebooks. Each takes tables, returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .planning import span_text

STRATEGY_COLORS = {"vanilla": "tab:red", "inverted_anti_drifting": "tab:blue", "anti_drifting": "tab:green",
                   "keyframes": "tab:purple"}
_ARM_PALETTE = plt.get_cmap("tab20").colors


def _known_arm(text: str):
    """The strategy or method a label names ("vanilla", "history_noise(sigma=0.3)", a composition,
    CompareRuns' "vanilla + latent_stats": the method), or None."""
    from .methods import METHODS

    if text in STRATEGY_COLORS or text == "none":
        return text
    parts = [p.split("(")[0].strip() for p in text.split(" + ")]
    if len(parts) > 1 and parts[0] in STRATEGY_COLORS:
        parts = parts[1:]  # a strategy with methods: coloured by its (first) method
    return parts[0] if parts[0] in METHODS else None


def color_for(value) -> str:
    """One colour per strategy or method everywhere (reports, widgets, notebooks): strategies have
    their own, "none" is black, a method label takes the colour of its method name's place in the
    registry (parameters and compositions keep the first method's colour); other labels get a
    colour from their text."""
    from .methods import METHODS

    text = str(value)
    arm = _known_arm(text)
    if arm in STRATEGY_COLORS:
        return STRATEGY_COLORS[arm]
    if arm == "none":
        return "black"
    if arm is not None:
        return _ARM_PALETTE[sorted(METHODS).index(arm) % len(_ARM_PALETTE)]
    return _ARM_PALETTE[sum(map(ord, text)) % len(_ARM_PALETTE)]


def quality_vs_length(curves, metric: str, by: str = "sampling_type", ax=None, length: str | None = None,
                      level: float = 0.95, section_s: float | None = None):
    """Windowed metric M(t) against time: one line per value of `by` (and per value of `length`, when
    runs of several lengths are given: never averaged together), the mean over runs with its
    bootstrap interval as a band (artists with gid "band:<by value>") when there are several runs,
    section boundaries every `section_s` seconds as dotted lines (gid "section").

    curves: long table with columns run_id, t_start, t_end, metric, value and `by` (fpkit.metrics.windowed
    output joined with run config)."""
    from .metrics.stats import bootstrap_ci

    data = curves[curves["metric"] == metric]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
    else:
        fig = ax.figure
    lengths = sorted(data[length].dropna().unique()) if length and length in data else [None]
    styles = ["-", "--", ":", "-."]
    for j, n in enumerate(lengths):
        sub = data if n is None else data[data[length] == n]
        for key, grp in sub.groupby(by, sort=True):
            t = (grp["t_start"] + grp["t_end"]) / 2
            grp = grp.assign(t=t)
            rows = []
            for tt, g in grp.groupby("t"):
                v = g["value"].dropna().to_numpy()
                ci = bootstrap_ci(v, level=level, n_boot=1000) if len(v) > 1 else None
                rows.append((tt, v.mean() if len(v) else float("nan"), ci.low if ci else None, ci.high if ci else None))
            ts, means, lows, highs = zip(*rows)
            color = color_for(key)
            label = str(key) if n is None else f"{key}, {length} {n:g}"
            has_ci = all(lo is not None for lo in lows)
            if len(ts) == 1:  # one window (a short clip): a point with its interval, not an invisible band
                yerr = [[means[0] - lows[0]], [highs[0] - means[0]]] if has_ci else None
                ax.errorbar(ts, means, yerr=yerr, marker="o", ms=4, capsize=3, color=color, label=label,
                            gid=f"band:{key}" if has_ci else None)
                continue
            ax.plot(ts, means, marker="o", ms=3, label=label, color=color, ls=styles[j % len(styles)])
            if has_ci:
                ax.fill_between(ts, lows, highs, alpha=0.15, color=color, gid=f"band:{key}")
    if section_s:
        t_max = float(data["t_end"].max()) if len(data) else 0.0
        k = 1
        while k * section_s < t_max:
            ax.axvline(k * section_s, color="0.6", lw=0.6, ls=":", gid="section")
            k += 1
    ax.set_xlabel("time in video (s)" + (f"; dotted: section boundaries ({section_s:.2g} s)" if section_s else ""))
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} along the video (mean, {level:.0%} interval over runs)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def interval_bars(summary, value_label: str, arm: str, by=None, ax=None, baseline=None):
    """A ranked comparison as bars with error bars: `summary` is fpkit.metrics.paired_table output
    (mean, low, high per `by` group and `arm`); one group of bars per value of `by` (a column or a
    list of columns, e.g. ["num_sections", "sampling_type"]: every combination its own group, never
    one standing for the others), one colour per arm (fixed across figures; arms sharing a colour,
    such as one method at several parameters, are told apart by hatching), the interval as an error
    bar (gid "interval:<arm>") where there is one."""
    import numpy as np

    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    keys = [tuple(k) for k in summary[by].drop_duplicates().sort_values(by).itertuples(index=False)] if by else [()]
    arms = list(dict.fromkeys(summary.sort_values("mean")[arm]))
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(24.0, max(4.5, 0.32 * len(arms) * len(keys) + 2.5)), 3.8))
    else:
        fig = ax.figure
    width = 0.8 / max(1, len(arms))
    seen, hatches = {}, ["", "//", "..", "xx", "\\\\", "oo"]
    for k, name in enumerate(arms):
        rows = summary[summary[arm] == name]
        xs, ys, err = [], [], []
        for g, key in enumerate(keys):
            r = rows
            for col, v in zip(by, key):
                r = r[r[col] == v]
            if not len(r):
                continue
            r = r.iloc[0]
            xs.append(g + (k - (len(arms) - 1) / 2) * width)
            ys.append(r["mean"])
            err.append((r["mean"] - r["low"], r["high"] - r["mean"]) if np.isfinite(r["low"]) else (0.0, 0.0))
        label = f"{name} (baseline)" if baseline is not None and name == baseline else str(name)
        color = color_for(name)
        hatch = hatches[seen.get(color, 0) % len(hatches)]
        seen[color] = seen.get(color, 0) + 1
        ax.bar(xs, ys, width=width * 0.95, color=color, hatch=hatch, edgecolor="white" if not hatch else "0.3",
               lw=0.3, label=label)
        if any(e != (0.0, 0.0) for e in err):
            ax.errorbar(xs, ys, yerr=np.array(err).T, fmt="none", ecolor="0.2", capsize=2, lw=0.8,
                        gid=f"interval:{name}")
    if by:
        ax.set_xticks(range(len(keys)), ["\n".join(f"{c} {v}" for c, v in zip(by, key)) for key in keys], fontsize=8)
    else:
        ax.set_xticks([])
    ax.set_ylabel(value_label, fontsize=8)
    ax.legend(fontsize=7, ncol=2 if len(arms) < 8 else 1, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0)
    ax.set_title(f"{value_label}: mean and 95% interval over paired inputs", fontsize=9)
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
    colors = [color_for(v) for v in data.get(color_by, [None] * len(data))]
    ax.bar(range(len(data)), data[column], color=colors)
    ax.set_xticks(range(len(data)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"|{metric}(start) - {metric}(end)|")
    ax.set_title(f"drift of {metric} per run")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Trace views: a section's context layout, its schedule, timings, thumbnails (used by
# fpkit.widgets.TraceExplorer; each also stands alone in a notebook or report).

KIND_COLORS = {"anchor": "tab:purple", "noisy": "tab:orange", "history": "tab:blue", "gap": "white"}
_COMPRESSION_ALPHA = {"k1": 0.9, "k2": 0.65, "k4": 0.4, "": 0.9}
GAP_WIDTH = 0.03  # gaps hold RoPE positions but no tokens: drawn as spacers of 3% of the token axis


def _axes(ax, figsize):
    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def describe_sources(sources, temporal_compression: int = 4, num_latents: int | None = None) -> tuple[str, str]:
    """(canvas latents, decoded video frames) feeding a slot, e.g. ("zeros x13, lat 13-15", "px 49-60").
    None sources are all-zero frames; position `num_latents` is the last image (no decoded frame)."""
    from itertools import groupby

    from .planning import latent_to_frames

    def kind(src):
        return "zeros" if src is None else "last" if num_latents is not None and src >= num_latents else "lat"

    parts, frames = [], []
    for k, grp in groupby(sources, key=kind):
        grp = list(grp)
        if k == "zeros":
            parts.append(f"zeros x{len(grp)}" if len(grp) > 1 else "zeros")
        elif k == "last":
            parts.append("last image")
        else:
            parts.append(f"lat {span_text(grp)}")
            frames.extend(f for src in grp for f in latent_to_frames(int(src), temporal_compression))
    if all(p.startswith("zeros") for p in parts):
        return "zeros", ""
    return ", ".join(parts), (f"px {span_text(sorted(set(frames)))}" if frames else "")


def slot_label(slot, temporal_compression: int = 4, num_latents: int | None = None) -> str:
    """Multi-line label of a context slot: kind/compression, frames, RoPE range, tokens, sources."""
    if slot.kind == "gap":
        return f"gap\n{slot.frames} fr\nRoPE {span_text(slot.rope)}"
    name = f"{slot.kind} {slot.compression}" + (f" ({slot.side})" if slot.side else "")
    lat, px = describe_sources(slot.sources, temporal_compression, num_latents)
    if slot.kind == "noisy":
        lat = f"writes {lat}"
    lines = [name, f"{slot.frames} fr | RoPE {span_text(slot.rope)}", f"{slot.tokens} tok", lat]
    return "\n".join(lines + ([px] if px else []))


def context_layout(section_plan, ax=None, temporal_compression: int = 4, num_latents: int | None = None):
    """One section's packed context in RoPE order: a block per slot, width proportional to its tokens;
    gaps (RoPE positions without tokens) as thin hatched spacers. Blocks carry gid "slot:<i>", gap
    spacers "gap:<i>"; labels give kind/compression, frames, RoPE range, tokens and the canvas latents
    (and decoded frames) that fill the slot."""
    from matplotlib.patches import Rectangle

    s = section_plan
    fig, ax = _axes(ax, (10, 3.4))
    total = max(1, sum(sl.tokens for sl in s.slots if sl.kind != "gap"))
    gap_w = GAP_WIDTH * total
    x, items = 0.0, []
    for i, slot in enumerate(s.slots):
        if slot.kind == "gap":
            if slot.frames == 0:  # a gap of zero positions is no spacer at all
                continue
            rect = Rectangle((x, 0), gap_w, 1, facecolor="white", edgecolor="gray", hatch="///", lw=0.8)
            rect.set_gid(f"gap:{i}")
            width = gap_w
        else:
            color = KIND_COLORS.get(slot.kind, "tab:gray")
            if slot.kind == "history" and slot.side == "future":
                color = "tab:green"
            rect = Rectangle((x, 0), slot.tokens, 1, facecolor=color, edgecolor="black", lw=0.8,
                             alpha=_COMPRESSION_ALPHA.get(slot.compression, 0.9))
            rect.set_gid(f"slot:{i}")
            width = slot.tokens
        ax.add_patch(rect)
        items.append((x + width / 2, width, slot_label(slot, temporal_compression, num_latents)))
        x += width
    # Narrow neighbours get their labels on staggered rows so texts do not overlap.
    level, prev_narrow = 0, False
    lowest = 0
    for cx, width, text in items:
        narrow = width < 0.12 * x
        level = (level + 1) % 3 if (narrow and prev_narrow) else 0
        prev_narrow = narrow
        y = -0.08 - 1.25 * level
        if level:
            ax.plot([cx, cx], [0, y], color="gray", lw=0.5)
        ax.text(cx, y, text, ha="center", va="top", fontsize=6.5)
        lowest = min(lowest, y)
    ax.set_xlim(0, max(x, 1))
    ax.set_ylim(lowest - 1.35, 1.05)
    ax.set_yticks([])
    ax.set_xlabel("tokens (packed sequence, RoPE order)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{s.strategy} section order {s.order} / index {s.index}: window latents "
                 f"{s.window[0]}-{s.window[1] - 1}, {s.layout}, {s.total_tokens} tokens", fontsize=9)
    fig.tight_layout()
    return fig


def schedule(section_schedule, ax=None):
    """Sigma per step (terminal sigma included) of one section's schedule; rule, shift and solver in the title."""
    sch = section_schedule
    fig, ax = _axes(ax, (4, 3))
    ax.plot(range(len(sch.sigmas)), sch.sigmas, marker="o", ms=4, color="tab:blue", gid="sigmas")
    ax.set_xlabel("step")
    ax.set_ylabel("sigma")
    ax.set_ylim(-0.03, 1.03)
    mu = f", mu {sch.mu:.3g}" if sch.mu is not None else ""
    ax.set_title(f"{sch.solver}: {sch.rule} shift {sch.shift:.3g}{mu}, {sch.num_steps} steps", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def section_timings(sections, current=None, order: str = "generation", ax=None):
    """Seconds per section as bars (Trace.to_frame("sections")), in generation or temporal order; the
    section with generation order `current` highlighted."""
    if order not in ("generation", "temporal"):
        raise ValueError(f"order must be 'generation' or 'temporal', got {order!r}")
    data = sections.sort_values("order" if order == "generation" else "index")
    fig, ax = _axes(ax, (4, 3))
    colors = ["tab:orange" if o == current else "tab:gray" for o in data["order"]]
    seconds = data["seconds"].astype(float).fillna(0.0)
    ax.bar(range(len(data)), seconds, color=colors)
    ax.set_xticks(range(len(data)), [f"o{o}\ni{i}" for o, i in zip(data["order"], data["index"])], fontsize=7)
    ax.set_ylabel("seconds")
    ax.set_title(f"time per section ({order} order)", fontsize=9)
    fig.tight_layout()
    return fig


def frame_image(video, i: int):
    """Frame i of a video as an (H, W, 3) float array in [0, 1]. video: torch or numpy (T, 3, H, W)
    float in [0, 1], or numpy (T, H, W, 3) uint8 / float."""
    import numpy as np

    frame = video[i]
    if hasattr(frame, "detach"):
        frame = frame.detach().to("cpu").float().numpy()
    frame = np.asarray(frame)
    if frame.ndim == 3 and frame.shape[0] in (1, 3) and frame.shape[-1] not in (1, 3):
        frame = frame.transpose(1, 2, 0)
    if frame.dtype == np.uint8:
        frame = frame.astype(np.float32) / 255.0
    return np.clip(frame, 0.0, 1.0)


def thumbnails(video, frames, count: int = 4, ax=None):
    """Up to `count` frames, evenly spread over `frames` (clipped to the video), side by side."""
    import numpy as np

    n = len(video)
    frames = [f for f in frames if 0 <= f < n]
    fig, ax = _axes(ax, (6, 1.8))
    if not frames:
        ax.text(0.5, 0.5, "no frames of this section in the video", ha="center", va="center")
        ax.set_axis_off()
        return fig
    picks = sorted({frames[int(round(j))] for j in np.linspace(0, len(frames) - 1, min(count, len(frames)))})
    images = [frame_image(video, f) for f in picks]
    w = images[0].shape[1]
    ax.imshow(np.concatenate(images, axis=1))
    ax.set_xticks([w * (j + 0.5) for j in range(len(picks))], [f"frame {f}" for f in picks], fontsize=7)
    ax.set_yticks([])
    ax.set_title(f"frames {frames[0]}-{frames[-1]}", fontsize=9)
    fig.tight_layout()
    return fig


def contact_sheet(videos: dict, frames=None, count: int = 8, title: str | None = None, scale: float = 0.9):
    """One row per video (e.g. the real clip, then each strategy), the same frame indices in every
    column, so rows compare at equal times. videos: {label: (T, 3, H, W) in [0, 1]}; frames: indices
    (default `count` spread over the shortest video; indices past a video's end stay blank)."""
    import numpy as np

    if not videos:
        raise ValueError("contact_sheet needs at least one video")
    lengths = {k: len(v) for k, v in videos.items()}
    if frames is None:
        frames = sorted({int(round(x)) for x in np.linspace(0, min(lengths.values()) - 1, count)})
    frames = [int(f) for f in frames]
    first = frame_image(next(iter(videos.values())), 0)
    h, w = first.shape[:2]
    rows, cols = len(videos), len(frames)
    head = 0.45 + (0.25 if title else 0)  # inches above the first row: its frame labels, then the title
    height = scale * rows + head + 0.05
    fig, axes = plt.subplots(rows, cols, figsize=(scale * cols + 1.6, height), squeeze=False)
    for r, (label, video) in enumerate(videos.items()):
        for c, f in enumerate(frames):
            ax = axes[r][c]
            ax.imshow(frame_image(video, f) if f < lengths[label] else np.ones((h, w, 3)))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {f}", fontsize=7)
        text = str(label).replace(" ", "\n") if len(str(label)) > 14 else str(label)  # fits the 1.5 in margin
        axes[r][0].set_ylabel(text, rotation=0, ha="right", va="center", fontsize=7)
    if title:  # a fixed distance from the top in inches, so tall sheets do not put it over the frame labels
        fig.suptitle(title, fontsize=9, y=1 - 0.05 / height, va="top")
    fig.subplots_adjust(left=1.5 / (scale * cols + 1.6), right=0.99, wspace=0.04, hspace=0.06,
                        top=1 - head / height, bottom=0.01)
    return fig


# ---------------------------------------------------------------------------------------------
# Run comparison and sweeps


def _with_unit(metric: str) -> str:
    """A registered metric's name with its unit, "color_shift (Delta E)"; other names as they are."""
    from .metrics import REGISTRY

    unit = REGISTRY[metric].unit if metric in REGISTRY else ""
    return f"{metric} ({unit})" if unit else metric


def metric_curves(table, metrics, labels=None, frame=None, axes=None):
    """Per-frame metric curves (a long table: run_id, frame, metric, value), one panel per metric and
    one line per run_id; a vertical marker (gid "frame_marker") at `frame`. labels: run_id -> name."""
    metrics = list(metrics)
    labels = labels or {}
    if axes is None:
        fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 1.6 * len(metrics) + 0.6), sharex=True, squeeze=False)
        axes = axes[:, 0]
    fig = axes[0].figure
    runs = list(dict.fromkeys(table["run_id"])) if len(table) else []
    for ax, name in zip(axes, metrics):
        data = table[table["metric"] == name]
        used = set()
        for k, run_id in enumerate(runs):
            grp = data[data["run_id"] == run_id].sort_values("frame")
            label = labels.get(run_id, str(run_id))
            # a strategy or method label keeps its colour from every other figure (once per panel)
            arm = label.split(": ", 1)[-1]  # CompareRuns numbers its labels "0: vanilla"
            color = color_for(arm) if _known_arm(arm) is not None else f"C{k}"
            color = f"C{k}" if color in used else color
            used.add(color)
            ax.plot(grp["frame"], grp["value"], lw=1, color=color, label=label, gid=f"curve:{run_id}")
        if frame is not None:
            ax.axvline(frame, color="black", lw=0.8, ls="--", gid="frame_marker")
        ax.set_ylabel(_with_unit(name), fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("frame")
    if runs:
        axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def sweep_plot(table, metric: str, x: str, color: str | None = "sampling_type", facet: str | None = None,
               level: float = 0.95):
    """A sweep's summary column `metric` (e.g. "world_drift_hist") against config field `x`: one point
    per run, a line through the mean per x value for each value of `color` with its bootstrap
    interval over runs as error bars (where a point has several runs), one panel per value of
    `facet`. Mean lines carry gid "mean:<color value>", error bars "interval:<color value>"."""
    import numpy as np
    import pandas as pd

    from .metrics.stats import bootstrap_ci

    for name in (metric, x, color, facet):
        if name is not None and name not in table:
            raise ValueError(f"no column {name!r} in the table; columns: {list(table.columns)}")
    color = color if color in table else None
    facets = sorted(table[facet].dropna().unique(), key=str) if facet else [None]
    fig, axes = plt.subplots(1, max(1, len(facets)), figsize=(4.2 * max(1, len(facets)) + 0.6, 3.4),
                             sharey=True, squeeze=False)
    # pandas' string dtype (a mixed axis such as flow_shift = [3.0, "dynamic"]) is not a numpy dtype
    numeric = pd.api.types.is_numeric_dtype(table[x]) and not pd.api.types.is_bool_dtype(table[x])
    categories = sorted(table[x].dropna().unique(), key=str) if not numeric else None
    keys = sorted(table[color].unique(), key=str) if color else [None]
    spread = 0.0
    for ax, fval in zip(axes[0], facets):
        sub = table if facet is None else table[table[facet] == fval]
        for key in keys:
            grp = sub if color is None else sub[sub[color] == key]
            grp = grp.dropna(subset=[x, metric])
            if not len(grp):
                continue
            xs = grp[x] if numeric else grp[x].map({c: j for j, c in enumerate(categories)})
            c = color_for(key) if color else "0.2"
            ax.scatter(xs, grp[metric], s=14, alpha=0.35, color=c)
            stats = [(xv, bootstrap_ci(g[metric].to_numpy(), level=level, n_boot=2000))
                     for xv, g in grp.assign(_x=xs).groupby("_x", sort=True)]
            px = [xv for xv, _ in stats]
            means = np.array([ci.estimate for _, ci in stats])
            ax.plot(px, means, marker="o", ms=4, color=c, gid=f"mean:{key}",
                    label=str(key) if color else metric)
            lows = np.array([ci.low for _, ci in stats])
            highs = np.array([ci.high for _, ci in stats])
            ok = np.isfinite(lows)
            if ok.any():
                spread = max(spread, max(ci.n for _, ci in stats))
                ax.errorbar(np.array(px)[ok], means[ok], yerr=[means[ok] - lows[ok], highs[ok] - means[ok]],
                            fmt="none", ecolor=c, capsize=3, lw=1.0, gid=f"interval:{key}")
        if not numeric:
            ax.set_xticks(range(len(categories)), [str(c) for c in categories], fontsize=7)
        ax.set_xlabel(x)
        what = f"mean, {level:.0%} interval over runs" if spread else "mean (one run per point: no interval)"
        ax.set_title(f"{facet} = {fval}" if facet else f"{metric} vs {x}\n({what})", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(metric)
    if color:
        axes[0][-1].legend(fontsize=7, title=color, title_fontsize=7)
    fig.tight_layout()
    return fig


def training_curves(losses: dict, likeness=None,
                    measures=("visible", "hist_distance", "motion_follow", "shape_iou")):
    """Training loss (per 100 steps, one line per variant) and, from a likeness-vs-steps table
    (step, seed, measure, value, variant), the median likeness measures against steps; a measure
    the table does not hold (one written before it existed) gets no panel."""
    if likeness is not None:
        held = set(likeness.measure)
        measures = [m for m in measures if m in held]
    panels = 1 + (len(measures) if likeness is not None else 0)
    fig, axes = plt.subplots(1, panels, figsize=(3.3 * panels, 3), squeeze=False)
    ax = axes[0][0]
    for variant, curve in losses.items():
        ax.plot([100 * (i + 1) for i in range(len(curve))], curve, label=variant)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title("training loss (mean per 100 steps)", fontsize=9)
    ax.legend(fontsize=7)
    for ax, measure in zip(axes[0][1:], measures):
        data = likeness[likeness.measure == measure]
        for variant, grp in data.groupby("variant", sort=False):
            stats = grp.groupby("step")["value"].agg(["median", lambda v: v.quantile(0.25),
                                                      lambda v: v.quantile(0.75)])
            stats.columns = ["median", "q1", "q3"]
            line, = ax.plot(stats.index, stats["median"], marker="o", ms=3, label=variant)
            ax.fill_between(stats.index, stats["q1"], stats["q3"], alpha=0.15, color=line.get_color())
        ax.set_xlabel("step")
        ax.set_title(f"{measure} (median, IQR over seeds)", fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Attention to the packed context (fpkit.attention; a trace recorded with record="attention")


def attention_group(kind: str, compression: str = "", side: str = "") -> str:
    """A slot's group across sections: "anchor", "history 1x past", ..., "noisy", "image", "text"."""
    if kind == "history":
        return f"history {compression[1:]}x {side}".strip()
    return kind


def attention_heatmap(trace, order: int = 0, step: int | None = None, ax=None):
    """One section's attention mass: segments (its plan's slots, image, text) x blocks, the mean over
    heads (and over the recorded steps unless `step` is given). The image carries gid "attention"."""
    import numpy as np

    rec = next((r for r in trace.sections if r.plan.order == order), None)
    if rec is None or rec.attention is None:
        raise ValueError(f"section {order} has no attention recorded (sample with record='attention')")
    a = rec.attention.float()
    if step is not None:
        if step not in rec.attention_steps:
            raise ValueError(f"step {step} not recorded; recorded: {list(rec.attention_steps)}")
        a = a[rec.attention_steps.index(step)][None]
    mass = np.nanmean(a.numpy(), axis=(0, 2))  # (blocks, segments)
    labels = []
    for s in rec.attention_segments:
        if s.isdigit():
            slot = rec.plan.slots[int(s)]
            labels.append(f"{attention_group(slot.kind, slot.compression, slot.side)}\n{slot.tokens} tok")
        else:
            labels.append(s)
    blocks = (trace.settings.get("attention") or {}).get("blocks") or [str(b) for b in range(mass.shape[0])]
    fig, ax = _axes(ax, (1.4 + 1.0 * mass.shape[1], 1.1 + 0.32 * mass.shape[0]))  # slot labels side by side
    im = ax.imshow(mass, aspect="auto", cmap="viridis", vmin=0, gid="attention")
    ax.set_xticks(range(len(labels)), labels, fontsize=6)
    ax.set_yticks(range(len(blocks)), blocks, fontsize=6)
    for (b, g), v in np.ndenumerate(mass):
        ax.text(g, b, f"{v:.2f}", ha="center", va="center", fontsize=5, color="w" if v < mass.max() / 2 else "k")
    ax.figure.colorbar(im, ax=ax, label="softmax mass")
    when = "mean over steps" if step is None else f"step {step}"
    ax.set_title(f"section {order} (index {rec.plan.index}): noisy-window attention per slot, {when}", fontsize=8)
    fig.tight_layout()
    return fig


def attention_along_video(trace, ax=None, blocks=None):
    """Mass per slot group (anchor, each history compression and side, noisy self, image, text)
    against the section's temporal index, the mean over blocks (or `blocks`), heads and steps; one
    line per group (gid "attention:<group>")."""
    frame = trace.to_frame("attention")
    if not len(frame):
        raise ValueError("the trace has no attention (sample with record='attention')")
    if blocks is not None:
        frame = frame[frame.block.isin(list(blocks))]
    frame = frame.assign(group=[attention_group(k, c, s) for k, c, s in zip(frame.kind, frame.compression, frame.side)])
    per_section = frame.groupby(["index", "order", "step", "block", "head", "group"]).mass.sum().reset_index()
    curve = per_section.groupby(["group", "index"]).mass.mean().reset_index()
    fig, ax = _axes(ax, (6.5, 3.4))
    for k, (group, g) in enumerate(curve.groupby("group", sort=True)):
        ax.plot(g["index"], g["mass"], marker="o", ms=3, label=group, color=f"C{k % 10}", gid=f"attention:{group}")
    ax.set_xlabel("section (temporal index, 0 = next to the start image)")
    ax.set_ylabel("softmax mass of noisy-window queries")
    ax.set_title(f"attention per context slot along the video ({trace.plan.strategy})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
