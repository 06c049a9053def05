"""`fpkit demo`: every sampling strategy on the toy organism at the training clip length and 4x it,
with metrics, plots, mp4s and a short report; the tiny random pipeline when no organism is shipped."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from .planning import check_int

# The demo samples the toy organism at 8 steps, not its 12: the 4x4-codec organisms (v3, v4) sample 2x
# slower than v2, and on 16 unseen seeds of the v4 organisms 8 and 12 steps score alike (paired, every
# measure within 0.06; f1 motion_follow 0.54 vs 0.58; results/toy_candidates/v4_demo_steps/). Idle,
# `make demo` took 65 s end to end in stop 35 (imports: 5-7 s per process, report 5 s); the helper now
# imports beside the main process and the runner builds the 12-section runs first: 0.91x and 0.96x side
# by side in stop 36 (67 vs 74 s, 69 vs 72 s; `benchmarks/bench_demo.py --rev 38b19cb`). Both processes
# now end without the interpreter's teardown (cli.exit_now; the main process waited ~2 s on the helper's):
# 0.81x and 0.86x in stop 37 (57 vs 70 s, 55 vs 65 s; `--rev 36abe49`).
TOY_DEMO_STEPS = 8


def demo_experiment(model: str, steps: int, seed: int, quick: bool = False) -> dict:
    """The demo as an experiment (the same runner, store and report as `fpkit run`). `seed`: the tiny
    pipeline's weights and first noise seed; on the toy organism, the first of the 4 held-out clips."""
    from .experiment import model_defaults

    seeds = [seed]
    if model == "toy":
        d = {**model_defaults("toy:f1"), "num_inference_steps": TOY_DEMO_STEPS}
        # held-out world clips, each sampled with its own noise draw (seed = "image": the clip's world
        # seed), shared by the strategies on that clip: paired inputs for the intervals
        images = {f"w{i}": f"toy:{1_000_000_000 + seed + i}" for i in range(4)}
        seeds = ["image"]
        sections = [3, 12]  # the f1 training clips hold 3 sections; 12 = 4x
        model_cfg = {"name": "toy:inverted", "by_sampling_type": {"vanilla": "toy:f1"}}
        prompt = d["prompt"]
    else:
        d = model_defaults("tiny")
        images = {"discs": "builtin:discs"}
        seeds = [seed, seed + 1, seed + 2]
        sections = [2, 6]
        model_cfg = {"name": "tiny", "seed": seed}
        prompt = d["prompt"]
    if quick:
        images = dict(list(images.items())[:2])
        seeds = seeds[:2]
        sections = sections[:1] + [sections[0] + 1]
    return {
        "name": "demo",
        "description": f"every sampling strategy on the {'toy organism' if model == 'toy' else 'tiny random pipeline'}"
                       f", {sections[0]} and {sections[1]} sections",
        "model": model_cfg,
        "inputs": {"images": images, "prompts": {"world": prompt}},
        "fixed": {"height": d["height"], "width": d["width"], "latent_window_size": d["latent_window_size"],
                  "num_inference_steps": steps or d["num_inference_steps"], "guidance_scale": d["guidance_scale"]},
        "grid": {"sampling_type": ["vanilla", "inverted_anti_drifting", "anti_drifting"],
                 "num_sections": sections, "seed": seeds},
        "record": {"level": "sections"},
    }


def _toy_world_lines(table) -> list[str]:
    """Likeness to the world at the short length: per strategy, the mean and 95% interval over the
    demo's inputs of each measure, against its target."""
    from fpkit.metrics import bootstrap_ci
    from fpkit.toy import TARGETS

    short = table[table.num_sections == table.num_sections.min()]
    rows = []
    for st, g in short.groupby("sampling_type"):
        row = {"sampling_type": st, "looks like the world": f"{int(g['looks_like_world'].sum())} of {len(g)}"}
        for k, (lo, hi) in TARGETS.items():
            ci = bootstrap_ci(g[f"world_{k}"].dropna().to_numpy(), n_boot=2000)
            row[f"{k} (target {lo:.2g}-{hi:.2g})"] = f"{ci.estimate:.3g} [{ci.low:.3g}, {ci.high:.3g}]"
        rows.append(row)
    import pandas as pd

    return ["", f"## Does it look like the world? (toy organism, {int(short.num_sections.iloc[0])} sections)", "",
            f"Generated vs the world's real continuation over {len(short.drop_duplicates(['image', 'seed']))} "
            "inputs (mean [95% interval]); for 16 seeds and every organism see `fpkit toy eval` (docs/toy.md).",
            "", pd.DataFrame(rows).to_markdown(index=False), ""]


def default_workers() -> int:
    """One sampling process per usable core, at most 2: each samples the small demo models on one
    thread (fpkit.threads), so a second process uses the core one process leaves idle."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cores))


def check_workers(workers) -> int:
    return check_int("workers", workers, 1)


def _exit_with_parent() -> None:
    """End this helper when the process that started it is gone (SIGTERM / SIGKILL skip the daemon
    clean-up): a killed build leaves only a temp folder and a lock, cleaned by the next run."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()

    def watch():
        wait([parent.sentinel])
        os._exit(1)

    if parent is not None:
        threading.Thread(target=watch, daemon=True).start()


