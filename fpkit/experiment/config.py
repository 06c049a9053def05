"""Experiment files -> frozen configs that validate themselves. Every value is type- and range-checked
here and every problem in a file is collected into one ExperimentError, before a model loads or
anything is written."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..pipelines import OFFLOAD_MODES
from ..trace import RECORD_LEVELS
from .inputs import ImageInput, image_input
from .models import DTYPES, model_problem

DEFAULT_MAX_RUNS = 1000  # a bigger grid needs `max_runs = N` in the file or `fpkit run --yes`


class ExperimentError(ValueError):
    """Every problem found in an experiment file, reported at once."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(dict.fromkeys(problems))
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


# ---------------------------------------------------------------------------------------------
# Rules: what a value may be, in words, and its normal form (ints given for floats become floats)


@dataclass(frozen=True)
class Rule:
    valid: str  # "an integer >= 1": completes "must be ..."
    accepts: Callable[[Any], bool]
    normal: Callable[[Any], Any] = lambda v: v

    def check(self, where: str, value, problems: list[str]):
        """The normal form of `value`, or BAD after appending a problem naming key, value and rule."""
        if self.accepts(value):
            return self.normal(value)
        problems.append(f"{where} = {_show(value)}: must be {self.valid}")
        return BAD


BAD = object()


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def integer(lo: int, hi: int | None = None) -> Rule:
    valid = f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else "")
    return Rule(valid, lambda v: _is_int(v) and v >= lo and (hi is None or v <= hi))


def number(lo: float, inclusive: bool = True, hi: float | None = None) -> Rule:
    op = ">=" if inclusive else ">"
    valid = f"a number {op} {lo:g}" + (f" and <= {hi:g}" if hi is not None else "")
    return Rule(valid, lambda v: _is_num(v) and (v >= lo if inclusive else v > lo) and (hi is None or v <= hi),
                float)


def text(nonempty: bool = False) -> Rule:
    return Rule("a non-empty string" if nonempty else "a string", lambda v: isinstance(v, str) and (v or not nonempty))


def choice(options) -> Rule:
    options = tuple(options)
    return Rule(f"one of {list(options)}", lambda v: isinstance(v, (str, type(None))) and v in options)


FLAG = Rule("true or false", lambda v: isinstance(v, bool))


def either(a: Rule, b: Rule) -> Rule:
    return Rule(f"{a.valid} or {b.valid}", lambda v: a.accepts(v) or b.accepts(v),
                lambda v: a.normal(v) if a.accepts(v) else b.normal(v))


def _show(value) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 60 else text_[:57] + "..."


def unknown_keys(where: str, keys, valid) -> list[str]:
    return [f"unknown key {k!r} in {where}; valid: {sorted(valid)}" for k in keys if k not in valid]


class Validated:
    """Frozen dataclass mix-in: `__post_init__` checks every field against RULES (all problems at
    once), stores normal forms, then runs `more_problems` for checks across fields."""

    SECTION: ClassVar[str] = ""
    RULES: ClassVar[dict[str, Rule]] = {}

    def __post_init__(self):
        problems: list[str] = []
        for f in fields(self):
            if f.name in self.RULES:
                value = self.RULES[f.name].check(f"{self.SECTION} {f.name}".strip(), getattr(self, f.name), problems)
                if value is not BAD:
                    object.__setattr__(self, f.name, value)
        if not problems:
            problems += self.more_problems()
        if problems:
            raise ExperimentError(self.SECTION or type(self).__name__, problems)

    def more_problems(self) -> list[str]:
        return []

    @classmethod
    def from_table(cls, raw, problems: list[str], **extra):
        """Build from a TOML table, appending every problem (unknown keys, bad values) to `problems`;
        None when any was found."""
        if not isinstance(raw, dict):
            problems.append(f"{cls.SECTION} must be a table (`{cls.SECTION}` section or `key = {{...}}`), "
                            f"got {_show(raw)}")
            return None
        names = [f.name for f in fields(cls) if f.init and f.name not in extra]
        problems += unknown_keys(cls.SECTION, raw, names)
        try:
            return cls(**{k: v for k, v in raw.items() if k in names}, **extra)
        except ExperimentError as err:
            problems += err.problems
            return None

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value):
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value) and value:
        return {k: _plain(v) for k, v in value}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, ImageInput):
        return {"name": value.name, "spec": value.spec, "sha256": value.digest}
    return value


