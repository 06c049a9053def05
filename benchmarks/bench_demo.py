"""`fpkit demo` wall time with one sampling process against two (`--workers`), on the shipped toy
organism, each into a fresh folder, alternating (machine noise hits both alike). Prints the medians
and the ratio. The demo's budget is 60 s on the idle 2-core machine after install (issue 9).

    .venv/bin/python benchmarks/bench_demo.py [--repeats 2] [--quick]
    .venv/bin/python benchmarks/bench_demo.py --rev 38b19cb   # two processes, at REV against now

Each demo process samples on one thread (fpkit.threads), so on 2 idle cores the second process
runs on the core the first leaves idle; on a machine already busy it buys little.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import export_revision, ratio_lines


def demo_seconds(workers: int, quick: bool, package: Path | None = None) -> float:
    """One `python -m fpkit demo` into a fresh folder; `package`: a folder holding another `fpkit`
    package, put first on the path."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if package is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "fpkit", "demo", "--out", str(Path(tmp) / "demo"), "--workers", str(workers)]
        t0 = time.perf_counter()
        subprocess.run(cmd + (["--quick"] if quick else []), check=True, capture_output=True, env=env, cwd=tmp)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="the demo's --quick grid")
    parser.add_argument("--rev", help="compare the demo at this git revision with now (both on 2 processes)")
    args = parser.parse_args()
    if args.rev:
        with tempfile.TemporaryDirectory() as tmp:
            then = export_revision(args.rev, Path(tmp))
            times = {f"at {args.rev}": [], "now": []}
            for _ in range(args.repeats):
                times[f"at {args.rev}"].append(demo_seconds(2, args.quick, then))
                times["now"].append(demo_seconds(2, args.quick))
        print(f"fpkit demo{' --quick' if args.quick else ''}, 2 processes, {os.cpu_count()} cores, {args.repeats} repeats")
        print("\n".join(ratio_lines(times, f"at {args.rev}")))
        return
    times: dict[str, list[float]] = {"1 process": [], "2 processes": []}
    for _ in range(args.repeats):  # whole process runs, imports included: what `make demo` waits for
        for name, workers in (("1 process", 1), ("2 processes", 2)):
            times[name].append(demo_seconds(workers, args.quick))
    print(f"fpkit demo{' --quick' if args.quick else ''}, {os.cpu_count()} cores, {args.repeats} repeats")
    print("\n".join(ratio_lines(times, "1 process")))


if __name__ == "__main__":
    main()
