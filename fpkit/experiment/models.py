"""The model registry: one entry per kind of model name an experiment may give ("tiny",
"toy:<variant>", a registered checkpoint, a saved pipeline folder), each saying whether the name is
valid, its geometry, its default settings, its weights identity and how to load it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DTYPES = ("float32", "float16", "bfloat16")
_SAMPLED = 1 << 20  # files above 64 MiB are fingerprinted by size + first and last MiB


@dataclass(frozen=True)
class Geometry:
    vae_spatial: int
    vae_temporal: int
    patch_size: int


HUNYUAN = Geometry(8, 4, 2)


class ModelKind:
    """How one kind of model name behaves. `problem` is None for a usable name."""

    label = ""

    def matches(self, name: str) -> bool:
        raise NotImplementedError

    def problem(self, name: str) -> str | None:
        return None

    def geometry(self, name: str) -> Geometry:
        return HUNYUAN

    def identity(self, name: str, seed: int) -> dict:
        """What the weights are, for run fingerprints (content where it is on disk)."""
        raise NotImplementedError

    def defaults(self, name: str) -> dict:
        return dict(height=480, width=832, latent_window_size=9, num_inference_steps=25, guidance_scale=10.0,
                    prompt="The objects move slowly around the scene, smooth camera, high quality.",
                    image="builtin:discs")

    def result_columns(self, image_spec: str, video) -> dict:
        """Model-specific columns of a run's table row, from the decoded video in memory."""
        return {}

    def load(self, name: str, dtype: str, offload, device, seed: int):
        import torch

        from ..pipelines import load_pipeline

        return load_pipeline(name, dtype=getattr(torch, dtype), offload=offload, device=device)


class Tiny(ModelKind):
    label = "'tiny' (random offline pipeline)"

    def matches(self, name):
        return name == "tiny"

    def identity(self, name, seed):
        return {"kind": "tiny", "seed": seed}  # weights are drawn from the seed by fpkit's tiny config

    def defaults(self, name):
        return dict(height=32, width=48, latent_window_size=3, num_inference_steps=4, guidance_scale=6.0,
                    prompt="a red ball bounces", image="builtin:discs")

    def load(self, name, dtype, offload, device, seed):
        from ..pipelines import tiny_pipeline

        pipe = tiny_pipeline(seed=seed)
        return pipe.to(device) if device is not None else pipe


class Toy(ModelKind):
    label = "'toy:<variant>' (the toy organism)"

    def matches(self, name):
        return name.startswith("toy:")

    def problem(self, name):
        try:
            from fpkit.toy import available
        except ImportError:
            return "the toy organism (fpkit.toy) is not available"
        variant = name.split(":", 1)[1]
        return None if variant in available() else f"unknown toy variant {variant!r}; shipped: {available()}"

    def geometry(self, name):
        from fpkit.toy import read_config

        cfg = read_config(name.split(":", 1)[1])
        return Geometry(cfg["codec"]["patch_size"], 1, cfg["transformer"]["patch_size"])

    def identity(self, name, seed):
        from fpkit.toy.organism import CHECKPOINT_DIR

        return {"kind": "toy", "weights": folder_digest(CHECKPOINT_DIR / name.split(":", 1)[1])}

    def defaults(self, name):
        from fpkit.toy import PROMPT, read_config

        cfg = read_config(name.split(":", 1)[1])
        variant = cfg.get("variant", {})
        size = cfg.get("train", {}).get("frame_size", 64)
        return dict(height=size, width=size, latent_window_size=variant.get("latent_window_size", 4),
                    num_inference_steps=12, guidance_scale=1.0, prompt=PROMPT, image="toy:1000000000")

    def result_columns(self, image_spec, video):
        """Likeness to the world and the toy's drift measures, when the start image is a world clip
        ("toy:<seed>"): computed on the in-memory video (an mp4 round trip blurs 64x64 frames)."""
        if not (isinstance(image_spec, str) and image_spec.startswith("toy:")):
            return {}
        from fpkit.toy import TARGETS, compare_to_world, drift

        seed = int(image_spec.split(":", 1)[1])
        video = video.float().cpu()
        world = compare_to_world(video, seed=seed)
        return {"looks_like_world": world["looks_like_world"], **{f"world_{k}": world[k] for k in TARGETS},
                **{f"world_{k}": v for k, v in drift(video, seed=seed).items()}}

    def load(self, name, dtype, offload, device, seed):
        from fpkit.toy import load_organism

        pipe = load_organism(name.split(":", 1)[1])
        return pipe.to(device) if device is not None else pipe


