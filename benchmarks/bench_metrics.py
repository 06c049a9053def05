"""Throughput of fpkit.metrics' default suite on a 145-frame 480x832 video (a moving, slowly
recolouring texture), against a straightforward per-frame scikit-image / SciPy loop computing the
same metrics. Prints medians over repeats; CPU numbers are noisy on a shared machine.

    .venv/bin/python benchmarks/bench_metrics.py [--frames 145] [--repeats 3] [--baseline-frames 24]

The baseline loop uses OpenCV DIS for optical flow too: scikit-image has no DIS, and its ILK flow
(~1.3 s per 480x832 pair) would dominate the comparison. LPIPS is not in the default suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import cv2
import numpy as np
import torch
from scipy import ndimage as ndi
from skimage.color import rgb2lab
from skimage.measure import blur_effect
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import fpkit.metrics as fm


def moving_texture(frames: int, height: int = 480, width: int = 832, seed: int = 0) -> torch.Tensor:
    """(T, 3, H, W) float32 in [0, 1]: a multi-scale colour texture panning 2 px right, 1 px down
    per frame, with a slow warm colour drift."""
    rng = np.random.default_rng(seed)
    big_h, big_w = height + frames + 8, width + 2 * frames + 8
    tex = np.zeros((big_h, big_w, 3), np.float32)
    for sigma, weight in ((1.0, 0.3), (4.0, 0.5), (16.0, 0.8)):
        noise = rng.standard_normal((big_h, big_w, 3)).astype(np.float32)
        layer = cv2.GaussianBlur(noise, (0, 0), sigma)
        tex += weight * layer / layer.std()
    tex = 1 / (1 + np.exp(-tex))  # squash into (0, 1)
    video = np.empty((frames, 3, height, width), np.float32)
    for t in range(frames):
        crop = tex[t:t + height, 2 * t:2 * t + width]
        drift = np.array([0.1, 0.0, -0.1], np.float32) * t / max(1, frames - 1)
        video[t] = np.clip(crop + drift, 0, 1).transpose(2, 0, 1)
    return torch.from_numpy(video)


def baseline(video: torch.Tensor, n: int) -> dict[str, list[float]]:
    """The same metrics, one frame at a time, with scikit-image / SciPy / NumPy (flow: OpenCV DIS)."""
    frames = video[:n].permute(0, 2, 3, 1).numpy()
    out: dict[str, list[float]] = {}
    add = lambda k, v: out.setdefault(k, []).append(float(v))  # noqa: E731
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # as fpkit.metrics
    first_lab = first_hist = prev = prev_gray = None
    for i, f in enumerate(frames):
        gray = f @ np.array([0.299, 0.587, 0.114], np.float32)
        lap = ndi.laplace(gray * 255, mode="mirror")
        add("laplacian_var", lap.var())
        gx, gy = ndi.sobel(gray * 255, 1, mode="mirror"), ndi.sobel(gray * 255, 0, mode="mirror")
        add("tenengrad", (gx**2 + gy**2).mean())
        add("blur_effect", blur_effect(f, channel_axis=-1))
        lab = rgb2lab(f).reshape(-1, 3)
        mean, std = lab.mean(0), lab.std(0)
        for c, ch in enumerate("lab"):
            add(f"lab_{ch}_mean", mean[c])
            add(f"lab_{ch}_std", std[c])
        rg, yb = f[..., 0] - f[..., 1], 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
        add("colorfulness", 255 * (np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())))
        add("brightness", gray.mean())
        add("contrast", gray.std())
        hist = np.histogramdd((np.rint(f * 255) // 32).reshape(-1, 3), bins=8, range=[(0, 8)] * 3)[0].ravel()
        hist /= hist.sum()
        first_lab = mean if first_lab is None else first_lab
        first_hist = hist if first_hist is None else first_hist
        add("color_hist_distance", np.sqrt(0.5 * ((np.sqrt(hist) - np.sqrt(first_hist)) ** 2).sum()))
        add("color_shift", np.linalg.norm(mean - first_lab))
        add("ssim_first", structural_similarity(f, frames[0], channel_axis=-1, data_range=1))
        psnr = peak_signal_noise_ratio(frames[0], f, data_range=1) if i else np.inf
        add("psnr_first", min(fm.PSNR_CAP_DB, psnr))
        u8 = np.clip(gray * 255 + 0.5, 0, 255).astype(np.uint8)
        if prev is None:
            for k in ("ssim_prev", "psnr_prev", "flicker", "flow_magnitude"):
                add(k, np.nan)
        else:
            add("ssim_prev", structural_similarity(f, prev, channel_axis=-1, data_range=1))
            add("psnr_prev", min(fm.PSNR_CAP_DB, peak_signal_noise_ratio(prev, f, data_range=1)))
            add("flicker", np.abs(f - prev).mean())
            flow = dis.calc(prev_gray, u8, None)
            add("flow_magnitude", np.sqrt((flow**2).sum(-1)).mean())
        prev, prev_gray = f, u8
    return out


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall seconds, median CPU seconds (all threads of this process), last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=145)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-frames", type=int, default=24, help="frames the slow loop times (it is linear)")
    args = ap.parse_args()

    video = moving_texture(args.frames, args.height, args.width)
    print(f"video {tuple(video.shape)} float32; cores {os.cpu_count()}, cv2 threads {cv2.getNumThreads()}, "
          f"torch threads {torch.get_num_threads()}")
    names = [m.name for m in fm.REGISTRY.values() if m.kind == "frame" and m.default]
    print(f"default suite ({len(names)} metrics): {', '.join(names)}")

    fm.compute(video[:4])  # warm-up (imports, OpenCV kernels)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    t_fast, c_fast, table = timed(lambda: fm.compute(video), args.repeats)
    fast_fps = args.frames / t_fast
    print(f"fpkit.metrics.compute: median {t_fast:.2f} s over {args.repeats} runs -> {fast_fps:.1f} frames/s "
          f"(CPU {1000 * c_fast / args.frames:.0f} ms/frame)")

    n = min(args.baseline_frames, args.frames)
    t_slow, c_slow, ref = timed(lambda: baseline(video, n), args.repeats)
    slow_fps = n / t_slow
    print(f"per-frame scikit-image loop: median {t_slow:.2f} s for {n} frames -> {slow_fps:.2f} frames/s "
          f"(CPU {1000 * c_slow / n:.0f} ms/frame)")
    print(f"speed-up: {fast_fps / slow_fps:.1f}x wall, {(c_slow / n) / (c_fast / args.frames):.1f}x CPU")
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    wide = table.pivot(index="frame", columns="metric", values="value").iloc[:n]
    worst = []
    for name in names:
        a, b = wide[name].to_numpy(), np.array(ref[name])
        ok = ~np.isnan(b)
        scale = max(1e-12, float(np.abs(b[ok]).max()))
        worst.append((float(np.abs(a[ok] - b[ok]).max()) / scale, name))
    print("largest relative difference to the loop: " + ", ".join(f"{n} {d:.1e}" for d, n in sorted(worst)[-4:]))
    print("(timings on a shared 2-core CPU are noisy; compare medians, not single runs)")


if __name__ == "__main__":
    main()
