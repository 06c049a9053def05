"""Experiments: TOML files -> frozen, validated configs -> a grid of runs -> a resumable results store.

    results/<experiment>/runs/<run_id>/   config.json, trace/, video.mp4, metrics.parquet, row.json, done.json
    results/<experiment>/table.parquet    one row per finished run: every config field + summary metrics

A run directory is built under a temporary name and renamed into place only when complete, and
`done.json` records every file's size: a killed sweep never leaves a half-written run that looks
finished, and a damaged one is detected and redone. run_id = a stable hash of the resolved config.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import planning
from .schedule import check_schedule_args
from .trace import RECORD_LEVELS

# Keywords of fpkit.sample an experiment may set (objects such as generators are built by the runner).
SAMPLE_KEYS = (
    "height", "width", "num_frames", "latent_window_size", "num_inference_steps", "sigmas", "true_cfg_scale",
    "guidance_scale", "negative_prompt", "max_sequence_length", "sampling_type", "flow_shift", "solver",
)
# Experiment-level axes: inputs by name, the seed, and lengths in other units.
RUN_KEYS = ("image", "last_image", "prompt", "seed", "seconds", "num_sections")
TOP_KEYS = ("name", "description", "model", "inputs", "fixed", "grid", "record", "metrics", "fps")
MODEL_KEYS = ("name", "dtype", "offload", "device", "seed", "by_sampling_type")
INPUT_KEYS = ("images", "last_images", "prompts")
RECORD_KEYS = ("level", "video")
METRIC_KEYS = ("names", "ratio")
BUILTIN_IMAGES = ("gradient", "checker", "discs")


class ExperimentError(ValueError):
    """Every problem found in an experiment file, reported at once."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


# ---------------------------------------------------------------------------------------------
# Built-in inputs and model geometry (no model is loaded for either)


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


def image_problem(spec: str, base: Path) -> str | None:
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        return None if name in BUILTIN_IMAGES else f"unknown built-in image {spec!r}; known: " \
            f"{['builtin:' + n for n in BUILTIN_IMAGES]}"
    if spec.startswith("toy:"):
        return None if spec.split(":", 1)[1].isdigit() else f"toy image {spec!r} must be toy:<seed>"
    return None if (base / spec).is_file() else f"image file {spec!r} not found (relative to {base})"


def load_image(spec: str, base: Path, height: int, width: int):
    """A PIL image from `builtin:<name>`, `toy:<seed>` (a start frame of the toy world) or a file path."""
    from PIL import Image

    if spec.startswith("builtin:"):
        return builtin_image(spec.split(":", 1)[1], height, width)
    if spec.startswith("toy:"):
        from fpkit.toy.world import start_image

        return start_image(int(spec.split(":", 1)[1])).resize((width, height))
    return Image.open(base / spec).convert("RGB")


@dataclass(frozen=True)
class Geometry:
    vae_spatial: int
    vae_temporal: int
    patch_size: int


def model_geometry(name: str) -> Geometry:
    """VAE and patch factors of a model, read from configs only."""
    from .pipelines import CHECKPOINTS

    if name == "tiny" or name in CHECKPOINTS or name in {c.repo for c in CHECKPOINTS.values()}:
        return Geometry(8, 4, 2)
    if name.startswith("toy:"):
        from fpkit.toy import read_config

        cfg = read_config(name.split(":", 1)[1])
        return Geometry(cfg["codec"]["patch_size"], 1, cfg["transformer"]["patch_size"])
    path = Path(name)
    vae = json.loads((path / "vae" / "config.json").read_text())
    transformer = json.loads((path / "transformer" / "config.json").read_text())
    return Geometry(vae.get("spatial_compression_ratio", 8), vae.get("temporal_compression_ratio", 4),
                    transformer.get("patch_size", 2))


