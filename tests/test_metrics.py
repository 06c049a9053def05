"""Per-frame metrics on synthetic videos with known answers, parity with scikit-image / SciPy, the
registry, input handling."""

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage as ndi
from skimage.color import lab2rgb, rgb2lab
from skimage.measure import blur_effect
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import fpkit.metrics as fm

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def texture(h, w, seed=0, sigma=1.5):
    """(h, w, 3) float32 in (0, 1): smoothed colour noise."""
    noise = np.random.default_rng(seed).standard_normal((h, w, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), sigma)
    return 1 / (1 + np.exp(-2 * smooth / smooth.std()))


def as_torch(frames):
    """(T, H, W, 3) numpy -> (T, 3, H, W) torch."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).contiguous()


def wide(table):
    return table.pivot(index="frame", columns="metric", values="value")


# ---------------------------------------------------------------------------------------------
# Known answers


def test_identical_frames():
    frames = np.repeat(texture(40, 56)[None], 5, axis=0)
    table = fm.compute(as_torch(frames))
    w = wide(table)
    np.testing.assert_allclose(w["ssim_first"][1:], 1.0, atol=1e-6)
    np.testing.assert_allclose(w["ssim_prev"][1:], 1.0, atol=1e-6)
    assert (w["psnr_first"][1:] == fm.PSNR_CAP_DB).all() and (w["psnr_prev"][1:] == fm.PSNR_CAP_DB).all()
    assert (w["flicker"][1:] == 0).all() and (w["color_hist_distance"][1:] == 0).all()
    assert (w["color_shift"][1:] == 0).all()
    assert np.abs(w["flow_magnitude"][1:]).max() < 1e-3
    for name in ("laplacian_var", "tenengrad", "blur_effect", "lab_a_mean", "colorfulness", "contrast"):
        assert w[name].nunique() == 1, name
    # frame 0 has no previous frame: NaN with the reason, never a silent gap
    first = table[(table.frame == 0) & table.metric.isin(["ssim_prev", "psnr_prev", "flicker", "flow_magnitude"])]
    assert first.value.isna().all() and (first.reason == "no previous frame").all()
    # frame 0 of a first-frame metric is the reference itself: NaN, so drift windows start at frame 1
    itself = table[(table.frame == 0) & table.metric.isin(["ssim_first", "psnr_first", "color_shift",
                                                             "color_hist_distance"])]
    assert len(itself) == 4 and itself.value.isna().all() and (itself.reason == "the reference frame itself").all()
    assert (table[table.value.notna()].reason == "").all()


def progressive_blur(sigmas, size=(48, 64)):
    base = texture(*size, seed=1, sigma=0.7)
    return np.stack([base if s == 0 else cv2.GaussianBlur(base, (0, 0), s) for s in sigmas])


def test_progressive_blur_lowers_clarity_and_grows_contrast():
    w = wide(fm.compute(progressive_blur(np.arange(8) * 0.4)))
    assert (np.diff(w["laplacian_var"]) < 0).all()
    assert (np.diff(w["tenengrad"]) < 0).all()
    assert (np.diff(w["blur_effect"]) > 0).all()
    assert (np.diff(w["ssim_first"][1:]) < 0).all()
    contrasts = []  # sigma ramps 0 -> top over 10 frames; ratio 0.1 -> k = 1: frame 0 against frame 9
    for top in (0.5, 1.0, 2.0, 3.0):
        table = fm.compute(progressive_blur(np.linspace(0, top, 10)), metrics=["laplacian_var", "blur_effect"])
        c = fm.start_end_contrast(table, ratio=0.1).set_index("metric")["contrast"]
        contrasts.append(c)
    for name in ("laplacian_var", "blur_effect"):
        assert np.all(np.diff([c[name] for c in contrasts]) > 0), name


def test_linear_colour_shift_gives_proportional_drift():
    step, n = 2.0, 7
    t1, t2 = texture(40, 56, seed=2)[..., 0], texture(40, 56, seed=3)[..., 0]
    frames = []
    for t in range(n):
        lab = np.stack([45 + 20 * t1, 8 * (t2 - 0.5) + step * t, np.full_like(t1, 5.0)], axis=-1)
        frames.append(lab2rgb(lab.astype(np.float64)))
    frames = np.stack(frames)
    assert frames.min() > 0 and frames.max() < 1  # in gamut: nothing clipped
    w = wide(fm.compute(frames.astype(np.float32)))
    t = np.arange(n)
    np.testing.assert_allclose(w["lab_a_mean"] - w["lab_a_mean"][0], step * t, atol=0.1)
    np.testing.assert_allclose(w["color_shift"][1:], step * t[1:], atol=0.1)
    np.testing.assert_allclose(w["lab_l_mean"], w["lab_l_mean"][0], atol=0.1)
    assert (np.diff(w["color_hist_distance"][1:]) > 0).all()
    table = fm.compute(frames.astype(np.float32), metrics=["lab_a_mean"])
    c = fm.start_end_contrast(table, ratio=0.3)  # k = round(2.1) = 2: frames 0-1 vs 5-6
    assert c["k"].item() == 2
    assert c["contrast"].item() == pytest.approx(step * (5.5 - 0.5), abs=0.1)


@pytest.mark.parametrize("dy,dx", [(0, 3), (2, 3)])
def test_translated_texture_flow_magnitude(dy, dx):
    big = texture(200, 260, seed=4, sigma=3.0)
    frames = np.stack([big[20 + t * dy:20 + t * dy + 96, 20 + t * dx:20 + t * dx + 128] for t in range(5)])
    w = wide(fm.compute(frames, metrics=["flow_magnitude", "flicker", "ssim_prev"]))
    np.testing.assert_allclose(w["flow_magnitude"][1:], np.hypot(dy, dx), rtol=0.1)
    assert (w["flicker"][1:] > 0).all() and (w["ssim_prev"][1:] < 0.99).all()


def test_matches_scikit_image_and_scipy():
    frames = np.stack([texture(40, 52, seed=s, sigma=1.0 + 0.3 * s) for s in range(4)])
    frames[2] = frames[0] * 0.8 + 0.1  # one frame close to the anchor
    frames[3] = frames[3] * 0.02 + 0.005  # dark and flat: SSIM's C1 / C2 terms dominate
    w = wide(fm.compute(frames))
    for i, f in enumerate(frames):
        if i:  # frame 0 against itself is NaN (the reference itself)
            assert w["ssim_first"][i] == pytest.approx(
                structural_similarity(f, frames[0], channel_axis=-1, data_range=1), abs=1e-5)
        assert w["blur_effect"][i] == pytest.approx(blur_effect(f, channel_axis=-1), abs=1e-5)
        gray = f @ np.array([0.299, 0.587, 0.114], np.float32)
        assert w["laplacian_var"][i] == pytest.approx(ndi.laplace(gray * 255.0, mode="mirror").var(), rel=1e-4)
        gx, gy = ndi.sobel(gray * 255.0, 1, mode="mirror"), ndi.sobel(gray * 255.0, 0, mode="mirror")
        assert w["tenengrad"][i] == pytest.approx((gx**2 + gy**2).mean(), rel=1e-4)
        assert w["brightness"][i] == pytest.approx(gray.mean(), abs=1e-5)
        assert w["contrast"][i] == pytest.approx(gray.std(), abs=1e-5)
        lab = rgb2lab(f).reshape(-1, 3)
        np.testing.assert_allclose(w.loc[i, ["lab_l_mean", "lab_a_mean", "lab_b_mean"]].astype(float),
                                   lab.mean(0), atol=0.2)
        np.testing.assert_allclose(w.loc[i, ["lab_l_std", "lab_a_std", "lab_b_std"]].astype(float),
                                   lab.std(0), atol=0.2)
        rg, yb = f[..., 0] - f[..., 1], (f[..., 0] + f[..., 1]) / 2 - f[..., 2]
        want = 255 * (np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
        assert w["colorfulness"][i] == pytest.approx(want, rel=1e-4)
        p, q = (np.histogramdd((np.rint(x * 255) // 32).reshape(-1, 3), bins=8, range=[(0, 8)] * 3)[0].ravel()
                / x[..., 0].size for x in (f, frames[0]))
        if i:
            assert w["color_hist_distance"][i] == pytest.approx(np.sqrt(max(0, 1 - np.sqrt(p * q).sum())), abs=1e-6)
            assert w["psnr_first"][i] == pytest.approx(peak_signal_noise_ratio(frames[0], f, data_range=1), rel=1e-5)
            prev = frames[i - 1]
            assert w["ssim_prev"][i] == pytest.approx(
                structural_similarity(f, prev, channel_axis=-1, data_range=1), abs=1e-5)
            assert w["psnr_prev"][i] == pytest.approx(peak_signal_noise_ratio(prev, f, data_range=1), rel=1e-5)
            assert w["flicker"][i] == pytest.approx(np.abs(f - prev).mean(), rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Inputs, chunking, errors


def test_input_formats_and_chunking_agree():
    u8 = (np.stack([texture(32, 40, seed=s) for s in range(6)]) * 255).astype(np.uint8)
    ref = fm.compute(torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255, chunk_size=100, workers=1)
    for video, kw in [(u8, {}), (u8.astype(np.float32) / 255, {}),
                      (torch.from_numpy(u8).permute(0, 3, 1, 2).contiguous(), {}),  # torch uint8
                      (torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255, dict(chunk_size=2, workers=2)),
                      (torch.from_numpy(u8).permute(0, 3, 1, 2).half() / 255, dict(chunk_size=4))]:
        table = fm.compute(video, **kw)
        assert list(table.columns) == fm.video.COLUMNS
        atol = 2e-2 if video.dtype == torch.float16 else 1e-6
        np.testing.assert_allclose(table.value, ref.value, rtol=atol, atol=atol, equal_nan=True)
    assert ref.attrs["fps"] == 30 and len(ref) == 6 * len(fm.video.resolve(None, "frame"))


def test_bad_inputs_raise():
    good = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="unknown metric 'sharpness'.*laplacian_var"):
        fm.compute(good, metrics=["sharpness"])
    with pytest.raises(ValueError, match="latent metric"):
        fm.compute(good, metrics=["latent_cosine_start"])
    with pytest.raises(ValueError, match=r"\(T, 3, H, W\)"):
        fm.compute(torch.zeros(2, 16, 16, 3))
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        fm.compute(np.zeros((2, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fm.compute(torch.full((2, 3, 16, 16), -1.0))
    small = fm.compute(np.zeros((2, 5, 16, 3), np.uint8), metrics=["ssim_first", "brightness"])
    ssim = small[small.metric == "ssim_first"]  # below one SSIM window: NaN with the reason, per metric
    assert ssim.value.isna().all()
    assert ssim.reason.str.startswith("undefined: frames are 5x16; needs at least 7x7").all()
    assert small[small.metric == "brightness"].value.notna().all()
    with pytest.raises(ValueError, match="chunk_size"):
        fm.compute(good, chunk_size=0)


# ---------------------------------------------------------------------------------------------
# Registry and docs


def test_registry_metadata():
    table = fm.list_metrics()
    assert table["name"].is_unique and len(table) == len(fm.REGISTRY)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", n) for n in table["name"])
    assert set(table["better"]) <= {"higher", "lower", "none"}
    assert (table["range_min"] < table["range_max"]).all()
    default = table[(table.kind == "frame") & table.default]
    assert not default["needs_weights"].any() and not default["name"].str.startswith("lpips").any()
    assert {"lpips_first", "lpips_prev"} <= set(table[table.needs_weights]["name"])
    assert set(fm.list_metrics("latent")["kind"]) == {"latent"}
    assert fm.get_metric("ssim_first").needs_reference and not fm.get_metric("tenengrad").needs_reference
    with pytest.raises(ValueError, match="known: .*ssim_first"):
        fm.get_metric("ssim")
    with pytest.raises(ValueError, match="already registered"):
        fm.register("flicker", kind="frame", family="x", higher_is_better=None, range=(0, 1), reference="none",
                    description="")(lambda b: None)


def test_docs_table_lists_every_metric():
    text = DOCS.read_text()
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.M))
    assert rows == set(fm.REGISTRY), sorted(rows ^ set(fm.REGISTRY))


def test_sharpness_metrics_do_not_lead_by_default_because_speckle_raises_them():
    """Known answer behind the flag: patch noise on a smooth frame scores as far *sharper* on every
    clarity metric, so their direction is no verdict on generated video; the views' and reports'
    default metrics are headline metrics only."""
    from fpkit.report import DEFAULT_REPORT_METRICS
    from fpkit.widgets.compare import DEFAULT_METRICS

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:64] / 63.0
    clean = np.stack([x, y, 0.5 * (x + y)], -1)[None].repeat(2, 0).astype(np.float32)  # (T, H, W, 3)
    speckled = np.clip(clean + 0.2 * rng.standard_normal(clean.shape).astype(np.float32), 0, 1)
    names = ["laplacian_var", "tenengrad", "blur_effect"]
    a = fm.compute(clean, metrics=names).groupby("metric")["value"].mean()
    b = fm.compute(speckled, metrics=names).groupby("metric")["value"].mean()
    assert b["laplacian_var"] > 10 * a["laplacian_var"] and b["tenengrad"] > 10 * a["tenengrad"]
    assert b["blur_effect"] < a["blur_effect"]
    heads = fm.headline_metrics()
    table = fm.list_metrics().set_index("name")
    for name in names:
        assert name not in heads and "direction ambiguous" in table.loc[name, "description"]
        assert not table.loc[name, "headline"]
    assert {"color_hist_distance", "ssim_first", "flicker"} <= set(heads)
    assert not any(table.loc[n, "better"] == "none" for n in heads)
    assert set(DEFAULT_METRICS) <= set(heads) and set(DEFAULT_REPORT_METRICS) <= set(heads)
