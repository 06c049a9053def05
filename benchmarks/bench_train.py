"""Toy training speed now against an earlier git revision: short `fpkit toy train` legs resumed from
a shipped organism with its recipe's flags, the two codes alternating (machine noise hits both
alike). Prints the median steps/s of each, the ratio now / then, and what the recipe's 18,000 steps
would take at each speed (issue 9's budget: <= 3 h per variant on 2 cores, measured alone).

    .venv/bin/python benchmarks/bench_train.py --rev 80e2242 [--variant f1] [--steps 150] [--repeats 3]

The earlier package is exported with `git archive` and put first on PYTHONPATH of its legs. Each leg
starts from the shipped weights with fresh Adam moments and an empty prompt cache, so its steps/s
(`meta.json`, setup left out) is a little below a long run's. Run it alone: other jobs on the two
cores make both legs slower, the ratio less so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import export_revision

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_STEPS = 18000
RECIPES = {  # the shipped recipes' flags (docs/toy.md, "The shipped runs"), continued from the shipped folder
    "f1": "--codec-patch 4 --codec-whitening 0 --heading-prompt 0.8 --motion-weight 10 --motion-weight-from 16000",
    "inverted": "--codec-patch 4 --sections 1 3 --last-image 0.1 --first-section-weight 4",
}
RECIPES["f1+D"] = RECIPES["f1-h1"] = RECIPES["f1"]


def leg(variant: str, steps: int, out: Path, pythonpath: Path | None) -> float:
    """steps/s of one leg: `steps` steps on from the shipped folder, two threads."""
    command = [sys.executable, "-m", "fpkit", "toy", "train", "--variant", variant, "--steps", "20000",
               "--seed", "0", "--threads", "2", *RECIPES[variant].split(), "--no-progress",
               "--resume", str(ROOT / "fpkit" / "toy" / "checkpoints" / variant),
               "--stop-at", str(SHIPPED_STEPS + steps), "--out", str(out)]
    env = None
    if pythonpath is not None:
        import os

        env = dict(os.environ, PYTHONPATH=f"{pythonpath}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    where = subprocess.run([sys.executable, "-c", "import fpkit; print(fpkit.__file__)"], check=True,
                           capture_output=True, text=True, env=env, cwd=pythonpath or ROOT).stdout
    assert Path(where.strip()).is_relative_to(pythonpath or ROOT), f"the leg would import {where}"
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=pythonpath or ROOT)
    return float(json.loads((out / "meta.json").read_text())["steps_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True, help="the earlier revision (its fpkit package)")
    parser.add_argument("--variant", default="f1", choices=sorted(RECIPES))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.steps < 1 or args.repeats < 1:
        raise SystemExit(f"--steps and --repeats must be >= 1, got {args.steps}, {args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        then = Path(tmp) / "then"
        then.mkdir()
        export_revision(args.rev, then)
        speeds: dict[str, list[float]] = {f"fpkit at {args.rev}": [], "fpkit now": []}
        for r in range(args.repeats):
            for name, path in zip(speeds, (then, None)):
                out = Path(tmp) / f"{'then' if path else 'now'}-{r}"
                speeds[name].append(leg(args.variant, args.steps, out, path))
                print(f"{name}: {speeds[name][-1]:.3f} steps/s", flush=True)
    medians = {name: statistics.median(v) for name, v in speeds.items()}
    print(f"\n{args.variant}, {args.steps} steps per leg from the shipped folder, --threads 2, {args.repeats} legs each:")
    for name, m in medians.items():
        print(f"  {name:24s} median {m:.3f} steps/s -> {SHIPPED_STEPS:,} steps in {SHIPPED_STEPS / m / 3600:.2f} h")
    then_m, now_m = medians.values()
    print(f"  ratio now / then (speed): {now_m / then_m:.3f}")


if __name__ == "__main__":
    main()
