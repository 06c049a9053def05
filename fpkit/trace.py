"""Events the sampler emits, the recorder that observes them, and the Trace it builds.

Recording only observes: it copies tensors (asynchronously, to CPU, in `dtype`) and never writes
back, so a run with recording on is bit-identical to one with it off. A Trace saves to a directory
(`trace.json` + `tensors.safetensors`, with a format version) and loads back equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write
from .planning import Plan, SectionPlan, latent_to_frames
from .schedule import SectionSchedule

FORMAT = "fpkit-trace"
VERSION = 3  # 2: section latents are slices of the whole latent video, stored once; step indices
#             3: attention mass per context slot (fpkit.attention), when recorded
READS = (1, 2, 3)
RECORD_LEVELS = ("none", "sections", "steps")


# ---------------------------------------------------------------------------------------------
# Events (observe-only; tensors are the sampler's own, never to be modified)


@dataclass(frozen=True)
class RunStarted:
    plan: Plan
    settings: dict


@dataclass(frozen=True)
class SectionStarted:
    section: SectionPlan
    schedule: SectionSchedule


@dataclass(frozen=True)
class StepEnded:
    section: SectionPlan
    step: int
    sigma: float
    sample: torch.Tensor  # (B, C, T, h, w) latents the model saw at this step
    model_output: torch.Tensor  # (B, C, T, h, w) velocity prediction (after CFG)
    prev_sample: torch.Tensor  # (B, C, T, h, w) latents after the solver step


@dataclass(frozen=True)
class SectionEnded:
    section: SectionPlan
    latents: torch.Tensor  # (B, C, T, h, w) the section's clean latents


@dataclass(frozen=True)
class RunEnded:
    latents: torch.Tensor  # (B, C, N, h, w) the whole latent video
    section_seconds: dict[int, float]  # generation order -> wall time


def normalize_record(record) -> str:
    if record is True:
        return "sections"
    if record is False or record is None:
        return "none"
    if record not in RECORD_LEVELS:
        raise ValueError(f"record must be one of {RECORD_LEVELS} (or True/False), got {record!r}")
    return record


def check_record_every(every) -> int:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"record_every must be an int >= 1 (record every k-th step), got {every!r}")
    return every


def recorded_steps(num_steps: int, every: int = 1) -> tuple[int, ...]:
    """Steps a "steps" recording keeps: every k-th from the first, and always the last."""
    return tuple(sorted(set(range(0, num_steps, every)) | {num_steps - 1}))


def recording_cost(plan: Plan, level: str = "sections", num_steps: int = 50, batch_size: int = 1,
                   channels: int = 16, dtype: torch.dtype = torch.float16, every: int = 1) -> dict:
    """Host memory a recording level keeps for a run (bytes; the Trace holds it, and it is what
    `Trace.save` writes): "sections" one copy of the latent video, "steps" adds two tensors (latents
    and x0) per recorded step of every section. 480x832, lws 9, 16 channels, fp16: 1.8 MB per step
    tensor, 180 MB per section at 50 steps, every=5 cuts it to 40 MB."""
    level = normalize_record(level)
    every = check_record_every(every)
    h, w = plan.latent_size
    item = torch.tensor([], dtype=dtype).element_size()
    frame = batch_size * channels * h * w * item
    video = plan.num_latents * frame if level != "none" else 0
    window = plan.latent_window_size * frame
    steps = 2 * window * len(recorded_steps(num_steps, every)) * plan.num_sections if level == "steps" else 0
    return {"level": level, "latent_video_bytes": video, "steps_bytes": steps, "total_bytes": video + steps,
            "per_section_steps_bytes": steps // plan.num_sections if steps else 0}


# ---------------------------------------------------------------------------------------------
# Trace


@dataclass
class SectionRecord:
    plan: SectionPlan
    schedule: SectionSchedule
    seconds: float | None = None
    latents: torch.Tensor | None = None  # (B, C, T, h, w)
    step_latents: torch.Tensor | None = None  # (S, B, C, T, h, w) after each recorded step
    step_x0: torch.Tensor | None = None  # (S, B, C, T, h, w) x0 = x_t - sigma * v at each recorded step
    step_indices: tuple[int, ...] | None = None  # which steps step_latents / step_x0 hold
    attention: torch.Tensor | None = None  # (steps, blocks, heads or 1, segments) softmax mass
    attention_steps: tuple[int, ...] | None = None  # which steps `attention` holds
    attention_segments: tuple[str, ...] | None = None  # slot index (str) per segment, then "image", "text"

    def tensors(self) -> dict[str, torch.Tensor]:
        names = ("latents", "step_latents", "step_x0", "attention")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass
class Trace:
    """What a run did, section by section (generation order)."""

    plan: Plan
    settings: dict
    sections: list[SectionRecord] = field(default_factory=list)
    latents: torch.Tensor | None = None  # (B, C, N, h, w) whole latent video

    # -- analysis helpers -------------------------------------------------------------------
    @property
    def temporal_compression(self) -> int:
        return int(self.settings.get("vae_temporal_compression", 4))

    def section_frames(self, section: SectionPlan) -> range:
        """Pixel frames of the decoded video this section's window produced."""
        r = self.temporal_compression
        first = latent_to_frames(section.window[0], r)
        last = latent_to_frames(section.window[1] - 1, r)
        return range(first.start, last.stop)

    def by_index(self) -> list[SectionRecord]:
        """Sections in temporal order."""
        return sorted(self.sections, key=lambda s: s.plan.index)

    def to_frame(self, kind: str = "sections"):
        """pandas tables: "sections" (one row per section), "slots" (per context slot), "steps", or
        "attention" (long: order, index, step, block, head, slot, kind, compression, side, mass; slot is
        the slot's index in the section's plan, or "image" / "text" for the condition tokens)."""
        import pandas as pd

        rows = []
        if kind == "sections":
            for rec in self.sections:
                s, sch = rec.plan, rec.schedule
                frames = self.section_frames(s)
                tokens = s.tokens()
                rows.append(dict(
                    strategy=s.strategy, order=s.order, index=s.index, window_start=s.window[0],
                    window_stop=s.window[1], frame_start=frames.start, frame_stop=frames.stop,
                    layout=s.layout, padding=s.padding, tokens_total=s.total_tokens,
                    **{f"tokens_{k}": v for k, v in tokens.items()},
                    solver=sch.solver, rule=sch.rule, shift=sch.shift, mu=sch.mu, num_steps=sch.num_steps,
                    seconds=rec.seconds))
        elif kind == "slots":
            for rec in self.sections:
                for i, slot in enumerate(rec.plan.slots):
                    rows.append(dict(
                        order=rec.plan.order, index=rec.plan.index, slot=i, kind=slot.kind,
                        compression=slot.compression, side=slot.side, frames=slot.frames,
                        rope_start=slot.rope[0] if slot.rope else None,
                        rope_stop=slot.rope[-1] + 1 if slot.rope else None,
                        rope=list(slot.rope), sources=list(slot.sources), tokens=slot.tokens))
        elif kind == "steps":
            for rec in self.sections:
                sig = rec.schedule.sigmas
                for i, t in enumerate(rec.schedule.timesteps):
                    rows.append(dict(order=rec.plan.order, index=rec.plan.index, step=i, timestep=t,
                                     sigma=sig[i], sigma_next=sig[i + 1] if i + 1 < len(sig) else None))
        elif kind == "attention":
            blocks = (self.settings.get("attention") or {}).get("blocks")
            for rec in self.sections:
                if rec.attention is None:
                    continue
                a = rec.attention
                for si, step in enumerate(rec.attention_steps):
                    for b in range(a.shape[1]):
                        for h in range(a.shape[2]):
                            for g, label in enumerate(rec.attention_segments):
                                slot = rec.plan.slots[int(label)] if label.isdigit() else None
                                rows.append(dict(
                                    order=rec.plan.order, index=rec.plan.index, step=step,
                                    block=blocks[b] if blocks else b, head="mean" if a.shape[2] == 1 else h,
                                    slot=label, kind=slot.kind if slot else label,
                                    compression=slot.compression if slot else "", side=slot.side if slot else "",
                                    mass=float(a[si, b, h, g])))
        else:
            raise ValueError(f"kind must be 'sections', 'slots', 'steps' or 'attention', got {kind!r}")
        return pd.DataFrame(rows)

    # -- equality and persistence -----------------------------------------------------------
    def _tensor_dict(self) -> dict[str, torch.Tensor]:
        """Tensors to store: a section's latents only when they are not already the slice of the whole
        latent video at its window (what the recorder writes: views, stored once)."""
        out = {}
        if self.latents is not None:
            out["latents"] = self.latents
        for rec in self.sections:
            for name, value in rec.tensors().items():
                if name == "latents" and self._is_window_of_video(rec):
                    continue
                out[f"section.{rec.plan.order}.{name}"] = value
        return out

    def _is_window_of_video(self, rec: SectionRecord) -> bool:
        if self.latents is None or rec.latents is None:
            return False
        a, b = rec.plan.window
        window = self.latents[:, :, a:b]
        return window.shape == rec.latents.shape and window.dtype == rec.latents.dtype and torch.equal(
            window, rec.latents)

    def _meta(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "plan": self.plan.to_dict(),
            "settings": self.settings,
            "sections": [
                {"order": r.plan.order, "schedule": r.schedule.to_dict(), "seconds": r.seconds,
                 "step_indices": list(r.step_indices) if r.step_indices is not None else None,
                 **({"attention_steps": list(r.attention_steps), "attention_segments": list(r.attention_segments)}
                    if r.attention is not None else {}),
                 "latents": "window" if self._is_window_of_video(r) else r.latents is not None}
                for r in self.sections
            ],
            "tensors": sorted(self._tensor_dict()),
        }

    def __eq__(self, other) -> bool:
        if not isinstance(other, Trace) or self._meta() != other._meta():
            return False
        mine, theirs = self._tensor_dict(), other._tensor_dict()
        return all(mine[k].dtype == theirs[k].dtype and torch.equal(mine[k], theirs[k]) for k in mine)

    def save(self, directory) -> Path:
        """Write `trace.json` and `tensors.safetensors` into `directory` (each atomically)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in self._tensor_dict().items()}
        atomic_write(directory / "tensors.safetensors", lambda p: save_file(tensors, p, metadata={"format": FORMAT}))
        text = json.dumps(self._meta(), indent=1, default=_json_default)
        atomic_write(directory / "trace.json", text)
        return directory

    @classmethod
    def load(cls, directory) -> "Trace":
        from safetensors.torch import load_file

        directory = Path(directory)
        meta_path, tensor_path = directory / "trace.json", directory / "tensors.safetensors"
        if not directory.is_dir():
            raise FileNotFoundError(f"no trace directory at {directory}")
        if not meta_path.is_file():
            raise ValueError(f"not an fpkit trace: {meta_path} is missing")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"damaged trace file {meta_path}: {err}") from err
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"not an fpkit trace: {meta_path} has format "
                             f"{meta.get('format') if isinstance(meta, dict) else type(meta).__name__!r}")
        if meta.get("version") not in READS:
            raise ValueError(f"{meta_path} has trace format version {meta.get('version')!r}; "
                             f"this fpkit reads versions {list(READS)}")
        if not tensor_path.is_file():
            raise ValueError(f"damaged trace: {tensor_path} is missing")
        try:
            tensors = load_file(str(tensor_path))
        except Exception as err:  # safetensors raises its own error types
            raise ValueError(f"damaged trace file {tensor_path}: {err}") from err
        missing = sorted(set(meta["tensors"]) - set(tensors))
        if missing:
            raise ValueError(f"damaged trace file {tensor_path}: missing tensors {missing}")
        try:
            plan = Plan.from_dict(meta["plan"])
            by_order = {s.order: s for s in plan.sections}
            video = tensors.get("latents")
            sections = []
            for rec in meta["sections"]:
                order = rec["order"]
                record = SectionRecord(
                    plan=by_order[order], schedule=SectionSchedule.from_dict(rec["schedule"]),
                    seconds=rec["seconds"],
                    **{n: tensors.get(f"section.{order}.{n}") for n in ("latents", "step_latents", "step_x0",
                                                                         "attention")})
                if record.attention is not None:
                    record.attention_steps = tuple(rec["attention_steps"])
                    record.attention_segments = tuple(rec["attention_segments"])
                if rec.get("latents") == "window":
                    a, b = record.plan.window
                    record.latents = video[:, :, a:b]
                indices = rec.get("step_indices")
                if indices is None and record.step_latents is not None:  # version 1 kept every step
                    indices = range(record.step_latents.shape[0])
                record.step_indices = tuple(indices) if indices is not None else None
                sections.append(record)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"damaged trace file {meta_path}: {err!r}") from err
        return cls(plan=plan, settings=meta["settings"], sections=sections, latents=video)


def _json_default(value):
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return repr(value)


# ---------------------------------------------------------------------------------------------
# Recorder


class TraceRecorder:
    """Observer that builds a Trace. level: "none" (plans, schedules, timings), "sections" (+ the whole
    latent video, each section's latents a view of it: stored once), "steps" (+ latents and x0
    predictions of every `every`-th step and the last; see `recording_cost`).
    The latent video is copied to the CPU once, at the end, with non_blocking=True (pinned memory);
    step copies are synchronous into pageable memory: PyTorch's pinned-memory cache never gives
    memory back, and 180 MB per section at 480x832 would stay pinned for the life of the process."""

    def __init__(self, level: str = "sections", dtype: torch.dtype = torch.float16, every: int = 1):
        self.level = normalize_record(level)
        self.dtype = dtype
        self.every = check_record_every(every)
        self._keep: tuple[int, ...] = ()
        self._trace: Trace | None = None
        self._steps: dict[int, tuple[list, list]] = {}
        self._current: SectionRecord | None = None
        self._pending_device = None

    def _copy(self, tensor: torch.Tensor, pinned: bool = False) -> torch.Tensor:
        if tensor.device.type == "cuda" and pinned:
            self._pending_device = tensor.device
            return tensor.detach().to(self.dtype).to("cpu", non_blocking=True)
        return tensor.detach().to("cpu", dtype=self.dtype, copy=True)

    def __call__(self, event) -> None:
        if isinstance(event, RunStarted):
            self._trace = Trace(plan=event.plan, settings=dict(event.settings))
        elif isinstance(event, SectionStarted):
            self._current = SectionRecord(plan=event.section, schedule=event.schedule)
            self._trace.sections.append(self._current)
            self._steps[event.section.order] = ([], [])
            if self.level == "steps":
                self._keep = recorded_steps(event.schedule.num_steps, self.every)
                self._current.step_indices = self._keep
        elif isinstance(event, StepEnded):
            if self.level == "steps" and event.step in self._keep:
                lat, x0 = self._steps[event.section.order]
                lat.append(self._copy(event.prev_sample))
                x0.append(self._copy(event.sample - event.sigma * event.model_output))
        elif isinstance(event, RunEnded):
            if self.level != "none":
                self._trace.latents = self._copy(event.latents, pinned=True)
            for rec in self._trace.sections:
                rec.seconds = event.section_seconds.get(rec.plan.order)

    @property
    def trace(self) -> Trace:
        if self._pending_device is not None:
            torch.cuda.synchronize(self._pending_device)
            self._pending_device = None
        for rec in self._trace.sections:
            if self._trace.latents is not None and rec.latents is None:
                a, b = rec.plan.window
                rec.latents = self._trace.latents[:, :, a:b]  # a view: the window is stored once
            lat, x0 = self._steps.pop(rec.plan.order, ([], []))
            if lat:
                rec.step_latents, rec.step_x0 = torch.stack(lat), torch.stack(x0)
        return self._trace


def observe(observers, event: Any) -> None:
    for observer in observers:
        observer(event)
