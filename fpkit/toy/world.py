"""The toy world: procedural clips of coloured sprites bouncing over a smooth textured background.

Deterministic per seed, rendered vectorised in torch (~3 ms for a 17-frame 64x64 clip), with the
ground truth (sprite tracks, colours, background colours) kept beside the pixels so generated
videos can be scored against what the world can produce.

Difficulty was tuned down from the feasibility probe (2-3 discs up to 1.5 px/frame, which a 1.7M
model blurred into blobs): 1-2 large sprites (radius 7-10 px at 64x64), slow (0.4-1.0 px/frame),
saturated colours over a muted two-colour gradient, so "a sprite" and "background" separate cleanly in
HSV saturation (sprites >= 0.7, background <= 0.35) and presence can be measured without a model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import PIL.Image
import torch

SHAPES = ("disc", "square")


@dataclass(frozen=True)
class WorldSpec:
    """What clips the world draws. Sizes in pixels, speeds in pixels per frame."""

    size: int = 64
    sprites: tuple[int, int] = (1, 2)  # inclusive range of sprite counts
    radius: tuple[float, float] = (7.0, 10.0)  # disc radius / square half-side
    speed: tuple[float, float] = (0.4, 1.0)
    shapes: tuple[str, ...] = SHAPES
    pan: float = 0.0  # max camera pan speed (background drift, px/frame); 0 = static camera
    texture: float = 0.03  # amplitude of the sinusoidal background texture
    sprite_saturation: tuple[float, float] = (0.75, 1.0)
    sprite_value: tuple[float, float] = (0.85, 1.0)
    background_saturation: tuple[float, float] = (0.05, 0.3)
    background_value: tuple[float, float] = (0.25, 0.6)
    # Motion trail ("comet tail", like motion blur): faded copies of each sprite at its last `trail`
    # positions, opacity falling linearly from `trail_alpha`. It makes a single frame tell where each
    # sprite is heading and how fast, so a start image determines its continuation: without it the
    # first section (and the inverted far end) must guess a direction, which the v1 organism averaged
    # into sprites that stalled or dissolved (docs/toy.md, "what we tried").
    trail: int = 10
    trail_alpha: float = 0.6

    def __post_init__(self):
        if self.size < 16 or self.size % 16:
            raise ValueError(f"WorldSpec.size must be a multiple of 16 >= 16, got {self.size!r}")
        for name in ("sprites", "radius", "speed"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
                raise ValueError(f"WorldSpec.{name} must be a finite (low, high) range with 0 <= low <= high, "
                                 f"got {getattr(self, name)!r}")
        if not (isinstance(self.trail, int) and self.trail >= 0):
            raise ValueError(f"WorldSpec.trail must be an int >= 0 (frames of motion trail), got {self.trail!r}")
        if not 0.0 <= self.trail_alpha <= 1.0:
            raise ValueError(f"WorldSpec.trail_alpha must be in [0, 1], got {self.trail_alpha!r}")
        bad = [s for s in self.shapes if s not in SHAPES]
        if bad or not self.shapes:
            raise ValueError(f"WorldSpec.shapes must be a non-empty subset of {SHAPES}, got {self.shapes!r}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "WorldSpec":
        d = {"trail": 0, **d}  # configs written before trails existed (organism v1) drew none
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass
class Clip:
    """A rendered clip and its ground truth. frames: (T, 3, H, W) float in [0, 1], 8-bit levels
    (so a clip frame saved as a PNG and read back is the same image)."""

    seed: int
    frames: torch.Tensor  # (T, 3, H, W)
    positions: torch.Tensor  # (T, S, 2) sprite centres (x, y) in pixels
    radii: torch.Tensor  # (S,)
    colours: torch.Tensor  # (S, 3) RGB in [0, 1]
    shapes: list[str]
    background: torch.Tensor  # (2, 3) the two gradient colours
    spec: WorldSpec = field(default_factory=WorldSpec)

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0]

    def image(self, index: int = 0) -> PIL.Image.Image:
        """Frame `index` as a PIL image (a start image for sampling)."""
        return to_pil(self.frames[index])


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    return np.stack([np.choose(i, [row[c] for row in table]) for c in range(3)], axis=-1)


def _reflect(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Bounce: fold x into [lo, hi] like a ball between two walls (a triangle wave)."""
    span = hi - lo
    y = torch.remainder(x - lo, 2 * span)
    return lo + torch.where(y > span, 2 * span - y, y)


