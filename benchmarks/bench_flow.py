"""Accuracy and cost of optical-flow methods for `flow_magnitude`: each candidate measures the mean
flow magnitude between two frames whose true motion is known, at 480x832 (FramePack's size).

    .venv/bin/python benchmarks/bench_flow.py [--speeds 0.5 1 2 3 5 10 20 40] [--pairs 2] [--repeats 5]

Frames are a periodic texture moved by a Fourier shift (exact for a band-limited image, so no
interpolation blur differs between the two frames), for a fine (blur sigmas 1, 4, 16) and a coarse
(3, 12) texture and two directions (0 and 30 degrees). Further cases: the fine texture blurred
(sigma 1-4, what drift does to a video) moving 2 px; zoom and rotation (Lanczos warp); a flat band
over 40 % of the frame (motion there is invisible); the noise floor (a still frame plus 1 gray level
of independent noise per frame). Reports the relative error of the mean magnitude (what the metric
reports; mean over cases, worst case in brackets) and the mean endpoint error in px, then the
median time per pair. CPU timings on a shared machine are noisy; compare medians.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import cv2
import numpy as np

import fpkit.metrics as fm


def dis(preset):
    def flow(prev, cur):
        return cv2.DISOpticalFlow_create(preset).calc(prev, cur, None)

    return flow


def farneback(prev, cur):
    # OpenCV's documented example parameters (pyramid 0.5, 15 px window, 3 iterations, poly_n 5,
    # sigma 1.2) with 5 levels instead of 3 (3 levels measured the same up to 40 px/frame)
    return cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 5, 15, 3, 5, 1.2, 0)


METHODS = {
    "dis_ultrafast": dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
    "dis_fast": dis(cv2.DISOPTICAL_FLOW_PRESET_FAST),
    "dis_medium": dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    "farneback": farneback,
}


def texture(h: int, w: int, kind: str, seed: int) -> np.ndarray:
    """(h, w) float64 gray in (0, 1), periodic. fine: blur sigmas 1, 4, 16 (as bench_metrics);
    coarse: sigmas 3, 12."""
    rng = np.random.default_rng(seed)
    layers = ((1.0, 0.3), (4.0, 0.5), (16.0, 0.8)) if kind == "fine" else ((3.0, 0.5), (12.0, 0.8))
    tex = np.zeros((h, w))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    for sigma, weight in layers:  # periodic Gaussian blur in the Fourier domain
        spec = np.fft.fft2(rng.standard_normal((h, w))) * np.exp(-2 * (math.pi * sigma) ** 2 * (fx**2 + fy**2))
        layer = np.fft.ifft2(spec).real
        tex += weight * layer / layer.std()
    return 1 / (1 + np.exp(-tex))


def shifted(tex: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """tex moved by (dy, dx) px: out(y, x) = tex(y - dy, x - dx), by a Fourier phase shift."""
    h, w = tex.shape
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    return np.fft.ifft2(np.fft.fft2(tex) * np.exp(-2j * math.pi * (fy * dy + fx * dx))).real


def warped(tex: np.ndarray, zoom: float, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """tex zoomed by `zoom` and rotated by `degrees` about the centre (Lanczos), and the true flow
    (H, W, 2) from tex to it."""
    h, w = tex.shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, zoom)  # (2, 3): dst = m @ src
    out = cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    flow = np.stack([m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs, m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys], -1)
    return out, flow


def flat_band(tex: np.ndarray) -> np.ndarray:
    """tex with a flat mid-gray band over the middle 40 % of its height (soft 4 px edges)."""
    h, w = tex.shape
    mask = np.ones((h, w))
    mask[int(0.3 * h):int(0.7 * h)] = 0
    return 0.5 + (tex - 0.5) * cv2.GaussianBlur(mask, (0, 0), 4)


def to_u8(g: np.ndarray) -> np.ndarray:
    return np.clip(g * 255 + 0.5, 0, 255).astype(np.uint8)


def translation(tex: np.ndarray, speed: float, angle: float = 0.0):
    dy, dx = speed * math.sin(math.radians(angle)), speed * math.cos(math.radians(angle))
    return tex, shifted(tex, dy, dx), np.broadcast_to(np.array([dx, dy]), (*tex.shape, 2))


def measure(cases) -> dict[str, tuple[float, float, float]]:
    """cases: iterable of (prev, cur, true flow) in float gray -> {method: (mean relative error of
    the mean magnitude, worst |relative error|, mean endpoint error px)}."""
    errs = {m: ([], []) for m in METHODS}
    for prev, cur, true in cases:
        prev, cur = to_u8(prev), to_u8(cur)
        true_mag = float(np.hypot(true[..., 0], true[..., 1]).mean())
        for name, method in METHODS.items():
            flow = method(prev, cur)  # prev(y, x) ~ cur(y + fy, x + fx)
            errs[name][0].append(float(np.hypot(flow[..., 0], flow[..., 1]).mean()) / true_mag - 1)
            errs[name][1].append(float(np.hypot(flow[..., 0] - true[..., 0], flow[..., 1] - true[..., 1]).mean()))
    return {m: (float(np.mean(r)), float(np.max(np.abs(r))), float(np.mean(e))) for m, (r, e) in errs.items()}


def noise_floor(height: int, width: int, band: bool) -> dict[str, float]:
    """Mean magnitude (px, truth 0) between two noisy copies of a still frame."""
    rng = np.random.default_rng(0)
    out = {m: [] for m in METHODS}
    for kind in ("fine", "coarse"):
        tex = texture(height, width, kind, seed=20)
        tex = flat_band(tex) if band else tex
        a, b = (to_u8(tex + rng.normal(0, 1 / 255, tex.shape)) for _ in range(2))
        for name, method in METHODS.items():
            out[name].append(float(np.hypot(*np.moveaxis(method(a, b), -1, 0)).mean()))
    return {m: float(np.mean(v)) for m, v in out.items()}


def timing(repeats: int, height: int, width: int) -> dict[str, tuple[float, float, float]]:
    """{method: (median wall s, median CPU s with OpenCV's default threads, median CPU s on 1 thread)}."""
    tex = texture(height, width, "fine", seed=0)
    prev, cur = to_u8(tex), to_u8(shifted(tex, 1.0, 2.0))
    out = {}
    threads = cv2.getNumThreads()
    for name, method in METHODS.items():
        runs = []
        for n in (threads, 1):
            cv2.setNumThreads(n)
            method(prev, cur)  # warm-up
            walls, cpus = [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                method(prev, cur)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            runs.append((statistics.median(walls), statistics.median(cpus)))
        out[name] = runs[0][0], runs[0][1], runs[1][1]
    cv2.setNumThreads(threads)
    return out


def library_check(speed: float, height: int, width: int) -> float:
    """fpkit.metrics' own flow_magnitude on a 3-frame RGB video moving `speed` px/frame at 30
    degrees (relative error): the whole path, RGB -> gray -> uint8 -> flow."""
    tex = texture(height, width, "fine", seed=0)
    dy, dx = speed * 0.5, speed * math.sqrt(3) / 2
    frames = np.stack([np.repeat(shifted(tex, t * dy, t * dx)[..., None], 3, -1) for t in range(3)])
    table = fm.compute(np.clip(frames, 0, 1).astype(np.float32), metrics=["flow_magnitude"])
    return float(table.value[1:].mean()) / speed - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speeds", type=float, nargs="+", default=[0.5, 1, 2, 3, 5, 10, 20, 40])
    ap.add_argument("--pairs", type=int, default=2, help="texture seeds per case")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=832)
    args = ap.parse_args()
    h, w, seeds = args.height, args.width, range(args.pairs)
    print(f"{h}x{w}; cores {os.cpu_count()}, cv2 threads {cv2.getNumThreads()}, "
          f"load average {os.getloadavg()[0]:.1f}; cv2 {cv2.__version__}")

    def moving(speed):  # generators: one case in memory at a time (each frame is 3 MB)
        for kind in ("fine", "coarse"):
            for angle in (0.0, 30.0):
                for p in seeds:
                    yield translation(texture(h, w, kind, p), speed, angle)

    def blurred(sigma):
        for p in seeds:
            yield translation(cv2.GaussianBlur(texture(h, w, "fine", 40 + p), (0, 0), sigma), 2.0)

    def warp(zoom, deg):
        for kind in ("fine", "coarse"):
            for p in seeds:
                tex = texture(h, w, kind, 10 + p)
                yield (tex, *warped(tex, zoom, deg))

    def banded(speed):
        for p in seeds:
            yield translation(flat_band(texture(h, w, "fine", 30 + p)), speed)

    sections = {
        "translated texture (2 textures x 2 directions x seeds)": {f"{v:g} px": moving(v) for v in args.speeds},
        "blurred fine texture moving 2 px (drift blurs video)": {f"blur {v:g}": blurred(v) for v in (1, 2, 4)},
        "zoom 1 %/frame (mean 2.5 px) and rotation 0.5 deg/frame (mean 2.2 px)": {
            "zoom 1%": warp(1.01, 0.0), "rot 0.5 deg": warp(1.0, 0.5)},
        "flat band over 40 % of the frame, horizontal (no method sees motion there)": {
            f"{v:g} px": banded(v) for v in (0.5, 1, 2, 3, 5, 10)},
    }
    print("error of the mean flow magnitude: mean over cases (worst case), then the mean endpoint error in px")
    for title, cases in sections.items():
        results = {label: measure(c) for label, c in cases.items()}  # label -> method -> errors
        print(f"\n{title}")
        for name in METHODS:
            print(f"{name:<14} " + " | ".join(f"{label}: {100 * r[name][0]:+.1f}% ({100 * r[name][1]:.1f}%) "
                                              f"{r[name][2]:.2f}" for label, r in results.items()))
    floors = {band: noise_floor(h, w, band) for band in (False, True)}
    print("\nnoise floor: still frame, independent 1-gray-level noise per frame; mean magnitude in px (truth 0)")
    for name in METHODS:
        print(f"{name:<14} textured {floors[False][name]:.3f} px, with the flat band {floors[True][name]:.3f} px")

    t = timing(args.repeats, h, w)
    print(f"\ntime per {h}x{w} pair, median of {args.repeats}: wall / CPU ({cv2.getNumThreads()} OpenCV threads) "
          "/ CPU (1 thread)")
    for name, (wall, cpu, cpu1) in t.items():
        print(f"{name:<14} {1000 * wall:.0f} / {1000 * cpu:.0f} / {1000 * cpu1:.0f} ms")
    checks = ", ".join(f"{s:g} px {100 * library_check(s, h, w):+.1f}%" for s in args.speeds)
    print(f"\nfpkit flow_magnitude (DIS {fm.video.FLOW_PRESET}) through compute(), 30 degrees: {checks}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
