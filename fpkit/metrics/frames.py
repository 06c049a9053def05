"""Decoded video in, chunks of frames out: input checking and the cached per-chunk views
(gray, Lab, SSIM statistics, ...) that every per-frame metric reads, so each is computed once.

Frames are float32 in [0, 1], channels-last (n, H, W, 3): the layout OpenCV's vectorised kernels want.
"""

from __future__ import annotations

import sys
from functools import cached_property

import cv2
import numpy as np

# SSIM as scikit-image computes it by default: 7x7 uniform window, K1 0.01, K2 0.03, sample covariance,
# mean over the image cropped by the window radius (3 px); data range 1.
SSIM_WIN = 7
SSIM_C1 = (0.01 * 1.0) ** 2
SSIM_C2 = (0.03 * 1.0) ** 2
_SSIM_COV_NORM = SSIM_WIN**2 / (SSIM_WIN**2 - 1)
_SSIM_PAD = (SSIM_WIN - 1) // 2
SCAN_FRAMES = 8  # frames per step of the value check; a strided video is copied one step at a time
# (8 RGB 480x832 frames: 19 MB in bf16), a contiguous one not at all


class FrameSource:
    """A decoded video: torch (T, 3, H, W) float in [0, 1] (or uint8), any float dtype (fp32, bf16,
    fp16) on any device, or numpy (T, H, W, 3) uint8 or float in [0, 1]. Read chunk by chunk so a
    long video never exists twice in memory. Raises ValueError on NaN / inf pixels or values outside
    [0, 1], naming the frames."""

    def __init__(self, video):
        torch = sys.modules.get("torch")  # a tensor means torch is loaded; numpy input skips its 2-4 s import
        if torch is not None and isinstance(video, torch.Tensor):
            if video.ndim != 4 or video.shape[1] != 3:
                raise ValueError(f"a torch video must be (T, 3, H, W), got shape {tuple(video.shape)}")
            self._torch = video.detach()
            self._numpy = None
            self.num_frames, _, self.height, self.width = video.shape
            is_float = video.is_floating_point()
            if not is_float and video.dtype != torch.uint8:
                raise ValueError(f"a torch video must be float in [0, 1] or uint8, got {video.dtype}")
            eps = torch.finfo(video.dtype).eps if is_float else 0.0
        elif isinstance(video, np.ndarray):
            if video.ndim != 4 or video.shape[-1] != 3:
                raise ValueError(f"a numpy video must be (T, H, W, 3), got shape {video.shape}")
            self._torch = None
            self._numpy = video
            self.num_frames, self.height, self.width, _ = video.shape
            is_float = np.issubdtype(video.dtype, np.floating)
            if not is_float and video.dtype != np.uint8:
                raise ValueError(f"a numpy video must be uint8 or float in [0, 1], got {video.dtype}")
            eps = float(np.finfo(video.dtype).eps) if is_float else 0.0
        else:
            raise ValueError(f"video must be a torch.Tensor (T, 3, H, W) or numpy array (T, H, W, 3), "
                             f"got {type(video).__name__}")
        self._from_uint8 = not is_float
        if self.num_frames < 1:
            raise ValueError("video has no frames")
        if min(self.height, self.width) < 1:
            raise ValueError(f"frames must be at least 1x1, got {self.height}x{self.width}")
        if is_float:
            # 1e-3 absorbs float32 rounding of a decoder's (v + 1) / 2; in bf16 the next value above 1
            # is 1 + 2^-7 (its eps, 0.0078), where a 1.004 lands, so one eps of the video's dtype too.
            self._check_values(tol=max(1e-3, eps))

    def _frame_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame min and max, (T,) float64 each; NaN where a frame holds a NaN. Reduced
        SCAN_FRAMES at a time in the video's own dtype and device: a 60 s bf16 CUDA video never gets
        a float32 copy (8.6 GB at 480x832); the transient is one chunk at most."""
        lo, hi = np.empty(self.num_frames), np.empty(self.num_frames)
        for a in range(0, self.num_frames, SCAN_FRAMES):
            b = min(self.num_frames, a + SCAN_FRAMES)
            if self._torch is not None:
                import torch

                mn, mx = torch.aminmax(self._torch[a:b].reshape(b - a, -1), dim=1)  # propagates NaN
                lo[a:b], hi[a:b] = mn.double().cpu().numpy(), mx.double().cpu().numpy()
            else:
                chunk = self._numpy[a:b].reshape(b - a, -1)
                lo[a:b], hi[a:b] = chunk.min(axis=1), chunk.max(axis=1)  # propagate NaN
        return lo, hi

    def _check_values(self, tol: float) -> None:
        lo, hi = self._frame_ranges()
        bad = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))  # NaN, +inf or -inf somewhere
        if bad.size:
            raise ValueError(f"video has NaN or inf pixels in {_frame_list(bad, self.num_frames)}; "
                             "no metric of those frames would mean anything (an fp16 decoder "
                             "overflows to inf above 65504)")
        out = np.flatnonzero((lo < -tol) | (hi > 1 + tol))
        if out.size:
            raise ValueError(f"a float video must lie in [0, 1], got values in [{lo.min():.3g}, {hi.max():.3g}] "
                             f"in {_frame_list(out, self.num_frames)} (a [-1, 1] video needs (v + 1) / 2 first)")

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Frames [lo, hi) as float32 (n, H, W, 3), C-contiguous."""
        if self._torch is not None:
            import torch

            # to the CPU first, in the video's dtype (bf16: half the bytes), then float32 there; for a
            # float32 CPU video both are no-ops and `planes` is a view of it
            planes = self._torch[lo:hi].to("cpu").to(torch.float32).contiguous().numpy()  # (n, 3, H, W)
            out = np.empty((hi - lo, self.height, self.width, 3), np.float32)
            for src, dst in zip(planes, out):  # OpenCV's interleave: several times faster than permute()
                cv2.merge(list(src), dst=dst)
        else:
            out = np.ascontiguousarray(self._numpy[lo:hi], dtype=np.float32)
        if self._from_uint8:  # uint8 input: `out` is a fresh float copy, scale it in place
            out /= 255.0  # divide (not multiply by 1/255) to match torch's `video / 255` bit for bit
        return out  # may be a view of the input: metrics only read it