class Checkpoint(ModelKind):
    label = "a registered checkpoint"

    def matches(self, name):
        from ..pipelines import CHECKPOINTS

        return name in CHECKPOINTS or name in {c.repo for c in CHECKPOINTS.values()}

    def identity(self, name, seed):
        from ..pipelines import CHECKPOINTS

        repo = CHECKPOINTS[name].repo if name in CHECKPOINTS else name
        return {"kind": "checkpoint", "repo": repo}  # pin other revisions by saving to a folder


class Folder(ModelKind):
    label = "a folder with model_index.json (save_pretrained)"

    def matches(self, name):
        return True  # the fallback: anything else must be a saved pipeline folder

    def problem(self, name):
        if (Path(name) / "model_index.json").is_file():
            return None
        from ..pipelines import CHECKPOINTS

        return (f"[model] {name!r} is none of: " + ", ".join(k.label for k in KINDS[:-1]) +
                f" {sorted(CHECKPOINTS)}, or {self.label}")

    def geometry(self, name):
        path = Path(name)
        vae = json.loads((path / "vae" / "config.json").read_text())
        transformer = json.loads((path / "transformer" / "config.json").read_text())
        return Geometry(vae.get("spatial_compression_ratio", 8), vae.get("temporal_compression_ratio", 4),
                        transformer.get("patch_size", 2))

    def identity(self, name, seed):
        return {"kind": "folder", "weights": folder_digest(Path(name))}


KINDS: tuple[ModelKind, ...] = (Tiny(), Toy(), Checkpoint(), Folder())


def model_kind(name: str) -> ModelKind:
    return next(kind for kind in KINDS if kind.matches(name))


def model_problem(name) -> str | None:
    if not isinstance(name, str) or not name:
        return f"[model] name = {name!r}: must be a string: " + ", ".join(k.label for k in KINDS)
    return model_kind(name).problem(name)


def model_geometry(name: str) -> Geometry:
    """VAE and patch factors of a model, read from configs only."""
    return model_kind(name).geometry(name)


def model_defaults(name: str) -> dict:
    """Sensible sampling settings per model: the toy organism's training geometry, the tiny
    pipeline's, or the released models' usual 480x832 / lws 9 / 25 steps / guidance 10."""
    return model_kind(name).defaults(name)


def load_model(name: str = "tiny", dtype: str = "float32", offload: str | None = None, device: str | None = None,
               seed: int = 0):
    """A pipeline by experiment-style name. Notebooks and the runner share it."""
    if (err := model_problem(name)) is not None:
        raise ValueError(err)
    return model_kind(name).load(name, dtype, offload, device, seed)


def sample_kwargs(model: str, num_sections: int | None = None, image: str | None = None, vae_temporal: int | None = None,
                  **overrides) -> dict:
    """Ready keywords for `fpkit.sample` with a model's defaults: the start image loaded, the length
    given in sections (num_frames = sections x window frames), anything else overridden."""
    from .inputs import load_image

    d = model_defaults(model)
    d.update(overrides)
    spec = image or d.pop("image")
    d.pop("image", None)
    d["image"] = load_image(spec, Path("."), d["height"], d["width"])
    if num_sections is not None:
        r = vae_temporal if vae_temporal is not None else model_geometry(model).vae_temporal
        d["num_frames"] = num_sections * ((d["latent_window_size"] - 1) * r + 1)
    return d


def folder_digest(folder: Path) -> str:
    """sha256 over a folder's files (names, sizes, contents; big weight files by size and their first
    and last MiB, which differ between any two trainings). Cached per (path, mtimes)."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith(".")
                   and p.suffix != ".md")
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _folder_digest(Path(folder), stamp)


@lru_cache(maxsize=64)
def _folder_digest(folder: Path, stamp: tuple) -> str:
    h = hashlib.sha256()
    for name, size, _ in stamp:
        path = Path(name)
        h.update(f"{path.relative_to(folder)}:{size}:".encode())
        with path.open("rb") as f:
            if size <= 64 * _SAMPLED:
                h.update(hashlib.sha256(f.read()).digest())
            else:
                h.update(f.read(_SAMPLED))
                f.seek(-_SAMPLED, 2)
                h.update(f.read(_SAMPLED))
    return h.hexdigest()
