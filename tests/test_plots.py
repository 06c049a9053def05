"""fpkit.plots drawing functions: pure (plans, schedules and tables built here, no model)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import fpkit
from fpkit import plots
from fpkit.schedule import SectionSchedule


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _blocks(fig, prefix):
    ax = fig.axes[0]
    return {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith(prefix)}


@pytest.mark.parametrize("strategy", ["vanilla", "inverted_anti_drifting", "anti_drifting"])
def test_context_layout_one_block_per_slot_to_scale(strategy):
    plan = fpkit.plan(strategy, num_sections=5, latent_window_size=9, latent_size=(60, 104),
                      has_last_image=strategy == "anti_drifting")
    for section in plan.sections:
        fig = plots.context_layout(section, num_latents=plan.num_latents)
        blocks = _blocks(fig, "slot:")
        slots = [(i, s) for i, s in enumerate(section.slots) if s.kind != "gap"]
        assert sorted(blocks) == sorted(f"slot:{i}" for i, _ in slots)
        widths = np.array([blocks[f"slot:{i}"].get_width() for i, _ in slots])
        tokens = np.array([s.tokens for _, s in slots], dtype=float)
        np.testing.assert_allclose(widths / widths.sum(), tokens / tokens.sum())
        # Blocks follow RoPE order along the token axis, without overlap.
        xs = [blocks[f"slot:{i}"].get_x() for i, _ in slots]
        assert xs == sorted(xs)
        gaps = _blocks(fig, "gap:")
        assert len(gaps) == sum(1 for s in section.slots if s.kind == "gap" and s.frames)
        plt.close(fig)


def test_context_layout_labels_rope_tokens_and_sources():
    plan = fpkit.plan("inverted_anti_drifting", num_sections=3, latent_window_size=3, latent_size=(4, 6))
    first = plan.sections[0]  # generated first: its future history is all zeros
    fig = plots.context_layout(first, temporal_compression=4, num_latents=plan.num_latents)
    texts = [t.get_text() for t in fig.axes[0].texts]
    noisy = first.noisy
    rope = f"RoPE {noisy.rope[0]}-{noisy.rope[-1]}"
    assert any(rope in t and f"{noisy.tokens} tok" in t and "noisy k1" in t for t in texts), texts
    gap = next(s for s in first.slots if s.kind == "gap")
    assert any(t.startswith("gap") and f"RoPE {gap.rope[0]}-{gap.rope[-1]}" in t for t in texts)
    assert any("history k4" in t and "zeros" in t for t in texts)
    assert any("anchor k1" in t and "lat 0" in t and "px 0" in t for t in texts)
    assert f"order {first.order} / index {first.index}" in fig.axes[0].get_title()
    # The section generated last reads the first one's latents: its labels say which frames.
    last = plan.sections[-1]
    texts = [t.get_text() for t in plots.context_layout(last, temporal_compression=4).axes[0].texts]
    assert any("history k1" in t and "lat 4" in t and "px 13-16" in t for t in texts), texts


def test_describe_sources():
    assert plots.describe_sources((None, None)) == ("zeros", "")
    assert plots.describe_sources((None, None, 3, 4), temporal_compression=4) == ("zeros x2, lat 3-4", "px 9-16")
    assert plots.describe_sources((0,)) == ("lat 0", "px 0")
    assert plots.describe_sources((7,), num_latents=7) == ("last image", "")


def test_schedule_plots_the_sigmas():
    sch = SectionSchedule(solver="euler", rule="fixed", shift=3.0, mu=None, sigmas=(1.0, 0.8, 0.5, 0.0),
                          timesteps=(1000.0, 800.0, 500.0))
    fig = plots.schedule(sch)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "sigmas"]
    np.testing.assert_allclose(line.get_ydata(), sch.sigmas)
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2, 3])
    assert "fixed" in fig.axes[0].get_title() and "shift 3" in fig.axes[0].get_title()


def test_section_timings_highlight_current():
    sections = pd.DataFrame({"order": [0, 1, 2], "index": [2, 1, 0], "seconds": [1.0, 2.0, 3.0]})
    fig = plots.section_timings(sections, current=1, order="temporal")
    bars = fig.axes[0].patches
    assert [b.get_height() for b in bars] == [3.0, 2.0, 1.0]  # temporal: index 0 (order 2) first
    highlighted = [i for i, b in enumerate(bars) if b.get_facecolor() != bars[0].get_facecolor()]
    assert highlighted == [1]
    with pytest.raises(ValueError, match="order"):
        plots.section_timings(sections, order="sideways")


def test_thumbnails_and_frame_image():
    video = np.zeros((10, 3, 8, 12), np.float32)
    video[7] = 1.0
    assert plots.frame_image(video, 7).shape == (8, 12, 3)
    fig = plots.thumbnails(video, range(6, 14), count=2)  # clipped to frames 6..9
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (8, 24, 3)
    assert fig.axes[0].get_title() == "frames 6-9"


def _sweep_table():
    rows = []
    for st in ("vanilla", "inverted_anti_drifting"):
        for nf in (30, 60, 90):
            for seed in (0, 1):
                rows.append(dict(sampling_type=st, num_frames=nf, seed=seed, latent_window_size=9,
                                 run_id=f"{st}{nf}{seed}", flicker_drift=nf / 100 + seed + (st == "vanilla"),
                                 flicker_mean=float(seed)))
    return pd.DataFrame(rows)


def test_sweep_plot_means_per_colour_and_facets():
    table = _sweep_table()
    fig = plots.sweep_plot(table, "flicker_drift", "num_frames", color="sampling_type")
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    np.testing.assert_allclose(lines["mean:vanilla"].get_xdata(), [30, 60, 90])
    np.testing.assert_allclose(lines["mean:vanilla"].get_ydata(), [1.8, 2.1, 2.4])
    np.testing.assert_allclose(lines["mean:inverted_anti_drifting"].get_ydata(), [0.8, 1.1, 1.4])
    assert fig.axes[0].get_ylabel() == "flicker_drift"
    faceted = plots.sweep_plot(table, "flicker_drift", "num_frames", color=None, facet="seed")
    assert len(faceted.axes) == 2 and [ax.get_title() for ax in faceted.axes] == ["seed = 0", "seed = 1"]
    with pytest.raises(ValueError, match="no column"):
        plots.sweep_plot(table, "nope_drift", "num_frames")


def test_metric_curves_marker():
    table = pd.DataFrame({"run_id": ["a"] * 3 + ["b"] * 2, "frame": [0, 1, 2, 0, 1], "metric": "brightness",
                          "value": [0.1, 0.2, 0.3, 0.5, 0.4]})
    fig = plots.metric_curves(table, ["brightness"], frame=1)
    ax = fig.axes[0]
    assert [ln.get_gid() for ln in ax.lines] == ["curve:a", "curve:b", "frame_marker"]
    assert list(ax.lines[2].get_xdata()) == [1, 1]


def test_existing_report_figures_still_draw():
    table = _sweep_table()
    fig = plots.drift_bars(table, "flicker")
    assert len(fig.axes[0].patches) == len(table)
    curves = pd.DataFrame({"t_start": [0.0, 1.0] * 2, "t_end": [1.0, 2.0] * 2, "metric": "flicker",
                           "value": [1.0, 2.0, 3.0, 4.0], "sampling_type": ["vanilla"] * 2 + ["anti_drifting"] * 2})
    fig = plots.quality_vs_length(curves, "flicker")
    assert len(fig.axes[0].lines) == 2


def test_plots_with_several_seeds_draw_intervals():
    """quality_vs_length: a band per arm where there are several runs per window, none for one run,
    section boundaries marked; interval_bars: an error bar per arm, centred on the mean."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = [dict(run_id=f"{st}{s}", t_start=t, t_end=t + 1.0, metric="flicker", value=rng.normal(i + t, 0.2),
                 sampling_type=st) for i, st in enumerate(["vanilla", "anti_drifting"]) for s in range(4)
            for t in (0.0, 1.0, 2.0)]
    curves = pd.DataFrame(rows)
    fig = plots.quality_vs_length(curves, "flicker", section_s=0.5)
    ax = fig.axes[0]
    bands = {c.get_gid() for c in ax.collections if (c.get_gid() or "").startswith("band:")}
    assert bands == {"band:vanilla", "band:anti_drifting"}
    assert sum(ln.get_gid() == "section" for ln in ax.lines) == 5  # 0.5, 1.0, ..., 2.5 within 3 s
    one = plots.quality_vs_length(curves[curves.run_id.isin(["vanilla0", "anti_drifting0"])], "flicker")
    assert not [c for c in one.axes[0].collections if (c.get_gid() or "").startswith("band:")]
    table = pd.DataFrame([dict(image=f"i{s}", seed=0, prompt="p", sampling_type=st, num_sections=n,
                               drift=float(rng.normal(k + n, 0.3)))
                          for k, st in enumerate(["vanilla", "anti_drifting", "inverted_anti_drifting"])
                          for n in (3, 12) for s in range(5)])
    summary = fpkit.metrics.paired_table(table, "drift", arm="sampling_type", baseline=None, pair=["image"], by=["num_sections"])
    fig = plots.interval_bars(summary, "drift", "sampling_type", by="num_sections")
    ax = fig.axes[0]
    bars = {c.get_gid() for c in ax.containers if getattr(c, "get_gid", lambda: None)()} | \
        {c.get_gid() for c in ax.collections if c.get_gid()}
    assert {"interval:vanilla", "interval:anti_drifting", "interval:inverted_anti_drifting"} <= bars
    assert len(ax.patches) == 6  # 3 arms x 2 lengths
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted(round(v, 6) for v in summary["mean"])
    # one colour per strategy or method everywhere
    assert plots.color_for("vanilla") == "tab:red" and plots.color_for("none") == "black"
    assert plots.color_for("history_noise(sigma=0.3)") == plots.color_for("history_noise")
    assert plots.color_for("history_noise") != plots.color_for("anchor_only")


