import pandas as pd

from fpkit.cli import main


def test_demo_on_the_tiny_pipeline_writes_report_videos_traces(tmp_path):
    import re

    out = tmp_path / "demo"
    assert main(["demo", "--model", "tiny", "--quick", "--steps", "1", "--out", str(out)]) == 0
    table = pd.read_parquet(out / "table.parquet")
    assert set(table["sampling_type"]) == {"vanilla", "inverted_anti_drifting", "anti_drifting"}
    assert len(table) == 3 * 2 * 2  # strategies x lengths x paired inputs (seeds)
    for run_id in table["run_id"]:
        assert (out / "runs" / run_id / "video.mp4").stat().st_size > 0
        assert (out / "runs" / run_id / "trace" / "trace.json").is_file()
    report = (out / "report.md").read_text()
    # the answer first: the first table ranks every strategy at every length, each with an interval
    head = report.index("## Which sampling_type drifts least?")
    assert "\n|" not in report[:head] and head < report.index("## Plots")
    first = report[head:].split("\n\n")[2].splitlines()
    rows = [r for r in first[2:] if r.startswith("|")]
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    assert sorted((c[0], c[1]) for c in cells) == sorted(
        (str(n), st) for n in sorted(set(table["num_sections"])) for st in set(table["sampling_type"]))
    assert all(re.fullmatch(r"[-\d.e+]+ \[[-\d.e+]+, [-\d.e+]+\]", c[2]) for c in cells), cells
    assert "[table.csv](table.csv)" in report and (out / "table.csv").is_file()
    assert "`num_inference_steps` = 1" in report  # constant settings stated once
    assert "plots/summary_" in report
    # the same frames side by side per length, and the videos in a page that needs no kernel
    sheets = sorted(p.name for p in (out / "plots").glob("contact_*.png"))
    assert sheets == [f"contact_num_sections_{n}.png" for n in sorted(set(table["num_sections"]))]
    html = (out / "report.html").read_text()
    assert html.count("<video src='runs/") == len(table) // 2  # first input's runs: 3 strategies x 2 lengths
    assert "max-width:1100px" in html and "<table" in html


def test_toy_demo_gives_each_clip_its_own_noise_shared_by_the_strategies():
    """The toy demo's intervals are over clips: each clip is sampled with its own noise draw (its world
    seed), the same for the three strategies and both lengths on it (paired), and `--seed` moves the clips."""
    from fpkit.demo import demo_experiment
    from fpkit.experiment import parse_experiment

    runs = parse_experiment(demo_experiment("toy", 1, 0)).runs()
    assert len(runs) == 24
    by_image = {}
    for r in runs:
        by_image.setdefault(r.image, set()).add(r.seed)
    assert by_image == {f"w{i}": {1_000_000_000 + i} for i in range(4)}
    moved = parse_experiment(demo_experiment("toy", 1, 5)).runs()
    assert {r.seed for r in moved} == {1_000_000_005 + i for i in range(4)}


def test_demo_rejects_bad_steps(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["demo", "--out", "x", "--steps", "0"])
    assert "--steps must be >= 1" in capsys.readouterr().err


