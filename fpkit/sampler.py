"""The section loop: executes a Plan over a HunyuanVideoFramepackPipeline's own components and
emits events. `fpkit.sample(pipe, ...)` takes every keyword of the pipeline's `__call__` with the
same meaning and returns the same video (bit for bit on the same components) plus a Trace."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import PIL.Image
import torch
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback

from . import planning
from .methods import Context, Sites, SiteState
from .methods import resolve as resolve_methods
from .pipelines import execution_device, warn_if_mismatched
from .schedule import SchedulePlanner
from .threads import check_threads, cpu_threads, sampling_threads
from .trace import (
    RunEnded,
    RunStarted,
    SectionEnded,
    SectionStarted,
    StepEnded,
    Trace,
    TraceRecorder,
    check_record_every,
    normalize_record,
    observe,
)

OUTPUT_TYPES = ("pt", "np", "pil", "latent")
_DEFAULT_TEMPLATE = object()  # "use the pipeline module's DEFAULT_PROMPT_TEMPLATE"


@dataclass
class Run:
    """One sampled video. videos: (B, T, 3, H, W) in [0, 1] on the CPU, in the VAE's float dtype
    (float32 unless the VAE runs in half precision; None for output_type="latent"); latents:
    (B, C, N, h, w) the whole latent video; frames: the output in `output_type`'s format, as
    `pipe(...).frames` holds it (for "latent": one cumulative latent video per section, in
    generation order, as diffusers returns). Like diffusers' output, `run[0]` is `frames` and
    `(frames,) = run` unpacks, so `return_dict=False` call sites keep working."""

    videos: torch.Tensor | None
    latents: torch.Tensor
    trace: Trace
    frames: Any = None
    fps: int = 30

    def __getitem__(self, index):
        return (self.frames,)[index]

    def __iter__(self):
        return iter((self.frames,))

    def __len__(self) -> int:
        return 1

    @property
    def video(self) -> torch.Tensor | None:
        """(T, 3, H, W) float in [0, 1]: the first video of the batch."""
        return None if self.videos is None else self.videos[0]

    @property
    def num_frames(self) -> int:
        return 0 if self.videos is None else self.videos.shape[1]

    def to_ipython(self, width: int = 256, index: int = 0):
        """An inline, embedded mp4 for notebooks (IPython.display.Video)."""
        import tempfile

        from IPython.display import Video

        with tempfile.TemporaryDirectory() as tmp:
            data = open(self.save_video(f"{tmp}/video.mp4", index=index), "rb").read()
        return Video(data, embed=True, mimetype="video/mp4", width=width,
                     html_attributes="loop autoplay muted controls")

    def save_video(self, path, fps: int | None = None, index: int = 0):
        """Write an mp4 (diffusers' export_to_video, imageio-ffmpeg)."""
        from diffusers.utils import export_to_video

        if self.videos is None:
            raise ValueError("this run has no decoded video (output_type='latent')")
        frames = self.videos[index].permute(0, 2, 3, 1).float().cpu().numpy()  # (T, H, W, 3)
        return export_to_video(list(frames), str(path), fps=fps or self.fps)


def _is_image(value) -> bool:
    """A PipelineImageInput: one image (PIL, array, tensor) or a non-empty list of them (a batch)."""
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(isinstance(v, (PIL.Image.Image, np.ndarray, torch.Tensor)) for v in value)
    return isinstance(value, (PIL.Image.Image, np.ndarray, torch.Tensor))


def _image_batch(value) -> int | None:
    """How many images a PipelineImageInput holds (None: a single image or array/tensor batch)."""
    return len(value) if isinstance(value, (list, tuple)) else None


def check_arguments(*, vae_spatial: int, patch_size: int, image, last_image, image_latents, last_image_latents,
                    height, width, num_frames, latent_window_size, sampling_type, output_type,
                    num_inference_steps) -> None:
    """Everything that can be wrong with a call, raised before any model runs (ValueError naming it)."""
    if sampling_type not in planning.STRATEGIES:
        raise ValueError(f"unknown sampling_type {sampling_type!r}; known: {sorted(planning.STRATEGIES)}")
    has_last = last_image is not None or last_image_latents is not None
    if has_last and not planning.STRATEGY_TAKES_LAST_IMAGE[sampling_type]:
        takes = sorted(k for k, v in planning.STRATEGY_TAKES_LAST_IMAGE.items() if v)
        raise ValueError(f"sampling_type {sampling_type!r} does not take a last_image; use one of {takes}")
    planning.check_int("latent_window_size", latent_window_size, 1)
    planning.check_int("num_frames", num_frames, 1)
    planning.check_int("num_inference_steps", num_inference_steps, 1)
    factor = vae_spatial * patch_size
    for name, value in (("height", height), ("width", width)):
        planning.check_int(name, value, 1)
        if value % factor:
            raise ValueError(f"{name}={value} is not divisible by {factor} (VAE factor {vae_spatial} x patch "
                             f"size {patch_size})")
    if image is None:
        raise ValueError("`image` is required (PIL image, numpy array or tensor): the SigLIP embedding needs it; "
                         "`image_latents` may replace only its VAE encoding")
    if last_image is not None and last_image_latents is not None:
        raise ValueError("give only one of `last_image` or `last_image_latents`")
    for name, value in (("image", image), ("last_image", last_image)):
        if value is not None and not _is_image(value):
            raise ValueError(f"{name} must be a PIL image, numpy array or torch tensor (or a non-empty list of "
                             f"them), got {_describe(value)}")
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")


def _describe(value) -> str:
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {sorted({type(v).__name__ for v in value}) or 'nothing'}"
    return type(value).__name__


class _Clock:
    """Per-section wall time: CUDA events on the pipeline's device and its current stream (read once
    at the end, so sections are not synchronised), perf_counter elsewhere."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.marks: dict[int, tuple] = {}

    def _now(self):
        if not self.cuda:
            return time.perf_counter()
        ev = torch.cuda.Event(enable_timing=True)
        ev.record(torch.cuda.current_stream(self.device))  # not the current device's: cuda:1 may run it
        return ev

    def start(self, key: int):
        self.marks[key] = (self._now(), None)

    def stop(self, key: int):
        self.marks[key] = (self.marks[key][0], self._now())

    def seconds(self) -> dict[int, float]:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            return {k: a.elapsed_time(b) / 1000.0 for k, (a, b) in self.marks.items()}
        return {k: b - a for k, (a, b) in self.marks.items()}


def vae_decode(pipe, latents: torch.Tensor) -> torch.Tensor:
    """(B, C, T, h, w) latents -> (B, 3, T', H, W) pixels in [-1, 1], in the VAE's dtype."""
    vae = pipe.vae
    return vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]


def cross_fade(history: torch.Tensor, current: torch.Tensor, overlap: int) -> torch.Tensor:
    """Join two decoded chunks (B, 3, T, H, W) along time with a linear cross-fade over `overlap`
    frames: the pipeline's own join (diffusers' private `_soft_append`, the same arithmetic)."""
    if overlap <= 0:
        return torch.cat([history, current], dim=2)
    if history.shape[2] < overlap or current.shape[2] < overlap:
        raise ValueError(f"cross_fade: chunks of {history.shape[2]} and {current.shape[2]} frames cannot "
                         f"overlap by {overlap}")
    weights = torch.linspace(1, 0, overlap, dtype=history.dtype, device=history.device).view(1, 1, -1, 1, 1)
    blended = weights * history[:, :, -overlap:] + (1 - weights) * current[:, :, :overlap]
    return torch.cat([history[:, :, :-overlap], blended, current[:, :, overlap:]], dim=2).to(history)


def _check_batch(prompt, prompt_embeds, image, last_image, image_latents, num_videos_per_prompt) -> None:
    """The batch the pipeline can run: one video per prompt, and as many images as prompts."""
    prompts = 1 if isinstance(prompt, str) else len(prompt) if prompt is not None else (
        prompt_embeds.shape[0] if prompt_embeds is not None else 1)
    if num_videos_per_prompt not in (None, 1):
        raise ValueError(f"num_videos_per_prompt={num_videos_per_prompt!r}: HunyuanVideoFramepackPipeline "
                         "samples one video per prompt (its latents are not repeated); pass the prompt and "
                         "image several times instead")
    for name, value in (("image", image), ("last_image", last_image)):
        n = _image_batch(value)
        if n is not None and n != prompts:
            raise ValueError(f"{name} holds {n} images for {prompts} prompt(s): give one image per prompt")
        if n is None and value is not None and prompts > 1 and not (
                isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 4 and value.shape[0] == prompts):
            raise ValueError(f"{prompts} prompts need {prompts} images (a list, or a 4-d batch); got one {name}")
    if image_latents is not None and image_latents.shape[0] != prompts:
        raise ValueError(f"image_latents has batch {image_latents.shape[0]} for {prompts} prompt(s)")


def make_canvas(plan: planning.Plan, start_latent: torch.Tensor, last_latent: torch.Tensor | None = None,
                channels: int | None = None) -> torch.Tensor:
    """The latent canvas a plan's slot sources index: (B, C, N + 2, h, w) float32 with the start latent
    at 0, sections at their windows, the last image at N = plan.num_latents, all zeros at N + 1."""
    b, c = start_latent.shape[:2]
    h, w = start_latent.shape[-2:]
    n = plan.num_latents
    canvas = torch.zeros(b, channels or c, n + 2, h, w, device=start_latent.device, dtype=torch.float32)
    canvas[:, :, 0:1] = start_latent
    if last_latent is not None:
        canvas[:, :, n:n + 1] = last_latent
    return canvas


def context_inputs(canvas: torch.Tensor, section: planning.SectionPlan, dtype: torch.dtype) -> dict:
    """The transformer keywords for one section's packed context, gathered from the canvas by the
    plan's slot sources (None -> the canvas's last, all-zero frame). Training and sampling share it."""
    zero_index = canvas.shape[2] - 1
    out = {}
    names = {"clean": ("latents_clean", "indices_latents_clean"),
             "history_2x": ("latents_history_2x", "indices_latents_history_2x"),
             "history_4x": ("latents_history_4x", "indices_latents_history_4x")}
    for key, (sources, rope) in section.inputs().items():
        if key == "noisy":
            out["indices_latents"] = torch.tensor(rope)
            continue
        idx = torch.tensor([zero_index if p is None else p for p in sources], device=canvas.device)
        lat_name, idx_name = names[key]
        out[lat_name] = canvas.index_select(2, idx).to(dtype)
        out[idx_name] = torch.tensor(rope)
    return out


@torch.no_grad()
def sample(
    pipe, image=None, last_image=None,
    prompt: str | list[str] | None = None, prompt_2: str | list[str] | None = None,
    negative_prompt: str | list[str] | None = None, negative_prompt_2: str | list[str] | None = None,
    height: int = 720, width: int = 1280, num_frames: int = 129, latent_window_size: int = 9,
    num_inference_steps: int = 50, sigmas: list[float] | None = None,
    true_cfg_scale: float = 1.0, guidance_scale: float = 6.0, num_videos_per_prompt: int | None = 1,
    generator: torch.Generator | list[torch.Generator] | None = None,
    image_latents: torch.Tensor | None = None, last_image_latents: torch.Tensor | None = None,
    prompt_embeds: torch.Tensor | None = None, pooled_prompt_embeds: torch.Tensor | None = None,
    prompt_attention_mask: torch.Tensor | None = None, negative_prompt_embeds: torch.Tensor | None = None,
    negative_pooled_prompt_embeds: torch.Tensor | None = None,
    negative_prompt_attention_mask: torch.Tensor | None = None,
    output_type: str = "pt", return_dict: bool = True, attention_kwargs: dict[str, Any] | None = None,
    callback_on_step_end: Callable | None = None, callback_on_step_end_tensor_inputs: list[str] = ("latents",),
    prompt_template: dict[str, Any] | object = _DEFAULT_TEMPLATE, max_sequence_length: int = 256,
    sampling_type: str = "inverted_anti_drifting",
    *,  # fpkit's own
    flow_shift: float | str | None = None, solver: str | None = None, record: str | bool = "sections",
    record_dtype: torch.dtype = torch.float16, record_every: int = 1, history: planning.HistorySpec | None = None,
    latents: torch.Tensor | None = None, image_embeds: torch.Tensor | None = None, methods=(),
    decode: str | None = None, observers: tuple[Callable, ...] = (), fps: int = 30,
    keyframes: dict | None = None, attention=None, threads: int | None = None,
) -> Run:
    """Sample like `pipe(...)` and return a Run (video, latents, trace).

    fpkit's own keywords: `sampling_type` also takes "anti_drifting" (endpoints first, then fill);
    `flow_shift` (None = the pipeline's rule, "dynamic" = the mu rule capped at ln 7, or a number =
    fixed shift); `solver` (None = the pipeline's scheduler class, "euler", "unipc"); `record`
    ("none", "sections", "steps"; `fpkit.trace.recording_cost` says what each keeps) and
    `record_every` (at "steps", keep every k-th step and the last); `history` (HistorySpec: history
    sizes and padding rule; default the pipeline's `fpkit_history` attribute if it has one, else the
    released 1/2/16);
    `latents`: initial noise for all sections in temporal order, (B, C, n * lws, h, w), instead of
    drawing it from `generator`; `image_embeds`: a precomputed SigLIP embedding of `image` (sweeps
    encode each image once); `methods`: anti-drifting methods acting at the loop's named sites
    for this call only (`fpkit.methods`: instances, names or {"name": ..., **params}); `decode`: the
    decode policy (None = the pipeline's per-strategy chunks and cross-fades, "forward" = forward
    chunks for every strategy, "whole" = one decode of the whole latent video); `observers`:
    callables that receive every event, as copies (they observe, they cannot change the run);
    `keyframes`: {pixel frame: image} for sampling_type="keyframes" (a timeline of images: frame f
    pins latent frame ceil(f / vae_temporal_compression), encoded from the single image like the
    last image; the video passes through each pinned latent exactly); `attention`: record how much
    of the noisy window's attention goes to each context slot (`fpkit.attention.AttentionConfig`, a
    dict of its fields or True; `record="attention"` = sections plus attention at the defaults);
    `threads`: CPU threads for this call (None: one for a small model on the CPU, fpkit.threads).
    """
    args = dict(locals())
    setup = _validate(args)
    with cpu_threads(sampling_threads(pipe, threads)):
        return _run(pipe, setup, args)


def _run(pipe, setup: "_Setup", args: dict) -> Run:
    """Execute a validated call: encode, the section loop over the plan, decode."""
    output_type, fps = args["output_type"], args["fps"]
    pipe._guidance_scale, pipe._attention_kwargs = args["guidance_scale"], args["attention_kwargs"]
    pipe._current_timestep, pipe._interrupt = None, False
    cond = _encode(pipe, setup, args)
    state = _Sampling(pipe, setup, cond, args)
    observe(state.observers, RunStarted(setup.plan, state.settings()))
    progress = pipe.progress_bar(total=setup.plan.num_sections * setup.schedules.num_steps)
    undos = state.sites.install(pipe)  # scoped to this call: undone however the call ends
    try:
        if state.attention is not None:
            undos.append(state.attention.install(pipe.transformer))
        for section in setup.plan.sections:
            state.clock.start(section.order)
            x = _sample_section(state, section, progress)
            a, b = section.window
            state.canvas[:, :, a:b] = x
            state.clock.stop(section.order)
            observe(state.observers, SectionEnded(section, x))
            if output_type == "latent":  # diffusers returns the latents known after every section
                start, stop = setup.plan.latent_spans[section.order]
                state.latent_sections.append(state.canvas[:, :, start:stop].clone())
    finally:
        for undo in reversed(undos):
            undo()
    progress.close()
    pipe._current_timestep = None
    video_latents = state.canvas[:, :, :setup.plan.num_latents]
    videos, frames = (None, state.latent_sections) if output_type == "latent" else _decode(state)
    observe(state.observers, RunEnded(video_latents, state.clock.seconds()))
    pipe.maybe_free_model_hooks()
    trace = state.recorder.trace
    if state.attention is not None:
        state.attention.attach(trace)
    return Run(videos=videos, latents=video_latents, trace=trace, frames=frames, fps=fps)


@dataclass
class _Setup:
    """A validated call: its plan, schedule planner, methods and the resolved keyword values."""

    plan: planning.Plan
    schedules: SchedulePlanner
    methods: tuple
    record: str
    prompt_template: Any
    tensor_inputs: list[str]
    keyframes: dict[int, Any]  # canvas position -> image
    attention: Any = None  # fpkit.attention.AttentionConfig when attention is recorded


def _validate(a: dict) -> _Setup:
    """Everything that can be wrong with a call, raised before any model runs."""
    from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_framepack import DEFAULT_PROMPT_TEMPLATE

    pipe = a["pipe"]
    check_arguments(vae_spatial=pipe.vae_scale_factor_spatial, patch_size=pipe.transformer.config.patch_size,
                    **{k: a[k] for k in ("image", "last_image", "image_latents", "last_image_latents", "height",
                                         "width", "num_frames", "latent_window_size", "sampling_type",
                                         "output_type", "num_inference_steps")})
    from .attention import resolve as resolve_attention

    record, attention = resolve_attention(a["record"], a["attention"])
    record = normalize_record(record)
    check_record_every(a["record_every"])
    check_threads(a["threads"])
    methods = resolve_methods(a["methods"])
    if a["decode"] not in planning.DECODE_POLICIES:
        raise ValueError(f"decode must be one of {planning.DECODE_POLICIES}, got {a['decode']!r}")
    tensor_inputs = a["callback_on_step_end_tensor_inputs"]
    if isinstance(a["callback_on_step_end"], (PipelineCallback, MultiPipelineCallbacks)):
        tensor_inputs = a["callback_on_step_end"].tensor_inputs  # as the pipeline does
    history = a["history"]
    if history is None:  # a pipeline may carry the history layout its transformer was trained with (toy)
        history = getattr(pipe, "fpkit_history", None)
    template = DEFAULT_PROMPT_TEMPLATE if a["prompt_template"] is _DEFAULT_TEMPLATE else a["prompt_template"]
    sampling_type = a["sampling_type"]
    diffusers_type = "inverted_anti_drifting" if planning.STRATEGY_LAYOUT[sampling_type] == "bidirectional" \
        else "vanilla"
    pipe.check_inputs(prompt=a["prompt"], prompt_2=a["prompt_2"], height=a["height"], width=a["width"],
                      prompt_embeds=a["prompt_embeds"], callback_on_step_end_tensor_inputs=tensor_inputs,
                      prompt_template=template, image=a["image"], image_latents=None, last_image=a["last_image"],
                      last_image_latents=None, sampling_type=diffusers_type)
    _check_batch(a["prompt"], a["prompt_embeds"], a["image"], a["last_image"], a["image_latents"],
                 a["num_videos_per_prompt"])
    schedules = SchedulePlanner(pipe.scheduler, a["solver"], a["flow_shift"], a["sigmas"], a["num_inference_steps"])
    has_last = a["last_image"] is not None or a["last_image_latents"] is not None
    vae_t, vae_s = pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial
    num_sections = planning.num_sections_for(a["num_frames"], a["latent_window_size"], vae_t)
    h, w = a["height"] // vae_s, a["width"] // vae_s
    keyframes = keyframe_positions(a["keyframes"], num_sections * a["latent_window_size"] * vae_t, vae_t)
    the_plan = planning.plan(sampling_type, num_sections, a["latent_window_size"], (h, w),
                             pipe.transformer.config.patch_size, history, has_last, tuple(keyframes))
    noise = a["latents"]
    if noise is not None and (noise.ndim != 5 or tuple(noise.shape[2:]) != (the_plan.num_latents - 1, h, w)):
        raise ValueError(f"latents must be (B, C, {the_plan.num_latents - 1}, {h}, {w}) noise for all "
                         f"sections in temporal order, got {tuple(noise.shape)}")
    for method in methods:
        method.check(pipe, the_plan)
    warn_if_mismatched(pipe, sampling_type)
    return _Setup(the_plan, schedules, methods, record, template, list(tensor_inputs), keyframes, attention)


def keyframe_positions(keyframes, last_frame: int, vae_t: int) -> dict[int, Any]:
    """{pixel frame: image} -> {canvas position: image}, or ValueError naming the bad frame (which
    sampling types take keyframes is planning.plan's check)."""
    if keyframes is None:
        keyframes = {}
    if not isinstance(keyframes, dict):
        raise ValueError(f"keyframes must be a dict {{pixel frame: image}}, got {type(keyframes).__name__}")
    out: dict[int, Any] = {}
    for frame, image in keyframes.items():
        if not isinstance(frame, int) or isinstance(frame, bool) or not 1 <= frame <= last_frame:
            raise ValueError(f"keyframe frame must be an int in [1, {last_frame}] (frames after the start "
                             f"image of this video), got {frame!r}")
        if image is None:
            raise ValueError(f"keyframe at frame {frame} has no image")
        position = -(-frame // vae_t)  # latent p covers pixel frames (p - 1) * r + 1 .. p * r
        if position in out:
            raise ValueError(f"keyframes at frames {sorted(f for f in keyframes if -(-f // vae_t) == position)} "
                             f"fall in the same latent frame {position} (one keyframe per {vae_t} frames)")
        out[position] = image
    return out


@dataclass
class Conditioning:
    """What every transformer call of a run shares; the diffusers callback may swap prompt_embeds."""

    prompt_embeds: torch.Tensor
    prompt_attention_mask: torch.Tensor
    pooled_prompt_embeds: torch.Tensor
    negative: tuple | None  # (embeds, attention mask, pooled) when true CFG runs
    true_cfg_scale: float
    image_embeds: torch.Tensor
    guidance: torch.Tensor
    image: torch.Tensor  # (B, 3, H, W) in [-1, 1], the preprocessed start image
    image_latents: torch.Tensor  # (B, C, 1, h, w) float32
    last_image_latents: torch.Tensor | None
    batch_size: int
    device: torch.device
    keyframe_latents: dict[int, torch.Tensor] = dataclasses.field(default_factory=dict)  # position -> (B, C, 1, h, w)


def _encode(pipe, setup: _Setup, a: dict) -> Conditioning:
    """Text, image and latent conditioning in the pipeline's order (the generator is consumed alike)."""
    device, dtype = execution_device(pipe), pipe.transformer.dtype
    prompt = a["prompt"]
    batch_size = 1 if isinstance(prompt, str) else len(prompt) if prompt is not None else a["prompt_embeds"].shape[0]
    has_neg = a["negative_prompt"] is not None or (
        a["negative_prompt_embeds"] is not None and a["negative_pooled_prompt_embeds"] is not None)
    common = dict(prompt_template=setup.prompt_template, num_videos_per_prompt=a["num_videos_per_prompt"],
                  device=device, max_sequence_length=a["max_sequence_length"])
    embeds, pooled, mask = pipe.encode_prompt(
        prompt=prompt, prompt_2=a["prompt_2"], prompt_embeds=a["prompt_embeds"],
        pooled_prompt_embeds=a["pooled_prompt_embeds"], prompt_attention_mask=a["prompt_attention_mask"], **common)
    negative = None
    if a["true_cfg_scale"] > 1 and has_neg:
        n_embeds, n_pooled, n_mask = pipe.encode_prompt(
            prompt=a["negative_prompt"], prompt_2=a["negative_prompt_2"], prompt_embeds=a["negative_prompt_embeds"],
            pooled_prompt_embeds=a["negative_pooled_prompt_embeds"],
            prompt_attention_mask=a["negative_prompt_attention_mask"], **common)
        negative = (n_embeds.to(dtype), n_mask.to(dtype), n_pooled.to(dtype))
    height, width, generator = a["height"], a["width"], a["generator"]
    image = pipe.video_processor.preprocess(a["image"], height, width)
    image_embeds = a["image_embeds"] if a["image_embeds"] is not None else pipe.encode_image(image, device=device)
    last_image, last_latents = a["last_image"], a["last_image_latents"]
    if last_image is not None:
        last_image = pipe.video_processor.preprocess(last_image, height, width)
        # diffusers 0.42 computes the average of both SigLIP embeddings but conditions on the first
        # image's alone; fpkit mirrors that for parity (the encoder call is kept for the same reason).
        pipe.encode_image(last_image, device=device)
    image_latents = pipe.prepare_image_latents(image, dtype=torch.float32, device=device, generator=generator,
                                               latents=a["image_latents"])
    if last_image is not None:
        last_latents = pipe.prepare_image_latents(last_image, dtype=torch.float32, device=device,
                                                  generator=generator)
    elif last_latents is not None:
        last_latents = last_latents.to(device=device, dtype=torch.float32)
    keyframe_latents = {
        p: pipe.prepare_image_latents(pipe.video_processor.preprocess(img, height, width), dtype=torch.float32,
                                      device=device, generator=generator)
        for p, img in sorted(setup.keyframes.items())}
    guidance = torch.tensor([a["guidance_scale"]] * batch_size, dtype=dtype, device=device) * 1000.0
    return Conditioning(embeds.to(dtype), mask.to(dtype), pooled.to(dtype), negative, a["true_cfg_scale"],
                        image_embeds.to(device=device, dtype=dtype), guidance, image, image_latents, last_latents,
                        batch_size, torch.device(device), keyframe_latents)


class _Sampling:
    """The mutable state of one call: canvas, conditioning, observers, clock, sites."""

    def __init__(self, pipe, setup: _Setup, cond: Conditioning, a: dict):
        self.pipe, self.setup, self.cond, self.args = pipe, setup, cond, a
        self.plan = setup.plan
        self.recorder = TraceRecorder(setup.record, a["record_dtype"], a["record_every"])
        # the recorder copies what it keeps; every other observer sees copies, so it cannot write back
        self.observers = (self.recorder, *(_ReadOnly(o) for o in a["observers"]))
        self.sites = Sites(setup.methods)
        self.canvas = make_canvas(self.plan, cond.image_latents, cond.last_image_latents,
                                  pipe.transformer.config.in_channels)
        for position, latent in cond.keyframe_latents.items():
            self.canvas[:, :, position:position + 1] = latent
        self.clock = _Clock(cond.device)
        self.latent_sections: list[torch.Tensor] = []
        self.dtype = pipe.transformer.dtype
        vae_t, vae_s = pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial
        self.window_frames = (self.plan.latent_window_size - 1) * vae_t + 1
        h, w = self.plan.latent_size
        self.noisy_tokens = self.plan.latent_window_size * h * w / pipe.transformer.config.patch_size ** 2
        self.size = (a["height"], a["width"])
        self.attention = None
        if setup.attention is not None:
            from .attention import AttentionRecorder

            self.attention = AttentionRecorder(setup.attention, cond.image_embeds.shape[1])
        self.current = None  # (section, step, num_steps) of the step being predicted

    def settings(self) -> dict:
        a, p, c = self.args, self.plan, self.cond
        vae_t = self.pipe.vae_scale_factor_temporal
        return dict(
            sampling_type=a["sampling_type"], height=a["height"], width=a["width"],
            num_frames_requested=a["num_frames"], num_frames=p.num_frames(vae_t),
            latent_window_size=p.latent_window_size, num_sections=p.num_sections,
            num_inference_steps=a["num_inference_steps"], guidance_scale=a["guidance_scale"],
            true_cfg_scale=a["true_cfg_scale"], do_true_cfg=c.negative is not None, flow_shift=a["flow_shift"],
            solver=a["solver"], record=self.setup.record, record_dtype=str(a["record_dtype"]),
            record_every=a["record_every"], has_last_image=p.has_last_image, batch_size=c.batch_size,
            vae_temporal_compression=vae_t, vae_spatial_compression=self.pipe.vae_scale_factor_spatial,
            fps=a["fps"], transformer_dtype=str(self.dtype), device=str(c.device),
            prompt=a["prompt"] if isinstance(a["prompt"], (str, list)) else None,
            methods=self.sites.describe(), keyframes=list(p.keyframes))

    def predict(self, x: torch.Tensor, t: torch.Tensor, inputs: dict) -> torch.Tensor:
        """The guided velocity prediction (true CFG when a negative prompt is given), float32."""
        c, transformer = self.cond, self.pipe.transformer
        common = dict(hidden_states=x.to(self.dtype), timestep=t.expand(x.shape[0]), image_embeds=c.image_embeds,
                      guidance=c.guidance, attention_kwargs=self.args["attention_kwargs"], return_dict=False)
        common.update(inputs)  # a method's context may replace the image embedding
        with self._cache("cond"), self._attending():
            pred = transformer(encoder_hidden_states=c.prompt_embeds, encoder_attention_mask=c.prompt_attention_mask,
                               pooled_projections=c.pooled_prompt_embeds, **common)[0]
        if c.negative is not None:
            n_embeds, n_mask, n_pooled = c.negative
            with self._cache("uncond"):
                neg = transformer(encoder_hidden_states=n_embeds, encoder_attention_mask=n_mask,
                                  pooled_projections=n_pooled, **common)[0]
            pred = neg + c.true_cfg_scale * (pred - neg)
        return pred.float()

    def _attending(self):
        """Attention recording around the conditional prediction of the current step."""
        if self.attention is None or self.current is None:
            return contextlib.nullcontext()
        return self.attention.step(*self.current)

    def _cache(self, name: str):
        """diffusers' cache context around a transformer call, when a cache method needs one."""
        if self.sites.cache_context:
            return self.pipe.transformer.cache_context(name)
        return contextlib.nullcontext()

    def noise(self, section: planning.SectionPlan) -> torch.Tensor:
        """(B, C, lws, h, w) initial noise: drawn from the generator as the pipeline does, or given."""
        given = self.args["latents"]
        if given is not None:
            a, b = section.window
            return given[:, :, a - 1:b - 1].to(device=self.cond.device, dtype=torch.float32)
        return self.pipe.prepare_latents(self.cond.batch_size, self.pipe.transformer.config.in_channels,
                                         *self.size, self.window_frames, dtype=torch.float32,
                                         device=self.cond.device, generator=self.args["generator"], latents=None)

    def callback(self, i: int, t, x: torch.Tensor) -> torch.Tensor:
        """The diffusers step-end callback: may replace latents and prompt_embeds."""
        fn = self.args["callback_on_step_end"]
        if fn is None:
            return x
        names = {"latents": x, "prompt_embeds": self.cond.prompt_embeds}
        out = fn(self.pipe, i, t, {k: names[k] for k in self.setup.tensor_inputs})
        self.cond.prompt_embeds = out.pop("prompt_embeds", self.cond.prompt_embeds)
        return out.pop("latents", x)


def _sample_section(state: _Sampling, section: planning.SectionPlan, progress) -> torch.Tensor:
    """Denoise one section's window from its packed context: (B, C, lws, h, w) clean latents."""
    pipe, sites = state.pipe, state.sites
    site = SiteState(pipe=pipe, plan=state.plan, section=section, canvas=state.canvas,
                     start_latent=state.cond.image_latents, start_image=state.cond.image,
                     generator=state.args["generator"])
    context = Context(context_inputs(state.canvas, section, state.dtype), state.canvas, section, state.dtype)
    x = state.noise(section)
    pins = _Pins(state, section)
    if sites.any("section.context"):
        context = sites("section.context", context, site)
    site.context = context
    if sites.any("section.noise"):
        x = sites("section.noise", x, site)
    x = pins.start(x)
    scheduler, schedule = state.setup.schedules.setup(state.noisy_tokens, state.cond.device)
    timesteps = scheduler.timesteps
    pipe._num_timesteps = len(timesteps)
    observe(state.observers, SectionStarted(section, schedule))
    for i, t in enumerate(timesteps):
        if pipe.interrupt:
            continue
        pipe._current_timestep = t
        state.current = (section, i, len(timesteps))
        model_output = state.predict(x, t, context.inputs)
        state.current = None
        if sites.any("step.model_output"):
            site.step, site.sigma, site.timestep, site.sample = i, schedule.sigmas[i], t, x
            site.predict = lambda sample, inputs, t=t: state.predict(sample, t, inputs)
            model_output = sites("step.model_output", model_output, site)
        x_in = x
        x = pins(scheduler.step(model_output, t, x, return_dict=False)[0], schedule.sigmas[i + 1])
        x = state.callback(i, t, x)
        if sites.any("step.latents"):
            site.step, site.sigma, site.timestep, site.sample = i, schedule.sigmas[i], t, x_in
            x = sites("step.latents", x, site)
        observe(state.observers, StepEnded(section, i, schedule.sigmas[i], x_in, model_output, x))
        progress.update()
    if sites.any("section.latents"):
        x = sites("section.latents", x, site)
    return x


class _Pins:
    """Keyframes inside a window, held by replacement: after every solver step the pinned frames are
    set to the flow-matching interpolation (1 - sigma) z + sigma * eps of their keyframe latent z and
    the window's initial noise eps at the step's new sigma, so the finished window (sigma 0) holds z
    exactly and the other frames are denoised around it. A no-op for windows without keyframes."""

    def __init__(self, state: _Sampling, section: planning.SectionPlan):
        ws, we = section.window
        self.items = [(p - ws, z) for p, z in state.cond.keyframe_latents.items() if ws <= p < we]
        self.noise = None

    def __call__(self, x: torch.Tensor, sigma_next: float) -> torch.Tensor:
        if not self.items:
            return x
        if self.noise is None:
            raise RuntimeError("_Pins.start must see the initial noise first")
        x = x.clone()
        for i, z in self.items:
            x[:, :, i:i + 1] = (1 - sigma_next) * z.to(x) + sigma_next * self.noise[:, :, i:i + 1]
        return x

    def start(self, noise: torch.Tensor) -> torch.Tensor:
        self.noise = noise.clone() if self.items else None
        return noise


def _decode(state: _Sampling) -> tuple[torch.Tensor, Any]:
    """Decode the way the pipeline does: chunk by chunk, cross-faded (see Plan.decode)."""
    pipe, plan, canvas = state.pipe, state.plan, state.canvas
    vae_t = pipe.vae_scale_factor_temporal
    overlap = (plan.latent_window_size - 1) * vae_t + 1
    video = None
    for chunk in planning.decode_chunks(plan, state.args["decode"]):
        current = vae_decode(pipe, canvas[:, :, chunk.start:chunk.stop])
        if chunk.side == "init":
            video = current
        elif chunk.side == "before":
            video = cross_fade(current, video, overlap)
        else:
            video = cross_fade(video, current, overlap)
    video = video[:, :, :(video.size(2) - 1) // vae_t * vae_t + 1]
    # On the CPU (metrics and files read it there; frees the accelerator for the next run), in the
    # VAE's dtype: a float32 copy of a bf16 60 s 480x832 video would be another 8.6 GB.
    videos = pipe.video_processor.postprocess_video(video, output_type="pt").cpu()
    output_type = state.args["output_type"]
    frames = videos if output_type == "pt" else pipe.video_processor.postprocess_video(video, output_type=output_type)
    return videos, frames


class _ReadOnly:
    """An observer behind a copy: it gets events whose tensors are clones, so writing to them
    cannot reach the run (observe vs intervene: interventions go through `methods`)."""

    def __init__(self, observer: Callable):
        self.observer = observer

    def __call__(self, event) -> None:
        changes = {f.name: getattr(event, f.name).clone() for f in dataclasses.fields(event)
                   if isinstance(getattr(event, f.name), torch.Tensor)}
        self.observer(dataclasses.replace(event, **changes) if changes else event)
