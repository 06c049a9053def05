"""`fpkit demo | run | report | ls | toy ...`: the command line."""

from __future__ import annotations

import argparse
import atexit
import os
import shlex
import sys


def cmd_demo(args) -> int:
    from .demo import default_workers, run_demo

    workers = default_workers() if args.workers is None else args.workers
    run_demo(args.out, model=args.model, steps=args.steps, seed=args.seed, quick=args.quick, workers=workers)
    return 0


def cmd_run(args) -> int:
    from .experiment import Runner, load_experiment, parse_only

    only = parse_only(args.only, "--only")
    exp = load_experiment(args.experiment, overrides=only, set_values=parse_only(args.set, "--set"))
    runner = Runner(exp, args.out, log=print)
    resume = "fpkit " + " ".join(shlex.quote(a) for a in args.argv)
    try:
        table = runner.run(only, yes=args.yes)
    except (KeyboardInterrupt, OSError) as err:  # Ctrl-C, a full disk, a read-only folder
        s = runner.state
        why = "interrupted" if isinstance(err, KeyboardInterrupt) else f"error: {err}\nstopped"
        print(f"\n{why}: {s.finished} of {s.planned} runs finished in {s.out_dir} (table.parquet holds them); "
              f"re-run `{resume}` to resume", file=sys.stderr)
        return 130 if isinstance(err, KeyboardInterrupt) else 2
    s = runner.state
    print(f"{len(table)} of {s.planned} runs finished in {runner.out_dir} ({s.built_here} built by this process, "
          f"table.parquet); next: fpkit report {runner.out_dir}")
    return 0 if len(table) == s.planned else 1


def cmd_report(args) -> int:
    from .report import write_report

    try:
        path = write_report(args.results, metrics=args.metric or None, all_runs=args.all, arm=args.arm,
                            baseline=args.baseline)
    except ValueError as err:  # a bad --arm / --baseline: say which, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path} and {path.with_suffix('.html')}")
    return 0


def cmd_ls(args) -> int:
    from .report import list_results

    print(list_results(args.results, all_runs=args.all))
    return 0


def cmd_toy(args, rest) -> int:
    from fpkit.toy.cli import main as toy_main

    return toy_main(rest) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fpkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run every sampling strategy and write videos, traces and tables")
    demo.add_argument("--out", required=True, help="output folder")
    demo.add_argument("--model", choices=("auto", "toy", "tiny"), default="auto",
                      help="toy organism (default when shipped) or the tiny random pipeline")
    demo.add_argument("--steps", type=int, default=None, help="denoising steps per section (model default)")
    demo.add_argument("--seed", type=int, default=0,
                      help="tiny pipeline: weights and first noise seed; toy organism: the first of the 4 held-out "
                           "clips (world seed 1e9 + SEED), each sampled with its own noise draw")
    demo.add_argument("--quick", action="store_true", help="one input, shorter videos")
    demo.add_argument("--workers", type=int, default=None,
                      help="sampling processes sharing the runs (default: one per core, at most 2)")
    run = sub.add_parser("run", help="run (or resume) an experiment grid: fpkit run EXP.toml")
    run.add_argument("experiment", help="experiment TOML file")
    run.add_argument("--out", help="results folder (default results/<experiment name>)")
    run.add_argument("--only", nargs="*", metavar="KEY=VALUE", help="run only grid points with these values")
    run.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                     help="replace a fixed value (or a grid axis with a [list]) before expanding the grid")
    run.add_argument("--yes", action="store_true", help="run a grid larger than the file's max_runs")
    report = sub.add_parser("report", help="plots and a markdown/HTML summary of a results folder")
    report.add_argument("results", help="results folder (results/<experiment>)")
    report.add_argument("--metric", action="append", help="metric to plot (repeatable)")
    report.add_argument("--all", action="store_true", help="every finished run in the folder, not only the last grid's")
    report.add_argument("--arm", help="what to compare (a column; default: method when several, else sampling_type)")
    report.add_argument("--baseline", help="the arm value differences are paired against (default: 'none' for methods)")
    ls = sub.add_parser("ls", help="the last grid's runs (planned / finished) and the fields that tell them apart")
    ls.add_argument("results")
    ls.add_argument("--all", action="store_true", help="every finished run in the folder (* marks the last grid's)")
    sub.add_parser("toy", help="the toy model organism: `fpkit toy train --variant f1` ...", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "toy":
        return cmd_toy(None, argv[1:])
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command == "demo":
        if args.steps is not None and args.steps < 1:
            parser.error(f"--steps must be >= 1, got {args.steps}")
        if args.workers is not None and args.workers < 1:
            parser.error(f"--workers must be >= 1, got {args.workers}")
    from .experiment import ExperimentError

    command = {"demo": cmd_demo, "run": cmd_run, "report": cmd_report, "ls": cmd_ls}[args.command]
    try:
        return command(args)
    except (ExperimentError, OSError) as err:
        # what a user can fix (a bad file, a missing or read-only folder, a full disk): one message,
        # no traceback; bugs still raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def exit_now(code: int) -> None:
    """End the process with `code` without the interpreter's teardown. The exit handlers run (atexit:
    logging, multiprocessing, weakref finalizers) and stdout / stderr are flushed; what is skipped is
    freeing every module and object one by one, which takes ~1.8 s once torch, diffusers and
    transformers are loaded (0.17 s this way). Only for the end of a process whose files are closed:
    the console command below and the demo's helper processes."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said on it
            pass
    os._exit(code)


def entry() -> None:
    """The `fpkit` console command and `python -m fpkit`: main(), then exit_now (main() itself returns,
    so it can be called in-process, as the tests do)."""
    try:
        code = main()
    except SystemExit as err:  # argparse's usage errors (2) and --help (0), as sys.exit reads them
        code = err.code or 0
        if not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    exit_now(code)


if __name__ == "__main__":
    entry()
