"""Train the toy FramePack organism: flow matching on sections cut from world clips, every packed
context built by fpkit's own planning code (planning.plan -> sampler.make_canvas ->
sampler.context_inputs), exactly what the sampler feeds the transformer at generation time.

    python -m fpkit.toy train --variant f1 --minutes 45 --seed 0 --out runs/f1

One step (nanoGPT style, all in this file):
  1. draw a plan for the variant's strategy (num_sections from its range, optional last image) and a
     section of it (any generation order), and B fresh world clips of the plan's length;
  2. encode the clips with the codec; the canvas gets the start latent, the last image, and the ground
     truth of every section generated BEFORE this one (per plan order; others stay zero); `+D`
     variants snap those history latents to a K-means codebook;
  3. x_t = (1 - s) x0 + s eps on the section's window, s ~ logit-normal then time-shifted like the
     sampler's dynamic-mu rule; the model predicts eps - x0 at timestep s * 1000 (MSE);
  4. AdamW step, EMA update; checkpoints (EMA weights, fp16) every few minutes and at the end.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import planning, sampler
from ..planning import HistorySpec
from ..schedule import dynamic_mu, shift_sigmas
from .codec import check_whitening, fit_codec, round_trip_psnr
from .organism import PROMPT_BANK, TRANSFORMER_CONFIG, _atomic_safetensors, build_pipeline, save_organism
from .world import EVAL_SEED_OFFSET, WorldSpec, heading_prompt, render_clips


@dataclass(frozen=True)
class Variant:
    """A trainable organism: which layout it learns and how its training data is cut."""

    name: str
    strategy: str  # the planning strategy whose sections it trains on (and samples with)
    history: HistorySpec = field(default_factory=HistorySpec)
    latent_window_size: int = 4
    sections: tuple[int, int] = (1, 3)  # num_sections of training plans, inclusive range
    # Extra strategies mixed into training (same layout family), with their probability.
    also: tuple[tuple[str, float], ...] = ()
    last_image: float = 0.0  # probability that a plan has a last image (bidirectional layouts)
    codebook: int = 0  # K of the history discretization codebook (0 = off; paper's "+D")
    clips: int = 0  # number of distinct training clips (0 = a fresh clip every time)
    # Relative weight of generation order 0 when drawing the section to train on (1 = uniform over
    # orders). Order 0 is where sampling is hardest: no generated history, and in inverted plans the
    # far end, a pad*lws gap away from the only known frame.
    first_section_weight: float = 1.0
    description: str = ""

    def __post_init__(self):
        if self.strategy not in planning.STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; known: {sorted(planning.STRATEGIES)}")
        lo, hi = self.sections
        if not 1 <= lo <= hi:
            raise ValueError(f"sections must be a range 1 <= low <= high, got {self.sections!r}")
        if not self.first_section_weight > 0:  # NaN fails too
            raise ValueError(f"first_section_weight must be > 0, got {self.first_section_weight!r}")
        if not 0 <= self.last_image <= 1:
            raise ValueError(f"last_image must be a probability in [0, 1], got {self.last_image!r}")

    @property
    def clip_frames(self) -> int:
        """Longest training clip (latent = pixel frames): the 'training length'."""
        return 1 + self.sections[1] * self.latent_window_size

    def to_dict(self) -> dict:
        d = asdict(self)
        d["history"] = self.history.to_dict()
        d["clip_frames"] = self.clip_frames
        return d


# Inverted: the bidirectional layout over all generation orders of 1-4 section plans, a last image half
# the time, and a quarter of the steps on anti_drifting plans (same layout family: endpoints first,
# then fill). Up to 4 sections the released padding rule gives every window its true distance to the
# start anchor; from 5 sections on it caps the far end's gap at 3 windows whatever the plan's length,
# so plans of 5 and 6 sections (the v2 recipe, 11k steps) asked for the same layout with targets 12,
# 16 or 20 frames away, an ambiguity a small model averages into a blank far end.
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("inverted", "inverted_anti_drifting", sections=(1, 4), also=(("anti_drifting", 0.25),),
            last_image=0.5, first_section_weight=2.0, description="original FramePack: bi-directional context, inverted anti-drifting"),
    Variant("f1", "vanilla", sections=(1, 3), description="FramePack-F1: forward context, vanilla sampling; "
            "short training clips (13 frames) so sampling 4x longer shows drift"),
    Variant("f1+D", "vanilla", sections=(1, 3), codebook=128,
            description="F1 + history discretization (K-means codebook, K=128, over latent pixels)"),
    Variant("f1-h1", "vanilla", history=HistorySpec(k1=1, k2=1, k4=4), sections=(1, 3),
            description="F1 with a small history (1 / 1 / 4 frames at 1x / 2x / 4x)"),
    Variant("f1-long", "vanilla", sections=(1, 12),
            description="F1 trained on clips as long as the drift test samples (49 frames)"),
    Variant("f1-data", "vanilla", sections=(1, 3), clips=256,
            description="F1 on only 256 distinct clips (less data)"),
)}


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 200
    min_lr_ratio: float = 0.1  # cosine decay to lr * this over the planned steps
    ema: float = 0.999
    grad_clip: float = 1.0
    logit_normal_std: float = 1.0
    # Mean of the logit-normal noise-level draw (before the sampler's shift). The velocity loss weighs
    # an x0 error by 1 / s^2, so the low-noise steps (fine detail) dominate the gradient while a
    # sprite's position, hence its motion, is settled at high noise. 0 = SD3's default (shipped); 1
    # puts 53% of the steps above s = 0.8 instead of 18%.
    logit_normal_mean: float = 0.0
    frame_size: int = 64
    # 8x8 patches -> 16 PCA channels (31.4 dB; same 8x spatial ratio as HunyuanVideo's VAE): an 8x8
    # latent grid = 16 tokens per frame at patch 2, 104 visual tokens per section. Measured on 1 busy
    # core: 0.12 s per batch-8 step vs 0.30 s for 4x4 patches (16x16 latents, 416 tokens). 32 channels
    # (34.9 dB) made each token predict 2*2*32 = 128 numbers from a 128-wide model: after 2.4k steps
    # its samples were speckled with patch-coloured noise; 16 channels halve that output.
    codec_patch: int = 8
    codec_channels: int = 16
    codec_whitening: float = 1.0  # PatchPCACodec.whitening: 1 = unit-variance channels (v1-v3), 0 = PCA's own
    # Extra loss weight on latent pixels that change from the previous frame (the moving sprites):
    # weight 1 + motion_weight * mean over channels of |x0[t] - x0[t-1]|, normalised so the mean
    # weight is 1. Static background is exactly 0 (static camera); moving edges average ~0.55, on
    # ~15% of the latent pixels of the 4x4 codec. 0 = plain MSE (every shipped organism).
    motion_weight: float = 0.0
    # The first step of the schedule that uses motion_weight (steps before it train with plain MSE): a
    # motion-weighted tail in one command, e.g. `--motion-weight 10 --motion-weight-from 16000` (a warm
    # restart from a plain checkpoint at step >= STEP trains exactly as with `--motion-weight 10` alone). 0 =
    # every step.
    motion_weight_from: int = 0
    # Extra loss weight on latent pixels that differ from the start image's latent (where a sprite has
    # gone and where it now is): weight 1 + displacement_weight * mean over channels of
    # |x0[t] - x0[start]|, normalised like motion_weight (with which it adds up). Aimed at the inverted
    # far end, generated from the start image alone, whose sprites land short of where the world takes
    # them (results/toy_candidates/farend_reach/). 0 = plain MSE.
    displacement_weight: float = 0.0
    # The first step that uses displacement_weight (0 = every step), as motion_weight_from.
    displacement_weight_from: int = 0
    # A tail on another data cut: from step tail_from on (0 = never) the training plans are cut with these
    # values instead of the variant's own (None = the variant's), e.g. the inverted far end's case only:
    # tail_sections (3, 3), tail_last_image 0, tail_first_section_weight 12 (results/toy_candidates/farend_focus/).
    # A warm restart at or after tail_from trains exactly as a fine-tune (--init) on that cut.
    tail_from: int = 0
    tail_sections: tuple[int, int] | None = None
    tail_last_image: float | None = None
    tail_first_section_weight: float | None = None
    # Probability that a training clip's prompt is its heading prompt (`world.heading_prompt`: each
    # sprite's colour, shape, heading and speed in words) instead of a PROMPT_BANK prompt. 0 = never
    # (every shipped organism). A prompted organism samples with the heading prompt of its start image
    # (`evaluate.generate`); with a bank prompt it falls back on reading the trail.
    heading_prompt: float = 0.0
    save_every_s: float = 300.0

    def __post_init__(self):
        if not (isinstance(self.motion_weight, (int, float)) and math.isfinite(self.motion_weight)
                and self.motion_weight >= 0):
            raise ValueError(f"TrainConfig.motion_weight must be a finite number >= 0, got {self.motion_weight!r}")
        if not (isinstance(self.motion_weight_from, int) and not isinstance(self.motion_weight_from, bool)
                and self.motion_weight_from >= 0):
            raise ValueError(f"TrainConfig.motion_weight_from must be a step number >= 0, got {self.motion_weight_from!r}")
        if not (isinstance(self.displacement_weight, (int, float)) and not isinstance(self.displacement_weight, bool)
                and math.isfinite(self.displacement_weight) and self.displacement_weight >= 0):
            raise ValueError(f"TrainConfig.displacement_weight must be a finite number >= 0, "
                             f"got {self.displacement_weight!r}")
        for name in ("motion_weight_from", "displacement_weight_from", "tail_from"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise ValueError(f"TrainConfig.{name} must be a step number >= 0, got {value!r}")
        for name in ("motion_weight", "displacement_weight"):
            if getattr(self, f"{name}_from") and not getattr(self, name):
                raise ValueError(f"TrainConfig.{name}_from={getattr(self, f'{name}_from')} needs a {name} > 0 "
                                 "(it is the first step that uses it)")
        cut = self.tail_cut()
        if bool(self.tail_from) != bool(cut):
            raise ValueError(f"TrainConfig.tail_from={self.tail_from} and the tail's cut {cut} come together: a tail "
                             "needs its first step (> 0) and at least one of tail_sections, tail_last_image, "
                             "tail_first_section_weight")
        if self.tail_sections is not None and not (
                isinstance(self.tail_sections, tuple) and len(self.tail_sections) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) for n in self.tail_sections)):
            raise ValueError(f"TrainConfig.tail_sections must be a (low, high) pair of ints, got {self.tail_sections!r}")
        for name, value in cut.items():  # the checks a variant makes on its own cut
            try:
                Variant("tail", "vanilla", **{name: value})
            except (ValueError, TypeError) as err:
                raise ValueError(f"TrainConfig.tail_{name}: {err}") from None
        check_whitening(self.codec_whitening, "TrainConfig.codec_whitening")
        if not (isinstance(self.heading_prompt, (int, float)) and 0 <= self.heading_prompt <= 1):
            raise ValueError(f"TrainConfig.heading_prompt must be a probability in [0, 1], got {self.heading_prompt!r}")
        if not (isinstance(self.logit_normal_mean, (int, float)) and math.isfinite(self.logit_normal_mean)
                and abs(self.logit_normal_mean) <= 3):
            raise ValueError(f"TrainConfig.logit_normal_mean must be a finite number in [-3, 3], got {self.logit_normal_mean!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def tail_cut(self) -> dict:
        """The tail's data cut: {Variant field: value} for every tail_* value given."""
        values = dict(sections=self.tail_sections, last_image=self.tail_last_image,
                      first_section_weight=self.tail_first_section_weight)
        return {k: v for k, v in values.items() if v is not None}

    def variant_at(self, variant: "Variant", step: int) -> "Variant":
        """The variant whose data cut trains step `step`: the tail's cut from tail_from on, else its own."""
        return replace(variant, **self.tail_cut()) if self.tail_from and step >= self.tail_from else variant