@dataclass(frozen=True)
class _Draw:
    """What clip `seed` draws from its generator (no pixels yet): heading_prompt needs only this."""

    background: torch.Tensor  # (2, 3) the two gradient colours
    angle: float
    freq: np.ndarray
    phase: np.ndarray
    pan: np.ndarray
    colours: torch.Tensor  # (S, 3)
    radii: torch.Tensor  # (S,)
    shapes: list[str]
    start: torch.Tensor  # (S, 2)
    velocity: torch.Tensor  # (S, 2) pixels per frame
    size: int

    def track(self, t: torch.Tensor, lag: int = 0) -> torch.Tensor:
        """(T, S, 2) sprite centres `lag` frames before times t (T, 1, 1): a closed form, also t < 0;
        tracks bounce off the borders."""
        lo, hi = self.radii[:, None], self.size - self.radii[:, None]  # (S, 1)
        return _reflect(self.start[None] + (t - lag) * self.velocity[None], lo[None], hi[None])


def _draw(seed: int, spec: WorldSpec) -> _Draw:
    """Clip `seed`'s random draws, in the order every clip of the world has drawn them."""
    rng = np.random.default_rng(seed)
    size = spec.size
    n = int(rng.integers(spec.sprites[0], spec.sprites[1] + 1))

    # Background: two muted colours, a linear gradient in a random direction, faint texture, pan.
    bg_hsv = np.stack([rng.random(2), rng.uniform(*spec.background_saturation, 2),
                       rng.uniform(*spec.background_value, 2)], -1)
    background = torch.tensor(_hsv_to_rgb(bg_hsv[:, 0], bg_hsv[:, 1], bg_hsv[:, 2]), dtype=torch.float32)
    angle = rng.uniform(0, 2 * math.pi)
    freq = rng.uniform(2.0, 4.0, 2) * 2 * math.pi / size
    phase = rng.uniform(0, 2 * math.pi, 2)
    pan = rng.uniform(-spec.pan, spec.pan, 2) if spec.pan > 0 else np.zeros(2)

    # Sprites: saturated colours, radii, start positions, velocities.
    hue = rng.random(n)
    colours = torch.tensor(_hsv_to_rgb(hue, rng.uniform(*spec.sprite_saturation, n),
                                       rng.uniform(*spec.sprite_value, n)), dtype=torch.float32)
    radii = torch.tensor(rng.uniform(*spec.radius, n), dtype=torch.float32)
    shapes = [spec.shapes[int(k)] for k in rng.integers(0, len(spec.shapes), n)]
    lo, hi = radii[:, None], size - radii[:, None]  # (S, 1)
    start = torch.tensor(rng.random((n, 2)), dtype=torch.float32) * (hi - lo) + lo
    direction = rng.uniform(0, 2 * math.pi, n)
    speed = rng.uniform(*spec.speed, n)
    velocity = torch.tensor(np.stack([np.cos(direction), np.sin(direction)], -1) * speed[:, None],
                            dtype=torch.float32)
    return _Draw(background, angle, freq, phase, pan, colours, radii, shapes, start, velocity, size)


def render_clip(seed: int, num_frames: int = 16, spec: WorldSpec | None = None) -> Clip:
    """Draw clip `seed` with `num_frames` frames. The same seed gives the same clip, and a longer
    clip of a seed starts with the shorter one (motion is a closed form in t)."""
    spec = spec or WorldSpec()
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames!r}")
    size = spec.size
    d = _draw(seed, spec)
    background, angle, freq, phase, pan = d.background, d.angle, d.freq, d.phase, d.pan
    colours, radii, shapes, n = d.colours, d.radii, d.shapes, len(d.shapes)
    t = torch.arange(num_frames, dtype=torch.float32)[:, None, None]  # (T, 1, 1)
    positions = d.track(t)

    # Render all frames at once: (T, H, W) coordinates.
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")  # (H, W)
    tt = t[:, :, 0, None]  # (T, 1, 1)
    bx, by = xx[None] + tt * float(pan[0]), yy[None] + tt * float(pan[1])  # panned background coords
    g = ((bx - size / 2) * math.cos(angle) + (by - size / 2) * math.sin(angle)) / size + 0.5
    g = g.clamp(0, 1)[:, None]  # (T, 1, H, W)
    tex = spec.texture * (torch.sin(bx * freq[0] + phase[0]) * torch.sin(by * freq[1] + phase[1]))[:, None]
    frames = (1 - g) * background[0, :, None, None] + g * background[1, :, None, None] + tex  # (T, 3, H, W)
    lags = range(spec.trail, -1, -1)  # oldest trail copy first, the sprite itself (lag 0) on top
    tracks = {lag: positions if lag == 0 else d.track(t, lag) for lag in lags}
    for k in range(n):
        reach = float(radii[k]) + 1.5  # alpha is exactly 0 farther than radius + 0.5 from the centre
        for lag in lags:
            centre = tracks[lag][:, k]  # (T, 2)
            # the box the copy covers in any frame: outside it the blend below leaves every pixel as it is
            x0, y0 = (max(0, math.floor(float(v) - reach)) for v in centre.min(0).values)
            x1, y1 = (min(size, math.ceil(float(v) + reach)) for v in centre.max(0).values)
            dx = xx[None, y0:y1, x0:x1] - centre[:, 0, None, None]
            dy = yy[None, y0:y1, x0:x1] - centre[:, 1, None, None]
            dist = torch.sqrt(dx * dx + dy * dy) if shapes[k] == "disc" else torch.maximum(dx.abs(), dy.abs())
            alpha = (radii[k] - dist + 0.5).clamp(0, 1)[:, None]  # 1-px antialiased edge
            if lag:
                alpha = alpha * spec.trail_alpha * (1 - (lag - 1) / spec.trail)
            box = frames[:, :, y0:y1, x0:x1]
            frames[:, :, y0:y1, x0:x1] = box * (1 - alpha) + alpha * colours[k, :, None, None]
    frames = torch.round(frames.clamp(0, 1) * 255) / 255
    return Clip(seed, frames, positions, radii, colours, shapes, background, spec)