# ---------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class ModelConfig(Validated):
    """[model]: which pipeline, how it is loaded, and a checkpoint per sampling type when needed."""

    SECTION: ClassVar[str] = "[model]"
    RULES: ClassVar[dict[str, Rule]] = {
        "dtype": choice(DTYPES), "offload": choice(OFFLOAD_MODES),
        "device": either(text(nonempty=True), Rule("unset", lambda v: v is None)),
        "seed": integer(0, 2 ** 63 - 1)}

    name: str = "tiny"
    dtype: str = "float32"
    offload: str | None = None
    device: str | None = None
    seed: int = 0  # weights of the tiny random pipeline
    # e.g. (("vanilla", "toy:f1"),): the checkpoint each sampling type needs, when it is not `name`
    by_sampling_type: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if isinstance(self.by_sampling_type, dict):
            object.__setattr__(self, "by_sampling_type", tuple(sorted(self.by_sampling_type.items())))
        super().__post_init__()

    def more_problems(self) -> list[str]:
        from ..planning import STRATEGIES

        problems = [p for p in [model_problem(self.name)] if p]
        if not isinstance(self.by_sampling_type, tuple):
            return problems + [f"[model] by_sampling_type = {_show(self.by_sampling_type)}: must be a table "
                               f"{{sampling_type = model name}}"]
        for st, model in self.by_sampling_type:
            if st not in STRATEGIES:
                problems.append(f"[model] by_sampling_type: unknown sampling type {st!r}; known: {sorted(STRATEGIES)}")
            elif (err := model_problem(model)) is not None:
                problems.append(f"[model] by_sampling_type.{st}: {err}")
        return problems

    def for_sampling_type(self, sampling_type: str | None) -> str:
        return dict(self.by_sampling_type).get(sampling_type, self.name)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.name, *dict(self.by_sampling_type).values()]))


@dataclass(frozen=True)
class RecordConfig(Validated):
    """[record]: the Trace level and whether video.mp4 is written."""

    SECTION: ClassVar[str] = "[record]"
    RULES: ClassVar[dict[str, Rule]] = {"level": choice(RECORD_LEVELS), "video": FLAG}

    level: str = "sections"
    video: bool = True


@dataclass(frozen=True)
class MetricsConfig(Validated):
    """[metrics]: frame metrics per run (None: the default suite) and the drift window ratio."""

    SECTION: ClassVar[str] = "[metrics]"
    RULES: ClassVar[dict[str, Rule]] = {
        "names": either(Rule("a non-empty list of metric names", lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                             and all(isinstance(x, str) for x in v), tuple),
                        Rule("left out (the default suite)", lambda v: v is None)),
        "ratio": number(0, inclusive=False, hi=0.5)}

    names: tuple[str, ...] | None = None
    ratio: float = 0.15

    def more_problems(self) -> list[str]:
        from ..metrics import REGISTRY

        frame = sorted(n for n, m in REGISTRY.items() if m.kind == "frame")
        problems = []
        for name in self.names or ():
            if name not in REGISTRY:
                problems.append(f"[metrics] names: unknown metric {name!r}; known frame metrics: {frame}")
            elif REGISTRY[name].kind != "frame":
                problems.append(f"[metrics] names: {name!r} is a {REGISTRY[name].kind} metric (computed from a "
                                f"Trace, not per run); frame metrics: {frame}")
        if self.names and len(set(self.names)) < len(self.names):
            problems.append(f"[metrics] names = {list(self.names)}: lists a metric twice")
        return problems

    @property
    def resolved(self) -> list[str]:
        """The metric names a run computes (the default suite spelled out, for fingerprints)."""
        from ..metrics.registry import resolve

        return [m.name for m in resolve(self.names, "frame")]