def _resolve_model(model: str) -> str:
    """"auto": the toy organism where its f1 and inverted checkpoints are shipped, else the tiny pipeline."""
    if model != "auto":
        return model
    try:
        from fpkit.toy import available

        return "toy" if {"f1", "inverted"} <= set(available()) else "tiny"
    except ImportError:
        return "tiny"


def _worker(model: str, steps: int | None, seed: int, quick: bool, out: str, go=None) -> None:
    """A helper demo process: the same experiment on the same folder, on one thread (it shares the
    cores). The run store's claims give each run to exactly one process (as for two `fpkit run` on
    one folder); ids and results do not depend on which process built a run. `go`: an Event the main
    process sets once the settings are valid and runs are left; the helper imports torch, diffusers
    and the pipeline's modules (~7 s) while it waits, beside the main process's own imports."""
    _exit_with_parent()
    import torch
    from diffusers import HunyuanVideoFramepackPipeline  # noqa: F401  (imports transformers' encoders)

    from .experiment import parse_experiment, run_experiment

    torch.set_num_threads(1)
    try:
        if go is not None:
            go.wait()
        exp = parse_experiment(demo_experiment(_resolve_model(model), steps, seed, quick))
        run_experiment(exp, out_dir=out, progress=False)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the main process reports it
        pass
    else:  # every file is written: skip the interpreter's teardown (~1.8 s), which the main process waits on
        from .cli import exit_now

        exit_now(0)


def run_demo(out, model: str = "auto", steps: int | None = None, seed: int = 0, quick: bool = False,
             workers: int = 1) -> Path:
    """Run the demo into `out` (resuming finished runs) and write its report. `workers` processes
    share the runs (`fpkit demo` uses `default_workers()`: one per core, at most 2); helpers are
    spawned, so a script calling this with workers > 1 needs the `if __name__ == "__main__":` guard."""
    workers = check_workers(workers)
    if model not in ("auto", "toy", "tiny"):
        raise ValueError(f"model must be 'auto', 'toy' or 'tiny', got {model!r}")
    steps = None if steps is None else check_int("steps", steps, 1)  # None: the model's default
    seed = check_int("seed", seed, 0)  # toy: clip seeds below 1e9 are training clips
    out = Path(out)
    t0 = time.perf_counter()
    helpers, go = [], None
    try:
        if workers > 1:  # started first: their imports overlap ours; told to go once there is work
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
            go = ctx.Event()
            for _ in range(workers - 1):
                helpers.append(ctx.Process(target=_worker, args=(model, steps, seed, quick, str(out), go), daemon=True))
                helpers[-1].start()
        from .experiment import RunStore, parse_experiment, run_experiment
        from .threads import cpu_threads

        model = _resolve_model(model)
        exp = parse_experiment(demo_experiment(model, steps, seed, quick))  # bad settings fail before any run
        ids = [r.run_id for r in exp.runs()]
        todo = len(ids) - len(RunStore(out).done_ids(ids))
        keep = max(0, min(workers, todo) - 1)  # none for a finished folder
        for h in helpers[keep:]:
            h.terminate()
            h.join(timeout=10)
        helpers = helpers[:keep]
        if helpers:
            go.set()
        # every process on one thread while several share the cores (sampling is on one already)
        with cpu_threads(1 if helpers else None):
            # returns once every run is built: runs a helper holds are waited for, and built here
            # if a helper dies holding one (its claim goes with it)
            table = run_experiment(exp, out_dir=out)  # toy runs carry their world columns (models.Toy)
    except BaseException:
        for h in helpers:  # an error or Ctrl-C here: stop the helpers now, not after their runs
            h.terminate()
            h.join(timeout=10)
        raise
    for h in helpers:
        h.join(timeout=60)  # nothing is left to build: the helper is writing its last table
        if h.is_alive():
            h.terminate()
        if h.exitcode:
            warnings.warn(f"a demo helper process ended with exit code {h.exitcode} (every run is built: "
                          "this process built those it left)", RuntimeWarning, stacklevel=2)
    from .atomic import atomic_write
    from .report import write_report

    report = write_report(out)
    if model == "toy":  # the likeness table goes right after the summary, before the plots
        text = report.read_text()
        cut = text.find("## Settings common")
        lines = "\n".join(_toy_world_lines(table)) + "\n"
        atomic_write(report, text[:cut] + lines + text[cut:] if cut >= 0 else text + lines)
    lead = "world_drift_hist" if "world_drift_hist" in table else "color_shift_drift"
    summary = table.groupby(["sampling_type", "num_sections"])[lead].agg(["mean", "min", "max", "count"])
    print(f"{lead} per strategy and length (over inputs):")
    print(summary.round(4).to_string())
    procs = 1 + len(helpers)
    print(f"demo ({model}, {procs} process{'es' if procs > 1 else ''}): {len(table)} runs in "
          f"{time.perf_counter() - t0:.0f} s -> {out}/report.md, "
          f"{out}/plots/, {out}/runs/<run_id>/video.mp4")
    return report
