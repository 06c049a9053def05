"""Section planning: a strategy turns (sections, window, geometry) into a Plan of SectionPlans.

Pure and printable: no model and no tensors. Every index the sampler feeds the transformer (which
latent frames fill which context slot, at which RoPE position, with which compression) is decided
here, so a layout can be built, compared and drawn without loading anything.

Positions are *canvas* positions: the latent video the run produces, 0 = the start image's latent,
1 + t * lws ... = temporal section t, and ``num_latents`` (one past the end) = the last image's latent
when one is given. A slot source of ``None`` means an all-zero frame (nothing known there yet).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Callable

# Compression kernels of HunyuanVideoFramepackTransformer3DModel's clean-latent projections
# (paper naming k1/k2/k4): (frames, height, width) in latent pixels.
KERNELS: dict[str, tuple[int, int, int]] = {"k1": (1, 2, 2), "k2": (2, 4, 4), "k4": (4, 8, 8)}
# Transformer inputs in the order they are packed into the sequence: [4x, 2x, clean 1x, noisy].
INPUT_ORDER = ("history_4x", "history_2x", "clean", "noisy")
_INPUT_OF = {"k1": "clean", "k2": "history_2x", "k4": "history_4x"}


def check_int(name: str, value, low: int) -> int:
    """`value` as an int >= low (ints and numpy integers; not floats, strings or bools), else a
    ValueError naming it: the one check behind every count argument (sampler, demo)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class HistorySpec:
    """How many history frames each compression level holds (released checkpoints: 1 / 2 / 16)
    and how the inverted strategies space the start anchor from the window."""

    k1: int = 1
    k2: int = 2
    k4: int = 16
    # "released": n <= 4 -> [n-1, ..., 0]; n > 4 -> [3] + [2] * (n - 3) + [1, 0] (reference demo,
    # diffusers); "true": the real distance in sections, [n-1, ..., 0].
    padding: str = "released"

    def __post_init__(self):
        for name in ("k1", "k2", "k4"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"HistorySpec.{name} must be an int >= 0, got {value!r}")
        if self.padding not in PADDING_RULES:
            raise ValueError(f"unknown padding rule {self.padding!r}; known: {sorted(PADDING_RULES)}")

    @property
    def total(self) -> int:
        return self.k1 + self.k2 + self.k4

    def to_dict(self) -> dict:
        return asdict(self)


def _released_paddings(n: int) -> list[int]:
    if n > 4:
        return [3] + [2] * (n - 3) + [1, 0]
    return list(reversed(range(n)))


PADDING_RULES: dict[str, Callable[[int], list[int]]] = {
    "released": _released_paddings,
    "true": lambda n: list(reversed(range(n))),
}


def latent_paddings(num_sections: int, rule: str = "released") -> list[int]:
    """Gap (in windows) between the start anchor and the noisy window, per inverted generation step."""
    if rule not in PADDING_RULES:
        raise ValueError(f"unknown padding rule {rule!r}; known: {sorted(PADDING_RULES)}")
    return PADDING_RULES[rule](num_sections)


