"""Uncertainty over seeds: percentile-bootstrap intervals for a statistic of per-seed values and for
paired differences (same seeds, shared noise). The one implementation reports, plots and widgets use.

    bootstrap_ci(values)                      # Interval(estimate, low, high, n): mean, 95% interval
    paired_difference(treated, control)       # statistic of (treated - control) per seed, with interval
    summarize(table, by=["variant", "length"], value="value")     # a row per group with its interval
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

STATISTICS = {"mean": np.mean, "median": np.median}


@dataclass(frozen=True)
class Interval:
    """A statistic over n values and its bootstrap interval [low, high] at `level`."""

    estimate: float
    low: float
    high: float
    n: int
    level: float = 0.95
    statistic: str = "mean"

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"


def _values(values, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(v).any():
        raise ValueError(f"{name} holds NaN at positions {np.flatnonzero(np.isnan(v)).tolist()[:10]}; drop or "
                         f"explain missing values before computing an interval")
    return v


def bootstrap_ci(values, statistic: str = "mean", level: float = 0.95, n_boot: int = 10_000,
                 seed: int = 0) -> Interval:
    """Percentile bootstrap interval of `statistic` ("mean" or "median") over `values` (one per seed).

    Resamples the values with replacement `n_boot` times (deterministic in `seed`). With one value
    the interval is [nan, nan]: a single seed carries no spread."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {sorted(STATISTICS)}, got {statistic!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an int >= 100, got {n_boot!r}")
    v = _values(values, "values")
    if v.size == 0:
        raise ValueError("values is empty: an interval needs at least one value")
    fn = STATISTICS[statistic]
    estimate = float(fn(v))
    if v.size == 1:
        return Interval(estimate, float("nan"), float("nan"), 1, level, statistic)
    idx = np.random.default_rng(seed).integers(0, v.size, (n_boot, v.size))  # (n_boot, n)
    stats = fn(v[idx], axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), int(v.size), level, statistic)


def paired_difference(treated, control, statistic: str = "mean", level: float = 0.95, n_boot: int = 10_000,
                      seed: int = 0) -> Interval:
    """Interval of `statistic` of the per-seed differences treated[i] - control[i]: the pairs share a
    seed (start image and noise), so seed-to-seed variation cancels."""
    a, b = _values(treated, "treated"), _values(control, "control")
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.size} and {b.size}")
    return bootstrap_ci(a - b, statistic, level, n_boot, seed)


def summarize(table, by, value: str = "value", statistic: str = "mean", level: float = 0.95,
              n_boot: int = 10_000, seed: int = 0):
    """One row per group of `by` with the statistic of `value` and its bootstrap interval
    (columns: *by, estimate, low, high, n)."""
    import pandas as pd

    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*by, value] if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column(s) {missing}; it has {list(table.columns)}")
    rows = []
    for key, group in table.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        ci = bootstrap_ci(group[value].to_numpy(), statistic, level, n_boot, seed)
        rows.append({**dict(zip(by, key)), "estimate": ci.estimate, "low": ci.low, "high": ci.high, "n": ci.n})
    return pd.DataFrame(rows, columns=[*by, "estimate", "low", "high", "n"])


def paired_table(table, value: str, arm: str = "method", baseline: str | None = "none", pair="image",
                 by=("num_sections",), level: float = 0.95, n_boot: int = 10_000, seed: int = 0,
                 lower_is_better: bool = True):
    """The ranked comparison a report leads with: per group of `by` and per `arm` (method, strategy),
    the mean of `value` with its bootstrap interval and, against `baseline`, the mean paired
    difference (pairs share `pair`: the same start image and noise) with its interval; `clear` says
    whether that interval excludes 0. Rows ranked best first within each group."""
    import pandas as pd

    by = [by] if isinstance(by, str) else list(by)
    pair = [pair] if isinstance(pair, str) else list(pair)
    missing = [c for c in [*by, *pair, arm, value] if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column(s) {missing}; it has {list(table.columns)}")
    rows = []
    for key, group in (table.groupby(by, sort=True) if by else [((), table)]):
        key = key if isinstance(key, tuple) else (key,)
        wide = group.pivot_table(index=pair, columns=arm, values=value, aggfunc="mean")
        if baseline is not None and baseline not in wide.columns:
            raise ValueError(f"baseline {baseline!r} is not a value of {arm!r}: {sorted(wide.columns)}")
        for name in wide.columns:
            ci = bootstrap_ci(wide[name].dropna().to_numpy(), "mean", level, n_boot, seed)
            row = {**dict(zip(by, key)), arm: name, "mean": ci.estimate, "low": ci.low, "high": ci.high, "n": ci.n}
            if baseline is not None:
                both = wide[[name, baseline]].dropna()
                diff = bootstrap_ci((both[name] - both[baseline]).to_numpy(), "mean", level, n_boot, seed) \
                    if name != baseline else None
                row.update(diff=diff.estimate if diff else 0.0, diff_low=diff.low if diff else 0.0,
                           diff_high=diff.high if diff else 0.0,
                           clear=bool(diff.excludes_zero) if diff else False)
            rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values([*by, "mean"], ascending=[True] * len(by) + [lower_is_better]).reset_index(drop=True)
