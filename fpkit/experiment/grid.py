"""The grid: what each axis may hold, checks over axis values and pairs of axes (a grid is a
Cartesian product, so no run is expanded to validate it), expansion into RunSpecs, and each run's
fingerprint, whose hash is its run id."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import planning
from ..schedule import SOLVERS
from .config import BAD, Rule, _show, choice, either, integer, number, text
from .inputs import toy_spec
from .models import model_geometry, model_kind, model_problem

# Bump when what a run computes or writes changes without any input changing (new sampler maths,
# another table column definition, another video encoding): every run id changes with it.
RESULT_FORMAT = 4  # 3: DIS medium optical flow; toy world columns; methods. 4: first-frame metrics NaN at frame 0

# Keywords of fpkit.sample an experiment may set (objects such as generators are built by the runner).
SAMPLE_KEYS = (
    "height", "width", "num_frames", "latent_window_size", "num_inference_steps", "sigmas", "true_cfg_scale",
    "guidance_scale", "negative_prompt", "max_sequence_length", "sampling_type", "flow_shift", "solver",
)
# Experiment-level axes: inputs by name, the seed, and lengths in other units.
RUN_KEYS = ("image", "last_image", "prompt", "seed", "seconds", "num_sections", "method", "keyframes")
AXIS_KEYS = SAMPLE_KEYS + RUN_KEYS
LENGTH_KEYS = ("num_frames", "seconds", "num_sections")
INPUT_AXES = {"image": "images", "last_image": "last_images", "prompt": "prompts"}
DEFAULT_SAMPLING_TYPE = "inverted_anti_drifting"  # fpkit.sample's default


def _sigmas_ok(v) -> bool:
    if not isinstance(v, (list, tuple)) or not v:
        return False
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 1 for x in v):
        return False
    return all(a > b for a, b in zip(v, v[1:]))


class MethodRule(Rule):
    """An anti-drifting method (fpkit.methods): "none", a name, an inline table {name = ..., params}
    or a list of them (composed in order). Normal form: methods.canonical (JSON, defaults filled)."""

    def __init__(self):
        super().__init__("'none', a method name, an inline table {name = ..., ...} or a list of them",
                         self._accepts, self._normal)

    @staticmethod
    def _problem(value) -> str | None:
        from .. import methods

        try:
            methods.canonical(value)
        except (ValueError, TypeError) as err:
            return str(err)
        return None

    def _accepts(self, value) -> bool:
        return self._problem(value) is None

    @staticmethod
    def _normal(value) -> str:
        from .. import methods

        return methods.canonical(value)

    def check(self, where: str, value, problems: list[str]):
        problem = self._problem(value)
        if problem is None:
            return self._normal(value)
        problems.append(f"{where} = {_show(value)}: {problem}")
        return BAD


def _keyframes_normal(value) -> str:
    """{frame: spec} (TOML keys are strings) -> canonical JSON, frames as sorted decimal strings."""
    if isinstance(value, str):  # already normal (normal forms are re-checked)
        value = json.loads(value)
    items = sorted((int(k), v) for k, v in value.items())
    return json.dumps({str(k): v for k, v in items}, separators=(",", ":"))


def _keyframes_ok(value) -> bool:
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    if not isinstance(value, dict) or not value:
        return False
    for frame, spec in value.items():
        frame = str(frame)
        if not frame.isdigit() or int(frame) < 1 or not isinstance(spec, str) or not spec:
            return False
    return True


KEYFRAMES_RULE = Rule("a table {frame = image spec} with frames >= 1 (pixel frames of the video) and specs "
                      "'clip' (the run's own toy clip at that frame: image toy:<seed>), 'toy:<seed>@<frame>', "
                      "'builtin:<name>' or an image file", _keyframes_ok, _keyframes_normal)


# `seed = "image"`: each run's noise seed is its toy start image's world seed (toy:<seed>[@<frame>]), one
# noise draw per clip, the rule of `fpkit toy eval` (fpkit.toy.evaluate.noise_seed_for, "per-seed"). Runs on
# the same image still share their noise, so comparisons stay paired.
SEED_FROM_IMAGE = "image"
SEED_RULE = either(integer(0, 2 ** 63 - 1), Rule(
    f"{SEED_FROM_IMAGE!r} (the toy start image's world seed: one noise draw per toy:<seed> clip)",
    lambda v: v == SEED_FROM_IMAGE))


def image_seed(image_spec: str) -> int | None:
    """The world seed of a toy start image (`toy:<seed>` or `toy:<seed>@<frame>`), else None."""
    try:
        parsed = toy_spec(image_spec)
    except ValueError:
        return None
    return None if parsed is None else parsed[0]


def keyframe_specs(keyframes_json: str, image_spec: str) -> dict[int, str]:
    """A run's keyframes as {pixel frame: image spec}, 'clip' resolved against its toy start image."""
    out = {}
    for frame, spec in json.loads(keyframes_json).items():
        if spec == "clip":
            seed = image_seed(image_spec)
            if seed is None:
                raise ValueError(f"keyframe {frame} = 'clip' needs a toy start image (toy:<seed>), got {image_spec!r}")
            spec = f"toy:{seed}@{frame}"
        out[int(frame)] = spec
    return out