def model_problem(name: str) -> str | None:
    from .pipelines import CHECKPOINTS

    if name == "tiny" or name in CHECKPOINTS or name in {c.repo for c in CHECKPOINTS.values()}:
        return None
    if name.startswith("toy:"):
        try:
            from fpkit.toy import available
        except ImportError:
            return "the toy organism (fpkit.toy) is not available"
        variant = name.split(":", 1)[1]
        return None if variant in available() else f"unknown toy variant {variant!r}; shipped: {available()}"
    if not (Path(name) / "model_index.json").is_file():
        return (f"model {name!r} is neither 'tiny', 'toy:<variant>', a registered checkpoint "
                f"{sorted(CHECKPOINTS)} nor a folder with model_index.json")
    return None


def load_model(name: str = "tiny", dtype: str = "float32", offload: str | None = None, device: str | None = None,
               seed: int = 0):
    """A pipeline by experiment-style name: "tiny", "toy:<variant>", a registered checkpoint or a
    saved folder. Notebooks and the runner share it."""
    import torch

    if (err := model_problem(name)) is not None:
        raise ValueError(err)
    if name == "tiny":
        from .pipelines import tiny_pipeline

        pipe = tiny_pipeline(seed=seed)
    elif name.startswith("toy:"):
        from fpkit.toy import load_organism

        pipe = load_organism(name.split(":", 1)[1])
    else:
        from .pipelines import load_pipeline

        return load_pipeline(name, dtype=getattr(torch, dtype), offload=offload, device=device)
    if device is not None:
        pipe.to(device)
    return pipe


def model_defaults(name: str) -> dict:
    """Sensible sampling settings per model: the toy organism's training geometry, or the released
    models' usual 480x832 / lws 9 / 25 steps / guidance 10."""
    if name.startswith("toy:"):
        from fpkit.toy import PROMPT, read_config

        cfg = read_config(name.split(":", 1)[1])
        variant = cfg.get("variant", {})
        size = cfg.get("train", {}).get("frame_size", 64)
        return dict(height=size, width=size, latent_window_size=variant.get("latent_window_size", 4),
                    num_inference_steps=12, guidance_scale=1.0, prompt=PROMPT, image="toy:1000000000")
    if name == "tiny":
        return dict(height=32, width=48, latent_window_size=3, num_inference_steps=4, guidance_scale=6.0,
                    prompt="a red ball bounces", image="builtin:discs")
    return dict(height=480, width=832, latent_window_size=9, num_inference_steps=25, guidance_scale=10.0,
                prompt="The objects move slowly around the scene, smooth camera, high quality.",
                image="builtin:discs")


def sample_kwargs(model: str, num_sections: int | None = None, image: str | None = None, vae_temporal: int | None = None,
                  **overrides) -> dict:
    """Ready keywords for `fpkit.sample` with a model's defaults: the start image loaded, the length
    given in sections (num_frames = sections x window frames), anything else overridden."""
    d = model_defaults(model)
    d.update(overrides)
    spec = image or d.pop("image")
    d.pop("image", None)
    d["image"] = load_image(spec, Path("."), d["height"], d["width"])
    if num_sections is not None:
        r = vae_temporal if vae_temporal is not None else model_geometry(model).vae_temporal
        d["num_frames"] = num_sections * ((d["latent_window_size"] - 1) * r + 1)
    return d


# ---------------------------------------------------------------------------------------------
# Configs


@dataclass(frozen=True)
class ModelConfig:
    name: str = "tiny"
    dtype: str = "float32"
    offload: str | None = None
    device: str | None = None
    seed: int = 0  # for the tiny random pipeline
    # e.g. (("vanilla", "toy:f1"),): the checkpoint each sampling type needs, when it is not `name`
    by_sampling_type: tuple[tuple[str, str], ...] = ()

    def for_sampling_type(self, sampling_type: str | None) -> str:
        return dict(self.by_sampling_type).get(sampling_type, self.name)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.name, *dict(self.by_sampling_type).values()]))

    def to_dict(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "offload": self.offload, "device": self.device,
                "seed": self.seed, "by_sampling_type": dict(self.by_sampling_type)}


