"""fpkit.widgets: views build from a saved Trace, videos and a results folder, and controls redraw."""

import matplotlib

matplotlib.use("Agg")

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import fpkit
from fpkit.widgets import CompareRuns, SweepDashboard, TraceExplorer
from helpers import base_kwargs, gen


@pytest.fixture(scope="module")
def saved(tiny_pipe, image, tmp_path_factory):
    """(loaded Trace, video) of a 4-section anti_drifting run: sections differ in layout and order."""
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="anti_drifting", num_frames=45),
                       generator=gen(0), record="none")
    folder = run.trace.save(tmp_path_factory.mktemp("trace") / "trace")
    trace = fpkit.Trace.load(folder)
    assert trace.plan.num_sections >= 4
    return trace, run.video


@pytest.fixture(autouse=True)
def no_leaked_figures():
    yield
    assert plt.get_fignums() == [], "a view left figures registered with pyplot"


def _title(fig):
    return fig.axes[0].get_title()


def _png(panel):
    return panel.output.outputs[0]["data"]["image/png"]


def test_trace_explorer_follows_the_section_slider(saved):
    trace, video = saved
    view = TraceExplorer(trace, video=video)
    assert set(view.figures) == {"thumbnails", "layout", "schedule", "timings"}
    assert view.slider.max == trace.plan.num_sections - 1
    first = _title(view.figure)
    assert "order 0 / index 0" in first
    png = _png(view.panels["layout"])
    view.slider.value = 2
    rec = trace.sections[2]
    assert f"order 2 / index {rec.plan.index}" in _title(view.figure)
    assert _png(view.panels["layout"]) != png
    # Labels follow the slot list of the selected section.
    texts = "\n".join(t.get_text() for t in view.figure.axes[0].texts)
    noisy = rec.plan.noisy
    assert f"RoPE {noisy.rope[0]}-{noisy.rope[-1]}" in texts
    frames = trace.section_frames(rec.plan)
    assert _title(view.figures["thumbnails"]) == f"frames {frames.start}-{frames.stop - 1}"
    # The timing bar of the current section is highlighted.
    bars = view.figures["timings"].axes[0].patches
    colors = [tuple(b.get_facecolor()) for b in bars]
    assert colors.count(colors[2]) == 1
    # Temporal order keeps the section, then the slider walks in time.
    view.order.value = "temporal"
    assert view.section is rec and view.slider.value == rec.plan.index
    view.slider.value = trace.plan.num_sections - 1
    assert view.section.plan.is_end and f"index {trace.plan.num_sections - 1}" in _title(view.figure)


def test_trace_explorer_from_trace_alone_says_no_thumbnails(saved):
    trace, _ = saved
    view = TraceExplorer(trace, order="temporal")
    assert "thumbnails" not in view.figures
    assert "No video" in view.panels["thumbnails"].output.outputs[0]["data"]["text/html"]
    assert "order" in view.info.value
    with pytest.raises(ValueError, match="order"):
        TraceExplorer(trace, order="backwards")


def test_compare_runs_scrubber_moves_marker_and_images(saved):
    _, video = saved
    short = video[:20].clone()
    view = CompareRuns([video, short], labels=["full", "short"], metrics=("brightness", "flicker"))
    assert view.slider.max == len(video) - 1
    assert set(view.table["run_id"]) == {"full", "short"} and set(view.table["metric"]) == {"brightness", "flicker"}
    curves = view.figures["curves"]
    # one panel per metric, labelled with the metric (and its unit), whatever the runs are called
    assert [ax.get_ylabel().split(" (")[0] for ax in curves.axes] == list(view.metrics)
    markers = [ln for ax in curves.axes for ln in ax.lines if ln.get_gid() == "frame_marker"]
    assert len(markers) == 2 and all(list(m.get_xdata()) == [0, 0] for m in markers)
    images = [ax.images[0] for ax in view.figure.axes]
    before = [np.array(im.get_array()) for im in images]
    png = _png(view.panels["videos"])
    view.slider.value = 30
    assert all(list(m.get_xdata()) == [30, 30] for m in markers)
    np.testing.assert_allclose(images[0].get_array(), fpkit.plots.frame_image(video, 30))
    assert not np.allclose(images[0].get_array(), before[0])
    # The short video has ended: it holds its last frame, faded, and says so.
    np.testing.assert_allclose(images[1].get_array(), fpkit.plots.frame_image(short, 19))
    assert "ended at frame 19" in view.figure.axes[1].get_title()
    assert _png(view.panels["videos"]) != png
    with pytest.raises(ValueError, match="labels"):
        CompareRuns([video], labels=["a", "b"])


