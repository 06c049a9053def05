"""Toy likeness and drift measures against controls with known answers (no model needed): the real
clip and the codec round trip pass; a blank, a blurred, a patch-noise and a frozen video fail."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from fpkit.toy import evaluate, world
from fpkit.toy.codec import fit_codec
from fpkit.toy.world import EVAL_SEED_OFFSET

SEEDS = [EVAL_SEED_OFFSET + i for i in range(6)]
FRAMES = 25


@pytest.fixture(scope="module")
def codec():
    return fit_codec(num_clips=64, num_frames=8, seed=0)


def _controls(seed, codec):
    real = world.real_video(seed, FRAMES)
    x = real.permute(1, 0, 2, 3)[None] * 2 - 1
    round_trip = (codec.decode(codec.encode(x).latent_dist.mode(), return_dict=False)[0][0].permute(1, 0, 2, 3) + 1) / 2
    blank = real.clone()
    blank[1:] = real[0].mean((1, 2), keepdim=True)  # frame 0 is the start image in every output
    blurred = torch.nn.functional.avg_pool2d(real, 5, 1, 2, count_include_pad=False)
    g = torch.Generator().manual_seed(seed)
    patch_noise = (real + torch.nn.functional.interpolate(torch.randn(FRAMES, 3, 8, 8, generator=g) * 0.15,
                                                          scale_factor=8, mode="nearest")).clamp(0, 1)
    frozen = real[:1].expand(FRAMES, -1, -1, -1).clone()
    return dict(real=real, round_trip=round_trip, blank=blank, blurred=blurred, patch_noise=patch_noise,
                frozen=frozen)


@pytest.fixture(scope="module")
def scores(codec):
    rows = []
    for seed in SEEDS:
        for name, video in _controls(seed, codec).items():
            result = evaluate.compare_to_world(video, seed)
            rows.append({"seed": seed, "control": name, **{k: result[k] for k in evaluate.TARGETS},
                         "looks_like_world": result["looks_like_world"], **evaluate.drift(video, seed)})
    return pd.DataFrame(rows).set_index(["control", "seed"])


def test_real_clip_scores_perfectly(scores):
    real = scores.loc["real"]
    assert real.visible.median() == 1 and real.visible.min() > 0.7  # seed 1: a disc passes behind a square
    assert (real.hist_distance == 0).all() and (real.background_error == 0).all()
    assert (real.speed_ratio == 1).all() and (real.motion_follow == 1).all() and real.looks_like_world.all()


def test_codec_round_trip_passes_with_margin(scores):
    rt = scores.loc["round_trip"]
    assert rt.looks_like_world.all()
    assert rt.hist_distance.median() < 0.7 * evaluate.TARGETS["hist_distance"][1]


@pytest.mark.parametrize("control, failing", [
    ("blank", ["visible", "hist_distance", "background_error", "sharpness_ratio"]),
    ("blurred", ["sharpness_ratio"]),
    ("patch_noise", ["visible", "hist_distance", "background_error", "sharpness_ratio", "shape_iou"]),
    ("frozen", ["speed_ratio", "motion_follow"]),
])
def test_controls_fail_the_likeness_test(scores, control, failing):
    got = scores.loc[control]
    assert not got.looks_like_world.any()
    for measure in failing:
        lo, hi = evaluate.TARGETS[measure]
        median = evaluate.scored(got)[measure].median()
        assert not lo <= median <= hi, (control, measure, median)


def test_drift_is_small_for_real_clips_and_large_for_a_colour_shift_and_a_fade():
    seed = SEEDS[0]
    real = world.real_video(seed, 49)
    assert evaluate.drift(real, seed)["drift_hist"] < 0.1 and evaluate.drift(real, seed)["drift_visible"] == 0
    tint = torch.linspace(0, 0.3, 49).view(-1, 1, 1, 1) * torch.tensor([1.0, 0.0, -1.0]).view(1, 3, 1, 1)
    assert evaluate.drift((real + tint).clamp(0, 1), seed)["drift_hist"] > 0.3
    w = torch.linspace(0, 1, 49).view(-1, 1, 1, 1)
    faded = real * (1 - w) + real.mean((2, 3), keepdim=True) * w  # sprites dissolve into a flat frame
    out = evaluate.drift(faded, seed)
    assert out["drift_visible"] > 0.5 and out["drift_background"] > 0.01


def test_shape_iou_knows_a_true_disc_a_wrong_shape_and_a_mosaic():
    seed = SEEDS[1]
    clip = world.render_clip(seed, 2)
    k = 0
    colour, r = clip.colours[k], float(clip.radii[k])
    centre = torch.tensor([32.0, 32.0])
    coords = torch.arange(64, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    square = clip.shapes[k] == "square"
    dist = torch.maximum((xx - 32).abs(), (yy - 32).abs()) if square else torch.sqrt((xx - 32) ** 2 + (yy - 32) ** 2)
    wrong = torch.sqrt((xx - 32) ** 2 + (yy - 32) ** 2) if square else torch.maximum((xx - 32).abs(), (yy - 32).abs())

    def score(inside):
        frame = torch.full((1, 3, 64, 64), 0.4)
        frame[0][:, inside] = colour[:, None]
        visible, centroids = evaluate.sprite_tracks(frame, clip.colours[k:k + 1], evaluate._areas(clip)[k:k + 1])
        return float(evaluate.shape_iou(frame, clip.colours[k:k + 1], clip.radii[k:k + 1], clip.shapes[k:k + 1],
                                        centroids, visible)[0, 0])

    assert score(dist <= r) > 0.95  # the true shape, hard-edged, anywhere in the frame
    expected = math.pi / 4  # a disc inside a square of the same half-side (or the other way round)
    assert score(wrong <= r) == pytest.approx(expected, abs=0.06)
    mosaic = torch.nn.functional.interpolate(
        torch.nn.functional.avg_pool2d((dist <= r).float()[None, None], 8), scale_factor=8)[0, 0] > 0.25
    assert score(mosaic) < score(dist <= r) - 0.1  # 8x8 blocks: ragged outline
    assert np.isnan(evaluate.shape_iou(torch.full((1, 3, 64, 64), 0.4), clip.colours[k:k + 1], clip.radii[k:k + 1],
                                       clip.shapes[k:k + 1], np.full((1, 1, 2), np.nan), np.zeros((1, 1), bool))[0, 0])


def test_last_section_measures_see_a_far_end_that_breaks_up_while_the_rest_is_intact():
    # the inverted strategies' failure: frames right after the start image intact, the last section
    # (their far end) in 8x8-block mosaics; the whole-clip median hides it, the last-section one does not
    seed, last = SEEDS[2], 4
    real = world.real_video(seed, 13)
    mosaic = real.clone()
    mosaic[-last:] = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(real[-last:], 8), scale_factor=8)
    intact, broken = evaluate.compare_to_world(real, seed), evaluate.compare_to_world(mosaic, seed)
    assert intact["shape_iou_last_section"] == pytest.approx(intact["shape_iou_last_section_real"])
    assert intact["shape_iou_last_section"] > 0.75
    assert broken["shape_iou"] > 0.7  # 8 of 12 frames intact: the whole-clip median passes
    assert broken["shape_iou_last_section"] < intact["shape_iou_last_section"] - 0.2  # 0.40 vs 0.79
    blank = real.clone()
    blank[-last:] = real[0].mean((1, 2), keepdim=True)  # the far end lost every sprite: undefined, scored 0
    gone = evaluate.compare_to_world(blank, seed)
    assert gone["visible_last_section"] == 0 and math.isnan(gone["shape_iou_last_section"])
    table = pd.DataFrame([dict(variant="v", strategy="s", seed=i, multiple=0, measure="shape_iou_last_section",
                               value=gone["shape_iou_last_section"], real=np.nan) for i in range(3)])
    row = evaluate.likeness_table(table).iloc[0]
    assert row.measure == "shape_iou_last_section" and row.estimate == 0 and row.target == ""


def test_the_real_clip_is_measured_once_per_clip_with_the_same_answers():
    """compare_to_world keeps the real clip's measures per (seed, length): a second video of the same
    clip reuses them, with results equal to a fresh computation, and nobody can write into them."""
    seed = EVAL_SEED_OFFSET + 2
    real = world.render_clip(seed, 13).frames
    videos = [real.roll(2, dims=-1), (real + 0.05 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)]
    fresh = []
    for video in videos:
        evaluate._real_measures.cache_clear()
        fresh.append(evaluate.compare_to_world(video, seed))
    evaluate._real_measures.cache_clear()
    cached = [evaluate.compare_to_world(video, seed) for video in videos]
    info = evaluate._real_measures.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    for a, b in zip(fresh, cached):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])), k
    assert fresh[0]["speed_ratio"] != fresh[1]["speed_ratio"]  # two different videos, one real side
    with pytest.raises(ValueError, match="read-only"):
        evaluate._real_measures(seed, 13, None, 4)["hist"][0] = 0


def test_scored_counts_an_undefined_measure_as_zero_and_leaves_other_gaps_alone():
    # speed and shape have no value without a visible sprite: a failure (0), not a missing seed;
    # a NaN in a measure defined for every video (a bug upstream) must stay visible
    wide = pd.DataFrame({"speed_ratio": [np.nan, 0.8], "shape_iou": [np.nan, 0.9], "hist_distance": [np.nan, 0.1]})
    got = evaluate.scored(wide)
    assert got.speed_ratio.tolist() == [0.0, 0.8] and got.shape_iou.tolist() == [0.0, 0.9]
    assert math.isnan(got.hist_distance[0]) and math.isnan(wide.speed_ratio[0])  # the input is not changed
    long = pd.DataFrame({"measure": ["motion_follow", "visible", "shape_iou_last_section"], "value": [np.nan] * 3})
    assert evaluate.scored(long).value.fillna(-1).tolist() == [0.0, -1.0, 0.0]


def test_colour_histograms_and_background_colours_match_per_pixel_definitions():
    """The vectorised measures against their definitions written out pixel by pixel: each pixel's
    soft-histogram mass goes to the 8 bin centres around it with trilinear weights; the background
    colour is the (lower) median of the non-sprite pixels, NaN in a frame that is all sprite."""
    g = torch.Generator().manual_seed(3)
    frames = torch.rand(3, 3, 5, 6, generator=g) * 1.2 - 0.1  # values outside [0, 1] are clamped
    frames[2] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]  # all sprite: saturated bright red
    b = evaluate.HIST_BINS
    expected = np.zeros((3, b ** 3))
    for t, f in enumerate(frames.clamp(0, 1).permute(0, 2, 3, 1).reshape(3, -1, 3).double().numpy()):
        for pixel in f:
            x = pixel.astype(np.float32) * np.float32(b - 1)
            low = np.minimum(np.floor(x), b - 2).astype(int)
            for corner in np.ndindex(2, 2, 2):
                w = np.prod([x[c] - low[c] if corner[c] else 1 - (x[c] - low[c]) for c in range(3)])
                expected[t, np.ravel_multi_index(tuple(low + np.array(corner)), (b, b, b))] += w
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(evaluate.colour_histograms(frames), expected, rtol=1e-5, atol=1e-7)

    mask = evaluate.sprite_mask(frames)
    background = evaluate.background_colours(frames)
    for t in range(3):
        pix = frames[t].permute(1, 2, 0)[~mask[t]].numpy()
        if len(pix):
            want = np.sort(pix, 0)[(len(pix) - 1) // 2]  # the lower middle value
            np.testing.assert_array_equal(background[t], want)
        else:
            assert np.isnan(background[t]).all()
    assert mask[2].all() and not mask[0].all()


def test_speed_measures_the_world_speed():
    seed = SEEDS[1]
    clip = world.render_clip(seed, 40)
    visible, centroids = evaluate.sprite_tracks(clip.frames, clip.colours, evaluate._areas(clip))
    true = np.linalg.norm(np.diff(clip.positions.numpy(), axis=0), axis=-1)  # (T - 1, S) px per frame
    assert visible.mean() > 0.7  # this seed's sprites pass over each other for a while
    assert evaluate.speed(centroids) == pytest.approx(float(np.median(true)), rel=0.25)


def _bounce_free_seed(frames):
    """A seed whose sprites move in straight lines (no bounce) over `frames` frames."""
    for seed in range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 200):
        clip = world.render_clip(seed, frames)
        v = np.diff(clip.positions.numpy(), axis=0)
        visible, _ = evaluate.sprite_tracks(clip.frames, clip.colours, evaluate._areas(clip))
        if np.allclose(v, v[:1], atol=1e-4) and visible.all() and (np.linalg.norm(v[0], axis=-1) > 0.5).all():
            return seed, clip
    raise AssertionError("no bounce-free seed")


def test_motion_follow_known_answers_and_jitter():
    """1 for the world's motion, 0.5 at half speed, -1 backwards, 0 standing still; a still sprite
    whose outline jitters by a pixel scores a speed ratio well above 0 but follows no motion."""
    seed, clip = _bounce_free_seed(FRAMES)
    real = clip.frames
    t = torch.arange(FRAMES)

    def follow(video):
        return evaluate.compare_to_world(video, seed)["motion_follow"]

    assert follow(real) == 1.0
    assert follow(real[t // 2]) == pytest.approx(0.5, abs=0.08)
    backwards = torch.cat([real[:1], real.flip(0)[1:]])  # the start image, then the clip played backwards
    assert follow(backwards) < -0.5  # (the jump away from the start image is one pair of 21 forward)
    assert follow(real[:1].expand(FRAMES, -1, -1, -1)) == 0.0
    g = torch.Generator().manual_seed(0)
    shifts = torch.randint(-1, 2, (FRAMES, 2), generator=g)
    jitter = torch.stack([real[0]] + [torch.roll(real[0], (int(dy), int(dx)), (1, 2)) for dy, dx in shifts[1:]])
    result = evaluate.compare_to_world(jitter, seed)
    assert result["speed_ratio"] > 0.2  # jitter reads as speed ...
    assert abs(result["motion_follow"]) < 0.15  # ... but not as the world's motion
    assert not result["passes"]["motion_follow"]


def test_bad_videos_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="NaN"):
        evaluate.compare_to_world(torch.full((5, 3, 64, 64), float("nan")), SEEDS[0])
    with pytest.raises(ValueError, match=r"\(T, 3, H, W\)"):
        evaluate.compare_to_world(torch.zeros(5, 64, 64), SEEDS[0])
    with pytest.raises(ValueError, match=">= 2 frames"):
        evaluate.drift(torch.zeros(1, 3, 64, 64), SEEDS[0])


def _synthetic(drifts: dict, n=12, noise=0.002):
    """A long eval table whose drift per (variant, strategy) at 8x is drifts[...] + shared seed noise."""
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0, 0.05, n)
    rows = []
    for (variant, strategy), level in drifts.items():
        for multiple, scale in ((1, 0.2), (8, 1.0)):
            for i in range(n):
                rows.append(dict(variant=variant, strategy=strategy, seed=EVAL_SEED_OFFSET + i, multiple=multiple,
                                 sections=3 * multiple, frames=12 * multiple + 1, measure="drift_hist",
                                 value=abs(level * scale + seed_effect[i] * 0.1 + rng.normal(0, noise)), real=0.0))
    return pd.DataFrame(rows)


def test_paper_pattern_verdicts_follow_the_paired_intervals():
    paper = {("inverted", "inverted_anti_drifting"): 0.05, ("inverted", "anti_drifting"): 0.1,
             ("f1+D", "vanilla"): 0.15, ("f1-h1", "vanilla"): 0.2, ("f1", "vanilla"): 0.3}
    verdicts = evaluate.paper_pattern(_synthetic(paper)).set_index("claim").verdict
    assert (verdicts == "agree").all() and len(verdicts) == 3
    reversed_ = {k: 0.35 - v for k, v in paper.items()}
    verdicts = evaluate.paper_pattern(_synthetic(reversed_)).set_index("claim").verdict
    assert (verdicts == "disagree").all()
    tied = {k: 0.2 for k in paper}
    verdicts = evaluate.paper_pattern(_synthetic(tied, noise=0.0)).set_index("claim").verdict  # zero differences
    assert verdicts.str.startswith("unclear").all()


def test_drift_table_pairs_each_length_with_1x():
    table = _synthetic({("f1", "vanilla"): 0.3})
    out = evaluate.drift_table(table).set_index("multiple")
    assert out.loc[1, "minus_1x"] == 0 and out.loc[8, "above_1x"]
    assert out.loc[8, "minus_1x"] == pytest.approx(out.loc[8, "mean"] - out.loc[1, "mean"])
    ablation = evaluate.ablation_table(_synthetic({("f1", "vanilla"): 0.3, ("f1+D", "vanilla"): 0.1}))
    row = ablation.set_index("variant").loc["f1+D"]
    assert row.minus_baseline_high < 0 and row.n == 12
    # without vanilla on f1 (an inverted checkpoint evaluated alone): drift, no differences
    alone = evaluate.ablation_table(_synthetic({("inverted", "inverted_anti_drifting"): 0.1}))
    assert len(alone) and alone["mean"].notna().all() and alone.minus_baseline.isna().all()