def render_clips(seeds, num_frames: int = 16, spec: WorldSpec | None = None) -> torch.Tensor:
    """(B, 3, T, H, W) in [-1, 1]: clips for `seeds`, laid out as the codec / pipeline expects."""
    videos = [render_clip(int(s), num_frames, spec).frames for s in seeds]
    return torch.stack(videos).permute(0, 2, 1, 3, 4) * 2 - 1


def to_pil(frame: torch.Tensor) -> PIL.Image.Image:
    """(3, H, W) in [0, 1] -> PIL image."""
    array = (frame.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return PIL.Image.fromarray(array)


def start_image(seed: int, spec: WorldSpec | None = None) -> PIL.Image.Image:
    """First frame of clip `seed`: a start image for `fpkit.sample`."""
    return render_clip(seed, 1, spec).image(0)


def real_video(seed: int, num_frames: int, spec: WorldSpec | None = None) -> torch.Tensor:
    """(T, 3, H, W) in [0, 1]: the world's own continuation of `start_image(seed)` (same layout as
    `run.video`), for side-by-side comparison."""
    return render_clip(seed, num_frames, spec).frames


# Heading prompts: words for what a start image's sprites do next, so a prompted organism
# (`fpkit toy train --heading-prompt P`) knows each sprite's heading without reading its trail.
# Hue names at their centre hues (degrees), compass words in image coordinates (y grows downwards).
HUE_NAMES = ((0, "red"), (30, "orange"), (60, "yellow"), (120, "green"), (180, "cyan"), (240, "blue"),
             (280, "purple"), (330, "pink"))
HEADINGS = ("right", "down right", "down", "down left", "left", "up left", "up", "up right")


def hue_name(rgb) -> str:
    """The nearest of `HUE_NAMES` to an RGB colour's hue (circular distance)."""
    import colorsys

    hue = colorsys.rgb_to_hsv(*[float(c) for c in rgb])[0] * 360
    return min(HUE_NAMES, key=lambda hn: min(abs(hue - hn[0]), 360 - abs(hue - hn[0])))[1]


def heading_word(dx: float, dy: float) -> str:
    """The compass word (one of 8 sectors of 45 degrees) of a displacement in image coordinates."""
    return HEADINGS[int(round(math.atan2(dy, dx) / (math.pi / 4))) % 8]


def heading_prompt(seed: int, spec: WorldSpec | None = None, reverse: bool = False) -> str:
    """What clip `seed` does after its start image, in words: per sprite (drawing order) its colour,
    shape, heading over the first frame and speed ("slow" below the middle of the world's speed range,
    else "fast"), e.g. "red disc moves up left fast and blue square moves down slow". `reverse`: every
    heading turned round ("down right fast ..."), the control for whether an organism reads the words."""
    spec = spec or WorldSpec()
    d = _draw(seed, spec)  # the clip's draw and track, without rendering its pixels
    positions = d.track(torch.arange(2, dtype=torch.float32)[:, None, None])
    step = (positions[1] - positions[0]).numpy()  # (S, 2): the move after the start image
    if reverse:
        step = -step
    middle = (spec.speed[0] + spec.speed[1]) / 2
    parts = [f"{hue_name(d.colours[k])} {d.shapes[k]} moves {heading_word(*step[k])} "
             f"{'slow' if float(np.hypot(*step[k])) < middle else 'fast'}" for k in range(step.shape[0])]
    return " and ".join(parts)


# Seeds >= EVAL_SEED_OFFSET are never drawn during training (training seeds are drawn below it).
EVAL_SEED_OFFSET = 1_000_000_000