class FrameBatch:
    """Frames [start, stop) of a video plus, when start > 0, the frame before them (for metrics
    against the previous frame), and the anchor (frame 0) for metrics against the first frame.

    Views (`gray`, `lab`, ...) are computed once per batch over the extended range and cached;
    `cur(view)` drops the extra previous frame."""

    def __init__(self, source: FrameSource, start: int, stop: int, anchor: "FrameBatch | None" = None):
        self.start, self.stop = start, stop
        self.n = stop - start
        self.has_prev = start > 0
        self.ext = source.read(start - self.has_prev, stop)  # (n + has_prev, H, W, 3)
        self.anchor = anchor if anchor is not None else self

    # -- helpers the metrics use --------------------------------------------------------------
    def cur(self, view: str):
        return getattr(self, view)[int(self.has_prev):]

    def per_frame(self, view: str, fn) -> np.ndarray:
        """fn(frame_view) for each frame of the batch -> (n,)."""
        return np.array([fn(v) for v in self.cur(view)], dtype=np.float64)

    def vs_first(self, view: str, fn) -> np.ndarray:
        """fn(frame_view, first_frame_view) for each frame -> (n,)."""
        ref = getattr(self.anchor, view)[0]
        return np.array([fn(v, ref) for v in self.cur(view)], dtype=np.float64)

    def vs_previous(self, view: str, fn) -> np.ndarray:
        """fn(frame_view, previous_frame_view) -> (n,); NaN for frame 0 (it has no previous frame)."""
        ext = getattr(self, view)
        vals = [fn(ext[i], ext[i - 1]) for i in range(1, len(ext))]
        if not self.has_prev:
            vals.insert(0, np.nan)
        return np.array(vals, dtype=np.float64)

    # -- cached views over the extended range -------------------------------------------------
    @property
    def rgb(self) -> np.ndarray:  # (m, H, W, 3) float32 [0, 1]
        return self.ext

    @cached_property
    def gray(self) -> np.ndarray:  # (m, H, W) float32, BT.601 luma (OpenCV RGB2GRAY)
        return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in self.ext])

    @cached_property
    def gray_stats(self) -> np.ndarray:  # (m, 2): mean, std of gray
        return np.array([[v[0, 0] for v in cv2.meanStdDev(g)] for g in self.gray])

    @cached_property
    def gray_u8(self) -> np.ndarray:  # (m, H, W) uint8, for optical flow
        return np.stack([cv2.convertScaleAbs(g, alpha=255.0) for g in self.gray])

    @cached_property
    def lab(self) -> np.ndarray:  # (m, H, W, 3) float32: L in [0, 100], a/b roughly [-128, 127]
        return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2Lab) for f in self.ext])

    @cached_property
    def lab_stats(self) -> np.ndarray:  # (m, 6): mean L a b, std L a b
        out = []
        for f in self.lab:
            mean, std = cv2.meanStdDev(f)
            out.append(np.concatenate([mean[:, 0], std[:, 0]]))
        return np.array(out)

    @cached_property
    def hist(self) -> np.ndarray:  # (m, 512) joint RGB histogram of the 8-bit frame, 8 bins per channel
        hs = [cv2.calcHist([cv2.convertScaleAbs(f, alpha=255.0)], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3).ravel()
              for f in self.ext]
        hs = np.array(hs, dtype=np.float64)
        return hs / hs.sum(axis=1, keepdims=True)

    @cached_property
    def sqrt_hist(self) -> np.ndarray:  # (m, 512)
        return np.sqrt(self.hist)

    @cached_property
    def ssim_stats(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per frame, over 7x7 windows cropped like scikit-image: (mean, mean^2 + C1/2, sample
        variance + C2/2), so a pair's SSIM denominators are two additions."""
        out = []
        for f in self.ext:
            mu = np.ascontiguousarray(_box(f))
            mu2 = cv2.multiply(mu, mu)
            var = cv2.addWeighted(_box(cv2.multiply(f, f)), _SSIM_COV_NORM, mu2, -_SSIM_COV_NORM, SSIM_C2 / 2)
            mu2 += SSIM_C1 / 2  # numpy, not cv2.add: older OpenCV adds a Python scalar to channel 0 only
            out.append((mu, mu2, var))
        return out

    def ssim(self, i_self: int, other: "FrameBatch", i_other: int) -> float:
        """SSIM between extended frame i_self of this batch and extended frame i_other of `other`
        (scikit-image's formula, channel mean); OpenCV ops keep it one pass per term."""
        ux, px, qx = self.ssim_stats[i_self]
        uy, py, qy = other.ssim_stats[i_other]
        uxy = cv2.multiply(ux, uy)
        cov = _box(cv2.multiply(self.ext[i_self], other.ext[i_other]))
        a2 = cv2.addWeighted(cov, 2 * _SSIM_COV_NORM, uxy, -2 * _SSIM_COV_NORM, SSIM_C2)  # 2 cov_xy + C2
        a1 = cv2.addWeighted(uxy, 2.0, uxy, 0.0, SSIM_C1)  # 2 ux uy + C1
        s = cv2.divide(cv2.multiply(a1, a2), cv2.multiply(cv2.add(px, py), cv2.add(qx, qy)))
        return float(np.mean(cv2.mean(s)[:3]))


def _frame_list(index: np.ndarray, n: int, show: int = 10) -> str:
    """'frames [3, 17] (2 of 145)', the first `show` of them."""
    head = ", ".join(str(int(i)) for i in index[:show])
    more = ", ..." if len(index) > show else ""
    return f"frames [{head}{more}] ({len(index)} of {n})"


def _box(f: np.ndarray) -> np.ndarray:
    """7x7 mean, cropped by the window radius: the border handling never reaches the result."""
    p = _SSIM_PAD
    return cv2.boxFilter(f, -1, (SSIM_WIN, SSIM_WIN), borderType=cv2.BORDER_REFLECT)[p:-p, p:-p]