def test_metric_curves_keep_each_strategy_colour():
    table = pd.DataFrame({"run_id": ["a", "a", "b", "b"], "frame": [0, 1, 0, 1], "metric": "brightness",
                          "value": [0.1, 0.2, 0.3, 0.4]})
    fig = plots.metric_curves(table, ["brightness"], labels={"a": "inverted_anti_drifting", "b": "0: vanilla"})
    colors = {ln.get_gid(): ln.get_color() for ln in fig.axes[0].lines}
    assert colors == {"curve:a": plots.color_for("inverted_anti_drifting"), "curve:b": plots.color_for("vanilla")}


def test_interval_bars_give_every_group_combination_its_own_bars():
    """A methods table over two organisms: each (length, sampling_type) is a group of its own (one
    standing for the other was a bug), and arms sharing a colour are hatched apart."""
    rng = np.random.default_rng(1)
    table = pd.DataFrame([dict(image=f"i{s}", method=m, sampling_type=st, num_sections=n,
                               drift=float(rng.normal(k + n + 10 * j, 0.3)))
                          for k, m in enumerate(["none", "cache", "cache(threshold=0.2)"])
                          for j, st in enumerate(["vanilla", "inverted_anti_drifting"])
                          for n in (3, 24) for s in range(4)])
    summary = fpkit.metrics.paired_table(table, "drift", arm="method", baseline="none", pair=["image"],
                                         by=["num_sections", "sampling_type"])
    fig = plots.interval_bars(summary, "drift", "method", by=["num_sections", "sampling_type"], baseline="none")
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 4
    assert sorted(round(p.get_height(), 6) for p in ax.patches) == sorted(round(v, 6) for v in summary["mean"])
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 4 and any("vanilla" in t for t in labels) and any("inverted" in t for t in labels)
    from matplotlib.container import BarContainer

    hatch = {c.get_label(): c.patches[0].get_hatch() or "" for c in ax.containers if isinstance(c, BarContainer)}
    assert plots.color_for("cache") == plots.color_for("cache(threshold=0.2)")
    assert hatch["cache"] != hatch["cache(threshold=0.2)"]


