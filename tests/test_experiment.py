"""The grid runner end to end on the tiny pipeline: the run store, resume after SIGKILL and Ctrl-C,
two processes on one folder, accelerate sharding, the table scoped to the grid, the CLI, one pipeline
held at a time, real checkpoints on the accelerator."""

import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import weakref
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import fpkit
from fpkit.experiment import (
    ExperimentError,
    Runner,
    RunStore,
    load_experiment,
    load_model,
    parse_experiment,
    run_is_done,
    sample_signature_keys,
    SAMPLE_KEYS,
)
from fpkit.experiment import models

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "tiny_smoke.toml"


def smoke_dict(**changes):
    data = {
        "name": "t", "model": {"name": "tiny"},
        "inputs": {"images": {"discs": "builtin:discs"}, "prompts": {"a": "a red ball", "b": "a blue cube"}},
        "fixed": {"height": 32, "width": 48, "latent_window_size": 3, "num_sections": 2, "num_inference_steps": 1},
        "grid": {"sampling_type": ["vanilla", "inverted_anti_drifting"], "seed": [0, 1]},
        "metrics": {"names": ["brightness", "flicker"]},
    }
    for key, value in changes.items():
        data[key] = value
    return data


def test_sample_keys_are_real_sample_keywords():
    assert set(SAMPLE_KEYS) <= sample_signature_keys()


