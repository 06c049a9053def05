import pandas as pd

from fpkit.cli import main


def test_demo_on_the_tiny_pipeline_writes_report_videos_traces(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--model", "tiny", "--quick", "--steps", "1", "--out", str(out)]) == 0
    table = pd.read_parquet(out / "table.parquet")
    assert set(table["sampling_type"]) == {"vanilla", "inverted_anti_drifting", "anti_drifting"}
    assert len(table) == 3 * 2
    for run_id in table["run_id"]:
        assert (out / "runs" / run_id / "video.mp4").stat().st_size > 0
        assert (out / "runs" / run_id / "trace" / "trace.json").is_file()
    report = (out / "report.md").read_text()
    assert "Drift per strategy and length" in report and "plots/" in report


def test_demo_rejects_bad_steps(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["demo", "--out", "x", "--steps", "0"])
    assert "--steps must be >= 1" in capsys.readouterr().err
