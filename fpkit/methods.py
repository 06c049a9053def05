"""Anti-drifting methods: frozen configs that act at named sites of the section loop, for one call.

    run = fpkit.sample(pipe, ..., methods=[fpkit.methods.history_noise(sigma=0.1)])

Sites (the sampler calls them in this order; each returns the value it was given, changed or not):

| site | value | when |
| --- | --- | --- |
| `section.context` | `Context`: the packed transformer inputs and the canvas they came from | before a section's first step |
| `section.noise` | (B, C, lws, h, w) initial noise of the window | before a section's first step |
| `step.model_output` | (B, C, lws, h, w) velocity prediction after CFG, before the solver step | every step |
| `step.latents` | (B, C, lws, h, w) latents after the solver step (and the diffusers callback) | every step |
| `section.latents` | (B, C, lws, h, w) the finished window, before it is written into the canvas | after a section's last step |

A method is a frozen dataclass with a canonical snake_case `name`, validated in `__post_init__`,
`to_dict()` for tables and run ids, and one method per site it uses (`section_context`,
`section_noise`, `step_model_output`, `step_latents`, `section_latents`), each taking
`(value, state: SiteState)`. `check(pipe, plan)` raises before sampling when a model or plan cannot
support it. A method that must install something on the model (a diffusers cache hook) does it in
`install(pipe)` and returns the undo, which the sampler runs when the call ends, however it ends.
`section.context` may also set `inputs["image_embeds"]` (the SigLIP conditioning of that section).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar

import torch

SITES = ("section.context", "section.noise", "step.model_output", "step.latents", "section.latents")
_HOOK = {site: site.replace(".", "_") for site in SITES}


@dataclass
class Context:
    """The packed context of one section: `inputs` are the transformer keywords built from `canvas`
    by the plan's slot sources. `canvas` is the run's canvas (B, C, N + 2, h, w): read it, never write
    it; to change the history, gather from a changed copy with `regather`."""

    inputs: dict
    canvas: torch.Tensor
    section: Any  # planning.SectionPlan
    dtype: torch.dtype

    def regather(self, canvas: torch.Tensor) -> "Context":
        """The same section's inputs gathered from another canvas (e.g. a noised copy)."""
        from .sampler import context_inputs

        return Context(context_inputs(canvas, self.section, self.dtype), canvas, self.section, self.dtype)


@dataclass
class SiteState:
    """What a site sees of the run. `predict(x, context_inputs)` runs the model (with the run's
    conditioning and true CFG) at the current step: a guidance method's second opinion."""

    pipe: Any
    plan: Any  # planning.Plan
    section: Any  # planning.SectionPlan
    canvas: torch.Tensor  # read-only by contract
    context: Context | None = None
    step: int | None = None
    sigma: float | None = None
    timestep: torch.Tensor | None = None
    sample: torch.Tensor | None = None  # latents the model saw at this step
    predict: Callable | None = None
    start_latent: torch.Tensor | None = None  # (B, C, 1, h, w)
    start_image: torch.Tensor | None = None  # (B, 3, H, W) in [-1, 1], the preprocessed input image
    generator: Any = None


class Method:
    """Base of every method: subclasses are frozen dataclasses that override the sites they use."""

    name: ClassVar[str] = ""
    source: ClassVar[str] = ""
    cache_context: ClassVar[bool] = False  # transformer calls need diffusers' cache_context

    def check(self, pipe, plan) -> None:
        """Raise ValueError before sampling if this model or plan cannot run the method."""

    def install(self, pipe) -> Callable[[], None] | None:
        """Set up what the method needs on the pipeline for one call; return the undo."""
        return None

    def sites(self) -> tuple[str, ...]:
        """The sites this method acts at (the hooks it overrides)."""
        return tuple(s for s in SITES if getattr(type(self), _HOOK[s], None) is not getattr(Method, _HOOK[s], None))

    def to_dict(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)} if hasattr(self, "__dataclass_fields__") \
            else {}
        return {"name": self.name, **values}

    # the sites (identity by default)
    def section_context(self, context: Context, state: SiteState) -> Context:
        return context

    def section_noise(self, noise: torch.Tensor, state: SiteState) -> torch.Tensor:
        return noise

    def step_model_output(self, output: torch.Tensor, state: SiteState) -> torch.Tensor:
        return output

    def step_latents(self, latents: torch.Tensor, state: SiteState) -> torch.Tensor:
        return latents

    def section_latents(self, latents: torch.Tensor, state: SiteState) -> torch.Tensor:
        return latents


METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    if not cls.name or cls.name in METHODS:
        raise ValueError(f"a method needs a unique name, got {cls.name!r}")
    METHODS[cls.name] = cls
    return cls


def _number(name: str, value, low: float | None = None, high: float | None = None, open_low: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (open_low and value == low)):
        raise ValueError(f"{name} must be {'>' if open_low else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")


def _history_positions(context: Context) -> list[int]:
    """Canvas positions of generated frames the section reads as history. The user's images are not
    history: the start latent (position 0, also F1's first 1x slot) and the last image (position N)."""
    images = {0, context.canvas.shape[2] - 2}  # the last image sits at N = num_latents
    out = set()
    for slot in context.section.slots:
        if slot.kind == "history":
            out.update(p for p in slot.sources if p is not None and p not in images)
    return sorted(out)


def _with_history(context: Context, change: Callable[[torch.Tensor], torch.Tensor]) -> Context:
    """Regather the context from a canvas copy whose generated-history frames are `change`d."""
    positions = _history_positions(context)
    if not positions:
        return context
    canvas = context.canvas.clone()
    index = torch.tensor(positions, device=canvas.device)
    canvas[:, :, index] = change(canvas[:, :, index])
    return context.regather(canvas)


@torch.no_grad()
def decode(pipe, latents: torch.Tensor) -> torch.Tensor:
    """(B, C, T, h, w) latents -> (B, 3, T', H, W) float32 pixels in [-1, 1] (the sampler's decode)."""
    from .sampler import vae_decode

    return vae_decode(pipe, latents).float()


@torch.no_grad()
def encode(pipe, video: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) pixels in [-1, 1] -> latents (the distribution's mode: no generator drawn)."""
    vae = pipe.vae
    return vae.encode(video.to(vae.dtype)).latent_dist.mode().float() * vae.config.scaling_factor


def match_lab(video: torch.Tensor, reference: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """Match the per-channel Lab mean / std of `video` (B, 3, T, H, W) in [-1, 1] to `reference`
    (B, 3, H, W) in [-1, 1] (Reinhard et al. 2001 colour transfer), per video of the batch."""
    from skimage import color

    out = video.clone()
    for b in range(video.shape[0]):
        ref = color.rgb2lab(((reference[b].permute(1, 2, 0).float().cpu().numpy() + 1) / 2).clip(0, 1))
        frames = ((video[b].permute(1, 2, 3, 0).float().cpu().numpy() + 1) / 2).clip(0, 1)  # (T, H, W, 3)
        lab = color.rgb2lab(frames)
        mean, std = lab.mean((0, 1, 2)), lab.std((0, 1, 2)) + 1e-6
        matched = (lab - mean) / std * ref.std((0, 1)) + ref.mean((0, 1))
        lab = lab + strength * (matched - lab)
        with warnings.catch_warnings():  # out-of-gamut Lab values are clipped, which is the intent
            warnings.simplefilter("ignore", UserWarning)
            rgb = color.lab2rgb(lab).clip(0, 1) * 2 - 1
        out[b] = torch.from_numpy(rgb).permute(3, 0, 1, 2).to(video)
    return out


# ---------------------------------------------------------------------------------------------
# The library


@register
@dataclass(frozen=True)
class AnchorOnly(Method):
    """History slots emptied, start anchor (and a given last image) kept: paper Table 2 "anchor frames"."""

    name: ClassVar[str] = "anchor_only"
    source: ClassVar[str] = "Zhang & Agrawala 2025, Table 2 (anchor frames), at inference"

    def section_context(self, context, state):
        return _with_history(context, torch.zeros_like)


@register
@dataclass(frozen=True)
class HistoryNoise(Method):
    """Noise the clean history before packing, x = (1 - s) x + s eps: diffusion forcing's sigma_test."""

    sigma: float = 0.1
    seed: int = 0
    name: ClassVar[str] = "history_noise"
    source: ClassVar[str] = "Chen et al. 2024, Diffusion Forcing (noised context at sampling)"

    def __post_init__(self):
        _number("history_noise.sigma", self.sigma, 0.0, 1.0)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"history_noise.seed must be an int, got {self.seed!r}")

    def section_context(self, context, state):
        if self.sigma == 0:
            return context
        g = torch.Generator(device=context.canvas.device).manual_seed(self.seed * 1000003 + state.section.order)

        def noise(x):
            eps = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)
            return (1 - self.sigma) * x + self.sigma * eps

        return _with_history(context, noise)


