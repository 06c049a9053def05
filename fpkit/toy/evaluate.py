"""Score toy-organism videos against the world that made its training data.

The world's ground truth makes simple, model-free measures meaningful: sprites are the only
saturated pixels (HSV saturation >= 0.75 vs <= 0.35 for the background), the camera is static, and the
background colours never change. So per frame we measure sharpness (Laplacian variance), sprite
pixels / sprite blobs, mean colour and background colour, and compare them with real clips.

    video = fpkit.sample(pipe, image=world.start_image(seed), ...).video          # (T, 3, H, W)
    compare_to_world(video, seed=seed)        # {metric: value, ..., "passes": {...}, "looks_like_world": bool}
    drift_vs_length(pipe, seeds, lengths=(1, 4))  # long table: seed, length, metric, value
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import ndimage

from .world import EVAL_SEED_OFFSET, real_video, start_image

SPRITE_SATURATION = 0.55  # between the background's <= 0.35 and the sprites' >= 0.75
SPRITE_VALUE = 0.45
MIN_BLOB_PIXELS = 12  # a radius-7 sprite covers ~150 px at 64x64; specks below 12 px are noise

# Tolerances of `compare_to_world` (generated / real, or absolute differences). Chosen from the
# spread of real clips (see docs/toy.md): a real clip compared with other real clips passes all of
# them, a blank or blurred video fails at least one.
TOLERANCES = {
    "sharpness_ratio": (0.5, 2.0),  # Laplacian variance, generated / real
    "sprite_fraction_ratio": (0.5, 2.0),  # saturated-pixel share, generated / real
    "sprite_count_diff": (-0.75, 0.75),  # mean blobs per frame, generated - real
    "background_error": (0.0, 0.06),  # mean |RGB| distance of the non-sprite median colour, [0, 1] units
}


def _grey(frames: torch.Tensor) -> torch.Tensor:
    return (0.299 * frames[:, 0] + 0.587 * frames[:, 1] + 0.114 * frames[:, 2]).unsqueeze(1)  # (T, 1, H, W)


def sharpness(frames: torch.Tensor) -> np.ndarray:
    """Per-frame variance of the Laplacian of the grey image ((T, 3, H, W) in [0, 1])."""
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    lap = F.conv2d(_grey(frames.float()), kernel)
    return lap.flatten(1).var(1).numpy()


def sprite_mask(frames: torch.Tensor) -> torch.Tensor:
    """(T, H, W) bool: saturated, bright pixels (the world draws only sprites that way)."""
    f = frames.float().clamp(0, 1)
    mx, mn = f.max(1).values, f.min(1).values
    saturation = (mx - mn) / mx.clamp_min(1e-6)
    return (saturation >= SPRITE_SATURATION) & (mx >= SPRITE_VALUE)


def frame_features(frames: torch.Tensor) -> pd.DataFrame:
    """Per-frame measures of (T, 3, H, W) in [0, 1]: one row per frame."""
    frames = frames.detach().float().cpu()
    mask = sprite_mask(frames)
    counts = []
    for m in mask.numpy():
        labels, n = ndimage.label(m)
        sizes = np.bincount(labels.ravel())[1:] if n else np.zeros(0)
        counts.append(int((sizes >= MIN_BLOB_PIXELS).sum()))
    bg = []
    for f, m in zip(frames, mask):
        pix = f.permute(1, 2, 0)[~m]
        bg.append(pix.median(0).values.numpy() if len(pix) else np.full(3, np.nan))
    bg = np.stack(bg)
    mean = frames.mean((2, 3)).numpy()
    return pd.DataFrame({
        "frame": np.arange(frames.shape[0]),
        "sharpness": sharpness(frames),
        "sprite_fraction": mask.float().mean((1, 2)).numpy(),
        "sprite_count": counts,
        "mean_r": mean[:, 0], "mean_g": mean[:, 1], "mean_b": mean[:, 2],
        "bg_r": bg[:, 0], "bg_g": bg[:, 1], "bg_b": bg[:, 2],
    })


def compare_to_world(video: torch.Tensor, seed: int | None = None, reference: torch.Tensor | None = None) -> dict:
    """Compare a video (T, 3, H, W) in [0, 1] with the world.

    reference: real frames to compare with (default: the world's own clip of `seed`, the same length,
    i.e. the real continuation of the start image). Returns generated and real values, their
    ratios/differences, `passes` per TOLERANCES and `looks_like_world` (all pass)."""
    if reference is None:
        if seed is None:
            raise ValueError("give `seed` (the clip whose first frame started the video) or `reference` frames")
        reference = real_video(seed, video.shape[0])
    gen, real = frame_features(video), frame_features(reference)
    out = {
        "sharpness": float(gen.sharpness.mean()), "sharpness_real": float(real.sharpness.mean()),
        "sprite_fraction": float(gen.sprite_fraction.mean()),
        "sprite_fraction_real": float(real.sprite_fraction.mean()),
        "sprite_count": float(gen.sprite_count.mean()), "sprite_count_real": float(real.sprite_count.mean()),
    }
    out["sharpness_ratio"] = out["sharpness"] / max(out["sharpness_real"], 1e-12)
    out["sprite_fraction_ratio"] = out["sprite_fraction"] / max(out["sprite_fraction_real"], 1e-12)
    out["sprite_count_diff"] = out["sprite_count"] - out["sprite_count_real"]
    bg_cols = ["bg_r", "bg_g", "bg_b"]
    out["background_error"] = float(np.nanmean(np.abs(gen[bg_cols].to_numpy() - real[bg_cols].to_numpy())))
    out["passes"] = {k: bool(lo <= out[k] <= hi) for k, (lo, hi) in TOLERANCES.items()}
    out["looks_like_world"] = all(out["passes"].values())
    return out


def drift(video: torch.Tensor, fraction: float = 0.15) -> dict:
    """Paper-style drift |M(first 15%) - M(last 15%)| of each per-frame measure, plus the colour
    drift (L2 of the mean-RGB change) and the background drift (L2 of the background-colour change)."""
    feats = frame_features(video)
    n = max(1, int(round(fraction * len(feats))))
    first, last = feats.iloc[:n], feats.iloc[-n:]
    out = {f"drift_{m}": float(abs(first[m].mean() - last[m].mean()))
           for m in ("sharpness", "sprite_fraction", "sprite_count")}
    for name, cols in (("colour", ["mean_r", "mean_g", "mean_b"]), ("background", ["bg_r", "bg_g", "bg_b"])):
        out[f"drift_{name}"] = float(np.linalg.norm(np.nanmean(first[cols].to_numpy(), 0)
                                                     - np.nanmean(last[cols].to_numpy(), 0)))
    return out


def generate(pipe, seed: int, num_sections: int, sampling_type: str | None = None, num_inference_steps: int = 12,
             noise_seed: int = 0, **kwargs):
    """Sample the organism from the start image of world clip `seed` for `num_sections` sections
    with its training geometry (frame size, lws, HistorySpec from its config): an fpkit Run."""
    import fpkit

    config = getattr(pipe, "fpkit_toy", {})
    lws = config.get("variant", {}).get("latent_window_size", 4)
    size = config.get("world", {}).get("size", 64)
    sampling_type = sampling_type or getattr(pipe, "fpkit_sampling_type", "vanilla")
    spec = None
    if "world" in config:
        from .world import WorldSpec

        spec = WorldSpec.from_dict(config["world"])
    if "history" in config.get("variant", {}) and "history" not in kwargs:
        # the history sizes it was trained with (f1-h1: 1/1/4); fpkit.sample defaults to 1/2/16
        kwargs["history"] = fpkit.HistorySpec(**config["variant"]["history"])
    return fpkit.sample(pipe, image=start_image(seed, spec), prompt=getattr(pipe, "fpkit_prompt", ""),
                        height=size, width=size, num_frames=num_sections * lws * pipe.vae_scale_factor_temporal,
                        latent_window_size=lws, num_inference_steps=num_inference_steps,
                        sampling_type=sampling_type, generator=torch.Generator().manual_seed(noise_seed),
                        record="none", **kwargs)


def likeness(pipe, seeds=None, num_sections: int | None = None, sampling_type: str | None = None,
             num_inference_steps: int = 12) -> pd.DataFrame:
    """`compare_to_world` for short generations (default: 1x the training clip length) from several
    start images: one row per seed, the `passes` flattened to `pass_<name>` columns."""
    config = getattr(pipe, "fpkit_toy", {})
    num_sections = num_sections or config.get("variant", {}).get("sections", [1, 3])[1]
    seeds = list(seeds) if seeds is not None else [EVAL_SEED_OFFSET + i for i in range(8)]
    rows = []
    for seed in seeds:
        result = compare_to_world(generate(pipe, seed, num_sections, sampling_type, num_inference_steps).video,
                                  seed=seed)
        passes = result.pop("passes")
        rows.append({"seed": seed, **result, **{f"pass_{k}": v for k, v in passes.items()}})
    return pd.DataFrame(rows)


def drift_vs_length(pipe, seeds=None, lengths=(1, 4), sampling_type: str = "vanilla",
                    num_inference_steps: int = 12) -> pd.DataFrame:
    """Sample each seed at `lengths` x the training clip length and measure drift and likeness.

    Returns a long table (seed, length, num_frames, metric, value). The training clip length is the
    variant's longest training plan (config `variant.sections[1]` sections)."""
    config = getattr(pipe, "fpkit_toy", {})
    train_sections = config.get("variant", {}).get("sections", [1, 3])[1]
    seeds = list(seeds) if seeds is not None else [EVAL_SEED_OFFSET + i for i in range(4)]
    rows = []
    for seed in seeds:
        for length in lengths:
            run = generate(pipe, seed, int(round(length * train_sections)), sampling_type, num_inference_steps)
            video = run.video
            values = {**drift(video), **{k: v for k, v in compare_to_world(video, seed=seed).items()
                                          if isinstance(v, float)}}
            # the last 15% of frames against the real clip's last frames: how far the end wandered
            tail = max(1, int(round(0.15 * video.shape[0])))
            end = compare_to_world(video[-tail:], reference=real_video(seed, video.shape[0])[-tail:])
            values.update({f"end_{k}": v for k, v in end.items() if isinstance(v, float)})
            rows += [dict(seed=seed, length=length, num_frames=video.shape[0], metric=k, value=v)
                     for k, v in values.items()]
    return pd.DataFrame(rows)


def drift_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds: one row per metric, one column per length."""
    return table.pivot_table(index="metric", columns="length", values="value", aggfunc="mean")
