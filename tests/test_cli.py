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


def test_demo_rejects_bad_steps(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["demo", "--out", "x", "--steps", "0"])
    assert "--steps must be >= 1" in capsys.readouterr().err


def test_demo_workers_share_the_runs_and_give_the_single_process_results(tmp_path):
    """`--workers 2` (the default on 2 cores) adds a process that claims runs from the same folder:
    every run is built once, with the results of one process; the helper builds the demo's own grid
    (it alone fills a folder that the main process then only resumes)."""
    import json

    import numpy as np

    from fpkit.demo import _worker

    common = ["demo", "--model", "tiny", "--quick", "--steps", "1"]
    assert main([*common, "--workers", "1", "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    one, two = (pd.read_parquet(tmp_path / x / "table.parquet").sort_values("run_id").reset_index(drop=True)
                for x in ("one", "two"))
    assert list(one.run_id) == list(two.run_id) and two.run_id.is_unique
    runs = sorted(p.name for p in (tmp_path / "two" / "runs").iterdir())
    assert runs == sorted(two.run_id)  # each run once, no leftovers or claims
    numbers = [c for c in one.select_dtypes("number").columns if c != "sample_seconds"]
    np.testing.assert_allclose(two[numbers].to_numpy(float), one[numbers].to_numpy(float), rtol=1e-8, atol=1e-9)

    helper = tmp_path / "helper"
    _worker("tiny", 1, 0, True, str(helper))
    built = {json.loads((helper / "runs" / r / "done.json").read_text())["pid"] for r in one.run_id}
    assert len(built) == 1  # every run of the demo's grid, by the helper alone
    mtimes = {r: (helper / "runs" / r / "done.json").stat().st_mtime_ns for r in one.run_id}
    assert main([*common, "--workers", "1", "--out", str(helper)]) == 0
    assert {r: (helper / "runs" / r / "done.json").stat().st_mtime_ns for r in one.run_id} == mtimes


def test_demo_rejects_bad_workers(capsys):
    import pytest

    from fpkit.demo import run_demo

    with pytest.raises(SystemExit):
        main(["demo", "--out", "x", "--workers", "0"])
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="workers must be an int >= 1"):
            run_demo("x", workers=bad)