AXIS_RULES: dict[str, Rule] = {
    "height": integer(1), "width": integer(1), "num_frames": integer(1), "latent_window_size": integer(1),
    "num_inference_steps": integer(1),
    "sigmas": Rule("a strictly decreasing list of numbers in (0, 1]", _sigmas_ok, lambda v: tuple(float(x) for x in v)),
    "true_cfg_scale": number(0), "guidance_scale": number(0), "negative_prompt": text(),
    "max_sequence_length": integer(1), "sampling_type": choice(planning.STRATEGIES),
    "flow_shift": either(number(0, inclusive=False), choice(("dynamic",))), "solver": choice(SOLVERS),
    "seed": SEED_RULE, "seconds": number(0, inclusive=False), "num_sections": integer(1),
    "image": text(nonempty=True), "last_image": text(nonempty=True), "prompt": text(nonempty=True),
    "method": MethodRule(),
    "keyframes": KEYFRAMES_RULE,
}


def normal(key: str, value):
    """The normal form of an axis value (3 -> 3.0 for float settings), or BAD."""
    rule = AXIS_RULES.get(key)
    return value if rule is None else (rule.normal(value) if rule.accepts(value) else BAD)


def value_problems(fixed: dict, grid: dict) -> list[str]:
    """Every fixed value and every grid value against its axis rule."""
    problems: list[str] = []
    for key, value in fixed.items():
        if key in AXIS_RULES:
            AXIS_RULES[key].check(f"[fixed] {key}", value, problems)
    for key, values in grid.items():
        if key in AXIS_RULES and isinstance(values, (list, tuple)):
            for value in values:
                AXIS_RULES[key].check(f"[grid] {key}", value, problems)
    return problems


def normal_axes(fixed, grid) -> tuple[tuple, tuple]:
    """(fixed, grid) with every valid value in normal form (invalid ones are left for the checks)."""
    def norm(key, value):
        out = normal(key, value)
        return value if out is BAD else out

    return (tuple((k, norm(k, v)) for k, v in fixed),
            tuple((k, tuple(norm(k, x) for x in v)) for k, v in grid))


# ---------------------------------------------------------------------------------------------
# Checks over axes (never over runs)


