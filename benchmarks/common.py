"""What the benchmarks share: the benchmark pipeline, interleaved timing and the ratio table."""

from __future__ import annotations

import io
import statistics
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Callable

import fpkit


def bench_pipeline(heads: int = 4, head_dim: int = 32, layers: int = 2):
    """Tiny components with a transformer wide enough to dominate the run, as the released one does."""
    return fpkit.tiny_pipeline(seed=0, latent_channels=16, transformer_kwargs=dict(
        num_attention_heads=heads, attention_head_dim=head_dim, num_layers=layers, num_single_layers=layers,
        rope_axes_dim=(8, 12, 12) if head_dim == 32 else (2, 2, 4)))


def interleaved(configs: dict[str, Callable], repeats: int, sync: Callable = lambda: None,
                before: Callable[[str], None] | None = None,
                after: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Wall times of every configuration, `repeats` rounds of all of them in turn (machine noise hits
    each alike), after one warm-up call each. `before` / `after(name)` bracket each timed call
    untimed (e.g. resetting and reading memory statistics)."""
    for fn in configs.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(repeats):
        for name, fn in configs.items():
            sync()
            if before is not None:
                before(name)
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
            if after is not None:
                after(name)
    return times


class NoOp(fpkit.methods.Method):
    """Returns every value unchanged at both per-step sites: the cost of the site machinery itself."""

    name = "bench_no_op"

    def step_model_output(self, output, state):
        return output

    def step_latents(self, latents, state):
        return latents


def ratio_lines(times: dict[str, list[float]], base: str, width: int = 28) -> list[str]:
    """Median seconds and the ratio to `base`, one line per configuration."""
    ref = statistics.median(times[base])
    lines = [f"{'configuration':<{width}} {'median s':>9} {'ratio':>7}"]
    for name, values in times.items():
        med = statistics.median(values)
        lines.append(f"{name:<{width}} {med:9.3f} {med / ref:7.3f}")
    return lines


def export_revision(rev: str, folder: Path) -> Path:
    """The fpkit package (checkpoints included) at git revision `rev`, unpacked into `folder` (put `folder`
    first on PYTHONPATH, or run in it, to use that revision)."""
    root = Path(__file__).resolve().parents[1]
    data = subprocess.run(["git", "-C", str(root), "archive", rev, "fpkit"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    return folder