def test_compare_runs_plays_runs_in_lockstep_and_shows_a_contact_sheet(saved):
    """Synchronized playback is one mp4 of the runs side by side (so they cannot drift apart); the
    contact-sheet mode shows the same frame indices of every run, the real clip first if given."""
    import imageio.v3 as iio

    from fpkit.widgets.compare import tiled_frames

    _, video = saved
    short = video[:20].clone()
    view = CompareRuns([video, short], labels=["full", "short"], metrics=("brightness",))
    assert view.synced.format == "mp4" and len(view.synced.value) > 1000
    played = iio.imread(view.synced.value, extension=".mp4")
    assert played.shape[0] == len(video)  # as long as the longest run
    tiled = tiled_frames([video, short], ["full", "short"], height=64)
    h, w = video.shape[-2:]
    width = int(round(w * 64 / h)) // 2 * 2
    assert tiled.shape[1] >= 64 + 14 and tiled.shape[2] >= 2 * width and tiled.shape[2] % 16 == 0
    right = tiled[-1, 14:, width:].astype(float)  # the short run has ended: its last frame, dimmed
    assert right.mean() > tiled[19, 14:, width:].astype(float).mean()
    view.mode.value = "contact sheet"
    sheet = view.figures["contact"]
    assert len(sheet.axes) == 2 * 10 and view.scrub_box.layout.display == "none"
    view.mode.value = "scrub"
    assert view.scrub_box.layout.display is None
    assert len(view.contact_sheet(count=4, real=video).axes) == 3 * 4


def _results_folder(path):
    rows = []
    for st in ("vanilla", "inverted_anti_drifting"):
        for lws in (3, 9):
            for seed in (0, 1):
                rows.append(dict(sampling_type=st, latent_window_size=lws, num_frames=61, seed=seed,
                                 run_id=f"{st}-{lws}-{seed}", layout="x", flicker_mean=lws + seed,
                                 flicker_drift=lws / 10, brightness_drift=-float(seed), brightness_mean=0.5))
    path.mkdir()
    pd.DataFrame(rows).to_parquet(path / "table.parquet")
    (path / "experiment.json").write_text(json.dumps({"name": "synthetic", "fps": 30}))
    return path


def test_sweep_dashboard_from_results_folder(tmp_path):
    view = SweepDashboard(_results_folder(tmp_path / "sweep"))
    assert set(view.metric.options) == {"flicker_mean", "flicker_drift", "brightness_drift", "brightness_mean"}
    assert view.x.value == "latent_window_size"  # the x field that varies
    assert {"seed", "sampling_type"} <= set(view.x.options)  # any config field can be the x axis
    assert view.color.value == "sampling_type"
    ax = view.figure.axes[0]
    assert ax.get_ylabel() == view.metric.value == "flicker_drift"  # flicker: a headline metric's drift
    view.metric.value = "flicker_mean"
    ax = view.figure.axes[0]
    assert ax.get_ylabel() == "flicker_mean"
    mean = {ln.get_gid(): ln for ln in ax.lines}["mean:vanilla"]
    np.testing.assert_allclose(mean.get_ydata(), [3.5, 9.5])
    # two seeds per point: the interval is drawn (error bars spanning the two runs' values 3 and 4)
    bars = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    assert {"interval:vanilla", "interval:inverted_anti_drifting"} <= set(bars)
    segments = bars["interval:vanilla"].get_segments()
    assert segments[0][0][1] == pytest.approx(3.0) and segments[0][1][1] == pytest.approx(4.0)
    html = view.table_output.outputs[0]["data"]["text/html"]
    assert "3.5 [3, 4] (2)" in html and "inverted_anti_drifting" in html  # the pivot: x rows, colour columns
    view.table_mode.value = "runs"
    html = view.table_output.outputs[0]["data"]["text/html"]
    assert "flicker_mean" in html and "flicker_drift" not in html
    view.x.value = "seed"  # pivot by another axis
    assert view.figure.axes[0].get_xlabel() == "seed"
    view.x.value = "latent_window_size"
    view.facet.value = "seed"
    assert len(view.figure.axes) == 2
    view.query.value = "seed == 0"
    assert len(view.filtered) == 4 and "vanilla-3-1" not in view.table_output.outputs[0]["data"]["text/html"]
    view.query.value = "seed =="
    assert "bad filter" in view.status.value
    view.query.value = ""
    view.export_folder.value, view.export_format.value = str(tmp_path / "out"), "svg"
    view.export_button.click()
    assert (tmp_path / "out" / "sweepdashboard_sweep.svg").read_text().lstrip().startswith("<?xml")
    assert "wrote" in view.export_status.value
    assert view.save(tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="'gif'"):
        view.save(tmp_path / "fig.gif")