def test_training_curves_draws_a_panel_per_measure_the_table_holds():
    rows = [dict(step=s, seed=i, measure=m, value=float(s + i), variant="f1")
            for s in (1000, 2000) for i in range(3) for m in ("visible", "hist_distance")]
    fig = plots.training_curves({"f1": [0.5, 0.4]}, pd.DataFrame(rows))
    titles = [ax.get_title() for ax in fig.axes]
    plt.close(fig)
    assert len(titles) == 3  # loss + the two measures written; motion_follow / shape_iou absent
    assert titles[1].startswith("visible") and titles[2].startswith("hist_distance")
    assert not any(t.startswith("motion_follow") for t in titles)


@pytest.mark.parametrize("rows", [1, 18])
def test_contact_sheet_title_stays_above_the_frame_labels(rows):
    """The title sits a fixed distance from the top: on a tall sheet (18 rows) it used to fall on the
    first row's frame labels."""
    import torch

    videos = {f"row {i}": torch.rand(5, 3, 8, 8) for i in range(rows)}
    fig = plots.contact_sheet(videos, frames=[0, 2, 4], title="a title")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    labels = [ax.title.get_window_extent(renderer) for ax in fig.axes[:3]]
    assert all(title.y0 >= label.y1 for label in labels), (title, labels)
    assert title.y1 <= fig.bbox.y1 + 1  # and inside the figure