@dataclass(frozen=True)
class Slot:
    """One block of the packed context, in RoPE order.

    kind: "anchor" (start image), "gap" (RoPE positions only, no tokens), "noisy" (the window being
    denoised), "history" (clean context). compression: "k1" / "k2" / "k4" ("" for a gap).
    sources: canvas positions that fill it (None = zeros); for "noisy", the positions it writes.
    """

    kind: str
    compression: str
    rope: tuple[int, ...]
    sources: tuple[int | None, ...]
    tokens: int
    side: str = ""  # "past" / "future" for history slots

    @property
    def frames(self) -> int:
        return len(self.rope)

    def to_dict(self) -> dict:
        return {**asdict(self), "rope": list(self.rope), "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, d: dict) -> "Slot":
        return cls(**{**d, "rope": tuple(d["rope"]), "sources": tuple(d["sources"])})


@dataclass(frozen=True)
class SectionPlan:
    """Everything one transformer section sees: where it sits, what context fills which slot."""

    strategy: str
    order: int  # generation order, 0 = generated first
    index: int  # temporal position, 0 = next to the start image
    num_sections: int
    window: tuple[int, int]  # canvas positions [start, stop) this section writes
    slots: tuple[Slot, ...]
    padding: int | None = None  # anchor gap in windows (inverted layouts)

    @property
    def is_first(self) -> bool:
        """Generated first."""
        return self.order == 0

    @property
    def is_last(self) -> bool:
        """Generated last."""
        return self.order == self.num_sections - 1

    @property
    def is_start(self) -> bool:
        """Temporally first (touches the start image)."""
        return self.index == 0

    @property
    def is_end(self) -> bool:
        """Temporally last."""
        return self.index == self.num_sections - 1

    @property
    def layout(self) -> str:
        return layout_name(self.slots)

    @property
    def noisy(self) -> Slot:
        return next(s for s in self.slots if s.kind == "noisy")

    def inputs(self) -> dict[str, tuple[list[int | None], list[int]]]:
        """Transformer inputs: {input: (sources, rope)} with 1x slots concatenated in RoPE order."""
        out: dict[str, tuple[list[int | None], list[int]]] = {}
        for slot in self.slots:
            if slot.kind == "gap":
                continue
            key = "noisy" if slot.kind == "noisy" else _INPUT_OF[slot.compression]
            sources, rope = out.setdefault(key, ([], []))
            sources.extend(slot.sources)
            rope.extend(slot.rope)
        return out

    def tokens(self) -> dict[str, int]:
        """Visual tokens per transformer input (from the slots' counts)."""
        counts = {name: 0 for name in INPUT_ORDER}
        for slot in self.slots:
            if slot.kind != "gap":
                counts["noisy" if slot.kind == "noisy" else _INPUT_OF[slot.compression]] += slot.tokens
        return counts

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens().values())

    def to_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "order": self.order,
            "index": self.index,
            "num_sections": self.num_sections,
            "window": list(self.window),
            "padding": self.padding,
            "layout": self.layout,
            "slots": [s.to_dict() for s in self.slots],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "SectionPlan":
        return cls(
            strategy=d["strategy"],
            order=d["order"],
            index=d["index"],
            num_sections=d["num_sections"],
            window=tuple(d["window"]),
            slots=tuple(Slot.from_dict(s) for s in d["slots"]),
            padding=d.get("padding"),
        )