def test_grid_expansion_and_stable_run_ids():
    exp = parse_experiment(smoke_dict())
    runs = exp.runs()
    assert len(runs) == 2 * 2 * 2  # sampling types x seeds x prompts (inputs default to all declared)
    assert len({r.run_id for r in runs}) == len(runs)
    again = parse_experiment(smoke_dict()).runs()
    assert [r.run_id for r in runs] == [r.run_id for r in again]
    assert runs[0].kwargs["num_frames"] == 2 * 9  # num_sections=2 with 9-frame windows (lws 3, VAE 4x)
    assert {r.to_dict()["sampling_type"] for r in exp.runs({"sampling_type": "vanilla"})} == {"vanilla"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The shipped 2x2 grid on the tiny pipeline, with the text encoder's calls counted."""
    out = tmp_path_factory.mktemp("smoke")
    exp = load_experiment(SMOKE)
    runner = Runner(exp, out, progress=False)
    pipe = runner.load_pipe()
    calls = []
    hook = pipe.text_encoder.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        table = runner.run()
    finally:
        hook.remove()
    return out, exp, table, calls, runner


def test_two_by_two_grid_end_to_end(smoke_run):
    out, exp, table, calls, _ = smoke_run
    assert len(table) == 4 and table["run_id"].is_unique
    for col in ("sampling_type", "seed", "latent_window_size", "num_frames", "layout", "frames",
                "laplacian_var_mean", "laplacian_var_drift", "flicker_drift"):
        assert col in table, col
    assert set(table["sampling_type"]) == {"vanilla", "inverted_anti_drifting"}
    assert pd.read_parquet(out / "table.parquet").equals(table)
    for run_id in table["run_id"]:
        d = out / "runs" / run_id
        assert run_is_done(d)
        assert {"config.json", "video.mp4", "metrics.parquet", "row.json", "done.json"} <= {p.name for p in d.iterdir()}
        assert fpkit.Trace.load(d / "trace").plan.num_sections == 2


def test_text_encoder_runs_once_per_distinct_prompt(smoke_run):
    _, _, _, calls, runner = smoke_run
    assert len(calls) == 1 and runner.cache.text_encoder_calls == 1  # 4 runs, 1 prompt


def test_rerun_skips_and_corrupt_run_is_redone(smoke_run):
    out, exp, table, _, runner = smoke_run
    runs = sorted((out / "runs").iterdir())
    stamps = {p.name: (p / "done.json").stat().st_mtime_ns for p in runs}
    victim = runs[0]
    video = victim / "video.mp4"
    video.write_bytes(video.read_bytes()[:100])  # damaged after the fact
    assert not run_is_done(victim)
    again = Runner(exp, out, pipe=runner.load_pipe(), progress=False).run()
    assert len(again) == 4
    after = {p.name: (p / "done.json").stat().st_mtime_ns for p in sorted((out / "runs").iterdir())}
    assert set(after) == set(stamps)
    assert after[victim.name] != stamps[victim.name]
    assert all(after[k] == stamps[k] for k in stamps if k != victim.name)


def test_sigkill_then_resume(tmp_path):
    """Kill a sweep (SIGKILL) once a run has finished; the table already holds the finished runs;
    re-run; every run done exactly once and the table holds exactly the grid's runs."""
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "fpkit", "run", str(SMOKE), "--out", str(out)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    runs_dir = out / "runs"
    while time.time() < deadline and proc.poll() is None and not (out / "table.parquet").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {p.name: (p / "done.json").stat().st_mtime_ns
             for p in runs_dir.glob("*") if not p.name.startswith(".")}
    assert 1 <= len(first) < 4, "the sweep should have been killed part-way"
    assert all(run_is_done(runs_dir / name) for name in first)
    partial = set(pd.read_parquet(out / "table.parquet")["run_id"])  # written after every run
    assert partial and partial <= set(first)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"4 runs planned, {len(first)} already done, {4 - len(first)} to do" in result.stdout
    table = pd.read_parquet(out / "table.parquet")
    assert sorted(table["run_id"]) == sorted(r.run_id for r in load_experiment(SMOKE).runs())
    final = {p.name: (p / "done.json").stat().st_mtime_ns for p in runs_dir.iterdir()}
    assert len(final) == 4 and not any(n.startswith(".") for n in final)  # no leftovers
    assert all(final[n] == first[n] for n in first)  # finished runs were not redone


def test_two_processes_on_one_folder(tmp_path):
    """Two `fpkit run` on one out dir at once: no crash, every run built once (claims), one table."""
    out = tmp_path / "shared"
    cmd = [sys.executable, "-m", "fpkit", "run", str(SMOKE), "--out", str(out)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stderr[-3000:]
    built = [int(re.search(r"\((\d+) built by this process", stdout).group(1)) for stdout, _ in results]
    assert sum(built) == 4, results  # each run built by exactly one of them
    table = pd.read_parquet(out / "table.parquet")
    assert len(table) == 4 and table["run_id"].is_unique
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(table["run_id"])  # no leftovers
    pids = {json.loads((out / "runs" / i / "done.json").read_text())["pid"] for i in table["run_id"]}
    assert pids <= {p.pid for p in procs}


def test_ctrl_c_ends_with_one_line_saying_how_to_resume(tmp_path):
    out = tmp_path / "res"
    # 32 runs, so the grid cannot finish between the first table write and the signal (4 could, on
    # a quiet machine: each tiny run takes ~0.3 s)
    many = tmp_path / "tiny_smoke.toml"
    many.write_text(SMOKE.read_text().replace("seed = [0, 1]", "seed = " + str(list(range(16)))))
    cmd = [sys.executable, "-m", "fpkit", "run", str(many), "--out", str(out)]
    # a shell's background job starts with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the child the default disposition, as a terminal's Ctrl-C would find it
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (out / "table.parquet").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert re.match(r"interrupted: ([1-9]|[12][0-9]|3[01]) of 32 runs finished in .*; re-run `fpkit run "
                    r".*tiny_smoke.toml --out .*` to resume", last), last
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(".")]  # its temp folder is gone


def test_table_is_scoped_to_the_grid_and_ls_shows_what_changed(smoke_run, tmp_path, capsys):
    """One folder, several grids (a slice, other settings, another prompt text under the same name):
    table.parquet holds the last grid's runs; --all and `fpkit ls --all` see every run."""
    from fpkit.cli import main

    src, exp, full, _, runner = smoke_run
    out = tmp_path / "mixed"
    shutil.copytree(src, out)
    pipe = runner.load_pipe()
    sliced = Runner(exp, out, pipe=pipe, progress=False).run({"seed": 0})
    assert sorted(sliced["run_id"]) == sorted(r.run_id for r in exp.runs({"seed": 0}))  # nothing re-run
    assert len(pd.read_parquet(out / "table.parquet")) == 2
    data = tomllib.loads(SMOKE.read_text())
    data["inputs"]["prompts"]["ball"] = "a green ball rolls"  # same name, other text
    other = parse_experiment(data, base_dir=SMOKE.parent)
    table = Runner(other, out, pipe=pipe, progress=False).run({"seed": 0, "sampling_type": "vanilla"})
    assert len(table) == 1 and table["run_id"][0] not in set(full["run_id"])
    assert list(pd.read_parquet(out / "table.parquet")["run_id"]) == list(table["run_id"])
    assert len(RunStore(out).read_table(all_runs=True)) == 5
    assert main(["ls", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "1 runs planned, 1 finished, 0 to do" in listing
    assert main(["ls", str(out), "--all"]) == 0
    listing = capsys.readouterr().out
    assert "5 finished runs (1 of them in the last grid, marked *)" in listing
    header = listing.splitlines()[1].split()
    assert {"prompt_text", "sampling_type", "seed"} <= set(header), header
    assert "a green ball rolls" in listing and "a red ball bounces" in listing
    assert main(["report", str(out), "--all"]) == 0 and "5 finished runs" in (out / "report.md").read_text()


def test_rerunning_a_finished_experiment_writes_nothing(smoke_run, monkeypatch, capsys):
    """A complete folder may be read-only (an archive, another user's results)."""
    from fpkit.cli import main
    from fpkit.experiment import store

    def no_writes(*a, **k):
        raise PermissionError("read-only results folder")

    monkeypatch.setattr(store, "atomic_write", no_writes)
    monkeypatch.setattr(store, "_lock", no_writes)
    out = smoke_run[0]
    assert main(["run", str(SMOKE), "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "4 runs planned, 4 already done, 0 to do" in stdout
    assert stdout.strip().splitlines()[-1].endswith(f"next: fpkit report {out}")


def test_cli_reports_invalid_file_and_report_ls(smoke_run, tmp_path, capsys):
    from fpkit.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[grid]\nsampling_type = ["sideways"]\n')
    assert main(["run", str(bad)]) == 2
    assert "[grid] sampling_type = 'sideways': must be one of" in capsys.readouterr().err
    out = smoke_run[0]
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    assert any(p.name.startswith("quality_vs_length") for p in (out / "plots").iterdir())
    assert any(p.name.startswith("drift_") for p in (out / "plots").iterdir())
    capsys.readouterr()
    (out / "plots" / "drift_no_longer_shown.png").write_bytes(b"old")
    assert main(["report", str(out), "--baseline", "sideways"]) == 2
    assert "baseline 'sideways' is not a value of 'sampling_type'" in capsys.readouterr().err
    assert main(["report", str(out), "--arm", "colour"]) == 2
    assert "arm 'colour' is not a column" in capsys.readouterr().err
    assert main(["report", str(out), "--baseline", "vanilla"]) == 0
    assert "vs vanilla [95%]" in (out / "report.md").read_text()
    assert not (out / "plots" / "drift_no_longer_shown.png").exists()  # the folder shows what the report shows
    assert all(f"plots/{p.name}" in (out / "report.md").read_text() for p in (out / "plots").iterdir())
    capsys.readouterr()
    assert main(["ls", str(out)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert "4 runs planned, 4 finished, 0 to do" in listing[0]
    assert sorted(listing[1].split()) == ["run_id", "sampling_type", "seed"]  # the axes that tell runs apart
    assert len(listing) == 6
    assert main(["ls", str(tmp_path / "no_such_dir")]) == 2
    assert "no results folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "no_such_dir")]) == 2


@pytest.mark.slow
def test_accelerate_two_processes_split_the_grid(tmp_path):
    out = tmp_path / "acc"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--multi_gpu",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "fpkit", "run", str(SMOKE), "--out", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_parquet(out / "table.parquet")
    assert len(table) == 4 and table["run_id"].is_unique
    assert len(list((out / "runs").iterdir())) == 4
    workers = [json.loads((p / "done.json").read_text())["process_index"] for p in (out / "runs").iterdir()]
    assert sorted(workers) == [0, 0, 1, 1]  # each process did its own half, each run exactly once


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_experiments_validate(path):
    exp = load_experiment(path)
    runs = exp.runs()
    assert runs and len({r.run_id for r in runs}) == len(runs)


def test_set_values_replace_fixed_and_axes():
    exp = parse_experiment(smoke_dict(), set_values={"num_inference_steps": 3, "seed": [5]})
    runs = exp.runs()
    assert {r.kwargs["num_inference_steps"] for r in runs} == {3} and {r.seed for r in runs} == {5}
    with pytest.raises(ExperimentError, match="unknown key 'stepz' in --set"):
        parse_experiment(smoke_dict(), set_values={"stepz": 3})


def test_model_per_sampling_type(tmp_path):
    tiny_dir = tmp_path / "tiny_saved"
    fpkit.tiny_pipeline(seed=1).save_pretrained(tiny_dir)
    data = smoke_dict(model={"name": "tiny", "by_sampling_type": {"vanilla": str(tiny_dir)}})
    runs = parse_experiment(data).runs()
    assert {r.model for r in runs if r.kwargs["sampling_type"] == "vanilla"} == {str(tiny_dir)}
    assert {r.model for r in runs if r.kwargs["sampling_type"] != "vanilla"} == {"tiny"}
    with pytest.raises(ExperimentError, match="by_sampling_type: unknown sampling type 'forward'"):
        parse_experiment(smoke_dict(model={"name": "tiny", "by_sampling_type": {"forward": "tiny"}}))


def test_mixed_type_axis_is_stored(tmp_path):
    """flow_shift = [2.0, "dynamic"] mixes numbers and strings: the table stores it as text."""
    data = smoke_dict(grid={"flow_shift": [2.0, "dynamic"]}, metrics={"names": ["brightness"]},
                      inputs={"images": {"discs": "builtin:discs"}, "prompts": {"a": "a red ball"}})
    table = Runner(parse_experiment(data), tmp_path, progress=False).run()
    assert sorted(table["flow_shift"]) == ["2.0", "dynamic"]
    assert pd.read_parquet(tmp_path / "table.parquet")["flow_shift"].tolist() == table["flow_shift"].tolist()


class _WatchedTiny(models.Tiny):
    """'watched:<seed>': tiny pipelines whose loads are counted and followed by weak references."""

    label = "'watched:<seed>' (tests)"

    def __init__(self):
        self.loaded: list[tuple[str, weakref.ref]] = []
        self.alive_at_load: list[int] = []  # pipelines still in memory when the next one loads

    def matches(self, name):
        return name.startswith("watched:")

    def identity(self, name, seed):
        return {"kind": "watched", "name": name}

    def load(self, name, dtype, offload, device, seed):
        self.alive_at_load.append(sum(ref() is not None for _, ref in self.loaded))
        pipe = super().load(name, dtype, offload, device, int(name.split(":")[1]))
        pipe.fpkit_test_cycle = pipe  # as hooks pointing back at their modules: only a collection frees it
        self.loaded.append((name, weakref.ref(pipe)))
        return pipe


def _two_model_sweep(monkeypatch, out, only=None, **runner_kw):
    kind = _WatchedTiny()
    monkeypatch.setattr(models, "KINDS", (kind, *models.KINDS))
    # seed first: the grid order alternates between the two models
    exp = parse_experiment(smoke_dict(
        model={"name": "watched:1", "by_sampling_type": {"vanilla": "watched:2"}},
        grid={"seed": [0, 1], "sampling_type": ["vanilla", "inverted_anti_drifting"]},
        inputs={"images": {"discs": "builtin:discs"}, "prompts": {"a": "a red ball"}},
        fixed={"height": 32, "width": 48, "latent_window_size": 3, "num_sections": 1, "num_inference_steps": 1},
        metrics={"names": ["brightness"]}))
    assert [r.model for r in exp.runs()] == ["watched:2", "watched:1"] * 2
    table = Runner(exp, out, progress=False, **runner_kw).run(only)
    return exp, kind, table.sort_values("run_id", ignore_index=True)


def test_one_pipeline_at_a_time_each_model_loaded_once(monkeypatch, tmp_path):
    """Two models whose runs alternate in the grid: each loads once, the first is gone before the
    second loads; run ids and results are those of a sweep that keeps both."""
    gc.disable()  # what frees a pipeline caught in a reference cycle is the runner's own collection
    try:
        exp, kind, table = _two_model_sweep(monkeypatch, tmp_path / "one")
    finally:
        gc.enable()
    assert Counter(name for name, _ in kind.loaded) == {"watched:1": 1, "watched:2": 1}
    assert kind.alive_at_load == [0, 0]
    assert sorted(table["run_id"]) == sorted(r.run_id for r in exp.runs())
    _, kept, cached = _two_model_sweep(monkeypatch, tmp_path / "kept", only={"seed": 0}, keep_pipelines=True)
    assert kept.alive_at_load == [0, 1] and len(kept.loaded) == 2  # the option still holds both
    same = table[table["seed"] == 0].reset_index(drop=True).drop(columns="sample_seconds")
    pd.testing.assert_frame_equal(same, cached.drop(columns="sample_seconds"))


def test_within_a_model_the_longest_runs_are_built_first(monkeypatch, tmp_path):
    """Processes sharing a folder take runs in one order; longest first (frames x steps) lets them end
    together on short runs (grouping by model comes first: test_one_pipeline_at_a_time_...)."""
    built = []
    monkeypatch.setattr(Runner, "load_pipe", lambda self, name, device=None: None)
    monkeypatch.setattr(Runner, "execute", lambda self, run, index: built.append(
        run.kwargs["num_frames"] * run.kwargs["num_inference_steps"]))
    fixed = {k: v for k, v in smoke_dict()["fixed"].items() if k not in ("num_sections", "num_inference_steps")}
    exp = parse_experiment(smoke_dict(
        fixed=fixed, grid={"num_sections": [1, 3, 2], "num_inference_steps": [2, 1], "seed": [0, 1]},
        inputs={"images": {"discs": "builtin:discs"}, "prompts": {"a": "a red ball"}}))
    grid_order = [r.kwargs["num_frames"] * r.kwargs["num_inference_steps"] for r in exp.runs()]
    assert grid_order != sorted(grid_order, reverse=True)
    Runner(exp, tmp_path, progress=False).run()
    assert len(built) == 12 and built == sorted(built, reverse=True) and len(set(built)) == 5, built


def test_real_checkpoints_load_on_the_accelerator_when_there_is_one(monkeypatch):
    """The runner leaves the device to load_pipeline, whose default (offload=None, device=None) is the
    accelerator when there is one; the offload modes choose their device themselves."""
    import torch

    from fpkit import pipelines

    class FakePipe:
        moved_to = []

        def set_progress_bar_config(self, **kw):
            pass

        def to(self, device):
            self.moved_to.append(device)
            return self

    calls = []
    monkeypatch.setattr(pipelines, "load_pipeline",
                        lambda name, **kw: calls.append(kw) or pipelines.apply_offload(FakePipe(), kw["offload"],
                                                                                        kw["device"]))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    exp = parse_experiment(smoke_dict(model={"name": "framepack-i2v", "dtype": "bfloat16",
                                             "by_sampling_type": {"vanilla": "framepack-f1"}}))
    runner = Runner(exp, progress=False)
    runner.load_pipe("framepack-i2v")
    runner.load_pipe("framepack-f1")
    assert FakePipe.moved_to == ["cuda", "cuda"] and list(runner.pipes) == ["framepack-f1"]
    load_model("framepack-f1", device="cuda:1")
    assert FakePipe.moved_to[-1] == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    load_model("framepack-i2v")
    assert len(FakePipe.moved_to) == 3 and calls[-1]["device"] is None  # no accelerator: left on the CPU


def test_methods_are_a_grid_axis_in_the_run_id_and_the_table(tmp_path):
    """[grid] method = ["none", "anchor_only", {name = "history_noise", sigma = 0.3}]: each value is one run
    of the grid, its methods part of the run id (content: equal configurations share an id) and of
    the table (a readable label); runs without methods keep their ids."""
    grid = {"method": ["none", "anchor_only", {"name": "history_noise", "sigma": 0.3}], "seed": [0]}
    exp = parse_experiment(smoke_dict(grid=grid, inputs={"images": {"discs": "builtin:discs"},
                                                         "prompts": {"a": "a red ball"}}))
    runs = exp.runs()
    assert [dict(r.labels)["method"] for r in runs] == ["none", "anchor_only", "history_noise(sigma=0.3)"]
    assert len({r.run_id for r in runs}) == 3
    plain = parse_experiment(smoke_dict(grid={"seed": [0]}, inputs={"images": {"discs": "builtin:discs"},
                                                                   "prompts": {"a": "a red ball"}})).runs()
    assert runs[0].run_id == plain[0].run_id  # "none" is no method at all
    same = parse_experiment(smoke_dict(grid={**grid, "method": [{"name": "history_noise", "sigma": 0.3, "seed": 0}]},
                                       inputs={"images": {"discs": "builtin:discs"}, "prompts": {"a": "a red ball"}}))
    assert same.runs()[0].run_id == runs[2].run_id  # defaults written out: the same configuration
    table = Runner(exp, tmp_path, progress=False).run()
    assert sorted(table["method"]) == sorted(["none", "anchor_only", "history_noise(sigma=0.3)"])
    methods = {r["method"]: json.loads((tmp_path / "runs" / r["run_id"] / "trace" / "trace.json").read_text())
               ["settings"]["methods"] for _, r in table.iterrows()}
    assert methods["none"] == [] and methods["anchor_only"][0]["name"] == "anchor_only"


@pytest.mark.parametrize("value, match", [
    ("no_such", r"\[grid\] method = 'no_such': unknown method 'no_such'; known: \["),
    ({"name": "history_noise", "sigma": 2.0}, r"history_noise.sigma must be <= 1.0, got 2.0"),
    ({"name": "cache", "kind": "faster"}, r"cache.kind must be one of"),
])
def test_bad_method_values_are_named_before_anything_loads(value, match):
    with pytest.raises(ExperimentError, match=match):
        parse_experiment(smoke_dict(grid={"method": [value]}))


def test_keyframes_are_a_grid_axis_with_specs_by_content(tmp_path):
    """[fixed] sampling_type = "keyframes" with [grid] keyframes = [{24 = "builtin:checker"}, ...]: the
    images' content is part of the run id; a run passes through its keyframe (pinned latent)."""
    inputs = {"images": {"discs": "builtin:discs"}, "prompts": {"a": "a red ball"}}
    fixed = {"height": 32, "width": 48, "latent_window_size": 3, "num_sections": 2, "num_inference_steps": 1,
             "sampling_type": "keyframes"}
    grid = {"keyframes": [{"12": "builtin:checker"}, {"12": "builtin:gradient", "24": "builtin:checker"}],
            "seed": [0]}
    exp = parse_experiment(smoke_dict(inputs=inputs, fixed=fixed, grid=grid))
    runs = exp.runs()
    assert [json.loads(dict(r.labels)["keyframes"]) for r in runs] == [
        {"12": "builtin:checker"}, {"12": "builtin:gradient", "24": "builtin:checker"}]
    assert len({r.run_id for r in runs}) == 2
    table = Runner(exp, tmp_path, progress=False).run()
    assert len(table) == 2 and set(table["keyframes"]) == {r.keyframes for r in runs}
    trace = fpkit.Trace.load(tmp_path / "runs" / runs[1].run_id / "trace")
    assert trace.plan.keyframes == (3, 6)  # pixel frames 12, 24 -> latents ceil(f / 4)


@pytest.mark.parametrize("fixed, grid, match", [
    ({"sampling_type": "keyframes"}, {"seed": [0]}, r"sampling_type = 'keyframes': needs keyframes"),
    ({"sampling_type": "vanilla"}, {"keyframes": [{"12": "builtin:checker"}]},
     r"sampling_type = 'vanilla': keyframes = .* are for sampling_type 'keyframes' only"),
    ({"sampling_type": "keyframes"}, {"keyframes": [{"0": "builtin:checker"}]}, r"\[grid\] keyframes = .*frames >= 1"),
    ({"sampling_type": "keyframes"}, {"keyframes": [{"12": "builtin:nope"}]}, r"unknown built-in image"),
    ({"sampling_type": "keyframes"}, {"keyframes": [{"12": "clip"}]}, r"'clip' needs a toy start image"),
])
def test_bad_keyframes_are_named_before_anything_loads(fixed, grid, match):
    base = {"height": 32, "width": 48, "latent_window_size": 3, "num_sections": 2, "num_inference_steps": 1}
    with pytest.raises(ExperimentError, match=match):
        parse_experiment(smoke_dict(fixed={**base, **fixed}, grid=grid))


def test_a_committed_folder_without_runs_is_reused_only_for_its_exact_runs(smoke_run, tmp_path):
    """What a repository ships: table.parquet + frames.parquet (fpkit report), no runs/. The notebooks'
    reuse_or_run takes it when it holds every planned run id, and builds elsewhere otherwise: the
    committed folder is never rewritten."""
    from fpkit.experiment import reuse_or_run
    from fpkit.report import load_results, write_report

    out, exp, table, _, _ = smoke_run
    shipped = tmp_path / "shipped"
    shutil.copytree(out, shipped)
    write_report(shipped)
    shutil.rmtree(shipped / "runs")
    before = {p.name: p.read_bytes() for p in shipped.iterdir() if p.is_file()}
    again, per_frame, _ = load_results(shipped)
    _, live, _ = load_results(out)
    assert set(per_frame.run_id) == set(table.run_id)
    pd.testing.assert_frame_equal(per_frame.sort_values(list(per_frame.columns)).reset_index(drop=True),
                                  live.sort_values(list(live.columns)).reset_index(drop=True))
    got, folder, reused = reuse_or_run(SMOKE, shipped, tmp_path / "fresh", progress=False)
    assert reused and folder == shipped and list(got.run_id) == [r.run_id for r in exp.runs()]
    got, folder, reused = reuse_or_run(SMOKE, shipped, tmp_path / "fresh", progress=False,
                                       set_values={"seed": [5]})  # another grid: new ids, built fresh
    assert not reused and folder == tmp_path / "fresh" and len(got) == 2 and not set(got.run_id) & set(table.run_id)
    assert {p.name: p.read_bytes() for p in shipped.iterdir() if p.is_file()} == before


def test_regenerate_script_covers_every_committed_toy_result(tmp_path):
    """experiments/regenerate_toy_results.sh re-makes every committed result that samples the shipped
    toy organisms (a results/ folder whose experiment.json names a toy model, toy_eval, the demo
    reference, keyframes), staged outside results/ and published into the folder it came from."""
    script = ROOT / "experiments" / "regenerate_toy_results.sh"
    env = {**os.environ, "DRY": "1", "STAGE": str(tmp_path / "stage")}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    commands = result.stdout
    tracked = subprocess.run(["git", "ls-files", "results/*/experiment.json"], capture_output=True, text=True, cwd=ROOT)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: which results are committed is unknown")
    # committed results only: `make demo` and notebooks write more folders under results/ (git-ignored)
    toy_results = {Path(p).parent.name for p in tracked.stdout.split()
                   if json.loads((ROOT / p).read_text())["model"]["name"].startswith("toy:")}
    toy_results.discard("demo_reference")  # made by `fpkit demo` (its experiment.json is not committed)
    assert toy_results >= {"toy_methods", "toy_length_sweep", "toy_window_sweep", "toy_flow_shift_sweep"}
    for name in toy_results:
        assert f"fpkit run experiments/{name}.toml --out {tmp_path / 'stage' / name}" in commands, name
        assert f"fpkit report {tmp_path / 'stage' / name}" in commands, name
    for name in toy_results | {"toy_eval", "toy_keyframes", "demo_reference"}:
        assert f"mv {tmp_path / 'stage' / name} results/{name}" in commands, name
    assert f"fpkit demo --out {tmp_path / 'stage' / 'demo_reference'}" in commands and "toy_keyframes.py" in commands
    assert not (tmp_path / "stage" / "toy_eval").exists()  # a dry run samples nothing
    bad = subprocess.run(["bash", str(script), "evall"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "unknown step 'evall'" in bad.stderr


def test_regenerate_eval_only_samples_the_changed_pairs_and_keeps_the_other_rows(tmp_path, capsys):
    """EVAL_ONLY: after one organism changes, `regenerate_toy_results.sh eval` samples only its pairs (two
    processes) and merges them with the committed table's other rows (experiments/keep_eval_rows.py)."""
    import importlib.util

    script = ROOT / "experiments" / "regenerate_toy_results.sh"
    stage = tmp_path / "stage"
    env = {**os.environ, "DRY": "1", "STAGE": str(stage), "BIN": ".venv/bin",
           "EVAL_ONLY": "inverted/inverted_anti_drifting inverted/anti_drifting"}
    result = subprocess.run(["bash", str(script), "eval"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    kept, iad, ad = (stage / "eval_kept/table.parquet", stage / "eval_only_inverted_inverted_anti_drifting",
                     stage / "eval_only_inverted_anti_drifting")
    assert any(f"keep_eval_rows.py results/toy_eval/table.parquet {kept} inverted/inverted_anti_drifting "
               "inverted/anti_drifting" in line for line in lines)
    sampled = [line for line in lines if "toy eval --only" in line]
    assert sampled == [f"+ .venv/bin/fpkit toy eval --only inverted/inverted_anti_drifting --no-progress --out {iad} & "
                       f".venv/bin/fpkit toy eval --only inverted/anti_drifting --no-progress --out {ad}"]
    assert any(f"toy eval --reuse {kept} {iad}/table.parquet {ad}/table.parquet" in line for line in lines)
    # the rows kept: every pair but the named ones; a pair the table lacks is refused and nothing written
    spec = importlib.util.spec_from_file_location("keep_eval_rows", ROOT / "experiments" / "keep_eval_rows.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = pd.DataFrame({"variant": ["f1", "f1", "inverted", "inverted"],
                          "strategy": ["vanilla", "vanilla", "inverted_anti_drifting", "anti_drifting"],
                          "value": [1.0, 2.0, 3.0, 4.0]})
    table.to_parquet(tmp_path / "t.parquet")
    assert module.main([str(tmp_path / "t.parquet"), str(tmp_path / "k/kept.parquet"), "inverted/anti_drifting"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "k/kept.parquet").reset_index(drop=True),
                                  table.iloc[:3].reset_index(drop=True))
    for bad, message in ((["inverted/nope"], "holds no rows of ['inverted/nope']"), (["inverted"], "expected VARIANT/STRATEGY")):
        assert module.main([str(tmp_path / "t.parquet"), str(tmp_path / "k2/kept.parquet"), *bad]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "k2").exists()
    assert module.main([str(tmp_path / "missing.parquet"), str(tmp_path / "k2/kept.parquet"), "f1/vanilla"]) == 2
    assert "cannot read" in capsys.readouterr().err


def _merge_results_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("merge_results", ROOT / "experiments" / "merge_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_merge_results_completes_an_only_run_from_a_committed_folder(smoke_run, tmp_path, capsys):
    """experiments/merge_results.py: after one organism changes, sample only its runs (`--only`) and take
    the others from the committed folder (table.parquet + frames.parquet, no runs/) by run id; the
    merged folder reports the same table and per-frame metrics as a full run."""
    from fpkit.report import load_results, write_report

    merge = _merge_results_script()
    out, exp, table, _, _ = smoke_run
    shipped = tmp_path / "shipped"
    shutil.copytree(out, shipped)
    write_report(shipped)
    shutil.rmtree(shipped / "runs")
    new = tmp_path / "new"
    Runner(exp, new, progress=False).run(only={"sampling_type": "inverted_anti_drifting"})
    assert len(pd.read_parquet(new / "table.parquet")) == 2
    assert merge([str(SMOKE), str(new), str(shipped)]) == 0
    write_report(new)
    merged, frames, experiment = load_results(new)
    assert experiment["run_ids"] == [r.run_id for r in exp.runs()] == list(merged.run_id)
    assert set(merged[merged.sampling_type == "inverted_anti_drifting"].run_id) <= {p.name for p in (new / "runs").iterdir()}
    stable = [c for c in table.columns if c != "sample_seconds"]
    pd.testing.assert_frame_equal(merged[stable].reset_index(drop=True), table[stable].reset_index(drop=True))
    _, live, _ = load_results(out)
    key = ["run_id", "frame", "metric"]
    pd.testing.assert_frame_equal(frames.sort_values(key).reset_index(drop=True)[live.columns],
                                  live.sort_values(key).reset_index(drop=True))
    # a grid run in neither folder: refused, nothing written
    lone = tmp_path / "lone"
    Runner(exp, lone, progress=False).run(only={"seed": 0})
    empty = tmp_path / "empty"
    shutil.copytree(shipped, empty)
    pd.read_parquet(shipped / "table.parquet").iloc[:0].to_parquet(empty / "table.parquet")
    before = (lone / "table.parquet").read_bytes()
    assert merge([str(SMOKE), str(lone), str(empty)]) == 2
    assert "2 grid runs are in neither folder" in capsys.readouterr().err
    assert (lone / "table.parquet").read_bytes() == before and not (lone / "frames.parquet").exists()
