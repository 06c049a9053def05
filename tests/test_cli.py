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