def test_sweep_dashboard_leads_with_world_measures_and_keeps_experiments_apart():
    rows = [{"run_id": f"{e}-{s}-{n}", "experiment": e, "sampling_type": "vanilla", "seed": s, "num_sections": n,
             "laplacian_var_drift": 1.0, "flicker_drift": 0.1, "world_drift_hist": 0.1 * n + 0.01 * s + k,
             "looks_like_world": True} for k, e in enumerate(["a", "b"]) for s in range(3) for n in (1, 3)]
    view = SweepDashboard(pd.DataFrame(rows))
    assert view.metric.value == "world_drift_hist" and "looks_like_world" not in view.metric.options
    assert view.facet.value == "experiment" and len(view.figure.axes) == 2  # never averaged together
    assert view.x.value == "num_sections"
    text_axis = pd.DataFrame(rows).assign(flow_shift=pd.array(["3.0", "dynamic"] * 6, dtype="string"))
    view = SweepDashboard(text_axis)
    view.x.value = "flow_shift"  # a mixed axis stored as text: categories on the x axis
    assert [t.get_text() for t in view.figure.axes[0].get_xticklabels()] == ["3.0", "dynamic"]


def test_every_view_exports_its_figures(saved, tmp_path):
    trace, video = saved
    explorer = TraceExplorer(trace, video=video)
    paths = explorer.export(tmp_path / "te", "pdf")
    assert {p.name for p in paths} == {f"traceexplorer_{k}.pdf" for k in explorer.figures}
    assert all(p.read_bytes()[:4] == b"%PDF" for p in paths)
    compare = CompareRuns([video, video[:5]], labels=["a", "b"])
    compare.export_format.value = "png"
    compare.export_folder.value = str(tmp_path / "cr")
    compare.export_button.click()
    assert sorted(p.name for p in (tmp_path / "cr").iterdir()) == ["compareruns_curves.png", "compareruns_videos.png"]
    with pytest.raises(ValueError, match="export format must be one of"):
        compare.export(tmp_path, "jpg")


def test_sweep_dashboard_from_table_rejects_tables_without_metrics():
    table = pd.DataFrame({"sampling_type": ["vanilla"], "num_frames": [30]})
    with pytest.raises(ValueError, match="_mean"):
        SweepDashboard(table)


@pytest.mark.slow
def test_views_over_a_real_results_folder(tmp_path):
    """`fpkit run` output end to end: run folders feed TraceExplorer and CompareRuns (~30 s)."""
    out = tmp_path / "smoke"
    fpkit.run_experiment(Path(__file__).parents[1] / "experiments" / "tiny_smoke.toml", out_dir=out, progress=False)
    runs = sorted((out / "runs").iterdir())
    explorer = TraceExplorer(runs[0])
    assert "thumbnails" in explorer.figures
    compare = CompareRuns(runs[:2])
    assert len(compare.figure.axes) == 2
    dashboard = SweepDashboard(out)
    assert dashboard.figure is not None


def test_views_group_by_method(tiny_pipe, image):
    """A sweep over methods is coloured by method; CompareRuns labels runs with their methods."""
    rows = [{"run_id": f"{m}-{s}", "sampling_type": "vanilla", "method": m, "seed": s, "num_frames": n,
             "flicker_drift": float(i + s + n)} for i, m in enumerate(["none", "anchor_only"])
            for s in (0, 1) for n in (13, 49)]
    view = SweepDashboard(pd.DataFrame(rows))
    assert view.color.value == "method"
    gids = {ln.get_gid() for ln in view.figure.axes[0].lines}
    assert {"mean:none", "mean:anchor_only"} <= gids
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=1), generator=gen(0),
                       methods=["latent_stats"])
    assert CompareRuns([run]).labels == ["0: vanilla + latent_stats"]