@dataclass(frozen=True)
class InputsConfig(Validated):
    """[inputs]: named start images, last images and prompts (content-hashed images)."""

    SECTION: ClassVar[str] = "[inputs]"

    images: tuple[ImageInput, ...]
    last_images: tuple[ImageInput, ...] = ()
    prompts: tuple[tuple[str, str], ...] = (("default", ""),)

    def more_problems(self) -> list[str]:
        problems = []
        if not self.images:
            problems.append("[inputs] images must name at least one image")
        if not self.prompts:
            problems.append("[inputs] prompts must name at least one prompt")
        for name, value in self.prompts:
            if not isinstance(value, str):
                problems.append(f"[inputs] prompts.{name} = {_show(value)}: must be a string")
        return problems

    @classmethod
    def parse(cls, raw, base: Path, problems: list[str]):
        if not isinstance(raw, dict):
            problems.append(f"[inputs] must be a table, got {_show(raw)}")
            return None
        problems += unknown_keys("[inputs]", raw, ("images", "last_images", "prompts"))
        found = len(problems)

        def named(key, default):
            table = raw.get(key, default)
            what = key[:-1]
            if isinstance(table, list):
                table = {f"{what}{i}": v for i, v in enumerate(table)}
            if not isinstance(table, dict):
                problems.append(f"[inputs] {key} = {_show(table)}: must be a table {{name = value}} or a list")
                return {}
            return table

        images = []
        for key, default in (("images", {"start": "builtin:discs"}), ("last_images", {})):
            out = []
            for name, spec in named(key, default).items():
                try:
                    out.append(image_input(name, spec, base))
                except ValueError as err:
                    problems.append(f"[inputs] {key}.{name} = {err}")
            images.append(tuple(out))
        prompts = tuple(named("prompts", {"default": ""}).items())
        if len(problems) > found:
            return None
        try:
            return cls(images=images[0], last_images=images[1], prompts=prompts)
        except ExperimentError as err:
            problems += err.problems
            return None

    def image(self, name: str, last: bool = False) -> ImageInput:
        return next(i for i in (self.last_images if last else self.images) if i.name == name)

    def prompt_text(self, name: str) -> str:
        return dict(self.prompts)[name]


@dataclass(frozen=True)
class Experiment(Validated):
    """A whole validated experiment. `fixed` and `grid` hold normal forms (see grid.AXIS_RULES)."""

    SECTION: ClassVar[str] = ""
    RULES: ClassVar[dict[str, Rule]] = {
        "name": Rule("a non-empty string without '/'", lambda v: isinstance(v, str) and bool(v) and "/" not in v
                     and v not in (".", "..")),
        "description": text(), "fps": integer(1, 1000), "max_runs": integer(1)}

    name: str
    inputs: InputsConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    fixed: tuple[tuple[str, Any], ...] = ()
    grid: tuple[tuple[str, tuple], ...] = ()
    record: RecordConfig = field(default_factory=RecordConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    fps: int = 30
    max_runs: int = DEFAULT_MAX_RUNS
    description: str = ""
    base_dir: str = "."

    def __post_init__(self):
        from .grid import normal_axes

        fixed, grid = normal_axes(self.fixed, self.grid)
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "grid", grid)
        super().__post_init__()

    def more_problems(self) -> list[str]:
        from .grid import axis_problems

        return axis_problems(self)

    # -- the grid (see grid.py) ------------------------------------------------------------
    def runs(self, only: dict | None = None) -> list:
        """Every resolved run of the grid (after `only`), in grid order, each with its run id."""
        from .grid import expand

        return expand(self, only)

    def grid_size(self, only: dict | None = None) -> int:
        """How many runs the grid holds, without expanding it."""
        from .grid import grid_size

        return grid_size(self, only)

    # -- conveniences kept from the first version ------------------------------------------
    @property
    def images(self) -> tuple[tuple[str, str], ...]:
        return tuple((i.name, i.spec) for i in self.inputs.images)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["grid"] = {k: list(v) for k, v in self.grid}
        return out


TOP_KEYS = ("name", "description", "model", "inputs", "fixed", "grid", "record", "metrics", "fps", "max_runs")