def axis_problems(exp) -> list[str]:
    fixed, grid = dict(exp.fixed), dict(exp.grid)
    problems = value_problems(fixed, grid)
    if problems:
        return problems

    def where(key):
        return f"[grid] {key}" if key in grid else f"[fixed] {key}"

    def values(key, default=None) -> tuple:
        return grid[key] if key in grid else (fixed[key],) if key in fixed else default

    problems += [f"{k} is set in both [fixed] and [grid]; keep one" for k in fixed if k in grid]
    lengths = [k for k in LENGTH_KEYS if k in fixed or k in grid]
    if len(lengths) > 1:
        problems.append(f"give the length once: one of {list(LENGTH_KEYS)}, got {lengths}")
    for key, vals in grid.items():
        repeated = [v for i, v in enumerate(vals) if v in vals[:i]]
        if repeated:
            problems.append(f"[grid] {key} = {_show(list(vals))}: lists {_show(repeated[0])} more than once "
                            f"(values are compared as numbers: 3 == 3.0)")
    # inputs: declared names, and distinct content among those the grid uses
    for key, section in INPUT_AXES.items():
        declared = {i.name: i.digest for i in getattr(exp.inputs, section)} if key != "prompt" \
            else dict(exp.inputs.prompts)
        used = values(key, tuple(declared) if key != "last_image" else ())
        for name in used:
            if name not in declared:
                problems.append(f"{where(key)} = {name!r}: must be one of the names in [inputs] {section} "
                                f"{sorted(declared)}")
        seen: dict = {}
        for name in (n for n in used if n in declared):
            if declared[name] in seen:
                problems.append(f"[inputs] {section} {seen[declared[name]]!r} and {name!r} have the same content;"
                                f" a grid needs distinct inputs")
            seen.setdefault(declared[name], name)
    # pairs of axes: sampling type (and the model it picks) x sizes, last image, length
    types = values("sampling_type", (None,))
    models = {st: exp.model.for_sampling_type(st) for st in types}
    geometries = {}
    for model in dict.fromkeys(models.values()):
        if model_problem(model) is None:
            try:
                geometries[model] = model_geometry(model)
            except (OSError, ValueError, KeyError) as err:
                problems.append(f"[model] {model!r}: cannot read its geometry ({err})")
    for model, geom in geometries.items():
        factor = geom.vae_spatial * geom.patch_size
        for key in ("height", "width"):
            for value in values(key, ()):
                if value % factor:
                    problems.append(f"{where(key)} = {value}: not divisible by {factor}, as model {model!r} needs "
                                    f"(VAE factor {geom.vae_spatial} x patch size {geom.patch_size})")
    if values("last_image", ()):
        takes = sorted(k for k, v in planning.STRATEGY_TAKES_LAST_IMAGE.items() if v)
        for st in types:
            if not planning.STRATEGY_TAKES_LAST_IMAGE[st or DEFAULT_SAMPLING_TYPE]:
                problems.append(f"{where('sampling_type')} = {st!r} does not take a last_image (last_image = "
                                f"{list(values('last_image'))}); use one of {takes} or drop last_image")
    problems += _keyframe_problems(exp, types, values, where)
    if SEED_FROM_IMAGE in values("seed", ()):
        images = {i.name: i.spec for i in exp.inputs.images}
        for name in values("image", tuple(images)):
            if name in images and image_seed(images[name]) is None:
                problems.append(f"{where('seed')} = {SEED_FROM_IMAGE!r} takes each run's noise seed from its toy start "
                                f"image (toy:<seed>), but image {name!r} is {images[name]!r}; give integer seeds")
    if "seconds" in grid:
        for model, geom in geometries.items():
            for lws in values("latent_window_size", (9,)):
                sections: dict[int, float] = {}
                for s in grid["seconds"]:
                    n = planning.sections_for_seconds(s, lws, exp.fps, geom.vae_temporal)
                    if n in sections:
                        problems.append(f"[grid] seconds = {sections[n]:g} and {s:g} give the same length ({n} "
                                        f"sections at latent_window_size={lws}, fps={exp.fps}); keep one")
                    sections.setdefault(n, s)
    return problems