@dataclass(frozen=True)
class DecodeChunk:
    """Decode canvas[start:stop] and join it to the running video on `side` with a linear cross-fade
    ("init" starts the video). Mirrors diffusers' incremental decode + `_soft_append`."""

    start: int
    stop: int
    side: str  # "init" | "before" | "after"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """A whole run: sections in generation order, the canvas size and how to decode it."""

    strategy: str
    latent_window_size: int
    latent_size: tuple[int, int]  # latent (height, width)
    patch_size: int
    history: HistorySpec
    has_last_image: bool
    sections: tuple[SectionPlan, ...]
    decode: tuple[DecodeChunk, ...]
    keyframes: tuple[int, ...] = ()  # canvas positions of user-pinned latents (strategy "keyframes")

    @property
    def num_sections(self) -> int:
        return len(self.sections)

    @property
    def num_latents(self) -> int:
        """Latent frames of the output video (start latent included)."""
        return 1 + self.num_sections * self.latent_window_size

    @property
    def layout(self) -> str:
        """Paper-style name of the strategy's layout (its first generated section)."""
        return self.sections[0].layout

    @property
    def latent_spans(self) -> dict[int, tuple[int, int]]:
        """Generation order -> the canvas span [start, stop) known after that section: what diffusers'
        `output_type="latent"` returns per section (inverted: the generated tail, the start latent
        joining on the last section; forward strategies: from the start latent to the furthest
        generated frame, windows not yet generated still zero)."""
        spans, furthest = {}, 1
        for s in self.sections:
            ws, we = s.window
            if self.strategy == "inverted_anti_drifting":
                spans[s.order] = (0 if s.is_last else ws, self.num_latents)
            else:
                furthest = max(furthest, we)
                spans[s.order] = (0, furthest)
        return spans

    def temporal(self) -> list[SectionPlan]:
        return sorted(self.sections, key=lambda s: s.index)

    def num_frames(self, temporal_compression: int) -> int:
        """Pixel frames of the decoded video for a causal VAE (1 + k*r frames <-> 1 + k latents)."""
        return (self.num_latents - 1) * temporal_compression + 1

    def to_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "latent_window_size": self.latent_window_size,
            "latent_size": list(self.latent_size),
            "patch_size": self.patch_size,
            "history": self.history.to_dict(),
            "has_last_image": self.has_last_image,
            "sections": [s.to_dict() for s in self.sections],
            "decode": [c.to_dict() for c in self.decode],
            "keyframes": list(self.keyframes),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        return cls(
            strategy=d["strategy"],
            latent_window_size=d["latent_window_size"],
            latent_size=tuple(d["latent_size"]),
            patch_size=d["patch_size"],
            history=HistorySpec(**d["history"]),
            has_last_image=d["has_last_image"],
            sections=tuple(SectionPlan.from_dict(s) for s in d["sections"]),
            decode=tuple(DecodeChunk(**c) for c in d["decode"]),
            keyframes=tuple(d.get("keyframes", ())),
        )

    def __str__(self) -> str:
        head = (
            f"Plan {self.strategy}: {self.num_sections} sections x {self.latent_window_size} latents, "
            f"canvas {self.num_latents} latents, latent {self.latent_size[0]}x{self.latent_size[1]}"
        )
        rows = [head, f"{'order':>5} {'index':>5} {'window':>9} {'tokens':>7}  layout / rope"]
        for s in self.sections:
            ropes = " ".join(f"{sl.kind[0]}{sl.compression[1:] if sl.compression else ''}"
                             f"[{span_text(sl.rope)}]" for sl in s.slots if sl.frames)
            rows.append(
                f"{s.order:>5} {s.index:>5} {s.window[0]:>4}-{s.window[1] - 1:<4} {s.total_tokens:>7}  "
                f"{s.layout}  {ropes}"
            )
        return "\n".join(rows)


def span_text(values) -> str:
    """Compact index list: "5", "1-16", "1-3,7,9-10" ("-" when empty)."""
    values = list(values)
    if not values:
        return "-"
    runs, start = [], values[0]
    for a, b in zip(values, values[1:] + [None]):
        if b is None or b - a != 1:
            runs.append(str(start) if start == a else f"{start}-{a}")
            start = b
    return ",".join(runs)


def slot_tokens(frames: int, compression: str, latent_size: tuple[int, int], patch_size: int = 2) -> int:
    """Tokens a slot of `frames` latent frames becomes: clean inputs are replicate-padded to kernel
    multiples before the strided Conv3d, so counts round up."""
    if frames == 0 or not compression:
        return 0
    if compression == "noisy":
        kt, kh, kw = 1, patch_size, patch_size
    else:
        kt, kh, kw = KERNELS[compression]
    h, w = latent_size
    return math.ceil(frames / kt) * math.ceil(h / kh) * math.ceil(w / kw)