@register
@dataclass(frozen=True)
class HistoryQuantize(Method):
    """Snap history latent pixels to a k-means codebook of the start latent: paper v3's +D at inference."""

    k: int = 64
    iters: int = 20
    name: ClassVar[str] = "history_quantize"
    source: ClassVar[str] = "Zhang & Agrawala 2025 (v3), history discretization, without training for it"

    def __post_init__(self):
        for n in ("k", "iters"):
            v = getattr(self, n)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"history_quantize.{n} must be an int >= 1, got {v!r}")

    def section_context(self, context, state):
        from .toy.train import fit_codebook, quantize

        start = context.canvas[:, :, 0:1].float()
        pixels = start.shape[0] * start.shape[3] * start.shape[4]
        codebook = fit_codebook(start, min(self.k, pixels), iters=self.iters)
        return _with_history(context, lambda x: quantize(x.float(), codebook).to(x.dtype))


@register
@dataclass(frozen=True)
class LatentStats(Method):
    """Match each finished section's per-channel latent mean / std to the start latent's (users' colour fix)."""

    strength: float = 1.0
    name: ClassVar[str] = "latent_stats"
    source: ClassVar[str] = "FramePack / FramePack-Studio issues on colour drift: per-channel statistics matching"

    def __post_init__(self):
        _number("latent_stats.strength", self.strength, 0.0, 1.0)

    def section_latents(self, latents, state):
        ref = state.start_latent.float()
        x = latents.float()
        dims = (2, 3, 4)
        mean, std = x.mean(dims, keepdim=True), x.std(dims, keepdim=True).clamp_min(1e-6)
        matched = (x - mean) / std * ref.std(dims, keepdim=True) + ref.mean(dims, keepdim=True)
        return (x + self.strength * (matched - x)).to(latents.dtype)


@register
@dataclass(frozen=True)
class HistoryGuidance(Method):
    """Guidance between the prediction with history and without it: paper Table 2 "history guidance"."""

    scale: float = 1.5
    name: ClassVar[str] = "history_guidance"
    source: ClassVar[str] = "Zhang & Agrawala 2025, Table 2 (history guidance; Song et al. 2025)"

    def __post_init__(self):
        _number("history_guidance.scale", self.scale)

    def step_model_output(self, output, state):
        if self.scale == 1:
            return output
        empty = _with_history(state.context, torch.zeros_like)
        without = state.predict(state.sample, empty.inputs)
        return without + self.scale * (output - without)


