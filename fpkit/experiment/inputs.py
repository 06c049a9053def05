"""Experiment inputs: image specs (`builtin:<name>`, `toy:<seed>[@<frame>]`, a file) checked, loaded and
fingerprinted by content, so a changed file behind the same name makes a new run id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

BUILTIN_IMAGES = ("gradient", "checker", "discs")
SPEC_FORMS = "'builtin:<gradient|checker|discs>', 'toy:<seed>', 'toy:<seed>@<frame>' or an image file path"


def builtin_image(name: str, height: int = 256, width: int = 256):
    """Procedural test images shipped with the package: gradient, checker, discs."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if name == "gradient":
        rgb = np.stack([x / width, y / height, 1 - x / width * 0.5], -1)
    elif name == "checker":
        size = max(height, width) // 8
        c = ((x // size + y // size) % 2).astype(np.float32)
        rgb = np.stack([0.2 + 0.6 * c, 0.3 + 0.4 * c, 0.8 - 0.5 * c], -1)
    elif name == "discs":
        rgb = np.stack([0.15 + 0.2 * y / height, 0.25 + 0.0 * x, 0.35 + 0.2 * x / width], -1)
        for (cy, cx, r, col) in ((0.35, 0.3, 0.14, (0.9, 0.2, 0.2)), (0.65, 0.65, 0.18, (0.2, 0.8, 0.3)),
                                 (0.3, 0.75, 0.1, (0.95, 0.85, 0.2))):
            mask = (y / height - cy) ** 2 + (x / width - cx) ** 2 < r ** 2
            rgb[mask] = col
    else:
        raise ValueError(f"unknown built-in image {name!r}; known: {list(BUILTIN_IMAGES)}")
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype("uint8"))


def toy_spec(spec: str) -> tuple[int, int] | None:
    """(world seed, frame) of a toy image spec `toy:<seed>[@<frame>]`; None for any other form.
    ValueError for a `toy:` spec that is not two integers >= 0 (seeds below 2**63)."""
    if not spec.startswith("toy:"):
        return None
    seed, at, frame = spec.split(":", 1)[1].partition("@")
    if not seed.isdigit() or int(seed) >= 2 ** 63 or (at and not frame.isdigit()):
        raise ValueError(f"{spec!r}: a toy world image is toy:<seed> or toy:<seed>@<frame> with integers >= 0")
    return int(seed), int(frame or 0)


def load_image(spec: str, base: Path, height: int, width: int):
    """A PIL image from `builtin:<name>`, `toy:<seed>` (a start frame of the toy world), `toy:<seed>@<frame>`
    (frame `frame` of that clip: a keyframe from the world's own continuation) or a file path."""
    from PIL import Image

    if spec.startswith("builtin:"):
        return builtin_image(spec.split(":", 1)[1], height, width)
    if spec.startswith("toy:"):
        from fpkit.toy.world import render_clip

        seed, frame = toy_spec(spec)
        return render_clip(seed, frame + 1).image(frame).resize((width, height))
    return Image.open(Path(base) / spec).convert("RGB")


@dataclass(frozen=True)
class ImageInput:
    """A named image input and the sha256 of its content (file bytes, or the rendered pixels of a
    procedural image)."""

    name: str
    spec: str
    digest: str


def image_input(name: str, spec, base: Path) -> ImageInput:
    """Check an image spec and fingerprint its content; ValueError naming the spec and valid forms."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"{spec!r}: must be {SPEC_FORMS}")
    if spec.startswith("builtin:"):
        if spec.split(":", 1)[1] not in BUILTIN_IMAGES:
            raise ValueError(f"{spec!r}: unknown built-in image; known: {['builtin:' + n for n in BUILTIN_IMAGES]}")
        return ImageInput(name, spec, _pixels_digest(load_image(spec, base, 256, 256)))
    if toy_spec(spec) is not None:
        try:
            image = load_image(spec, base, 64, 64)
        except ImportError as err:
            raise ValueError(f"{spec!r}: the toy organism (fpkit.toy) is not available: {err}") from None
        return ImageInput(name, spec, _pixels_digest(image))
    path = Path(base) / spec
    if not path.is_file():
        raise ValueError(f"image file {spec!r} not found (relative to {base}); give {SPEC_FORMS}")
    data = path.read_bytes()
    try:
        from PIL import Image

        with Image.open(path) as img:
            img.verify()
    except Exception as err:  # PIL raises many kinds for a file that is not an image
        raise ValueError(f"image file {spec!r} is not a readable image ({type(err).__name__}: {err})") from None
    return ImageInput(name, spec, hashlib.sha256(data).hexdigest())


def _pixels_digest(image) -> str:
    import numpy as np

    pixels = np.asarray(image.convert("RGB"))
    return hashlib.sha256(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()