def layout_name(slots: tuple[Slot, ...]) -> str:
    """Paper notation: f{n}k{c} = n frames at compression c, g{n} = n generated frames, x = a gap,
    td = tail delete (older context dropped on that side). E.g. `f1k1_x_g9_f1k1f2k2f16k4_td`;
    released F1 reads `f1k1_td_f16k4f2k2f1k1_g9` (the paper omits its start anchor)."""
    groups: list[tuple[str, str]] = []  # (group key, text)
    for slot in slots:
        if slot.frames == 0:
            continue
        if slot.kind == "gap":
            groups.append(("gap", "x"))
            continue
        key = f"history-{slot.side}" if slot.kind == "history" else slot.kind
        text = f"g{slot.frames}" if slot.kind == "noisy" else f"f{slot.frames}{slot.compression}"
        if groups and groups[-1][0] == key:
            groups[-1] = (key, groups[-1][1] + text)
        else:
            groups.append((key, text))
    keys = [k for k, _ in groups]
    texts = [t for _, t in groups]
    if "history-future" in keys:
        texts.append("td")
    elif "history-past" in keys:
        texts.insert(keys.index("history-past"), "td")
    return "_".join(texts)


# ---------------------------------------------------------------------------------------------
# Strategies: one signature, registered by name.


@dataclass(frozen=True)
class _Geometry:
    num_sections: int
    lws: int
    latent_size: tuple[int, int]
    patch_size: int
    history: HistorySpec
    has_last_image: bool
    keyframes: tuple[int, ...] = ()  # canvas positions the user pins (strategy "keyframes")

    @property
    def num_latents(self) -> int:
        return 1 + self.num_sections * self.lws

    def window(self, index: int) -> tuple[int, int]:
        start = 1 + index * self.lws
        return start, start + self.lws

    def slot(self, kind, compression, rope, sources, side="") -> Slot:
        rope = tuple(int(r) for r in rope)
        sources = tuple(sources)
        comp = "noisy" if kind == "noisy" else compression
        tokens = 0 if kind == "gap" else slot_tokens(len(rope), comp, self.latent_size, self.patch_size)
        return Slot(kind, compression, rope, sources, tokens, side)


StrategyFn = Callable[[_Geometry], list[SectionPlan]]
STRATEGIES: dict[str, StrategyFn] = {}
# Which transformer layout each strategy needs: "forward" (F1 checkpoint) or "bidirectional" (original).
STRATEGY_LAYOUT: dict[str, str] = {}
# Whether a strategy can take a last image.
STRATEGY_TAKES_LAST_IMAGE: dict[str, bool] = {}


def register_strategy(name: str, layout: str, takes_last_image: bool):
    def deco(fn: StrategyFn) -> StrategyFn:
        STRATEGIES[name] = fn
        STRATEGY_LAYOUT[name] = layout
        STRATEGY_TAKES_LAST_IMAGE[name] = takes_last_image
        return fn

    return deco


def _past_or_zero(position: int) -> int | None:
    return position if position >= 0 else None


@register_strategy("vanilla", layout="forward", takes_last_image=False)
def _vanilla(g: _Geometry) -> list[SectionPlan]:
    """F1 / paper Fig. 2a: forward in time; start anchor at RoPE 0, then the newest past frames at
    4x / 2x / 1x, then the window. history = zeros(16+2+1) + start latent + generated sections."""
    h = g.history
    sections = []
    for k in range(g.num_sections):
        ws, we = g.window(k)
        rope = iter(range(1 + h.total + g.lws))
        take = lambda n: [next(rope) for _ in range(n)]  # noqa: E731
        past = [_past_or_zero(p) for p in range(ws - h.total, ws)]
        slots = (
            g.slot("anchor", "k1", take(1), [0]),
            g.slot("history", "k4", take(h.k4), past[: h.k4], "past"),
            g.slot("history", "k2", take(h.k2), past[h.k4 : h.k4 + h.k2], "past"),
            g.slot("history", "k1", take(h.k1), past[h.k4 + h.k2 :], "past"),
            g.slot("noisy", "k1", take(g.lws), range(ws, we)),
        )
        sections.append(SectionPlan("vanilla", k, k, g.num_sections, (ws, we), slots))
    return sections


