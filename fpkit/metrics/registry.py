"""The metric registry: one canonical snake_case name per metric, its function and its metadata.

Every metric of a kind shares one signature:
  kind "frame":  fn(batch: FrameBatch) -> np.ndarray (n,)      one value per decoded frame
  kind "latent": fn(batch: LatentBatch) -> np.ndarray (N,) or (N, C)  per latent frame (per channel)
A metric that cannot run (e.g. LPIPS without cached backbone weights) says why through `available`,
and a frame metric whose kernels need bigger frames says so through `min_size`; callers then emit NaN
with that reason, or raise `MetricUnavailable` in strict mode. Never None.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable

KINDS = ("frame", "latent")
REFERENCES = ("none", "first", "previous", "start_latent", "previous_section")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
INF = math.inf  # for unbounded ranges


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed here (missing weights, ...). `reason` is what the tables show."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"metric {name!r} {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable
    kind: str  # "frame" | "latent"
    family: str  # clarity | color | fidelity | stability | motion | latent
    higher_is_better: bool | None  # None: descriptive, neither direction is "better"
    range: tuple[float, float]
    reference: str  # what it compares against: none | first | previous | start_latent | previous_section
    description: str
    unit: str = ""
    needs_weights: bool = False
    default: bool = True  # part of the default suite
    per_channel: bool = False  # latent metrics: one value per latent channel
    available: Callable[[], str | None] | None = None  # None -> always; else returns a reason or None
    min_size: tuple[int, int] = (1, 1)  # frame metrics: (short side, long side) in px the kernels need
    min_size_why: str = ""  # what needs that size, for the reason of frames below it
    ambiguous: str = ""  # why its direction is not a verdict on generated video ("": it is one)

    def __post_init__(self):
        if not _SNAKE.match(self.name):
            raise ValueError(f"metric name must be snake_case, got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"metric kind must be one of {KINDS}, got {self.kind!r}")
        if self.reference not in REFERENCES:
            raise ValueError(f"metric reference must be one of {REFERENCES}, got {self.reference!r}")
        short, long = self.min_size
        if not (isinstance(short, int) and isinstance(long, int) and 1 <= short <= long):
            raise ValueError(f"metric min_size must be ints (short, long) with 1 <= short <= long, "
                             f"got {self.min_size!r}")

    @property
    def needs_reference(self) -> bool:
        return self.reference != "none"

    @property
    def headline(self) -> bool:
        """Fit to lead a comparison by default: in the default suite, with a direction, and a
        direction that cannot be reached by falling apart (see `ambiguous`)."""
        return self.default and self.higher_is_better is not None and not self.ambiguous

    def unavailable_reason(self) -> str | None:
        return None if self.available is None else self.available()

    def size_reason(self, height: int, width: int) -> str | None:
        """None when frames of height x width are big enough for this metric, else why not."""
        short, long = self.min_size
        if min(height, width) >= short and max(height, width) >= long:
            return None
        need = f"at least {short}x{short}" if short == long else f"short side >= {short} px and long side >= {long} px"
        why = f" ({self.min_size_why})" if self.min_size_why else ""
        return f"undefined: frames are {height}x{width}; needs {need}{why}"

    def to_dict(self) -> dict:
        lo, hi = self.range
        direction = {True: "higher", False: "lower", None: "none"}[self.higher_is_better]
        return dict(name=self.name, kind=self.kind, family=self.family, better=direction,
                    range_min=lo, range_max=hi, reference=self.reference,
                    needs_reference=self.needs_reference, needs_weights=self.needs_weights,
                    default=self.default, per_channel=self.per_channel, unit=self.unit,
                    min_short_side=self.min_size[0], min_long_side=self.min_size[1],
                    headline=self.headline, description=self.description + (
                        f"; direction ambiguous: {self.ambiguous}" if self.ambiguous else ""))


REGISTRY: dict[str, Metric] = {}


def register(name: str, **meta) -> Callable[[Callable], Callable]:
    """Decorator: register `fn` under `name` with the given Metric metadata."""

    def deco(fn: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        REGISTRY[name] = Metric(name=name, fn=fn, **meta)
        return fn

    return deco


def get_metric(name: str) -> Metric:
    if name not in REGISTRY:
        raise ValueError(f"unknown metric {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]


def resolve(metrics: str | Iterable[str] | None, kind: str) -> list[Metric]:
    """Names -> Metrics of `kind` (None: the default suite of that kind), duplicates dropped."""
    if metrics is None:
        return [m for m in REGISTRY.values() if m.kind == kind and m.default]
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    out = []
    for name in dict.fromkeys(names):
        metric = get_metric(name)
        if metric.kind != kind:
            hint = "fpkit.metrics.latent_metrics(trace)" if metric.kind == "latent" else "fpkit.metrics.compute(video)"
            raise ValueError(f"metric {name!r} is a {metric.kind} metric; compute it with {hint}")
        out.append(metric)
    if not out:
        raise ValueError(f"no metrics requested; known {kind} metrics: "
                         f"{sorted(m.name for m in REGISTRY.values() if m.kind == kind)}")
    return out


def headline_metrics(kind: str = "frame") -> list[str]:
    """Names of the metrics a view or report leads with by default (Metric.headline)."""
    return [m.name for m in REGISTRY.values() if m.kind == kind and m.headline]


def list_metrics(kind: str | None = None):
    """Registry metadata as a DataFrame (one row per metric)."""
    import pandas as pd

    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    rows = [m.to_dict() for m in REGISTRY.values() if kind is None or m.kind == kind]
    return pd.DataFrame(rows)