def _keyframe_problems(exp, types, values, where) -> list[str]:
    """Keyframes go with sampling type "keyframes" and back; every spec must load."""
    from .inputs import image_input

    problems = []
    keyframes = values("keyframes", ())
    for st in types:
        if (st == "keyframes") != bool(keyframes):
            problems.append(f"{where('sampling_type')} = {st!r}: " + (
                "needs keyframes (a [fixed] or [grid] keyframes table {frame = image spec})" if st == "keyframes"
                else f"keyframes = {_show(list(keyframes))} are for sampling_type 'keyframes' only"))
    image_specs = [exp.inputs.image(name).spec for name in values("image", tuple(i.name for i in exp.inputs.images))
                   if name in {i.name for i in exp.inputs.images}]
    for table in keyframes:
        for image_spec in image_specs:
            try:
                for spec in keyframe_specs(table, image_spec).values():
                    image_input("keyframe", spec, Path(exp.base_dir))
            except ValueError as err:
                problems.append(f"{where('keyframes')} = {table}: {err}")
                break
    return problems


def axes(exp, only: dict | None = None) -> dict[str, tuple]:
    """The grid's axes in expansion order (inputs default to every declared name), with `only`
    applied (values compared in normal form, so 3 matches 3.0). A fixed key that `only` does not
    match gives an empty axis."""
    out = dict(exp.grid)
    fixed = dict(exp.fixed)
    declared = {"image": tuple(i.name for i in exp.inputs.images), "prompt": tuple(dict(exp.inputs.prompts))}
    for key, names in declared.items():
        if key not in out and key not in fixed:
            out[key] = names
    for key, value in (only or {}).items():
        wanted = normal(key, value)
        if key in out:
            out[key] = tuple(v for v in out[key] if v == wanted)
        elif key in fixed and fixed[key] != wanted:
            out[key] = ()
    return out


def only_problems(exp, only: dict | None) -> list[str]:
    """`--only` keys must be axes and each value must match one of the axis' values."""
    from .config import unknown_keys

    if not only:
        return []
    problems = unknown_keys("--only", only, AXIS_KEYS)
    full = axes(exp)
    fixed = dict(exp.fixed)
    for key, value in only.items():
        if key not in AXIS_KEYS:
            continue
        if normal(key, value) is BAD:
            AXIS_RULES[key].check(f"--only {key}", value, problems)
        elif key not in full and key not in fixed:
            problems.append(f"--only {key} = {_show(value)}: this experiment does not set {key}")
        elif not axes(exp, {key: value}).get(key, (None,)):
            options = list(full[key]) if key in full else [fixed[key]]
            problems.append(f"--only {key} = {_show(value)}: matches none of {_show(options)}")
    return problems


# ---------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class RunSpec:
    """One resolved point of the grid. `to_dict()` keys become table columns; `run_id` is the hash
    of `fingerprint(exp, spec)`, everything that determines the result."""

    experiment: str
    model: str
    image: str
    prompt: str
    seed: int
    last_image: str | None
    sample: tuple[tuple[str, Any], ...]  # sorted (key, value) of fpkit.sample keywords
    labels: tuple[tuple[str, Any], ...] = ()  # axis values as written (e.g. seconds=5), for tables
    methods: str = "[]"  # fpkit.methods.canonical JSON of the run's methods
    keyframes: str = "{}"  # canonical JSON {pixel frame: image spec} (sampling type "keyframes")
    run_id: str = ""

    @property
    def kwargs(self) -> dict:
        """Keywords for fpkit.sample (methods as their dicts, which fpkit.methods.resolve reads)."""
        out = dict(self.sample)
        if self.methods != "[]":
            out["methods"] = json.loads(self.methods)
        return out

    def to_dict(self) -> dict:
        return {"experiment": self.experiment, "model": self.model, "image": self.image,
                "last_image": self.last_image, "prompt": self.prompt, "seed": self.seed,
                **dict(self.labels), **dict(self.sample)}