# ---------------------------------------------------------------------------------------------
# Data: plans -> canvases -> transformer inputs.


def fit_codebook(latents: torch.Tensor, k: int, iters: int = 25, seed: int = 0) -> torch.Tensor:
    """K-means over latent pixels: (B, C, T, h, w) -> centroids (k, C) (paper v3's history codebook)."""
    x = latents.permute(0, 2, 3, 4, 1).reshape(-1, latents.shape[1])  # (N, C)
    g = torch.Generator().manual_seed(seed)
    centroids = x[torch.randperm(x.shape[0], generator=g)[:k]].clone()
    for _ in range(iters):
        assign = torch.cdist(x, centroids).argmin(1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).clamp_min(1).unsqueeze(1)
        centroids = torch.where(counts > 0, sums / counts, centroids)
    return centroids


def quantize(latents: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Replace every latent pixel of (B, C, T, h, w) by its nearest centroid."""
    x = latents.permute(0, 2, 3, 4, 1)
    flat = x.reshape(-1, x.shape[-1])
    q = centroids[torch.cdist(flat, centroids).argmin(1)].reshape(x.shape)
    return q.permute(0, 4, 1, 2, 3).contiguous()


def draw_plan(variant: Variant, rng: np.random.Generator, latent_size: tuple[int, int], patch_size: int):
    """A random training plan and the section to train on (any generation order)."""
    strategy = variant.strategy
    u = rng.random()
    for name, p in variant.also:
        if u < p:
            strategy = name
            break
        u -= p
    n = int(rng.integers(variant.sections[0], variant.sections[1] + 1))
    has_last = bool(planning.STRATEGY_TAKES_LAST_IMAGE[strategy] and rng.random() < variant.last_image)
    the_plan = planning.plan(strategy, n, variant.latent_window_size, latent_size, patch_size,
                             variant.history, has_last)
    weights = np.ones(the_plan.num_sections)
    weights[0] = variant.first_section_weight
    order = int(rng.choice(the_plan.num_sections, p=weights / weights.sum()))
    return the_plan, order


def section_batch(the_plan, order: int, latents: torch.Tensor, codebook: torch.Tensor | None = None) -> dict:
    """Transformer context + target for section `order` of `the_plan`, from clip latents
    (B, C, T, h, w) with T >= plan.num_latents (+1 with a last image). Only sections generated
    before this one are known (ground truth); everything else is zeros, as at sampling time."""
    n = the_plan.num_latents
    last = latents[:, :, n:n + 1] if the_plan.has_last_image else None
    canvas = sampler.make_canvas(the_plan, latents[:, :, 0:1], last, latents.shape[1])
    for earlier in the_plan.sections[:order]:
        a, b = earlier.window
        canvas[:, :, a:b] = latents[:, :, a:b] if codebook is None else quantize(latents[:, :, a:b], codebook)
    section = the_plan.sections[order]
    a, b = section.window
    context = sampler.context_inputs(canvas, section, torch.float32)
    # every window starts after frame 0 (the start image), so its previous frames exist
    motion = (latents[:, :, a:b] - latents[:, :, a - 1:b - 1]).abs().mean(1, keepdim=True)  # (B, 1, T, h, w)
    displacement = (latents[:, :, a:b] - latents[:, :, 0:1]).abs().mean(1, keepdim=True)  # from the start image
    return {"context": context, "x0": latents[:, :, a:b], "section": section, "motion": motion,
            "displacement": displacement}


class Conditioning:
    """Text and image conditioning computed by the pipeline's own encoders, as at sampling time."""

    def __init__(self, pipe, prompts=PROMPT_BANK):
        from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_framepack import DEFAULT_PROMPT_TEMPLATE

        self.pipe = pipe
        with torch.no_grad():
            embeds, pooled, mask = pipe.encode_prompt(prompt=list(prompts), prompt_template=DEFAULT_PROMPT_TEMPLATE,
                                                      device=torch.device("cpu"), max_sequence_length=256)
        # Crop the shared right padding: masked keys do not change attention, and the sampler's
        # batch-1 path crops to the effective length the same way.
        keep = int(mask.sum(1).max())
        self.embeds, self.mask, self.pooled = embeds[:, :keep], mask[:, :keep], pooled
        self._encoded = {}  # prompt -> (its embeddings cropped to its length, pooled), see `texts`

    def text(self, index: torch.Tensor) -> dict:
        return dict(encoder_hidden_states=self.embeds[index], encoder_attention_mask=self.mask[index],
                    pooled_projections=self.pooled[index])

    @torch.no_grad()
    def texts(self, prompts: list[str]) -> dict:
        """`text` for arbitrary prompts (heading prompts): each encoded once, alone (as the sampler
        encodes its one prompt), cropped to its own length, then right-padded with masked zeros."""
        from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_framepack import DEFAULT_PROMPT_TEMPLATE

        for prompt in set(prompts) - set(self._encoded):
            embeds, pooled, mask = self.pipe.encode_prompt(prompt=[prompt], prompt_template=DEFAULT_PROMPT_TEMPLATE,
                                                           device=torch.device("cpu"), max_sequence_length=256)
            self._encoded[prompt] = (embeds[0, :int(mask.sum())], pooled[0])
        width = max(self._encoded[p][0].shape[0] for p in prompts)
        embeds = torch.zeros(len(prompts), width, self.embeds.shape[-1])
        mask = torch.zeros(len(prompts), width, dtype=self.mask.dtype)
        for i, prompt in enumerate(prompts):
            e = self._encoded[prompt][0]
            embeds[i, :e.shape[0]], mask[i, :e.shape[0]] = e, 1
        pooled = torch.stack([self._encoded[p][1] for p in prompts])
        return dict(encoder_hidden_states=embeds, encoder_attention_mask=mask, pooled_projections=pooled)

    @torch.no_grad()
    def image(self, first_frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> SigLIP embeddings, exactly `pipe.encode_image`."""
        return self.pipe.encode_image(first_frames, device=torch.device("cpu")).float()


def draw_sigmas(batch_size: int, generator: torch.Generator, cfg: TrainConfig, shift: float) -> torch.Tensor:
    """Training noise levels (B,): logit-normal(cfg.logit_normal_mean, cfg.logit_normal_std), then the
    sampler's time shift, so training sees the noise levels sampling will visit."""
    u = torch.randn(batch_size, generator=generator) * cfg.logit_normal_std + cfg.logit_normal_mean
    return torch.from_numpy(shift_sigmas(torch.sigmoid(u).numpy(), shift)).float()


def flow_matching_loss(transformer, cond: Conditioning, batch: dict, prompts: torch.Tensor | list[str],
                       image_embeds: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor,
                       motion_weight: float = 0.0, displacement_weight: float = 0.0) -> torch.Tensor:
    """MSE between the predicted and the true velocity eps - x0 at x_t = (1 - s) x0 + s eps; with
    `motion_weight` / `displacement_weight`, a weighted mean that counts moving latent pixels / pixels
    that differ from the start image more (TrainConfig.motion_weight, .displacement_weight).
    `prompts`: indices into the conditioning's prompt bank, or the prompts themselves."""
    x0 = batch["x0"]
    s = sigma.view(-1, 1, 1, 1, 1)
    x_t = (1 - s) * x0 + s * noise
    text = cond.texts(prompts) if isinstance(prompts, list) else cond.text(prompts)
    pred = transformer(hidden_states=x_t, timestep=sigma * 1000.0, image_embeds=image_embeds, guidance=None,
                       return_dict=False, **text, **batch["context"])[0]
    err = (pred.float() - (noise - x0)) ** 2
    if not motion_weight and not displacement_weight:
        return torch.mean(err)
    weight = 1 + motion_weight * batch["motion"]  # broadcast over channels
    if displacement_weight:
        weight = weight + displacement_weight * batch["displacement"]
    return (err * weight).sum() / (weight.sum() * err.shape[1])


class Data:
    """World clips -> codec latents, drawn deterministically from one numpy generator."""

    def __init__(self, variant: Variant, codec, spec: WorldSpec, rng: np.random.Generator,
                 codebook: torch.Tensor | None, patch_size: int):
        self.variant, self.codec, self.spec, self.rng = variant, codec, spec, rng
        self.codebook, self.patch_size = codebook, patch_size
        self.latent_size = (spec.size // codec.spatial_compression_ratio,) * 2
        self.pool = rng.integers(0, EVAL_SEED_OFFSET, variant.clips) if variant.clips else None

    def seeds(self, batch_size: int) -> np.ndarray:
        if self.pool is not None:
            return self.pool[self.rng.integers(0, len(self.pool), batch_size)]
        return self.rng.integers(0, EVAL_SEED_OFFSET, batch_size)

    @torch.no_grad()
    def batch(self, batch_size: int, seeds=None, variant: Variant | None = None) -> tuple[dict, torch.Tensor]:
        """A batch of `variant`'s data cut (default: the data's own variant; a tail's cut, `TrainConfig.variant_at`)."""
        the_plan, order = draw_plan(variant or self.variant, self.rng, self.latent_size, self.patch_size)
        seeds = self.seeds(batch_size) if seeds is None else seeds
        frames = the_plan.num_latents + int(the_plan.has_last_image)
        videos = render_clips(seeds, frames, self.spec)  # (B, 3, T, H, W) in [-1, 1]
        latents = self.codec.encode(videos).latent_dist.sample() * self.codec.config.scaling_factor
        return dict(section_batch(the_plan, order, latents, self.codebook), seeds=np.asarray(seeds)), videos[:, :, 0]


# What a fine-tune (`--init`) may change: how the training data is cut, never the layout the
# weights were trained to read (strategy, history, window) or what the history holds (codebook).
DATA_CUT_FIELDS = ("sections", "clip_frames", "also", "last_image", "clips", "first_section_weight", "description")


# Config keys added after checkpoints were shipped, with the value every earlier checkpoint used.
ADDED_LATER = {"codec": {"whitening": 1.0}}


def _warm_restart(folder, variant: Variant, spec: WorldSpec, pipe, data: "Data",
                  fine_tune: bool = False, relayout: bool = False) -> tuple[int, list]:
    """Load a checkpoint's EMA weights into `pipe.transformer` and re-seed the data stream; returns
    (step reached, its loss curve expanded back to per-step values, its meta). `fine_tune` lets the
    variant differ in how its data is cut (`DATA_CUT_FIELDS`), `relayout` (with `fine_tune`) in anything
    (another variant starting from these weights); the model, codec and world must always match."""
    import json

    from safetensors.torch import load_file

    folder, weights, snapshot_step = Path(folder), None, None
    if folder.is_file():  # a snapshot of a run: RUN/snapshots/step_NNNNNNN.safetensors
        if folder.parent.name != "snapshots" or not folder.stem.startswith("step_") or not folder.stem[5:].isdigit():
            raise ValueError(f"--resume/--init {str(folder)!r}: a file must be a run's snapshots/step_N.safetensors")
        weights, snapshot_step, folder = folder, int(folder.stem[5:]), folder.parent.parent
    try:
        config = json.loads((folder / "config.json").read_text())
        meta = json.loads((folder / "meta.json").read_text())
        state = load_file(str(weights or folder / "transformer.safetensors"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"--resume {str(folder)!r} is not a readable toy checkpoint folder: {exc}") from exc
    if snapshot_step is not None:  # continue from the snapshot's step: the run's later steps are not used
        # (a snapshot can be newer than the run's last periodic checkpoint: its loss curve ends there)
        meta = dict(meta, steps=snapshot_step, loss_curve=meta.get("loss_curve", [])[:snapshot_step // 100])
    model = {"transformer": _public(pipe.transformer.config), "codec": _public(data.codec.config)}
    for key, want in (("variant", variant.to_dict()), ("world", spec.to_dict()), *model.items()):
        want, have = json.loads(json.dumps(want)), config.get(key) or {}
        have = {**ADDED_LATER.get(key, {}), **have}  # folders written before a key existed had its default
        differ = {k: (have.get(k), want.get(k)) for k in sorted(set(want) | set(have)) if have.get(k) != want.get(k)}
        if fine_tune and key == "variant":
            differ = {} if relayout else {k: v for k, v in differ.items() if k not in DATA_CUT_FIELDS}
        if differ:
            how = ("a fine-tune (--init) may change only " + ", ".join(DATA_CUT_FIELDS)
                   + " (--relayout: another variant starts from these weights)" if fine_tune and key == "variant"
                   else "the weights only fit the same model and codec (--codec-patch, --heads, --blocks)" if key in model
                   else "a warm restart must continue the same training (--init fine-tunes with a new data cut)")
            raise ValueError(f"{'--init' if fine_tune else '--resume'} {str(folder)!r}: its {key} config differs "
                             f"from this run's (key: (checkpoint, this run)) {differ}; {how}")
    pipe.transformer.load_state_dict({k: v.float() for k, v in state.items()})
    step = int(meta["steps"])
    data.rng = np.random.default_rng([int(meta.get("seed", 0)), step])
    losses = [v for v in meta.get("loss_curve", []) for _ in range(100)][:step]
    losses += [float("nan")] * (step - len(losses))  # steps past the last checkpoint's curve (a newer snapshot)
    return step, losses, meta


def _public(config) -> dict:
    """A diffusers config without its private (_class_name, ...) keys."""
    return {k: v for k, v in dict(config).items() if not k.startswith("_")}


def _mean(values) -> float | None:
    """Mean of the finite values (None when there are none: steps with no recorded loss)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else None


def lr_at(step: int, progress: float, cfg: TrainConfig) -> float:
    """Linear warmup over `cfg.warmup` steps, then cosine decay to lr * min_lr_ratio at progress 1."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, max(0.0, progress))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def annealed(lr: float, step: int, end: int, anneal: int, lr_min: float) -> float:
    """Warmup-stable-decay "cooldown": over the last `anneal` steps before `end`, move `lr`
    linearly to `lr_min` (reached at the last step, end - 1); unchanged before that or if anneal is 0."""
    start = end - anneal
    if not anneal or step < start:
        return lr
    return lr + (lr_min - lr) * (step - start + 1) / anneal


# ---------------------------------------------------------------------------------------------
# The training run.


def setup(variant: Variant, seed: int, cfg: TrainConfig, spec: WorldSpec, transformer_config: dict | None = None):
    """Codec, pipeline, conditioning, codebook and data stream for a run (all deterministic in seed)."""
    codec = fit_codec(num_clips=64, num_frames=8, seed=seed, spec=spec, latent_channels=cfg.codec_channels,
                      patch_size=cfg.codec_patch, whitening=cfg.codec_whitening)
    pipe = build_pipeline(codec, transformer_config, seed=seed)
    rng = np.random.default_rng(seed)
    codebook = None
    if variant.codebook:
        # its own stream: the data rng must give +D exactly the clips, plans and orders of its base
        sample_seeds = np.random.default_rng([seed, 1]).integers(0, EVAL_SEED_OFFSET, 64)
        with torch.no_grad():
            lat = codec.encode(render_clips(sample_seeds, 8, spec)).latent_dist.mode()
        codebook = fit_codebook(lat, variant.codebook, seed=seed)
    data = Data(variant, codec, spec, rng, codebook, pipe.transformer.config.patch_size)
    return pipe, Conditioning(pipe), data, codebook


def train(variant: str | Variant = "f1", steps: int | None = None, minutes: float | None = None, seed: int = 0,
          out_dir=None, config: TrainConfig | None = None, spec: WorldSpec | None = None,
          transformer_config: dict | None = None, threads: int | None = None, progress: bool = True,
          command: str | None = None, resume=None, snapshot_every: int = 0, init=None,
          stop_at: int | None = None, anneal: int = 0, relayout: bool = False) -> dict:
    """Train a variant for `steps` steps and/or `minutes` of wall time (whichever ends first).

    The cosine LR schedule follows the fraction done: step / steps when `steps` is given (fully
    deterministic for a seed), else elapsed / minutes (a time budget on a shared machine: the step
    count depends on the load; meta.json records it, and `--steps N` with that N reproduces the data,
    noise and init exactly, the LR curve up to timing). `resume` continues a run (same variant);
    `init` fine-tunes a checkpoint with another data cut (`DATA_CUT_FIELDS`: e.g. shorter plans),
    counting on from its step so budgets stay comparable; with `relayout` the checkpoint may be another
    variant (e.g. the inverted organism started from f1's weights, which already draw the world: the
    checkpoint's steps count in the budget). `stop_at`: end at this step, on the schedule
    of `steps` (a long schedule in session-sized chunks: every variant stopped and resumed at the same
    steps sees the same data). Returns the meta dict (losses, steps, ...).
    """
    variant = VARIANTS[variant] if isinstance(variant, str) else variant
    if steps is None and minutes is None:
        raise ValueError("give steps and/or minutes")
    if resume is not None and init is not None:
        raise ValueError("give --resume or --init, not both")
    if relayout and init is None:
        raise ValueError("--relayout needs --init (the checkpoint whose weights the new variant starts from)")
    if stop_at is not None and (steps is None or not 0 < stop_at <= steps):
        raise ValueError(f"--stop-at needs --steps and 0 < stop-at <= steps, got stop_at={stop_at!r}, steps={steps!r}")
    if not (isinstance(anneal, int) and anneal >= 0) or (anneal and steps is None):
        raise ValueError(f"--anneal needs --steps and a number of steps >= 0, got anneal={anneal!r}, steps={steps!r}")
    if anneal and anneal > (stop_at if stop_at is not None else steps):
        raise ValueError(f"--anneal {anneal} is longer than the run (it stops at step {stop_at or steps})")
    cfg, spec = config or TrainConfig(), spec or WorldSpec(size=(config or TrainConfig()).frame_size)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    pipe, cond, data, codebook = setup(variant, seed, cfg, spec, transformer_config)
    transformer = pipe.transformer.train().requires_grad_(True)
    start_step, losses, noise_gen = 0, [], torch.Generator().manual_seed(seed)
    if resume is not None or init is not None:
        start_step, losses, previous = _warm_restart(resume if init is None else init, variant, spec, pipe, data,
                                                     fine_tune=init is not None, relayout=relayout)
        noise_gen.manual_seed(int(np.random.default_rng([seed, start_step]).integers(2 ** 62)))
    heading_rng = np.random.default_rng([seed, 2, start_step])
    end = stop_at if stop_at is not None else steps
    if anneal and anneal > end - start_step:
        raise ValueError(f"--anneal {anneal} is longer than this run ({end - start_step} steps from step {start_step} to {end})")
    params = [p for p in transformer.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    ema = {k: v.detach().clone().float() for k, v in transformer.state_dict().items()}
    lws = variant.latent_window_size
    noisy_tokens = lws * data.latent_size[0] * data.latent_size[1] / transformer.config.patch_size ** 2
    shift = math.exp(dynamic_mu(noisy_tokens, pipe.scheduler.config))  # the sampler's shift for this window

    total = steps
    budget = minutes * 60 if minutes is not None else float("inf")
    bar = tqdm(total=total, desc=f"toy {variant.name}", disable=not progress, dynamic_ncols=True)
    t0, last_save, step = time.perf_counter(), time.perf_counter(), start_step
    bar.update(start_step)
    meta = {}
    if resume is not None or init is not None:  # keep the chain of commands that made these weights
        meta["resumed_from"] = {"folder": str(resume if init is None else init), "step": start_step,
                                "command": previous.get("command"), "max_steps": previous.get("max_steps"),
                                "resumed_from": previous.get("resumed_from"), "fine_tune": init is not None,
                                "variant": previous.get("variant"), "relayout": relayout}

    def checkpoint(final: bool):
        elapsed = time.perf_counter() - t0
        meta.update(
            variant=variant.name, command=command or "", seed=seed, steps=step, max_steps=total, minutes=minutes,
            wall_time_s=round(elapsed, 1), steps_per_s=round((step - start_step) / max(elapsed, 1e-9), 3),
            final_loss=_mean(losses[-200:]),
            loss_curve=[None if (m := _mean(losses[i:i + 100])) is None else round(m, 4)
                        for i in range(0, len(losses), 100)],
            codec_psnr_db=round(round_trip_psnr(data.codec, render_clips(range(EVAL_SEED_OFFSET,
                                                EVAL_SEED_OFFSET + 8), 16, spec)), 2),
            num_parameters=sum(p.numel() for p in transformer.parameters()), threads=torch.get_num_threads(),
            flow_shift=round(shift, 4), finished=final and step >= (total or 0), torch=torch.__version__,
            anneal=anneal)
        if out_dir is not None:
            config_out = dict(variant=variant.to_dict(), train=cfg.to_dict(), world=spec.to_dict(),
                              transformer=dict(pipe.transformer.config), codec=dict(data.codec.config),
                              prompt_bank=list(PROMPT_BANK))
            config_out["transformer"] = _public(config_out["transformer"])
            config_out["codec"] = _public(config_out["codec"])
            save_organism(out_dir, pipe, ema, config_out, meta)
            if codebook is not None:  # not needed to sample; kept to inspect what the history was snapped to
                _atomic_safetensors(Path(out_dir) / "codebook.safetensors", {"centroids": codebook})

    while True:
        elapsed = time.perf_counter() - t0
        if (total is not None and step >= total) or elapsed >= budget or (stop_at is not None and step >= stop_at):
            break
        batch, first_frames = data.batch(cfg.batch_size, variant=cfg.variant_at(variant, step))
        b = first_frames.shape[0]
        prompt_index = torch.from_numpy(data.rng.integers(0, len(PROMPT_BANK), b))
        prompts = prompt_index
        if cfg.heading_prompt:  # its own stream, so the data, plans and noise stay those of the unprompted run
            use = heading_rng.random(b) < cfg.heading_prompt
            prompts = [heading_prompt(int(s), spec) if u else PROMPT_BANK[int(i)]
                       for s, u, i in zip(batch["seeds"], use, prompt_index)]
        image_embeds = cond.image(first_frames)
        sigma = draw_sigmas(b, noise_gen, cfg, shift)
        noise = torch.randn(batch["x0"].shape, generator=noise_gen)
        progress_done = max(step / total if total else 0.0, elapsed / budget if minutes is not None else 0.0)
        lr = lr_at(step, progress_done, cfg)
        if start_step and step - start_step < cfg.warmup:  # warm restart: fresh Adam moments, warm up again
            lr *= (step - start_step + 1) / cfg.warmup
        lr = annealed(lr, step, end, anneal, cfg.lr * cfg.min_lr_ratio) if anneal else lr
        for group in opt.param_groups:
            group["lr"] = lr
        motion_weight = cfg.motion_weight if step >= cfg.motion_weight_from else 0.0
        displacement_weight = cfg.displacement_weight if step >= cfg.displacement_weight_from else 0.0
        loss = flow_matching_loss(transformer, cond, batch, prompts, image_embeds, sigma, noise, motion_weight,
                                  displacement_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        decay = min(cfg.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in transformer.state_dict().items():
                ema[k].mul_(decay).add_(v.float(), alpha=1 - decay)
        losses.append(loss.item())
        step += 1
        bar.update()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-100:]):.4f}", lr=f"{lr:.1e}")
        if out_dir is not None and time.perf_counter() - last_save > cfg.save_every_s:
            checkpoint(final=False)
            last_save = time.perf_counter()
        if out_dir is not None and snapshot_every and step % snapshot_every == 0:
            (Path(out_dir) / "snapshots").mkdir(parents=True, exist_ok=True)
            _atomic_safetensors(Path(out_dir) / "snapshots" / f"step_{step:07d}.safetensors",
                                {k: v.half() for k, v in ema.items()})
    bar.close()
    checkpoint(final=True)
    transformer.load_state_dict(ema)
    transformer.eval().requires_grad_(False)
    meta["pipe"] = pipe
    return meta


def main(argv=None) -> int:
    """`fpkit toy train --variant NAME [--minutes M] [--steps N] [--seed S] [--out DIR]`."""
    parser = argparse.ArgumentParser(prog="fpkit toy train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="f1", choices=sorted(VARIANTS))
    parser.add_argument("--minutes", type=float, default=None, help="wall-time budget (default 45 if no --steps)")
    parser.add_argument("--steps", type=int, default=None, help="number of steps (sets the LR schedule)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="checkpoint folder (default fpkit/toy/checkpoints/VARIANT)")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--codec-patch", type=int, default=TrainConfig.codec_patch, choices=(4, 8),
                        help="codec patch size: 4 (16x16 latent grid, the shipped v3, v4 and v5 organisms) or 8 (8x8: the v2 recipe, 1/4 the tokens)")
    parser.add_argument("--codec-whitening", type=float, default=TrainConfig.codec_whitening, metavar="A",
                        help="codec channel variances eigval ** (1 - A), mean 1: 1 = unit-variance channels "
                             "(shipped), 0 = PCA's own (coarse content dominates, generation runs coarse to fine)")
    parser.add_argument("--motion-weight", type=float, default=TrainConfig.motion_weight, metavar="W",
                        help="extra loss weight on moving latent pixels (1 + W x frame-to-frame change; 0 = plain MSE)")
    parser.add_argument("--motion-weight-from", type=int, default=TrainConfig.motion_weight_from, metavar="STEP",
                        help="with --motion-weight: the first step of the schedule that uses it (a motion-weighted "
                             "tail; earlier steps train with plain MSE; 0 = every step)")
    parser.add_argument("--displacement-weight", type=float, default=TrainConfig.displacement_weight, metavar="W",
                        help="extra loss weight on latent pixels that differ from the start image (1 + W x "
                             "the change since the start image; adds to --motion-weight; 0 = plain MSE)")
    parser.add_argument("--displacement-weight-from", type=int, default=TrainConfig.displacement_weight_from,
                        metavar="STEP", help="with --displacement-weight: the first step that uses it (0 = every step)")
    parser.add_argument("--tail-from", type=int, default=TrainConfig.tail_from, metavar="STEP",
                        help="from this step on, cut the training plans with the --tail-* values instead of the "
                             "variant's own (a tail on another data cut in one command; 0 = no tail)")
    parser.add_argument("--tail-sections", type=int, nargs=2, default=None, metavar=("LO", "HI"),
                        help="with --tail-from: the tail's plan lengths in sections (as --sections)")
    parser.add_argument("--tail-last-image", type=float, default=None, metavar="P",
                        help="with --tail-from: the tail's share of plans with a last image (as --last-image)")
    parser.add_argument("--tail-first-section-weight", type=float, default=None, metavar="W",
                        help="with --tail-from: the tail's weight of generation order 0 (as --first-section-weight)")
    parser.add_argument("--logit-mean", type=float, default=TrainConfig.logit_normal_mean, metavar="M",
                        help="mean of the logit-normal noise-level draw (> 0 trains more at high noise, where "
                             "positions and motion are settled; 0 = shipped)")
    parser.add_argument("--heading-prompt", type=float, default=TrainConfig.heading_prompt, metavar="P",
                        help="probability that a clip's prompt names each sprite's colour, shape, heading and speed "
                             "(fpkit.toy.world.heading_prompt) instead of a generic one; the organism then samples "
                             "with its start image's heading prompt (0 = shipped)")
    parser.add_argument("--heads", type=int, default=TRANSFORMER_CONFIG["num_attention_heads"],
                        help="attention heads (model width = heads x --head-dim)")
    parser.add_argument("--head-dim", type=int, default=TRANSFORMER_CONFIG["attention_head_dim"], choices=(16, 32, 64),
                        help="dims per attention head (RoPE axes scaled with it: 8/12/12 at 32); with --heads, "
                             "--heads 8 --head-dim 16 keeps the width of the shipped 4 x 32")
    parser.add_argument("--blocks", type=int, default=TRANSFORMER_CONFIG["num_layers"], metavar="N",
                        help="depth: N dual-stream and N single-stream transformer blocks")
    parser.add_argument("--history", type=int, nargs=3, default=None, metavar=("K1", "K2", "K4"),
                        help="history frames at 1x / 2x / 4x compression (default: the variant's, 1 / 2 / 16 "
                             "for f1, as released). The toy codec has no temporal compression, so one 1x latent "
                             "frame is one pixel frame (HunyuanVideo's covers 4): --history 4 2 16 gives the toy "
                             "the released checkpoints' 4 pixel frames at full resolution")
    parser.add_argument("--sections", type=int, nargs=2, default=None, metavar=("LO", "HI"),
                        help="lengths of the training plans in sections, inclusive (default: the variant's, 1 3 for "
                             "the F1 variants, 1 4 for inverted); HI sets the training length the organism is "
                             "evaluated at and, for inverted plans, how far the far end lies from the start image")
    parser.add_argument("--last-image", type=float, default=None, metavar="P",
                        help="probability that a training plan has a given last image (default: the variant's, "
                             "0.5 for inverted; the F1 layouts take none). Sampling without one, as every "
                             "evaluation does, is the other 1 - P")
    parser.add_argument("--first-section-weight", type=float, default=None, metavar="W",
                        help="weight of generation order 0 against 1 for each later order when drawing the "
                             "section to train on (default: the variant's, 2 for inverted: its far end)")
    parser.add_argument("--world-speed", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                        help=f"sprite speed range of the training world in px/frame (default {WorldSpec.speed[0]} "
                             f"{WorldSpec.speed[1]}); kept in config.json, so evaluation scores against this world")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="warm restart from a checkpoint folder (its EMA weights and step count) or from one "
                             "of its snapshots (DIR/snapshots/step_N.safetensors: from step N)")
    parser.add_argument("--stop-at", type=int, default=None, metavar="N",
                        help="stop at step N of the --steps schedule (resume later with --resume)")
    parser.add_argument("--anneal", type=int, default=0, metavar="N",
                        help="cool the LR down linearly to its minimum over the last N steps before the stop "
                             "(a branch to evaluate or ship; continue the long schedule from the un-annealed snapshot)")
    parser.add_argument("--init", default=None, metavar="DIR",
                        help="fine-tune a checkpoint folder's EMA weights with this variant's data cut "
                             "(plans, weights; same layout and world), counting on from its step")
    parser.add_argument("--relayout", action="store_true",
                        help="with --init: the checkpoint may be another variant (same model, codec and world), "
                             "e.g. the inverted organism from f1's weights; its steps count in the budget")
    parser.add_argument("--snapshot-every", type=int, default=0, metavar="N",
                        help="keep the EMA weights every N steps in OUT/snapshots (likeness-vs-steps curves)")
    args = parser.parse_args(argv)
    from .organism import CHECKPOINT_DIR

    minutes = args.minutes if args.minutes is not None or args.steps is not None else 45.0
    out = args.out or str(CHECKPOINT_DIR / args.variant)
    command = "fpkit toy train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if args.batch_size < 1 or args.heads < 1 or args.blocks < 1:
        parser.error(f"--batch-size, --heads and --blocks must be >= 1, got {args.batch_size}, {args.heads} and {args.blocks}")
    try:
        cfg = replace(TrainConfig(), batch_size=args.batch_size, codec_patch=args.codec_patch, codec_whitening=args.codec_whitening,
                      motion_weight=args.motion_weight, motion_weight_from=args.motion_weight_from,
                      displacement_weight=args.displacement_weight,
                      displacement_weight_from=args.displacement_weight_from, tail_from=args.tail_from,
                      tail_sections=None if args.tail_sections is None else tuple(args.tail_sections),
                      tail_last_image=args.tail_last_image, tail_first_section_weight=args.tail_first_section_weight,
                      logit_normal_mean=args.logit_mean,
                      heading_prompt=args.heading_prompt)
    except ValueError as err:
        parser.error(str(err))
    variant = VARIANTS[args.variant]
    if args.history is not None:
        try:
            history = HistorySpec(*args.history, padding=variant.history.padding)
        except ValueError as err:
            parser.error(f"--history {' '.join(map(str, args.history))}: {err}")
        if history.k1 < 1:
            parser.error(f"--history: K1 must be >= 1 (the frame before the window), got {history.k1}")
        variant = replace(variant, history=history)
    if args.sections is not None:
        try:
            variant = replace(variant, sections=tuple(args.sections))
        except ValueError as err:
            parser.error(f"--sections {' '.join(map(str, args.sections))}: {err}")
    takes_last = any(planning.STRATEGY_TAKES_LAST_IMAGE[st] for st in (variant.strategy, *dict(variant.also)))
    if args.last_image is not None and not takes_last:
        parser.error(f"--last-image: the {args.variant} variant's {variant.strategy} plans take no last image")
    if args.tail_last_image is not None and not takes_last:
        parser.error(f"--tail-last-image: the {args.variant} variant's {variant.strategy} plans take no last image")
    for flag, name in (("--last-image", "last_image"), ("--first-section-weight", "first_section_weight")):
        value = getattr(args, name)
        if value is not None:
            try:
                variant = replace(variant, **{name: value})
            except ValueError as err:
                parser.error(f"{flag} {value}: {err}")
    spec = None
    if args.world_speed is not None:
        try:
            spec = WorldSpec(size=cfg.frame_size, speed=tuple(args.world_speed))
        except ValueError as err:
            parser.error(f"--world-speed {' '.join(map(str, args.world_speed))}: {err}")
    rope = tuple(a * args.head_dim // TRANSFORMER_CONFIG["attention_head_dim"] for a in TRANSFORMER_CONFIG["rope_axes_dim"])
    shape = {"num_attention_heads": args.heads, "num_layers": args.blocks, "num_single_layers": args.blocks,
             "attention_head_dim": args.head_dim, "rope_axes_dim": rope}
    shape = {k: v for k, v in shape.items() if v != TRANSFORMER_CONFIG[k]} or None
    meta = train(variant, steps=args.steps, minutes=minutes, seed=args.seed, out_dir=out, config=cfg,
                 spec=spec, transformer_config=shape,
                 threads=args.threads, progress=not args.no_progress, command=command, resume=args.resume,
                 snapshot_every=args.snapshot_every, init=args.init, stop_at=args.stop_at, anneal=args.anneal,
                 relayout=args.relayout)
    print(f"{args.variant}: {meta['steps']} steps in {meta['wall_time_s']} s, final loss {meta['final_loss'] if meta['final_loss'] is None else round(meta['final_loss'], 4)} "
          f"-> {out}")
    return 0