@dataclass(frozen=True)
class RunConfig:
    """One resolved point of the grid. `to_dict()` keys become table columns."""

    experiment: str
    model: str
    image: str
    prompt: str
    seed: int
    last_image: str | None
    sample: tuple[tuple[str, Any], ...]  # sorted (key, value) of fpkit.sample keywords
    labels: tuple[tuple[str, Any], ...] = ()  # axis values as written (e.g. seconds=5), for tables

    @property
    def kwargs(self) -> dict:
        return dict(self.sample)

    def to_dict(self) -> dict:
        return {"experiment": self.experiment, "model": self.model, "image": self.image,
                "last_image": self.last_image, "prompt": self.prompt, "seed": self.seed,
                **dict(self.labels), **self.kwargs}

    @property
    def run_id(self) -> str:
        """Stable hash of the resolved config (labels excluded: they only restate it)."""
        core = {k: v for k, v in self.to_dict().items() if k not in dict(self.labels) or k in self.kwargs}
        blob = json.dumps(core, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Experiment:
    name: str
    model: ModelConfig
    images: tuple[tuple[str, str], ...]
    last_images: tuple[tuple[str, str], ...]
    prompts: tuple[tuple[str, str], ...]
    fixed: tuple[tuple[str, Any], ...]
    grid: tuple[tuple[str, tuple], ...]
    record: str = "sections"
    save_video: bool = True
    metrics: tuple[str, ...] | None = None
    ratio: float = 0.15
    fps: int = 30
    description: str = ""
    base_dir: str = "."

    # -- grid ------------------------------------------------------------------------------
    def runs(self, only: dict[str, Any] | None = None) -> list[RunConfig]:
        """Expand the grid (inputs default to every declared image and prompt)."""
        axes = dict(self.grid)
        axes.setdefault("image", tuple(n for n, _ in self.images))
        axes.setdefault("prompt", tuple(n for n, _ in self.prompts))
        fixed = dict(self.fixed)
        names = list(axes)
        geometries = self.geometries()
        out = []
        for values in itertools.product(*(axes[n] for n in names)):
            point = {**fixed, **dict(zip(names, values))}
            if only and any(str(point.get(k)) != str(v) for k, v in only.items()):
                continue
            model = self.model.for_sampling_type(point.get("sampling_type"))
            out.append(self._resolve(point, geometries[model], model))
        return out

    def geometries(self) -> dict[str, Geometry]:
        """Each model's VAE/patch factors, read once (configs only; HunyuanVideo's for unknown models,
        which validation reports separately)."""
        return {m: model_geometry(m) if model_problem(m) is None else Geometry(8, 4, 2) for m in self.model.names}

    def _resolve(self, point: dict, geom: Geometry, model: str) -> RunConfig:
        sample = {k: point[k] for k in SAMPLE_KEYS if k in point}
        lws = sample.get("latent_window_size", 9)
        window_frames = (lws - 1) * geom.vae_temporal + 1 if isinstance(lws, int) and lws >= 1 else 1
        labels = {}
        if "seconds" in point:
            labels["seconds"] = point["seconds"]
            n = planning.sections_for_seconds(point["seconds"], lws, self.fps, geom.vae_temporal) \
                if isinstance(point["seconds"], (int, float)) and point["seconds"] > 0 else 0
            sample["num_frames"] = n * window_frames
        if "num_sections" in point:
            labels["num_sections"] = point["num_sections"]
            sample["num_frames"] = point["num_sections"] * window_frames
        if "sigmas" in sample:
            sample["sigmas"] = tuple(sample["sigmas"])
        return RunConfig(
            experiment=self.name, model=model, image=point.get("image"), prompt=point.get("prompt"),
            seed=point.get("seed", 0), last_image=point.get("last_image"),
            sample=tuple(sorted(sample.items())), labels=tuple(sorted(labels.items())))

    def image_spec(self, name: str, last: bool = False) -> str:
        return dict(self.last_images if last else self.images)[name]

    def prompt_text(self, name: str) -> str:
        return dict(self.prompts)[name]

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model.to_dict(), "images": dict(self.images),
                "last_images": dict(self.last_images), "prompts": dict(self.prompts), "fixed": dict(self.fixed),
                "grid": {k: list(v) for k, v in self.grid}, "record": self.record, "save_video": self.save_video,
                "metrics": list(self.metrics) if self.metrics is not None else None, "ratio": self.ratio,
                "fps": self.fps, "description": self.description}