def expand(exp, only: dict | None = None) -> list[RunSpec]:
    """Every run of the grid in grid order, run ids included."""
    ax = axes(exp, only)
    fixed = dict(exp.fixed)
    names = list(ax)
    geometries = {m: model_geometry(m) for m in exp.model.names}
    prints = Fingerprints(exp)
    out = []
    for values in itertools.product(*(ax[n] for n in names)):
        point = {**fixed, **dict(zip(names, values))}
        model = exp.model.for_sampling_type(point.get("sampling_type"))
        spec = _resolve(exp, point, geometries[model], model)
        out.append(RunSpec(**{**spec.__dict__, "run_id": prints.run_id(spec)}))
    return out


def _resolve(exp, point: dict, geom, model: str) -> RunSpec:
    sample = {k: point[k] for k in SAMPLE_KEYS if k in point}
    lws = sample.get("latent_window_size", 9)
    window_frames = (lws - 1) * geom.vae_temporal + 1
    labels = {}
    if "seconds" in point:
        labels["seconds"] = point["seconds"]
        sample["num_frames"] = planning.sections_for_seconds(point["seconds"], lws, exp.fps,
                                                             geom.vae_temporal) * window_frames
    if "num_sections" in point:
        labels["num_sections"] = point["num_sections"]
        sample["num_frames"] = point["num_sections"] * window_frames
    methods = point.get("method", "[]")
    keyframes = point.get("keyframes", "{}")
    if "keyframes" in point:
        labels["keyframes"] = keyframes
    if "method" in point:
        from ..methods import label

        labels["method"] = label(methods)
    seed = point.get("seed", 0)
    if seed == SEED_FROM_IMAGE:
        labels["seed_rule"] = SEED_FROM_IMAGE
        seed = image_seed(exp.inputs.image(point["image"]).spec)
    return RunSpec(experiment=exp.name, model=model, image=point["image"], prompt=point["prompt"],
                   seed=seed, last_image=point.get("last_image"),
                   sample=tuple(sorted(sample.items())), labels=tuple(sorted(labels.items())), methods=methods,
                   keyframes=keyframes)


class Fingerprints:
    """Run fingerprints of one experiment: what is common to its runs is resolved once."""

    def __init__(self, exp):
        self.exp = exp
        self.common = {
            "format": RESULT_FORMAT, "diffusers": _version("diffusers"),
            "record": {"level": exp.record.level, "video": exp.record.video},
            "metrics": {"names": exp.metrics.resolved, "ratio": exp.metrics.ratio}, "fps": exp.fps}
        self.models = {m: {"name": m, "dtype": exp.model.dtype, **model_kind(m).identity(m, exp.model.seed)}
                       for m in exp.model.names}
        self.images = {i.name: i.digest for i in exp.inputs.images}
        self.last_images = {i.name: i.digest for i in exp.inputs.last_images}
        self.prompts = dict(exp.inputs.prompts)

    def __call__(self, spec: RunSpec) -> dict:
        """Everything that determines the run's result: content, never names."""
        out = {**self.common, "model": self.models[spec.model], "image": self.images[spec.image],
               "last_image": self.last_images.get(spec.last_image), "prompt": self.prompts[spec.prompt],
               "seed": spec.seed, "sample": dict(spec.sample)}
        if spec.methods != "[]":  # (runs without methods keep the ids they had before methods existed)
            out["methods"] = json.loads(spec.methods)
        if spec.keyframes != "{}":  # content, as for images
            from .inputs import image_input

            image_spec = self.exp.inputs.image(spec.image).spec
            out["keyframes"] = {str(f): image_input("keyframe", s, Path(self.exp.base_dir)).digest
                                for f, s in keyframe_specs(spec.keyframes, image_spec).items()}
        return out

    def run_id(self, spec: RunSpec) -> str:
        blob = json.dumps(self(spec), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def fingerprint(exp, spec: RunSpec) -> dict:
    return Fingerprints(exp)(spec)


@lru_cache(maxsize=None)
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def grid_size(exp, only: dict | None = None) -> int:
    return math.prod(len(v) for v in axes(exp, only).values())
