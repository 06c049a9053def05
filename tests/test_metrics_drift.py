"""Drift summaries (start-end contrast, windows, summary), section curves on real traces from the tiny
pipeline (vanilla and inverted), and latent metrics."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import gen

import fpkit
import fpkit.metrics as fm
from fpkit.trace import SectionRecord, Trace


def long_table(values: dict, run_id="r"):
    """{metric: per-frame values} -> compute()-shaped long table."""
    rows = [dict(run_id=run_id, frame=f, metric=m, value=v, reason="") for m, vs in values.items()
            for f, v in enumerate(vs)]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Start-end contrast


@pytest.mark.parametrize("n,ratio,k", [
    (1, 0.15, 1), (4, 0.10, 1),  # 0.4 -> at least one frame
    (7, 0.15, 1),  # 1.05
    (10, 0.15, 2),  # 1.5 rounds half up
    (30, 0.15, 5),  # 4.5 rounds half up, despite 0.15 * 30 < 4.5 in binary
    (13, 0.20, 3),  # 2.6
    (20, 0.15, 3),
    (145, 0.15, 22),  # 21.75: the 145-frame FramePack video
    (5, 0.50, 3),  # 2.5 -> 3: the two ends share the middle frame
])
def test_end_frames_rounds_half_up(n, ratio, k):
    assert fm.end_frames(n, ratio) == k


def test_end_frames_rejects_bad_arguments():
    for ratio in (0, -0.1, 0.6):
        with pytest.raises(ValueError, match="ratio"):
            fm.end_frames(10, ratio)
    with pytest.raises(ValueError, match="n must be"):
        fm.end_frames(0, 0.15)


@pytest.mark.parametrize("n,ratio,k", [(7, 0.15, 1), (10, 0.15, 2), (13, 0.2, 3), (23, 0.3, 7), (11, 0.5, 6)])
def test_start_end_contrast_matches_hand_computation(n, ratio, k):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.normal(size=n)
    prev = rng.normal(size=n)
    prev[0] = np.nan  # a previous-frame metric: n - 1 defined values
    table = pd.concat([long_table({"a": a, "b": b, "p": prev}, "r1"), long_table({"a": a[::-1]}, "r2")])
    got = fm.start_end_contrast(table, ratio).set_index(["run_id", "metric"])
    assert got.loc[("r1", "a"), "k"] == k and got.loc[("r1", "a"), "n"] == n
    assert got.loc[("r1", "a"), "start"] == pytest.approx(a[:k].mean())
    assert got.loc[("r1", "a"), "end"] == pytest.approx(a[n - k:].mean())
    assert got.loc[("r1", "a"), "contrast"] == pytest.approx(abs(a[:k].mean() - a[n - k:].mean()))
    assert got.loc[("r1", "b"), "delta"] == pytest.approx(b[n - k:].mean() - b[:k].mean())
    assert got.loc[("r2", "a"), "delta"] == pytest.approx(-got.loc[("r1", "a"), "delta"])
    kp = math.floor(ratio * (n - 1) + 0.5 + 1e-9) or 1
    assert got.loc[("r1", "p"), "k"] == kp and got.loc[("r1", "p"), "n"] == n - 1
    assert got.loc[("r1", "p"), "contrast"] == pytest.approx(abs(prev[1:1 + kp].mean() - prev[n - kp:].mean()))


def test_windowed_and_summary():
    n = 65
    table = long_table({"x": np.arange(n, dtype=float), "y": np.ones(n)})
    table.attrs["fps"] = 30
    win = fm.windowed(table)  # 1 s at 30 fps: frames 0-29, 30-59, 60-64 (partial)
    x = win[win.metric == "x"].reset_index(drop=True)
    assert x["value"].tolist() == [14.5, 44.5, 62.0]
    assert x["n_frames"].tolist() == [30, 30, 5]
    assert x["frame_start"].tolist() == [0, 30, 60] and x["frame_stop"].tolist() == [30, 60, 65]
    assert x["t_end"].tolist() == pytest.approx([1.0, 2.0, 65 / 30])
    half = fm.windowed(table, window_s=0.5, fps=25)  # 12.5 -> 13 frames
    assert half[half.metric == "x"]["frame_start"].tolist() == [0, 13, 26, 39, 52]
    with pytest.raises(ValueError, match="fps"):
        fm.windowed(long_table({"x": [1.0]}))

    both = pd.concat([table, long_table({"x": 2 * np.arange(n, dtype=float), "y": np.ones(n)}, "s")])
    s = fm.summary(both).set_index("run_id")
    assert list(s.index) == ["r", "s"] and (s["num_frames"] == n).all()
    assert s.loc["r", "x_mean"] == pytest.approx(32.0) and s.loc["s", "x_mean"] == pytest.approx(64.0)
    k = fm.end_frames(n)  # 10
    assert s.loc["r", "x_drift"] == pytest.approx(n - k)
    assert s.loc["s", "x_drift"] == pytest.approx(2.0 * (n - k))
    assert s.loc["r", "y_drift"] == 0
    assert len(fm.summary(both, run_id="s")) == 1
    with pytest.raises(ValueError, match="not in table"):
        fm.summary(both, run_id="nope")


# ---------------------------------------------------------------------------------------------
# Section curves on real traces


@pytest.fixture(scope="module")
def runs(tiny_pipe, image):
    out = {}
    for strategy in ("vanilla", "inverted_anti_drifting"):
        out[strategy] = fpkit.sample(tiny_pipe, image=image, prompt="x", height=32, width=48, num_frames=17,
                                     latent_window_size=3, num_inference_steps=2, sampling_type=strategy,
                                     generator=gen(0))
    return out


@pytest.mark.parametrize("strategy,generation_sections", [("vanilla", [0, 1]), ("inverted_anti_drifting", [1, 0])])
def test_section_curves_average_exactly_each_sections_frames(runs, strategy, generation_sections):
    run = runs[strategy]
    table = fm.compute(run.video, metrics=["brightness", "flicker", "ssim_first", "laplacian_var"], run_id=strategy,
                       fps=run.fps)
    w = table.pivot(index="frame", columns="metric", values="value")
    assert len(w) == 25  # 2 sections x 3 latents x 4 frames + the start image
    per_section = 3 * 4  # lws x temporal compression
    for order in ("temporal", "generation"):
        curves = fm.section_curves(table, run.trace, order=order)
        sections = curves.drop_duplicates("section")["section"].tolist()
        assert sections == ([0, 1] if order == "temporal" else generation_sections)
        for _, row in curves.iterrows():
            frames = range(1 + row.section * per_section, 1 + (row.section + 1) * per_section)
            assert (row.frame_start, row.frame_stop) == (frames.start, frames.stop)
            assert row.value == pytest.approx(w[row.metric].loc[list(frames)].mean())
            assert row.n_frames == per_section
            assert row.order == generation_sections.index(row.section)
    with pytest.raises(ValueError, match="order"):
        fm.section_curves(table, run.trace, order="random")
    with pytest.raises(ValueError, match="frames"):
        fm.section_curves(table[table.frame < 20], run.trace)


# ---------------------------------------------------------------------------------------------
# Latent metrics


def synthetic_trace(strategy="vanilla"):
    """Latent frame n = (1 + n / 2) * start: every frame points along the start latent."""
    plan = fpkit.plan(strategy, num_sections=2, latent_window_size=3, latent_size=(4, 6))
    start = torch.randn(4, 4, 6, generator=torch.Generator().manual_seed(0)) + 0.3
    scale = 1 + torch.arange(7.0) / 2
    latents = (scale[:, None, None, None] * start).permute(1, 0, 2, 3)[None]  # (1, C, N, h, w)
    sections = [SectionRecord(plan=s, schedule=None, latents=latents[:, :, s.window[0]:s.window[1]])
                for s in plan.sections]
    return Trace(plan=plan, settings={"vae_temporal_compression": 4}, sections=sections, latents=latents), start


@pytest.mark.parametrize("strategy", ["vanilla", "inverted_anti_drifting"])
def test_latent_metrics_known_answers(strategy):
    trace, start = synthetic_trace(strategy)
    t = fm.latent_metrics(trace, run_id="z")
    assert list(t.columns) == ["run_id", "latent_frame", "section", "order", "channel", "metric", "value", "reason"]
    get = lambda m: t[t.metric == m].set_index("latent_frame")["value"]  # noqa: E731
    n = np.arange(7)
    mean0, std0 = start.mean(dim=(1, 2)).double(), start.std(dim=(1, 2), correction=0).double()
    np.testing.assert_allclose(get("latent_cosine_start"), 1.0, atol=1e-6)
    np.testing.assert_allclose(get("latent_mean_dist"), n / 2 * mean0.norm().item(), rtol=1e-5)
    np.testing.assert_allclose(get("latent_std_dist"), n / 2 * std0.norm().item(), rtol=1e-5)
    ch = t[(t.metric == "latent_channel_mean") & (t.latent_frame == 2)]
    np.testing.assert_allclose(ch.sort_values("channel")["value"], 2 * mean0.numpy(), rtol=1e-5)
    change = get("latent_section_change")  # frames 4-6 minus frames 1-3 = 1.5 * start
    rms = start.double().pow(2).mean().sqrt().item()
    np.testing.assert_allclose(change.loc[4:6], 1.5 * rms, rtol=1e-5)
    reasons = t[t.metric == "latent_section_change"].set_index("latent_frame")["reason"]
    assert change.loc[0:3].isna().all() and reasons.loc[0].startswith("not in a section")
    assert (reasons.loc[1:3] == "first section has no previous section").all()
    sec = fm.latent_metrics(trace, run_id="z", by="section")
    row = lambda m, s: sec[(sec.metric == m) & (sec.section == s)].iloc[0]  # noqa: E731
    assert row("latent_mean_dist", 0).value == pytest.approx(1.0 * mean0.norm().item(), rel=1e-5)  # mean of n/2, n=1..3
    assert row("latent_section_change", 1).value == pytest.approx(1.5 * rms, rel=1e-5)
    assert np.isnan(row("latent_section_change", 0).value) and row("latent_section_change", 0).reason
    orders = {p.index: p.order for p in trace.plan.sections}
    assert all(r.order == orders[r.section] for r in sec.itertuples())
    assert sec.channel.isna().sum() == len(sec[~sec.metric.str.startswith("latent_channel")])


def test_latent_metrics_on_a_real_trace(runs):
    trace = runs["inverted_anti_drifting"].trace
    lat = trace.latents[0].float()  # (C, N, h, w)
    t = fm.latent_metrics(trace, metrics=["latent_channel_mean", "latent_section_change"], by="section")
    got = t[t.metric == "latent_section_change"].set_index("section")["value"]
    want = (lat[:, 4:7] - lat[:, 1:4]).double().pow(2).mean().sqrt().item()
    assert got.loc[1] == pytest.approx(want, rel=1e-5) and np.isnan(got.loc[0])
    means = t[(t.metric == "latent_channel_mean") & (t.section == 1)].sort_values("channel")["value"]
    np.testing.assert_allclose(means, lat[:, 4:7].mean(dim=(1, 2, 3)).numpy(), rtol=1e-5)
    empty = Trace(plan=trace.plan, settings=trace.settings, sections=trace.sections, latents=None)
    with pytest.raises(ValueError, match="no latents"):
        fm.latent_metrics(empty)
    with pytest.raises(ValueError, match="frame metric"):
        fm.latent_metrics(trace, metrics=["flicker"])
