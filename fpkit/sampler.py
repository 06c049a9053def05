"""The section loop: executes a Plan over a HunyuanVideoFramepackPipeline's own components and
emits events. `fpkit.sample(pipe, ...)` takes every keyword of the pipeline's `__call__` with the
same meaning and returns the same video (bit for bit on the same components) plus a Trace."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import PIL.Image
import torch
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback

from . import planning
from .pipelines import execution_device, warn_if_mismatched
from .schedule import SchedulePlanner
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


def _check_int(name: str, value, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def check_arguments(*, vae_spatial: int, patch_size: int, image, last_image, image_latents, last_image_latents, height, width, num_frames,
                    latent_window_size, sampling_type, output_type, num_inference_steps) -> None:
    """Everything that can be wrong with a call, raised before any model runs (ValueError naming it)."""
    if sampling_type not in planning.STRATEGIES:
        raise ValueError(f"unknown sampling_type {sampling_type!r}; known: {sorted(planning.STRATEGIES)}")
    has_last = last_image is not None or last_image_latents is not None
    if has_last and not planning.STRATEGY_TAKES_LAST_IMAGE[sampling_type]:
        takes = sorted(k for k, v in planning.STRATEGY_TAKES_LAST_IMAGE.items() if v)
        raise ValueError(f"sampling_type {sampling_type!r} does not take a last_image; use one of {takes}")
    _check_int("latent_window_size", latent_window_size, 1)
    _check_int("num_frames", num_frames, 1)
    _check_int("num_inference_steps", num_inference_steps, 1)
    factor = vae_spatial * patch_size
    for name, value in (("height", height), ("width", width)):
        _check_int(name, value, 1)
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
    pipe,
    image=None,
    last_image=None,
    prompt: str | list[str] | None = None,
    prompt_2: str | list[str] | None = None,
    negative_prompt: str | list[str] | None = None,
    negative_prompt_2: str | list[str] | None = None,
    height: int = 720,
    width: int = 1280,
    num_frames: int = 129,
    latent_window_size: int = 9,
    num_inference_steps: int = 50,
    sigmas: list[float] | None = None,
    true_cfg_scale: float = 1.0,
    guidance_scale: float = 6.0,
    num_videos_per_prompt: int | None = 1,
    generator: torch.Generator | list[torch.Generator] | None = None,
    image_latents: torch.Tensor | None = None,
    last_image_latents: torch.Tensor | None = None,
    prompt_embeds: torch.Tensor | None = None,
    pooled_prompt_embeds: torch.Tensor | None = None,
    prompt_attention_mask: torch.Tensor | None = None,
    negative_prompt_embeds: torch.Tensor | None = None,
    negative_pooled_prompt_embeds: torch.Tensor | None = None,
    negative_prompt_attention_mask: torch.Tensor | None = None,
    output_type: str = "pt",
    return_dict: bool = True,
    attention_kwargs: dict[str, Any] | None = None,
    callback_on_step_end: Callable | None = None,
    callback_on_step_end_tensor_inputs: list[str] = ("latents",),
    prompt_template: dict[str, Any] | object = _DEFAULT_TEMPLATE,
    max_sequence_length: int = 256,
    sampling_type: str = "inverted_anti_drifting",
    *,
    flow_shift: float | str | None = None,
    solver: str | None = None,
    record: str | bool = "sections",
    record_dtype: torch.dtype = torch.float16,
    record_every: int = 1,
    history: planning.HistorySpec | None = None,
    latents: torch.Tensor | None = None,
    image_embeds: torch.Tensor | None = None,
    observers: tuple[Callable, ...] = (),
    fps: int = 30,
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
    encode each image once); `observers`: callables that receive every event.
    """
    from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_framepack import DEFAULT_PROMPT_TEMPLATE

    # 1. Validate everything before any model runs.
    check_arguments(vae_spatial=pipe.vae_scale_factor_spatial, patch_size=pipe.transformer.config.patch_size,
                    image=image, last_image=last_image, image_latents=image_latents,
                    last_image_latents=last_image_latents, height=height, width=width, num_frames=num_frames,
                    latent_window_size=latent_window_size, sampling_type=sampling_type, output_type=output_type,
                    num_inference_steps=num_inference_steps)
    record = normalize_record(record)
    check_record_every(record_every)
    if isinstance(callback_on_step_end, (PipelineCallback, MultiPipelineCallbacks)):
        callback_on_step_end_tensor_inputs = callback_on_step_end.tensor_inputs  # as the pipeline does
    if history is None:  # a pipeline may carry the history layout its transformer was trained with (toy)
        history = getattr(pipe, "fpkit_history", None)
    if prompt_template is _DEFAULT_TEMPLATE:
        prompt_template = DEFAULT_PROMPT_TEMPLATE
    diffusers_type = "inverted_anti_drifting" if planning.STRATEGY_LAYOUT[sampling_type] == "bidirectional" \
        else "vanilla"
    pipe.check_inputs(prompt=prompt, prompt_2=prompt_2, height=height, width=width, prompt_embeds=prompt_embeds,
                      callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
                      prompt_template=prompt_template, image=image, image_latents=None, last_image=last_image,
                      last_image_latents=None, sampling_type=diffusers_type)
    _check_batch(prompt, prompt_embeds, image, last_image, image_latents, num_videos_per_prompt)
    schedules = SchedulePlanner(pipe.scheduler, solver, flow_shift, sigmas, num_inference_steps)
    has_last = last_image is not None or last_image_latents is not None
    vae_t, vae_s = pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial
    num_sections = planning.num_sections_for(num_frames, latent_window_size, vae_t)
    the_plan = planning.plan(sampling_type, num_sections, latent_window_size, (height // vae_s, width // vae_s),
                             pipe.transformer.config.patch_size, history, has_last)
    lws, n_lat = latent_window_size, the_plan.num_latents
    if latents is not None:
        expect = (n_lat - 1, height // vae_s, width // vae_s)
        if latents.ndim != 5 or tuple(latents.shape[2:]) != expect:
            raise ValueError(f"latents must be (B, C, {expect[0]}, {expect[1]}, {expect[2]}) noise for all "
                             f"sections in temporal order, got {tuple(latents.shape)}")
    warn_if_mismatched(pipe, sampling_type)

    recorder = TraceRecorder(record, record_dtype, record_every)
    observers = (recorder, *observers)
    device = execution_device(pipe)
    transformer_dtype, vae_dtype = pipe.transformer.dtype, pipe.vae.dtype
    pipe._guidance_scale, pipe._attention_kwargs = guidance_scale, attention_kwargs
    pipe._current_timestep, pipe._interrupt = None, False

    # 2. Conditioning, in the pipeline's order (the generator is consumed identically).
    if prompt is not None and isinstance(prompt, str):
        batch_size = 1
    elif prompt is not None:
        batch_size = len(prompt)
    else:
        batch_size = prompt_embeds.shape[0]
    has_neg = negative_prompt is not None or (
        negative_prompt_embeds is not None and negative_pooled_prompt_embeds is not None)
    do_true_cfg = true_cfg_scale > 1 and has_neg
    prompt_embeds, pooled_prompt_embeds, prompt_attention_mask = pipe.encode_prompt(
        prompt=prompt, prompt_2=prompt_2, prompt_template=prompt_template,
        num_videos_per_prompt=num_videos_per_prompt, prompt_embeds=prompt_embeds,
        pooled_prompt_embeds=pooled_prompt_embeds, prompt_attention_mask=prompt_attention_mask,
        device=device, max_sequence_length=max_sequence_length)
    prompt_embeds = prompt_embeds.to(transformer_dtype)
    prompt_attention_mask = prompt_attention_mask.to(transformer_dtype)
    pooled_prompt_embeds = pooled_prompt_embeds.to(transformer_dtype)
    if do_true_cfg:
        negative_prompt_embeds, negative_pooled_prompt_embeds, negative_prompt_attention_mask = pipe.encode_prompt(
            prompt=negative_prompt, prompt_2=negative_prompt_2, prompt_template=prompt_template,
            num_videos_per_prompt=num_videos_per_prompt, prompt_embeds=negative_prompt_embeds,
            pooled_prompt_embeds=negative_pooled_prompt_embeds,
            prompt_attention_mask=negative_prompt_attention_mask, device=device,
            max_sequence_length=max_sequence_length)
        negative_prompt_embeds = negative_prompt_embeds.to(transformer_dtype)
        negative_prompt_attention_mask = negative_prompt_attention_mask.to(transformer_dtype)
        negative_pooled_prompt_embeds = negative_pooled_prompt_embeds.to(transformer_dtype)

    image = pipe.video_processor.preprocess(image, height, width)
    if image_embeds is None:
        image_embeds = pipe.encode_image(image, device=device)
    image_embeds = image_embeds.to(device=device, dtype=transformer_dtype)
    if last_image is not None:
        last_image = pipe.video_processor.preprocess(last_image, height, width)
        # diffusers 0.42 computes the average of both SigLIP embeddings but conditions on the first
        # image's alone; fpkit mirrors that for parity (the encoder call is kept for the same reason).
        pipe.encode_image(last_image, device=device)
    image_latents = pipe.prepare_image_latents(image, dtype=torch.float32, device=device, generator=generator,
                                               latents=image_latents)
    if last_image is not None:
        last_image_latents = pipe.prepare_image_latents(last_image, dtype=torch.float32, device=device,
                                                        generator=generator)
    elif last_image_latents is not None:
        last_image_latents = last_image_latents.to(device=device, dtype=torch.float32)
    guidance = torch.tensor([guidance_scale] * batch_size, dtype=transformer_dtype, device=device) * 1000.0

    # 3. The canvas: start latent, every section's window, the last image, one all-zero frame.
    channels = pipe.transformer.config.in_channels
    h, w = height // vae_s, width // vae_s
    canvas = make_canvas(the_plan, image_latents, last_image_latents, channels)

    settings = dict(
        sampling_type=sampling_type, height=height, width=width, num_frames_requested=num_frames,
        num_frames=the_plan.num_frames(vae_t), latent_window_size=lws, num_sections=num_sections,
        num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, true_cfg_scale=true_cfg_scale,
        do_true_cfg=do_true_cfg, flow_shift=flow_shift, solver=solver, record=record,
        record_dtype=str(record_dtype), record_every=record_every, has_last_image=has_last, batch_size=batch_size,
        vae_temporal_compression=vae_t, vae_spatial_compression=vae_s, fps=fps,
        transformer_dtype=str(transformer_dtype), device=str(device),
        prompt=prompt if isinstance(prompt, (str, list)) else None,
    )
    observe(observers, RunStarted(the_plan, settings))
    clock = _Clock(torch.device(device))
    window_num_frames = (lws - 1) * vae_t + 1
    noisy_seq_len = lws * h * w / pipe.transformer.config.patch_size ** 2

    # 4. Sections in generation order.
    latent_sections = []
    progress = pipe.progress_bar(total=num_sections * schedules.num_steps)
    for section in the_plan.sections:
        clock.start(section.order)
        context = context_inputs(canvas, section, transformer_dtype)
        if latents is None:
            x = pipe.prepare_latents(batch_size, channels, height, width, window_num_frames, dtype=torch.float32,
                                     device=device, generator=generator, latents=None)
        else:
            a, b = section.window
            x = latents[:, :, a - 1:b - 1].to(device=device, dtype=torch.float32)

        scheduler, schedule = schedules.setup(noisy_seq_len, device)
        timesteps = scheduler.timesteps
        pipe._num_timesteps = len(timesteps)
        observe(observers, SectionStarted(section, schedule))
        context.update(image_embeds=image_embeds, guidance=guidance, attention_kwargs=attention_kwargs,
                       return_dict=False)
        for i, t in enumerate(timesteps):
            if pipe.interrupt:
                continue
            pipe._current_timestep = t
            timestep = t.expand(x.shape[0])
            noise_pred = pipe.transformer(
                hidden_states=x.to(transformer_dtype), timestep=timestep, encoder_hidden_states=prompt_embeds,
                encoder_attention_mask=prompt_attention_mask, pooled_projections=pooled_prompt_embeds,
                **context)[0]
            if do_true_cfg:
                neg_noise_pred = pipe.transformer(
                    hidden_states=x.to(transformer_dtype), timestep=timestep,
                    encoder_hidden_states=negative_prompt_embeds,
                    encoder_attention_mask=negative_prompt_attention_mask,
                    pooled_projections=negative_pooled_prompt_embeds, **context)[0]
                noise_pred = neg_noise_pred + true_cfg_scale * (noise_pred - neg_noise_pred)
            model_output = noise_pred.float()
            x_in = x
            x = scheduler.step(model_output, t, x, return_dict=False)[0]
            if callback_on_step_end is not None:
                names = {"latents": x, "prompt_embeds": prompt_embeds}
                outputs = callback_on_step_end(pipe, i, t, {k: names[k] for k in callback_on_step_end_tensor_inputs})
                x = outputs.pop("latents", x)
                prompt_embeds = outputs.pop("prompt_embeds", prompt_embeds)
            observe(observers, StepEnded(section, i, schedule.sigmas[i], x_in, model_output, x))
            progress.update()
        a, b = section.window
        canvas[:, :, a:b] = x
        clock.stop(section.order)
        observe(observers, SectionEnded(section, x))
        if output_type == "latent":  # diffusers returns the latents known after every section
            start, stop = the_plan.latent_spans[section.order]
            latent_sections.append(canvas[:, :, start:stop].clone())
    progress.close()
    pipe._current_timestep = None
    video_latents = canvas[:, :, :n_lat]

    # 5. Decode the way the pipeline does: chunk by chunk, cross-faded (see Plan.decode).
    videos = frames = None
    if output_type != "latent":
        overlap = (lws - 1) * vae_t + 1
        history_video = None
        for chunk in the_plan.decode:
            current = pipe.vae.decode(canvas[:, :, chunk.start:chunk.stop].to(vae_dtype)
                                      / pipe.vae.config.scaling_factor, return_dict=False)[0]
            if chunk.side == "init":
                history_video = current
            elif chunk.side == "before":
                history_video = cross_fade(current, history_video, overlap)
            else:
                history_video = cross_fade(history_video, current, overlap)
        keep = (history_video.size(2) - 1) // vae_t * vae_t + 1
        history_video = history_video[:, :, :keep]
        # On the CPU (metrics and files read it there; frees the accelerator for the next run), in
        # the VAE's dtype: a float32 copy of a bf16 60 s 480x832 video would be another 8.6 GB.
        videos = pipe.video_processor.postprocess_video(history_video, output_type="pt").cpu()
        frames = videos if output_type == "pt" else pipe.video_processor.postprocess_video(
            history_video, output_type=output_type)
    else:
        frames = latent_sections
    observe(observers, RunEnded(video_latents, clock.seconds()))
    pipe.maybe_free_model_hooks()
    return Run(videos=videos, latents=video_latents, trace=recorder.trace, frames=frames, fps=fps)