def _future_slots(g: _Geometry, rope_start: int, sources: list[int | None]) -> list[Slot]:
    h = g.history
    rope = list(range(rope_start, rope_start + h.total))
    return [
        g.slot("history", "k1", rope[: h.k1], sources[: h.k1], "future"),
        g.slot("history", "k2", rope[h.k1 : h.k1 + h.k2], sources[h.k1 : h.k1 + h.k2], "future"),
        g.slot("history", "k4", rope[h.k1 + h.k2 :], sources[h.k1 + h.k2 :], "future"),
    ]


@register_strategy("inverted_anti_drifting", layout="bidirectional", takes_last_image=True)
def _inverted(g: _Geometry) -> list[SectionPlan]:
    """Original FramePack / paper Fig. 2c: generate from the end toward the start image. RoPE:
    start anchor 0 | gap pad*lws | window | the nearest generated future at 1x / 2x / 4x. With a last
    image, the first generated section sees it in the 1x future slot (and only that section)."""
    h = g.history
    n, end = g.num_sections, g.num_latents
    paddings = latent_paddings(n, h.padding)
    sections = []
    for k in range(n):
        t = n - 1 - k
        ws, we = g.window(t)
        pad = paddings[k] * g.lws
        future = [p if p < end else None for p in range(we, we + h.total)]
        if g.has_last_image and k == 0 and h.k1:
            future[: h.k1] = [end] + [None] * (h.k1 - 1)
        slots = (
            g.slot("anchor", "k1", [0], [0]),
            g.slot("gap", "", range(1, 1 + pad), []),
            g.slot("noisy", "k1", range(1 + pad, 1 + pad + g.lws), range(ws, we)),
            *_future_slots(g, 1 + pad + g.lws, future),
        )
        sections.append(
            SectionPlan("inverted_anti_drifting", k, t, n, (ws, we), slots, padding=paddings[k])
        )
    return sections


@register_strategy("anti_drifting", layout="bidirectional", takes_last_image=True)
def _anti_drifting(g: _Geometry) -> list[SectionPlan]:
    """Paper Fig. 2b, endpoints first: generation order [0, n-1, 1, 2, ..., n-2].

    Section 0 and the end section are generated first (the end with the same anchor gap as
    inverted sampling), then the middle is filled forward with context from both sides: the
    frame just before the window in a past 1x slot, and the nearest already generated frames after
    it (the end section, the last image) in the future 1x / 2x / 4x slots at their true distance.
    """
    h = g.history
    n, end = g.num_sections, g.num_latents
    paddings = latent_paddings(n, h.padding)
    order = [0] + ([n - 1] if n > 1 else []) + list(range(1, n - 1))
    known = {0} | ({end} if g.has_last_image else set())
    return _fill_sections(g, "anti_drifting", order, known, paddings)


