"""Per-frame metrics on decoded video and `compute`, which runs a suite of them into a long table.

Each metric is a small function over a FrameBatch (see frames.py) registered with its metadata.
Kernels are OpenCV's (vectorised, one call per frame); SSIM, PSNR, blur effect match scikit-image
(tests check them against it), only faster.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from .drift import check_positive
from .frames import SSIM_WIN, FrameBatch, FrameSource
from .registry import INF, MetricUnavailable, register, resolve

PSNR_CAP_DB = 100.0  # PSNR of identical frames is +inf; capped so means and contrasts stay finite
BLUR_EFFECT_H = 11  # scikit-image's default re-blur size
_BT709 = np.array([[0.2125, 0.7154, 0.0721]], np.float32)  # scikit-image rgb2gray weights
_OPPONENT = np.array([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0]], np.float32)  # rg, yb (Hasler-Suesstrunk)
COLUMNS = ["run_id", "frame", "metric", "value", "reason"]
NO_PREVIOUS = "no previous frame"
# Frame 0 against itself says nothing about the video (PSNR 100 dB, SSIM 1, distance 0); kept in the
# start window of the start-end contrast, it made short clips look more drifted than long ones
# (psnr_first drift 44-48 dB for 13-frame runs, 18-22 for 49-frame runs; 8.7-14.5 vs 7.4-11.7 without).
IS_REFERENCE = "the reference frame itself"
_SPECKLE = ("rises for speckle, patch seams and noise as well as for sharpness: a generation falling "
            "apart reads as sharper")
_KERNEL_3X3 = "a 3x3 kernel: below 3 px it sees only the border reflection"


def _frame_metric(name, family, better, rng, description, reference="none", unit="", **kw):
    return register(name, kind="frame", family=family, higher_is_better=better, range=rng,
                    reference=reference, description=description, unit=unit, **kw)


# ---------------------------------------------------------------------------------------------
# Clarity (no reference). Gray levels scaled to 0..255 so values read like the usual OpenCV recipes.


def _laplacian_var(g: np.ndarray) -> float:
    std = cv2.meanStdDev(cv2.Laplacian(g, cv2.CV_32F))[1][0, 0]  # 3x3 [0 1 0; 1 -4 1; 0 1 0]
    return float(std * std * 255.0**2)


def _tenengrad(g: np.ndarray) -> float:
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return (cv2.norm(gx, cv2.NORM_L2SQR) + cv2.norm(gy, cv2.NORM_L2SQR)) / g.size * 255.0**2


def _blur_effect(rgb: np.ndarray, h_size: int = BLUR_EFFECT_H) -> float:
    """skimage.measure.blur_effect(rgb, h_size, channel_axis=-1) (Crete et al. 2007) with OpenCV
    kernels: per axis, the share of edge strength that survives a 1-D box re-blur; max over axes."""
    g = cv2.transform(rgb, _BT709)
    h, w = g.shape
    inner = (slice(2, h - 1), slice(2, w - 1))  # scikit-image's crop
    worst = 0.0
    # scipy's "reflect" border is OpenCV's BORDER_REFLECT; skimage's sobel smooths with [1, 2, 1] / 4.
    for dx, dy, ksize in ((0, 1, (1, h_size)), (1, 0, (h_size, 1))):
        blurred = cv2.blur(g, ksize, borderType=cv2.BORDER_REFLECT)
        sharp = np.abs(cv2.Sobel(g, cv2.CV_32F, dx, dy, ksize=3, scale=0.25, borderType=cv2.BORDER_REFLECT))
        soft = np.abs(cv2.Sobel(blurred, cv2.CV_32F, dx, dy, ksize=3, scale=0.25, borderType=cv2.BORDER_REFLECT))
        sharp, soft = sharp[inner], soft[inner]
        m1 = float(sharp.sum(dtype=np.float64))
        if m1 == 0.0:  # a flat frame: no edges to lose; skimage's epsilon clamp gives 1
            return 1.0
        # |M1 - M2| / M1 with M2 = sum(max(0, sharp - soft))  ==  sum(min(sharp, soft)) / M1
        worst = max(worst, float(np.minimum(sharp, soft).sum(dtype=np.float64)) / m1)
    return worst


@_frame_metric("laplacian_var", "clarity", True, (0, INF),
               "variance of the 3x3 Laplacian of the gray frame (sharpness)", unit="gray^2 (0-255)",
               ambiguous=_SPECKLE, min_size=(3, 3), min_size_why=_KERNEL_3X3)
def laplacian_var(b: FrameBatch) -> np.ndarray:
    return b.per_frame("gray", _laplacian_var)


@_frame_metric("tenengrad", "clarity", True, (0, INF),
               "mean squared 3x3 Sobel gradient magnitude of the gray frame (sharpness)", unit="gray^2 (0-255)",
               ambiguous=_SPECKLE, min_size=(3, 3), min_size_why=_KERNEL_3X3)
def tenengrad(b: FrameBatch) -> np.ndarray:
    return b.per_frame("gray", _tenengrad)


@_frame_metric("blur_effect", "clarity", False, (0, 1),
               "scikit-image blur_effect (Crete et al. 2007): 0 sharp, 1 fully blurred",
               ambiguous=_SPECKLE.replace("rises", "falls"), min_size=(4, 4), min_size_why="scikit-image's crop drops 2 px before and 1 px after each axis; "
               "below 4 px nothing is left and the frame would read as flat, 1")
def blur_effect(b: FrameBatch) -> np.ndarray:
    return b.per_frame("rgb", _blur_effect)


# ---------------------------------------------------------------------------------------------
# Colour (no reference, or against the first frame)

for _i, (_ch, _star) in enumerate((("l", "L*"), ("a", "a*"), ("b", "b*"))):
    _rng_mean, _rng_std = ((0, 100), (0, 50)) if _ch == "l" else ((-128, 128), (0, 128))
    _frame_metric(f"lab_{_ch}_mean", "color", None, _rng_mean, f"mean of CIELAB {_star} over the frame (D65, OpenCV)")(
        lambda b, i=_i: b.cur("lab_stats")[:, i].copy())
    _frame_metric(f"lab_{_ch}_std", "color", None, _rng_std, f"standard deviation of CIELAB {_star} over the frame")(
        lambda b, i=_i: b.cur("lab_stats")[:, 3 + i].copy())
del _i, _ch, _star, _rng_mean, _rng_std


def _colorfulness(rgb: np.ndarray) -> float:
    mean, std = cv2.meanStdDev(cv2.transform(rgb, _OPPONENT))
    return 255.0 * (math.hypot(std[0, 0], std[1, 0]) + 0.3 * math.hypot(mean[0, 0], mean[1, 0]))


@_frame_metric("colorfulness", "color", None, (0, INF),
               "Hasler-Suesstrunk colourfulness, sigma_rgyb + 0.3 mu_rgyb (0-255 scale)")
def colorfulness(b: FrameBatch) -> np.ndarray:
    return b.per_frame("rgb", _colorfulness)


@_frame_metric("brightness", "color", None, (0, 1), "mean BT.601 luma")
def brightness(b: FrameBatch) -> np.ndarray:
    return b.cur("gray_stats")[:, 0].copy()


@_frame_metric("contrast", "color", None, (0, 0.5), "RMS contrast: standard deviation of BT.601 luma")
def contrast(b: FrameBatch) -> np.ndarray:
    return b.cur("gray_stats")[:, 1].copy()


@_frame_metric("color_hist_distance", "color", False, (0, 1),
               "Hellinger (= OpenCV Bhattacharyya) distance between 8x8x8 RGB histograms of the frame and "
               "the first frame", reference="first")
def color_hist_distance(b: FrameBatch) -> np.ndarray:
    # sqrt(1 - sum sqrt(pq)) written as sqrt(sum (sqrt p - sqrt q)^2 / 2): exactly 0 for equal frames
    return b.vs_first("sqrt_hist", lambda p, q: math.sqrt(0.5 * float(((p - q) ** 2).sum())))


@_frame_metric("color_shift", "color", False, (0, INF),
               "Delta E 76 between the frame's mean CIELAB colour and the first frame's", reference="first",
               unit="Delta E")
def color_shift(b: FrameBatch) -> np.ndarray:
    return b.vs_first("lab_stats", lambda s, r: float(np.linalg.norm(s[:3] - r[:3])))


# ---------------------------------------------------------------------------------------------
# Fidelity to the anchor (first frame) and temporal stability (previous frame)


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = cv2.norm(x, y, cv2.NORM_L2SQR) / x.size
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, -10.0 * math.log10(mse))


def _first_indices(b: FrameBatch) -> range:
    return range(int(b.has_prev), len(b.ext))


_SSIM_SIZE = dict(min_size=(SSIM_WIN, SSIM_WIN), min_size_why=f"one {SSIM_WIN}x{SSIM_WIN} SSIM window")


@_frame_metric("ssim_first", "fidelity", True, (-1, 1),
               "SSIM to the first frame (scikit-image defaults: 7x7 uniform window, channel mean)",
               reference="first", **_SSIM_SIZE)
def ssim_first(b: FrameBatch) -> np.ndarray:
    return np.array([b.ssim(i, b.anchor, 0) for i in _first_indices(b)])


@_frame_metric("psnr_first", "fidelity", True, (0, PSNR_CAP_DB),
               f"PSNR to the first frame, data range 1, capped at {PSNR_CAP_DB:g} dB", reference="first", unit="dB")
def psnr_first(b: FrameBatch) -> np.ndarray:
    return b.vs_first("rgb", _psnr)


@_frame_metric("ssim_prev", "stability", True, (-1, 1), "SSIM to the previous frame", reference="previous",
               **_SSIM_SIZE)
def ssim_prev(b: FrameBatch) -> np.ndarray:
    vals = [b.ssim(i, b, i - 1) for i in range(1, len(b.ext))]
    return np.array(vals if b.has_prev else [np.nan, *vals])


@_frame_metric("psnr_prev", "stability", True, (0, PSNR_CAP_DB),
               f"PSNR to the previous frame, capped at {PSNR_CAP_DB:g} dB", reference="previous", unit="dB")
def psnr_prev(b: FrameBatch) -> np.ndarray:
    return b.vs_previous("rgb", _psnr)


@_frame_metric("flicker", "stability", False, (0, 1),
               "mean absolute difference to the previous frame (RGB in [0, 1])", reference="previous")
def flicker(b: FrameBatch) -> np.ndarray:
    return b.vs_previous("rgb", lambda x, y: cv2.norm(x, y, cv2.NORM_L1) / x.size)


# ---------------------------------------------------------------------------------------------
# Motion

_DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
# DIS medium, chosen with benchmarks/bench_flow.py (480x832 textures moved by a known amount, OpenCV
# 5.0; docs/metrics.md has the table): the mean magnitude reads +4 to +15 % at 0.5 px/frame, up to
# +4 % at 1 px, within 2 % at 2-5 px and 0.5 % at 10-40 px, and is unchanged by blur. The fast
# preset read +8-14 % at 0.5-1 px; Farneback, best on sharp textures, loses 23 % of the motion on a
# blurred frame (sigma 4) and 27 % at 40 px/frame. Cost per 480x832 pair, one thread: fast 12 ms,
# medium 65-77 ms, Farneback 124 ms.
FLOW_PRESET = "medium"


def dis_min_size(preset: str = FLOW_PRESET) -> tuple[int, int]:
    """(short side, long side) in px below which OpenCV's DIS must not run. calc() takes its coarsest
    pyramid scale as min(int(log2(long / (4 patch)) + 0.5), int(log2(short // patch))); when that is
    below the preset's finest scale it re-picks the scales from the image width alone
    (autoSelectPatchSizeAndScales in dis_flow.cpp), which for a short wide frame leaves a pyramid
    level shorter than a patch and reads out of bounds: the interpreter dies with exit 139 (fast
    preset: 16x100, 12x64, 20x400; medium: 12x64, 15x46, 15x100). At or above this size that
    branch is never taken (checked on 2480 sizes at and just above it, for medium and fast)."""
    if preset not in _DIS_PRESETS:
        raise ValueError(f"unknown DIS preset {preset!r}; known: {sorted(_DIS_PRESETS)}")
    dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])
    patch, finest = dis.getPatchSize(), dis.getFinestScale()  # medium: 8, 1 -> 16 x 46
    short = patch * 2**finest
    return short, max(short, math.ceil(4 * patch * 2 ** (finest - 0.5)))


@_frame_metric("flow_magnitude", "motion", None, (0, INF),
               f"mean optical-flow magnitude from the previous frame (OpenCV DIS, {FLOW_PRESET} preset)",
               reference="previous", unit="px/frame", min_size=dis_min_size(),
               min_size_why=f"OpenCV DIS {FLOW_PRESET}'s pyramid must reach its finest scale; smaller "
               "frames crash OpenCV, see fpkit.metrics.video.dis_min_size")
def flow_magnitude(b: FrameBatch) -> np.ndarray:
    def magnitude(cur, prev):
        # A fresh DIS per pair: a reused one carries state between calls, so results would depend on
        # chunking and order. Creating one takes ~15 us, a 480x832 medium pair 65+ ms.
        dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[FLOW_PRESET])
        flow = dis.calc(prev, cur, None)  # (H, W, 2): prev(y, x) ~ cur(y + fy, x + fx)
        return cv2.mean(cv2.magnitude(*cv2.split(flow)))[0]

    return b.vs_previous("gray_u8", magnitude)


# ---------------------------------------------------------------------------------------------
# Running a suite


def compute(video, metrics=None, run_id: str = "run", fps: float = 30, strict: bool = False,
            chunk_size: int = 16, workers: int = 1):
    """Per-frame metrics of a decoded video as a long table (run_id, frame, metric, value, reason).

    video: torch (T, 3, H, W) float in [0, 1] (fp32, bf16 or fp16, any device; or uint8), or numpy
    (T, H, W, 3) uint8 / float. A NaN or inf pixel, or a value outside [0, 1], raises ValueError
    naming the frames (checked a few frames at a time, before any metric runs).
    metrics: names (see list_metrics()); None = the default suite (every offline metric, no LPIPS).
    A metric that cannot run here (no weights, frames below its min_size) gives NaN rows with the
    reason, or raises MetricUnavailable if `strict`. Frame 0 of previous-frame metrics is NaN with
    reason "no previous frame", and frame 0 of first-frame metrics NaN with reason "the reference frame
    itself" (so the start window of a drift contrast starts at frame 1).
    `fps` (a finite number > 0) is kept in `table.attrs["fps"]` for `windowed`. Frames are read
    `chunk_size` at a time (memory stays bounded); `workers` > 1 runs chunks on threads (OpenCV
    already spreads each kernel over the cores, so on 2 shared cores 1 worker measured as fast or
    faster).
    """
    import pandas as pd

    specs = resolve(metrics, "frame")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    check_positive("fps", fps)
    source = FrameSource(video)
    n = source.num_frames
    values = np.full((len(specs), n), np.nan)
    reasons = np.full((len(specs), n), "", dtype=object)
    active, failed = [], {}
    for i, spec in enumerate(specs):
        reason = spec.size_reason(source.height, source.width) or spec.unavailable_reason()
        if reason is None:
            active.append(i)
        elif strict:
            raise MetricUnavailable(spec.name, reason)
        else:
            reasons[i] = reason
    if active:
        anchor = FrameBatch(source, 0, 1)

        def run(start: int) -> None:
            batch = FrameBatch(source, start, min(n, start + chunk_size), anchor)
            for i in active:
                if i in failed:
                    continue
                try:
                    out = np.asarray(specs[i].fn(batch), dtype=np.float64)
                except MetricUnavailable as err:  # found out only when running (e.g. a damaged weights file)
                    if strict:
                        raise
                    failed[i] = err.reason
                    continue
                if out.shape != (batch.n,):
                    raise RuntimeError(f"metric {specs[i].name!r} returned shape {out.shape}, expected ({batch.n},)")
                values[i, batch.start:batch.stop] = out

        starts = range(0, n, chunk_size)
        if workers > 1 and len(starts) > 1:
            # OpenCV releases the GIL in its kernels, so chunks overlap on threads.
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, starts))
        else:
            for start in starts:
                run(start)
    for i, reason in failed.items():
        values[i], reasons[i] = np.nan, reason
    active = [i for i in active if i not in failed]
    for i in active:
        missing = np.isnan(values[i])
        reasons[i, missing] = "undefined (NaN)"
        if specs[i].reference == "previous":
            reasons[i, 0] = NO_PREVIOUS
        if specs[i].reference == "first" and n:
            values[i, 0], reasons[i, 0] = np.nan, IS_REFERENCE
    table = pd.DataFrame({
        "run_id": run_id,
        "frame": np.repeat(np.arange(n), len(specs)),
        "metric": np.tile([s.name for s in specs], n),
        "value": values.T.ravel(),
        "reason": reasons.T.ravel(),
    })
    table.attrs.update(fps=fps, num_frames=n)
    return table