def test_demo_workers_share_the_runs_and_give_the_single_process_results(tmp_path, capsys):
    """`--workers 2` (the default on 2 cores) adds a process that claims runs from the same folder:
    every run is built once, with the results of one process, and the helper ends cleanly; a
    finished folder starts no helper."""
    import warnings

    import numpy as np

    common = ["demo", "--model", "tiny", "--quick", "--steps", "1"]
    assert main([*common, "--workers", "1", "--out", str(tmp_path / "one")]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a helper ending badly warns
        assert main([*common, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    assert "(tiny, 2 processes): 12 runs" in capsys.readouterr().out
    one, two = (pd.read_parquet(tmp_path / x / "table.parquet").sort_values("run_id").reset_index(drop=True)
                for x in ("one", "two"))
    assert list(one.run_id) == list(two.run_id) and two.run_id.is_unique
    runs = sorted(p.name for p in (tmp_path / "two" / "runs").iterdir())
    assert runs == sorted(two.run_id)  # each run once, no leftovers or claims
    numbers = [c for c in one.select_dtypes("number").columns if c != "sample_seconds"]
    np.testing.assert_allclose(two[numbers].to_numpy(float), one[numbers].to_numpy(float), rtol=1e-8, atol=1e-9)
    assert main([*common, "--workers", "2", "--out", str(tmp_path / "two")]) == 0  # all done: resumes alone
    assert "(tiny, 1 process): 12 runs" in capsys.readouterr().out


def test_demo_helper_builds_the_demo_grid_beside_the_main_process(tmp_path):
    """The helper (spawned as `fpkit demo` spawns it) claims runs of the very grid the main process
    builds: started first, it has built some when the main process joins; each run is built once."""
    import json
    import multiprocessing
    import time

    from fpkit.demo import _worker

    out = tmp_path / "demo"
    helper = multiprocessing.get_context("spawn").Process(target=_worker, args=("tiny", 1, 0, True, str(out)))
    helper.start()
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "runs").glob("*/done.json")):
        time.sleep(0.1)
    assert main(["demo", "--model", "tiny", "--quick", "--steps", "1", "--workers", "1", "--out", str(out)]) == 0
    helper.join(timeout=120)
    assert helper.exitcode == 0
    table = pd.read_parquet(out / "table.parquet")
    assert len(table) == 12 and sorted(p.name for p in (out / "runs").iterdir()) == sorted(table.run_id)
    pids = {json.loads((out / "runs" / r / "done.json").read_text())["pid"] for r in table.run_id}
    assert helper.pid in pids


def test_demo_helper_ends_when_its_parent_is_killed(tmp_path):
    """SIGKILL skips multiprocessing's clean-up of daemon children: the helper watches its parent."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import multiprocessing, os, sys, time\n"
        "from fpkit.demo import _exit_with_parent\n"
        "def child(path):\n"
        "    _exit_with_parent()\n"
        "    open(path, 'w').write(str(os.getpid()))\n"
        "    time.sleep(300)\n"
        "if __name__ == '__main__':\n"
        "    p = multiprocessing.get_context('spawn').Process(target=child, args=(sys.argv[1],))\n"
        "    p.start(); p.join()\n")
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)])
    deadline = time.time() + 120
    while time.time() < deadline and not (pid_file.is_file() and pid_file.read_text()):
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def running(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                return "zombie" not in f.read()
        except FileNotFoundError:
            return False

    deadline = time.time() + 30
    while time.time() < deadline and running(child):
        time.sleep(0.1)
    alive = running(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the helper outlived its killed parent"


def test_demo_rejects_bad_workers(capsys):
    import numpy as np
    import pytest

    from fpkit.demo import run_demo

    with pytest.raises(SystemExit):
        main(["demo", "--out", "x", "--workers", "0"])
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err
    for bad in (0, -1, 1.5, True, "2", None):
        with pytest.raises(ValueError, match="workers must be an int >= 1"):
            run_demo("x", workers=bad)
    from fpkit.demo import check_workers

    assert check_workers(np.int64(2)) == 2
    for kw, match in (({"steps": 0}, "steps must be an int >= 1"), ({"steps": 1.5}, "steps must"),
                      ({"steps": True}, "steps must"), ({"seed": -1}, "seed must be an int >= 0, got -1"),
                      ({"seed": "0"}, "seed must"), ({"model": "toy:f1"}, "model must be 'auto', 'toy' or 'tiny'")):
        with pytest.raises(ValueError, match=match):
            run_demo("x", **kw)


def test_demo_that_fails_after_its_helper_started_stops_it_and_writes_nothing(tmp_path):
    """The helper starts before the experiment is built (its imports overlap the main process's); an
    error after that (here: the output path is a file) ends it before it builds anything."""
    import multiprocessing

    import pytest

    from fpkit.demo import run_demo

    out = tmp_path / "demo"
    out.write_text("not a folder")
    with pytest.raises(OSError):
        run_demo(out, model="tiny", quick=True, steps=1, workers=2)
    assert multiprocessing.active_children() == []
    assert out.read_text() == "not a folder"


def test_import_fpkit_loads_torch_only_when_used():
    """`import fpkit` (and the CLI's parser) do not import torch or diffusers (~5 s on 2 cores): the
    demo's helper starts before them. Every public name still resolves."""
    import subprocess
    import sys

    import pytest

    code = ("import sys, fpkit, fpkit.cli, fpkit.demo; fpkit.cli.build_parser();"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'pandas') if m in sys.modules));"
            "[getattr(fpkit, n) for n in fpkit.__all__]; print('torch' in sys.modules, set(fpkit.__all__) <= set(dir(fpkit)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["[]", "True True"], out
    import fpkit

    assert fpkit.sample is fpkit.sampler.sample and fpkit.metrics.__name__ == "fpkit.metrics"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        fpkit.nope


def test_console_command_skips_teardown_but_keeps_exit_codes_handlers_and_output(tmp_path):
    """`fpkit` and `python -m fpkit` end through exit_now: the exit code is main()'s (argparse's 2 and
    --help's 0 included), atexit handlers still run and buffered output is flushed; the interpreter's
    teardown (~1.8 s with torch loaded) is what is skipped. The console script calls the same entry."""
    import subprocess
    import sys
    from importlib.metadata import entry_points

    code = ("import atexit, sys; from fpkit.cli import exit_now;"
            "atexit.register(lambda: print('handler ran'));"
            "print('buffered', end=' '); sys.stderr.write('to stderr'); exit_now(3)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (3, "buffered handler ran\n", "to stderr")

    def fpkit(*args):
        return subprocess.run([sys.executable, "-m", "fpkit", *args], capture_output=True, text=True, timeout=120)

    bad = fpkit("nope")
    assert bad.returncode == 2 and "invalid choice: 'nope'" in bad.stderr
    helped = fpkit("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: fpkit")
    missing = fpkit("ls", str(tmp_path / "absent"))
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr
    assert [e.value for e in entry_points(group="console_scripts") if e.name == "fpkit"] == ["fpkit.cli:entry"]