def _fill_sections(g: _Geometry, strategy: str, order: list[int], known: set[int], paddings) -> list[SectionPlan]:
    """Sections in generation `order`, each with `_fill_slots` context from the frames known by then
    (`known`: canvas positions known before any section; each window joins it once generated). A
    known frame inside the window being generated (a keyframe) is pinned there, not read as context."""
    n, known, sections = g.num_sections, set(known), []
    for k, t in enumerate(order):
        ws, we = g.window(t)
        pad = paddings[n - 1 - t] * g.lws
        slots = _fill_slots(g, t, known - set(range(ws, we)), pad)
        sections.append(SectionPlan(strategy, k, t, n, (ws, we), tuple(slots), padding=pad // g.lws))
        known.update(range(ws, we))
    return sections


def _fill_slots(g: _Geometry, t: int, known: set[int], pad: int) -> list[Slot]:
    """Anti-drifting's context for window `t`: start anchor | gap | the known frame just before the
    window (past 1x) | window | the nearest known frames after it at their true distances (future)."""
    h = g.history
    ws, we = g.window(t)
    window_rope = 1 + pad
    has_past = t > 0 and (ws - 1) in known
    after = sorted(p for p in known if p >= we)[: h.total]
    jump = (after[0] - we) if after else 0
    future = after + [None] * (h.total - len(after))
    future_rope = window_rope + g.lws + jump
    # RoPE keeps true distances inside the future block; zeros continue after the last real frame.
    slots = [
        g.slot("anchor", "k1", [0], [0]),
        g.slot("gap", "", range(1, window_rope - int(has_past)), []),
    ]
    if has_past:
        slots.append(g.slot("history", "k1", [window_rope - 1], [ws - 1], "past"))
    slots.append(g.slot("noisy", "k1", range(window_rope, window_rope + g.lws), range(ws, we)))
    if jump:
        slots.append(g.slot("gap", "", range(window_rope + g.lws, future_rope), []))
    for slot in _future_slots(g, future_rope, future):
        rope = tuple(future_rope + (p - we - jump) if p is not None else r
                     for p, r in zip(slot.sources, slot.rope))
        slots.append(Slot(slot.kind, slot.compression, rope, slot.sources, slot.tokens, slot.side))
    return slots


@register_strategy("keyframes", layout="bidirectional", takes_last_image=True)
def _keyframes(g: _Geometry) -> list[SectionPlan]:
    """Multi-endpoint planned sampling (paper Fig. 2d; a "timeline of images"): the user pins latent
    frames at given canvas positions (`plan(..., keyframes=...)`); the sections holding them are
    generated first, in temporal order (the sampler keeps each pinned frame on its keyframe while
    denoising, by replacement), then the end section, then the rest forward, each with the
    anti-drifting context from both sides: the known frame before the window, the nearest known
    frames after it (keyframes, generated sections, the last image) at their true distances."""
    n, end = g.num_sections, g.num_latents
    paddings = latent_paddings(n, g.history.padding)
    holding = sorted({(p - 1) // g.lws for p in g.keyframes})
    order = holding + ([n - 1] if n - 1 not in holding else [])
    order += [t for t in range(n) if t not in order]
    known = {0, *g.keyframes} | ({end} if g.has_last_image else set())
    return _fill_sections(g, "keyframes", order, known, paddings)


def _decode_chunks(strategy: str, sections: list[SectionPlan], lws: int) -> tuple[DecodeChunk, ...]:
    """The incremental decode diffusers runs after every section, as a list: the first chunk is the
    whole known video, later chunks are the newest two windows, cross-faded onto the running video."""
    chunks = []
    if strategy == "inverted_anti_drifting":
        for s in sections:
            ws, we = s.window
            start = 0 if s.is_last else ws  # the start latent is prepended on the last section
            if s.is_first:
                chunks.append(DecodeChunk(start, we, "init"))
            else:
                chunks.append(DecodeChunk(start, ws + 2 * lws, "before"))
        return tuple(chunks)
    # Forward decode in temporal order (vanilla; also strategies that fill out of order).
    for s in sorted(sections, key=lambda s: s.index):
        ws, we = s.window
        chunks.append(DecodeChunk(0, we, "init") if s.index == 0 else DecodeChunk(we - 2 * lws, we, "after"))
    return tuple(chunks)


DECODE_POLICIES = (None, "forward", "whole")


def decode_chunks(the_plan: "Plan", policy: str | None = None) -> tuple[DecodeChunk, ...]:
    """How to decode a plan's latents: None = the pipeline's per-strategy incremental decode (parity),
    "forward" = the forward chunks for every strategy (one shared decode, so a pixel comparison of
    strategies has no decode difference at the seams), "whole" = one decode of the whole video."""
    if policy not in DECODE_POLICIES:
        raise ValueError(f"decode policy must be one of {DECODE_POLICIES}, got {policy!r}")
    if policy is None:
        return the_plan.decode
    if policy == "whole":
        return (DecodeChunk(0, the_plan.num_latents, "init"),)
    return _decode_chunks("vanilla", list(the_plan.sections), the_plan.latent_window_size)


def plan(
    strategy: str,
    num_sections: int,
    latent_window_size: int = 9,
    latent_size: tuple[int, int] = (60, 104),
    patch_size: int = 2,
    history: HistorySpec | None = None,
    has_last_image: bool = False,
    keyframes: tuple[int, ...] = (),
) -> Plan:
    """Plan a run. `latent_size` = (height, width) of the latent frames (pixels / VAE factor);
    `keyframes`: canvas positions (1 .. num_latents - 1) of user-pinned latents, strategy "keyframes"."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sampling strategy {strategy!r}; known: {sorted(STRATEGIES)}")
    for name, value, low in (("num_sections", num_sections, 1), ("latent_window_size", latent_window_size, 1),
                             ("patch_size", patch_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if len(latent_size) != 2 or any(int(v) < 1 for v in latent_size):
        raise ValueError(f"latent_size must be (height, width) >= 1, got {latent_size!r}")
    if has_last_image and not STRATEGY_TAKES_LAST_IMAGE[strategy]:
        takes = sorted(k for k, v in STRATEGY_TAKES_LAST_IMAGE.items() if v)
        raise ValueError(f"sampling type {strategy!r} does not take a last_image; use one of {takes}")
    keyframes = check_keyframes(strategy, keyframes, 1 + num_sections * latent_window_size)
    history = history or HistorySpec()
    geometry = _Geometry(num_sections, latent_window_size, tuple(int(v) for v in latent_size),
                         patch_size, history, has_last_image, keyframes)
    sections = STRATEGIES[strategy](geometry)
    return Plan(
        strategy=strategy,
        latent_window_size=latent_window_size,
        latent_size=geometry.latent_size,
        patch_size=patch_size,
        history=history,
        has_last_image=has_last_image,
        sections=tuple(sections),
        decode=_decode_chunks(strategy, sections, latent_window_size),
        keyframes=keyframes,
    )


def check_keyframes(strategy: str, keyframes, num_latents: int) -> tuple[int, ...]:
    """Sorted canvas positions, or ValueError naming the bad value: only strategy "keyframes" takes
    them (and needs at least one); each an int in [1, num_latents - 1], no repeats."""
    keyframes = tuple(keyframes or ())
    if strategy != "keyframes":
        if keyframes:
            raise ValueError(f"keyframes are for sampling type 'keyframes', not {strategy!r}; got {keyframes!r}")
        return ()
    if not keyframes:
        raise ValueError("sampling type 'keyframes' needs at least one keyframe position")
    for p in keyframes:
        if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= num_latents - 1:
            raise ValueError(f"keyframe position must be an int in [1, {num_latents - 1}] (latent frames "
                             f"after the start image), got {p!r}")
    if len(set(keyframes)) != len(keyframes):
        raise ValueError(f"keyframe positions repeat: {keyframes!r}")
    return tuple(sorted(keyframes))


def num_sections_for(num_frames: int, latent_window_size: int, temporal_compression: int = 4) -> int:
    """diffusers' rule: ceil(num_frames / ((lws - 1) * r + 1)), at least 1. The video it yields has
    n * lws * r + 1 frames, not `num_frames`."""
    window_frames = (latent_window_size - 1) * temporal_compression + 1
    return max(1, (num_frames + window_frames - 1) // window_frames)


def sections_for_seconds(seconds: float, latent_window_size: int = 9, fps: int = 30,
                         temporal_compression: int = 4) -> int:
    """Reference demo's rule: max(round(seconds * fps / (lws * r)), 1) with banker's rounding."""
    return max(round(seconds * fps / (latent_window_size * temporal_compression)), 1)


def latent_to_frames(position: int, temporal_compression: int) -> range:
    """Pixel frames a canvas latent decodes to with a causal VAE: 0 -> [0], i -> ((i-1)r+1 .. ir)."""
    if position == 0:
        return range(0, 1)
    r = temporal_compression
    return range((position - 1) * r + 1, position * r + 1)