def load_experiment(path, overrides: dict | None = None, set_values: dict | None = None) -> Experiment:
    """Parse and validate an experiment TOML file; raise ExperimentError listing every problem."""
    path = Path(path)
    if path.is_dir():
        raise ExperimentError(str(path), ["is a directory; give an experiment .toml file"])
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ExperimentError(str(path), ["file not found"]) from None
    except (UnicodeDecodeError, OSError) as err:
        raise ExperimentError(str(path), [f"cannot be read: {err}"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(str(path), [f"not valid TOML: {err}"]) from None
    return parse_experiment(data, source=str(path), base_dir=path.parent, overrides=overrides,
                            set_values=set_values)


def parse_experiment(data: dict, source: str = "<experiment>", base_dir: Path | str = ".",
                     overrides: dict | None = None, set_values: dict | None = None) -> Experiment:
    """`overrides` filter the grid (--only); `set_values` replace fixed values or whole axes (--set)."""
    from .grid import AXIS_KEYS, only_problems, value_problems

    problems: list[str] = []
    if not isinstance(data, dict):
        raise ExperimentError(source, [f"must be a TOML table, got {_show(data)}"])
    data = dict(data)
    fixed, grid = data.get("fixed", {}), data.get("grid", {})
    for key, value in (("fixed", fixed), ("grid", grid)):
        if not isinstance(value, dict):
            problems.append(f"[{key}] must be a table of {'axis = [values, ...]' if key == 'grid' else 'key = value'}"
                            f", got {_show(value)}")
    fixed = dict(fixed) if isinstance(fixed, dict) else {}
    grid = dict(grid) if isinstance(grid, dict) else {}
    if set_values:
        problems += unknown_keys("--set", set_values, AXIS_KEYS)
        for key, value in set_values.items():
            (grid if isinstance(value, list) else fixed)[key] = value
            (fixed if isinstance(value, list) else grid).pop(key, None)
    problems += unknown_keys("the file", data, TOP_KEYS)
    model = data.get("model", {})
    model_cfg = ModelConfig.from_table({"name": model} if not isinstance(model, dict) else model, problems)
    inputs = InputsConfig.parse(data.get("inputs", {}), Path(base_dir), problems)
    record = RecordConfig.from_table(data.get("record", {}), problems)
    metrics = MetricsConfig.from_table(data.get("metrics", {}), problems)
    problems += unknown_keys("[fixed]", fixed, AXIS_KEYS) + unknown_keys("[grid]", grid, AXIS_KEYS)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            problems.append(f"[grid] {key} = {_show(values)}: must be a non-empty list of values")
    top = {k: data[k] for k in ("name", "description", "fps", "max_runs") if k in data}
    if "name" not in top:
        problems.append("name is missing: give `name = \"...\"` (the results folder's name)")
    axes = dict(fixed=tuple((k, v) for k, v in fixed.items() if k in AXIS_KEYS),
                grid=tuple((k, tuple(v)) for k, v in grid.items() if k in AXIS_KEYS and isinstance(v, list) and v))
    if problems:  # still list what the sound parts show: top-level values, axes (against the model if sound)
        for key, value in top.items():
            Experiment.RULES[key].check(key, value, problems)
        if model_cfg is None or inputs is None:
            raise ExperimentError(source, problems + value_problems(fixed, grid))
        fps = top.get("fps") if Experiment.RULES["fps"].accepts(top.get("fps")) else 30
        try:
            Experiment(name="-", model=model_cfg, inputs=inputs, fps=fps, **axes)
        except ExperimentError as err:
            problems += err.problems
        raise ExperimentError(source, problems)
    try:
        exp = Experiment(model=model_cfg, inputs=inputs, record=record, metrics=metrics, base_dir=str(base_dir),
                         **axes, **top)
    except ExperimentError as err:
        raise ExperimentError(source, err.problems) from None
    problems += only_problems(exp, overrides)
    if problems:
        raise ExperimentError(source, problems)
    return exp


def parse_only(items: list[str] | None, option: str = "--only/--set") -> dict[str, Any]:
    """`--only k=v` / `--set k=v` pairs; values parsed as TOML values when possible."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ExperimentError(option, [f"expected KEY=VALUE, got {item!r}"])
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out