# ---------------------------------------------------------------------------------------------
# Parsing and validation


def _unknown(section: str, keys, valid) -> list[str]:
    return [f"unknown key {k!r} in {section}; valid: {sorted(valid)}" for k in keys if k not in valid]


def load_experiment(path, overrides: dict | None = None, set_values: dict | None = None) -> Experiment:
    """Parse and validate an experiment TOML file; raise ExperimentError listing every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ExperimentError(str(path), ["file not found"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(str(path), [f"not valid TOML: {err}"]) from None
    return parse_experiment(data, source=str(path), base_dir=path.parent, overrides=overrides,
                            set_values=set_values)


def parse_experiment(data: dict, source: str = "<experiment>", base_dir: Path | str = ".",
                     overrides: dict | None = None, set_values: dict | None = None) -> Experiment:
    """`overrides` filter the grid (--only); `set_values` replace fixed values or whole axes (--set)."""
    problems: list[str] = []
    if set_values:
        data = {**data, "fixed": dict(data.get("fixed", {})), "grid": dict(data.get("grid", {}))}
        for key, value in set_values.items():
            target = "grid" if isinstance(value, list) else "fixed"
            data["grid" if target == "fixed" else "fixed"].pop(key, None)
            data[target][key] = value
    problems += _unknown("the file", data, TOP_KEYS)
    model = data.get("model", {"name": "tiny"})
    if isinstance(model, str):
        model = {"name": model}
    problems += _unknown("[model]", model, MODEL_KEYS)
    inputs = data.get("inputs", {})
    problems += _unknown("[inputs]", inputs, INPUT_KEYS)
    fixed = dict(data.get("fixed", {}))
    grid = dict(data.get("grid", {}))
    record = data.get("record", {})
    problems += _unknown("[record]", record, RECORD_KEYS)
    metrics = data.get("metrics", {})
    problems += _unknown("[metrics]", metrics, METRIC_KEYS)
    valid_axes = set(SAMPLE_KEYS) | set(RUN_KEYS)
    problems += _unknown("[fixed]", fixed, valid_axes)
    problems += _unknown("[grid]", grid, valid_axes)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            problems.append(f"[grid] {key} must be a non-empty list, got {values!r}")
    if overrides:
        problems += _unknown("--only", overrides, valid_axes)
    if set_values:
        problems += _unknown("--set", set_values, valid_axes)
    if "num_frames" in fixed or "num_frames" in grid:
        if any(k in fixed or k in grid for k in ("seconds", "num_sections")):
            problems.append("give the length once: num_frames, seconds or num_sections")
    name = data.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        problems.append(f"name must be a non-empty string without '/', got {name!r}")
    base = Path(base_dir)

    def named(table, what):
        if isinstance(table, list):
            table = {f"{what}{i}": v for i, v in enumerate(table)}
        if not isinstance(table, dict):
            problems.append(f"[inputs] {what}s must be a table or a list, got {table!r}")
            return ()
        return tuple(table.items())

    images = named(inputs.get("images", {"start": "builtin:discs"}), "image")
    last_images = named(inputs.get("last_images", {}), "last_image")
    prompts = named(inputs.get("prompts", {"default": ""}), "prompt")
    for _, spec in images + last_images:
        if (err := image_problem(str(spec), base)) is not None:
            problems.append(err)
    record_level = record.get("level", "sections")
    if record_level not in RECORD_LEVELS:
        problems.append(f"[record] level must be one of {RECORD_LEVELS}, got {record_level!r}")
    by_type = model.get("by_sampling_type", {})
    if not isinstance(by_type, dict):
        problems.append(f"[model] by_sampling_type must be a table, got {by_type!r}")
        by_type = {}
    problems += [f"[model] by_sampling_type: unknown sampling type {k!r}; known: {sorted(planning.STRATEGIES)}"
                 for k in by_type if k not in planning.STRATEGIES]
    model_cfg = ModelConfig(**{k: model[k] for k in MODEL_KEYS if k in model and k != "by_sampling_type"},
                            by_sampling_type=tuple(sorted(by_type.items())))
    for model_name in model_cfg.names:
        if (err := model_problem(model_name)) is not None:
            problems.append(err)
    if model_cfg.dtype not in ("float32", "float16", "bfloat16"):
        problems.append(f"[model] dtype must be float32, float16 or bfloat16, got {model_cfg.dtype!r}")
    names = metrics.get("names")
    if names is not None:
        from .metrics import REGISTRY

        problems += [f"unknown metric {m!r}; known: {sorted(REGISTRY)}" for m in names if m not in REGISTRY]
    exp = Experiment(
        name=str(name), model=model_cfg, images=images, last_images=last_images, prompts=prompts,
        fixed=tuple(sorted(fixed.items())),
        grid=tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in grid.items()),
        record=record_level, save_video=bool(record.get("video", True)),
        metrics=tuple(names) if names is not None else None, ratio=float(metrics.get("ratio", 0.15)),
        fps=int(data.get("fps", 30)), description=str(data.get("description", "")), base_dir=str(base))
    if not problems:
        problems += validate_runs(exp, overrides)
    if problems:
        raise ExperimentError(source, list(dict.fromkeys(problems)))
    return exp


def validate_runs(exp: Experiment, only: dict | None = None) -> list[str]:
    """Check every run of the grid the way fpkit.sample would, without loading a model."""
    from PIL import Image

    from .sampler import check_arguments

    image_names, last_names = dict(exp.images), dict(exp.last_images)
    prompt_names = dict(exp.prompts)
    placeholder = Image.new("RGB", (8, 8))
    problems = []
    runs = exp.runs(only)
    geometries = exp.geometries()
    if not runs:
        problems.append(f"the grid is empty{' after --only ' + str(only) if only else ''}")
    for run in runs:
        label = ", ".join(f"{k}={v}" for k, v in run.to_dict().items() if k in dict(exp.grid))
        where = f"run [{label}]" if label else "run"
        kw = run.kwargs
        geom = geometries[run.model]
        try:
            if run.image not in image_names:
                raise ValueError(f"image {run.image!r} is not declared in [inputs] images {sorted(image_names)}")
            if run.prompt not in prompt_names:
                raise ValueError(f"prompt {run.prompt!r} is not declared in [inputs] prompts {sorted(prompt_names)}")
            if run.last_image is not None and run.last_image not in last_names:
                raise ValueError(f"last_image {run.last_image!r} is not declared in [inputs] last_images "
                                 f"{sorted(last_names)}")
            if not isinstance(run.seed, int) or run.seed < 0:
                raise ValueError(f"seed must be an int >= 0, got {run.seed!r}")
            labels = dict(run.labels)
            if "seconds" in labels and not (isinstance(labels["seconds"], (int, float)) and labels["seconds"] > 0):
                raise ValueError(f"seconds must be > 0, got {labels['seconds']!r}")
            check_arguments(
                vae_spatial=geom.vae_spatial, patch_size=geom.patch_size, image=placeholder,
                last_image=placeholder if run.last_image else None, image_latents=None, last_image_latents=None,
                height=kw.get("height", 720), width=kw.get("width", 1280), num_frames=kw.get("num_frames", 129),
                latent_window_size=kw.get("latent_window_size", 9),
                sampling_type=kw.get("sampling_type", "inverted_anti_drifting"), output_type="pt",
                num_inference_steps=kw.get("num_inference_steps", 50))
            check_schedule_args(kw.get("solver"), kw.get("flow_shift"), kw.get("sigmas"),
                                kw.get("num_inference_steps", 50))
        except ValueError as err:
            problems.append(f"{where}: {err}")
    return problems


def parse_only(items: list[str] | None) -> dict[str, Any]:
    """`--only k=v` / `--set k=v` pairs; values parsed as TOML values when possible."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--only takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# Results store


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_is_done(run_dir: Path) -> bool:
    """A finished run has done.json whose listed files all exist with the recorded sizes."""
    marker = run_dir / "done.json"
    try:
        files = json.loads(marker.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all((run_dir / name).is_file() and (run_dir / name).stat().st_size == size for name, size in files.items())


def finished_runs(out_dir: Path) -> list[Path]:
    runs = Path(out_dir) / "runs"
    return sorted(p for p in runs.iterdir() if not p.name.startswith(".") and run_is_done(p)) if runs.is_dir() else []


def write_table(out_dir: Path):
    """Rebuild table.parquet from every finished run's row.json (idempotent, atomic)."""
    import pandas as pd

    rows = [json.loads((p / "row.json").read_text()) for p in finished_runs(out_dir)]
    table = pd.DataFrame(rows)
    for col in table.columns:  # parquet wants one type per column
        if table[col].map(lambda v: isinstance(v, (list, tuple, dict))).any():
            table[col] = table[col].map(lambda v: json.dumps(v) if v is not None else None)
            continue
        types = {type(v) for v in table[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
        if len(types) > 1 and not types <= {int, float, bool}:  # e.g. flow_shift = [3.0, "dynamic"]
            table[col] = table[col].map(lambda v: None if v is None else str(v))
    path = Path(out_dir) / "table.parquet"
    tmp = path.with_name(f".table.{uuid.uuid4().hex}.parquet")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return table


@dataclass
class _Encodings:
    """Per-sweep caches: each distinct prompt and image is encoded once."""

    prompts: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    text_encoder_calls: int = 0


class Runner:
    """Runs an experiment's grid: one pipeline, cached encodings, atomic run directories."""

    def __init__(self, exp: Experiment, out_dir=None, pipe=None, progress: bool = True, on_result=None):
        """on_result(run_config, run) -> dict | None: extra columns for the run's row, computed while the
        decoded video is still in memory (e.g. the toy's likeness to its world)."""
        self.on_result = on_result
        self.exp = exp
        self.out_dir = Path(out_dir) if out_dir is not None else Path("results") / exp.name
        self.given_pipe = pipe  # used for every model (tests, notebooks that already hold one)
        self.pipes: dict[str, Any] = {}
        self.progress = progress
        self.cache = _Encodings()

    # -- model and encodings ---------------------------------------------------------------
    def load_pipe(self, model: str | None = None, device=None):
        """The pipeline for `model` (default: the experiment's), loaded once."""
        model = model or self.exp.model.name
        if self.given_pipe is not None:
            return self.given_pipe
        if model not in self.pipes:
            cfg = self.exp.model
            pipe = load_model(model, cfg.dtype, cfg.offload, cfg.device or device, cfg.seed)
            pipe.set_progress_bar_config(disable=True)
            self.pipes[model] = pipe
        return self.pipes[model]

    def encode_prompt(self, model: str, text: str, max_sequence_length: int = 256):
        key = (model, text, max_sequence_length)
        if key not in self.cache.prompts:
            pipe = self.load_pipe(model)
            self.cache.text_encoder_calls += 1
            embeds, pooled, mask = pipe.encode_prompt(prompt=text, device=pipe._execution_device,
                                                      max_sequence_length=max_sequence_length)
            self.cache.prompts[key] = dict(embeds=embeds, pooled=pooled, mask=mask)
        return self.cache.prompts[key]

    def encode_image(self, model: str, spec: str, height: int, width: int):
        """(PIL image, SigLIP embedding, VAE latent): the latent is the posterior mean, so a run is
        reproducible from its seed alone (`fpkit.sample(..., image_latents=...)` gives the same video)."""
        import torch

        key = (model, spec, height, width)
        if key not in self.cache.images:
            pipe = self.load_pipe(model)
            img = load_image(spec, Path(self.exp.base_dir), height, width)
            pixels = pipe.video_processor.preprocess(img, height, width)
            with torch.no_grad():
                embeds = pipe.encode_image(pixels, device=pipe._execution_device)
                x = pixels.unsqueeze(2).to(device=pipe._execution_device, dtype=pipe.vae.dtype)
                latent = pipe.vae.encode(x).latent_dist.mode() * pipe.vae.config.scaling_factor
            self.cache.images[key] = (img, embeds, latent.float())
        return self.cache.images[key]

    # -- one run ---------------------------------------------------------------------------
    def run_dir(self, run: RunConfig) -> Path:
        return self.out_dir / "runs" / run.run_id

    def execute(self, run: RunConfig, process_index: int = 0) -> dict:
        import torch

        from .sampler import sample

        final = self.run_dir(run)
        if run_is_done(final):
            return json.loads((final / "row.json").read_text())
        if final.exists():  # incomplete or damaged: redo from scratch
            shutil.rmtree(final)
        kw = run.kwargs
        height, width = kw.get("height", 720), kw.get("width", 1280)
        img, image_embeds, image_latents = self.encode_image(run.model, self.exp.image_spec(run.image), height, width)
        msl = kw.get("max_sequence_length", 256)
        pos = self.encode_prompt(run.model, self.exp.prompt_text(run.prompt), max_sequence_length=msl)
        extra = {}
        if kw.get("negative_prompt") is not None:
            neg = self.encode_prompt(run.model, kw["negative_prompt"], max_sequence_length=msl)
            extra = dict(negative_prompt_embeds=neg["embeds"], negative_pooled_prompt_embeds=neg["pooled"],
                         negative_prompt_attention_mask=neg["mask"])
        if run.last_image is not None:
            _, _, last_latents = self.encode_image(run.model, self.exp.image_spec(run.last_image, last=True),
                                                   height, width)
            extra["last_image_latents"] = last_latents
        sample_kw = {k: v for k, v in kw.items() if k != "negative_prompt"}
        if "sigmas" in sample_kw:
            sample_kw["sigmas"] = list(sample_kw["sigmas"])
        t0 = time.perf_counter()
        result = sample(self.load_pipe(run.model), image=img, image_latents=image_latents, image_embeds=image_embeds,
                        prompt_embeds=pos["embeds"], pooled_prompt_embeds=pos["pooled"],
                        prompt_attention_mask=pos["mask"], generator=torch.Generator().manual_seed(run.seed),
                        record=self.exp.record, fps=self.exp.fps, **extra, **sample_kw)
        seconds = time.perf_counter() - t0

        tmp = final.parent / f".tmp-{run.run_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        (tmp / "config.json").write_text(json.dumps(
            {**run.to_dict(), "run_id": run.run_id, "image_latents": "VAE posterior mean"}, indent=1, default=str))
        result.trace.save(tmp / "trace")
        if self.exp.save_video:
            result.save_video(tmp / "video.mp4", fps=self.exp.fps)
        row = {**run.to_dict(), "run_id": run.run_id, "frames": result.num_frames,
               "sections": result.trace.plan.num_sections, "layout": result.trace.plan.layout,
               "sample_seconds": seconds}
        row.update(self.metrics(result, run, tmp))
        if self.on_result is not None:
            row.update(self.on_result(run, result) or {})
        (tmp / "row.json").write_text(json.dumps(row, default=_json_scalar))
        files = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
        (tmp / "done.json").write_text(json.dumps({"run_id": run.run_id, "files": files,
                                                   "process_index": process_index}))
        try:
            os.replace(tmp, final)  # the run appears complete or not at all
        except OSError:
            if not run_is_done(final):
                raise
            shutil.rmtree(tmp)  # another process finished the same run first
        return row

    def metrics(self, result, run: RunConfig, folder: Path) -> dict:
        """Per-frame metrics to metrics.parquet; summary values for the table row."""
        from . import metrics as fm

        table = fm.compute(result.video, metrics=self.exp.metrics, run_id=run.run_id, fps=self.exp.fps)
        table.to_parquet(folder / "metrics.parquet", index=False)
        summary = fm.summary(table, run_id=run.run_id, ratio=self.exp.ratio)
        row = summary.iloc[0].to_dict() if len(summary) else {}
        # the config's num_frames is what was asked; the decoded length is the row's "frames"
        return {k: v for k, v in row.items() if k not in ("run_id", "num_frames")}

    # -- the sweep -------------------------------------------------------------------------
    def run(self, only: dict | None = None):
        """Run every unfinished run of this process's shard, then rebuild the table (main process)."""
        from tqdm.auto import tqdm

        runs = self.exp.runs(only)
        state = _process_state()
        shard = runs[state.process_index::state.num_processes]
        todo = [r for r in shard if not run_is_done(self.run_dir(r))]
        todo.sort(key=lambda r: self.exp.model.names.index(r.model))  # one model at a time
        (self.out_dir / "runs").mkdir(parents=True, exist_ok=True)
        _atomic_text(self.out_dir / "experiment.json", json.dumps(self.exp.to_dict(), indent=1, default=str))
        device = str(state.device) if state.num_processes > 1 else None
        for run in tqdm(todo, desc=f"{self.exp.name} [{state.process_index}]", disable=not self.progress):
            self.load_pipe(run.model, device)
            self.execute(run, state.process_index)
        state.wait_for_everyone()
        if state.is_main_process:
            for stale in (self.out_dir / "runs").glob(".tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            table = write_table(self.out_dir)
        state.wait_for_everyone()
        import pandas as pd

        return pd.read_parquet(self.out_dir / "table.parquet") if not state.is_main_process else table


def _json_scalar(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


class _SingleProcess:
    process_index, num_processes, is_main_process, device = 0, 1, True, None

    def wait_for_everyone(self):
        pass


def _process_state():
    """accelerate's PartialState under `accelerate launch --multi_gpu --num_processes N` (on CPUs
    too: gloo), else a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch
        from accelerate import PartialState

        return PartialState(cpu=not torch.cuda.is_available())
    return _SingleProcess()


def run_experiment(path_or_exp, out_dir=None, only: dict | None = None, pipe=None, progress: bool = True,
                   set_values: dict | None = None, on_result=None):
    """Load (if a path), validate and run an experiment; returns the results table.
    `only` filters the grid; `set_values` replaces fixed values or axes (lists) first."""
    exp = path_or_exp if isinstance(path_or_exp, Experiment) else load_experiment(
        path_or_exp, overrides=only, set_values=set_values)
    if isinstance(path_or_exp, Experiment) and only:
        problems = validate_runs(exp, only)
        if problems:
            raise ExperimentError(exp.name, problems)
    return Runner(exp, out_dir, pipe=pipe, progress=progress, on_result=on_result).run(only)


def sample_signature_keys() -> set[str]:
    """Keywords fpkit.sample takes (used to keep SAMPLE_KEYS honest in tests)."""
    from .sampler import sample

    return set(inspect.signature(sample).parameters)