@register
@dataclass(frozen=True)
class RepeatedI2V(Method):
    """Each section an i2v call from the generated frame next to it: paper Table 2 "repeated image-to-video"."""

    name: ClassVar[str] = "repeated_i2v"
    source: ClassVar[str] = "Zhang & Agrawala 2025, Table 2 (repeated image-to-video)"

    def section_context(self, context, state):
        """The packed context of the plan's first section (a plain i2v call: no generated history),
        with the neighbouring generated frame as the start image, its latent and SigLIP embedding."""
        from .sampler import context_inputs

        a, b = state.section.window
        known = {p for s in state.plan.sections[:state.section.order] for p in range(*s.window)}  # generated
        frame = a - 1 if a - 1 in known else b if b in known else None
        if frame is None:  # nothing generated next to it (the first section): the user's image stays
            return context
        canvas = torch.zeros_like(context.canvas)
        canvas[:, :, 0] = context.canvas[:, :, frame]
        inputs = context_inputs(canvas, state.plan.sections[0], context.dtype)
        pixels = decode(state.pipe, context.canvas[:, :, frame:frame + 1])[:, :, 0]  # (B, 3, H, W)
        embeds = state.pipe.encode_image(pixels.clamp(-1, 1), device=canvas.device)
        inputs["image_embeds"] = embeds.to(dtype=state.pipe.transformer.dtype)
        return Context(inputs, canvas, state.plan.sections[0], context.dtype)


@register
@dataclass(frozen=True)
class VaeRoundtrip(Method):
    """Decode and re-encode each finished section before it enters history: the "colour nudge at every join" control."""

    name: ClassVar[str] = "vae_roundtrip"
    source: ClassVar[str] = "FramePack users' colour-shift reports (a decode / re-encode at each join), as a control"

    def section_latents(self, latents, state):
        return encode(state.pipe, decode(state.pipe, latents).clamp(-1, 1)).to(latents.dtype)


@register
@dataclass(frozen=True)
class ColourMatch(Method):
    """Decode each finished section, match its Lab statistics to the start frame, re-encode (Reinhard et al. 2001)."""

    strength: float = 1.0
    name: ClassVar[str] = "colour_match"
    source: ClassVar[str] = "Reinhard et al. 2001 colour transfer, as FramePack users apply between sections"

    def __post_init__(self):
        _number("colour_match.strength", self.strength, 0.0, 1.0)

    def section_latents(self, latents, state):
        video = decode(state.pipe, latents).clamp(-1, 1)
        return encode(state.pipe, match_lab(video, state.start_image, self.strength)).to(latents.dtype)


CACHE_KINDS = ("first_block", "taylor_seer", "pyramid_attention_broadcast")


@register
@dataclass(frozen=True)
class Cache(Method):
    """diffusers' cache hooks on the transformer, reset at every section start (or not, as a plain pipeline call)."""

    kind: str = "first_block"
    threshold: float = 0.05  # first_block: relative change of the first block's output that reuses the rest
    skip_range: int = 2  # pyramid_attention_broadcast: attention recomputed every k-th step
    reset: bool = True
    name: ClassVar[str] = "cache"
    source: ClassVar[str] = "diffusers cache hooks (First Block Cache, TaylorSeer, Pyramid Attention Broadcast)"
    cache_context: ClassVar[bool] = True

    def __post_init__(self):
        if self.kind not in CACHE_KINDS:
            raise ValueError(f"cache.kind must be one of {CACHE_KINDS} (FasterCache fails on this transformer in "
                             f"diffusers 0.42, MagCache needs per-model calibration), got {self.kind!r}")
        _number("cache.threshold", self.threshold, 0.0, open_low=True)
        if isinstance(self.skip_range, bool) or not isinstance(self.skip_range, int) or self.skip_range < 1:
            raise ValueError(f"cache.skip_range must be an int >= 1, got {self.skip_range!r}")
        if not isinstance(self.reset, bool):
            raise ValueError(f"cache.reset must be true or false, got {self.reset!r}")

    def config(self, pipe):
        import diffusers

        if self.kind == "first_block":
            return diffusers.FirstBlockCacheConfig(threshold=self.threshold)
        if self.kind == "taylor_seer":
            return diffusers.TaylorSeerCacheConfig()
        return diffusers.PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=self.skip_range, spatial_attention_timestep_skip_range=(100, 800),
            current_timestep_callback=lambda: pipe.current_timestep)

    def check(self, pipe, plan):
        if not hasattr(pipe.transformer, "enable_cache"):
            raise ValueError(f"cache: {type(pipe.transformer).__name__} has no diffusers cache support")
        if pipe.transformer.is_cache_enabled:
            raise ValueError("cache: the transformer already has a cache enabled; disable it first")

    def install(self, pipe):
        pipe.transformer.enable_cache(self.config(pipe))
        return pipe.transformer.disable_cache

    def section_context(self, context, state):
        if self.reset and state.section.order > 0:  # a fresh cache: the last section's residuals are stale
            state.pipe.transformer.disable_cache()
            state.pipe.transformer.enable_cache(self.config(state.pipe))
        return context


def resolve(methods) -> tuple[Method, ...]:
    """Methods from instances, names or {"name": ..., **params} dicts (experiment TOML)."""
    if methods is None:
        return ()
    if isinstance(methods, (Method, str, dict)):
        methods = [methods]
    out = []
    for m in methods:
        if isinstance(m, str):
            m = {"name": m}
        if isinstance(m, dict):
            params = dict(m)
            name = params.pop("name", None)
            if name not in METHODS:
                raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}")
            cls = METHODS[name]
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(params) - known)
            if unknown:
                raise ValueError(f"method {name!r} has no parameter(s) {unknown}; it takes {sorted(known)}")
            m = cls(**params)
        if not isinstance(m, Method):
            raise ValueError(f"methods must be fpkit.methods.Method instances, names or dicts, got {m!r}")
        out.append(m)
    return tuple(out)


class Sites:
    """The methods of one call, applied at each site in the order given."""

    def __init__(self, methods: tuple[Method, ...]):
        self.methods = methods
        self.active = {site: [m for m in methods if site in m.sites()] for site in SITES}

    def __call__(self, site: str, value, state: SiteState):
        for m in self.active[site]:
            value = getattr(m, _HOOK[site])(value, state)
        return value

    def any(self, site: str) -> bool:
        return bool(self.active[site])

    @property
    def cache_context(self) -> bool:
        return any(m.cache_context for m in self.methods)

    def install(self, pipe) -> list[Callable[[], None]]:
        """Install what the methods need; returns the undos (run them in reverse when the call ends)."""
        undos = []
        try:
            for m in self.methods:
                undo = m.install(pipe)
                if undo is not None:
                    undos.append(undo)
        except BaseException:
            for undo in reversed(undos):
                undo()
            raise
        return undos

    def describe(self) -> list[dict]:
        return [{**m.to_dict(), "sites": list(m.sites())} for m in self.methods]


def to_dicts(methods) -> list[dict]:
    return [m.to_dict() for m in resolve(methods)]


def canonical(spec) -> str:
    """The normal form of a method spec ("none", a name, a {"name": ..., **params} dict, an instance,
    or a list of them, composed in order): JSON of every method's full to_dict(), defaults filled in,
    so that equal configurations compare, hash and fingerprint equal."""
    if isinstance(spec, str) and spec.startswith("["):  # already canonical (normal forms are re-checked)
        spec = json.loads(spec)
    if spec is None or spec == "none" or (isinstance(spec, (list, tuple)) and list(spec) in ([], ["none"])):
        return "[]"
    return json.dumps(to_dicts(spec), sort_keys=True, separators=(",", ":"))


def label(canonical_json: str) -> str:
    """A short display name for tables and plots: "none", "anchor_only", "history_noise(sigma=0.3)",
    compositions joined with " + " (parameters at their defaults are left out)."""
    parts = []
    for d in json.loads(canonical_json):
        defaults = METHODS[d["name"]]().to_dict()
        changed = [f"{k}={d[k]!r}" if isinstance(d[k], str) else f"{k}={d[k]:g}" if isinstance(d[k], float)
                   else f"{k}={d[k]}" for k in sorted(d) if k != "name" and d[k] != defaults.get(k)]
        parts.append(d["name"] + (f"({', '.join(changed)})" if changed else ""))
    return " + ".join(parts) or "none"


__all__ = ["SITES", "Context", "SiteState", "Method", "METHODS", "register", "resolve", "Sites", "AnchorOnly",
           "HistoryNoise", "HistoryQuantize", "LatentStats", "HistoryGuidance", "RepeatedI2V", "VaeRoundtrip",
           "ColourMatch", "Cache", "CACHE_KINDS"]
