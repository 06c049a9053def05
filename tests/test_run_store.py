"""The run store on fake runs (no model): atomic commits, claims between processes, stale
leftovers cleaned but never another process's work, the table scoped to a grid; the HTML report
of such a folder shows the author's text as text."""

import json
import multiprocessing as mp
import os

import pandas as pd

from fpkit.atomic import atomic_write
from fpkit.experiment.store import RunStore


def fake_run(store: RunStore, run_id: str, **row) -> None:
    with store.claim(run_id) as mine:
        assert mine
        with store.building(run_id) as tmp:
            (tmp / "row.json").write_text(json.dumps({"run_id": run_id, **row}))
            (tmp / "config.json").write_text(json.dumps({"run_id": run_id, **row}))
            store.commit(tmp, run_id)


def test_commit_is_all_or_nothing_and_damage_is_detected(tmp_path):
    store = RunStore(tmp_path)
    fake_run(store, "a", x=1)
    assert store.folder("a").is_done() and store.done_ids() == ["a"]
    (store.folder("a").path / "row.json").write_text("{}")  # size changed after the fact
    assert not store.folder("a").is_done() and store.done_ids() == []
    try:
        with store.building("b") as tmp:
            (tmp / "row.json").write_text("{}")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert sorted(p.name for p in store.runs_dir.iterdir()) == ["a"]  # the failed build left nothing


def test_table_holds_exactly_the_grid_and_is_rewritten_only_on_change(tmp_path):
    store = RunStore(tmp_path)
    for i, run_id in enumerate("abcd"):
        fake_run(store, run_id, x=i)
    table = store.update_table(["b", "d", "zz"])  # zz: planned, not finished
    assert list(table["run_id"]) == ["b", "d"]
    assert list(pd.read_parquet(store.table_path)["run_id"]) == ["b", "d"]
    stamp = store.table_path.stat().st_mtime_ns
    store.update_table(["b", "d", "zz"])
    assert store.table_path.stat().st_mtime_ns == stamp
    assert list(store.read_table(all_runs=True)["run_id"]) == ["a", "b", "c", "d"]


def _hold_claim(root, run_id, ready, release):
    store = RunStore(root)
    with store.claim(run_id) as mine:
        assert mine
        with store.building(run_id) as tmp:
            (tmp / "part.bin").write_bytes(b"in progress")
            ready.set()
            release.wait(60)


def test_clean_removes_stale_leftovers_but_not_another_process_work(tmp_path):
    store = RunStore(tmp_path)
    fake_run(store, "done1", x=0)
    # leftovers of killed processes: a temp run folder, a claim file, temp files of the folder files
    (store.runs_dir / ".tmp-dead-1234abcd").mkdir()
    (store.runs_dir / ".dead.lock").write_text("")
    (tmp_path / ".experiment.json.tmp-99-abcdef01").write_text("{")
    (tmp_path / ".table.0123456789abcdef.parquet").write_bytes(b"PAR")  # fpkit < 0.2's temp name
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_claim, args=(tmp_path, "busy", ready, release))
    other.start()
    try:
        assert ready.wait(60)
        with store.claim("busy") as mine:
            assert not mine  # another process is building it
        store.clean()
        left = sorted(p.name for p in store.runs_dir.iterdir())
        assert left[0] == ".busy.lock" and left[1].startswith(".tmp-busy-") and left[2:] == ["done1"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "runs"]
    finally:
        release.set()
        other.join(60)
    store.clean()
    assert sorted(p.name for p in store.runs_dir.iterdir()) == ["done1"]


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "t.json"
    atomic_write(target, "1")
    atomic_write(target, b"2")
    atomic_write(target, lambda p: open(p, "w").write("3"))
    assert target.read_text() == "3" and os.listdir(tmp_path) == ["t.json"]


def test_report_html_escapes_the_experiment_text(tmp_path):
    from fpkit.report import write_report

    store = RunStore(tmp_path)
    evil = '<script>alert(1)</script> & "x"'
    fake_run(store, "r1", prompt="<img src=x onerror=alert(2)>", seed=0)
    store.write_experiment({"name": evil, "description": f"about {evil}", "run_ids": ["r1"]})
    store.update_table(["r1"])
    write_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    quoted = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"
    assert f"<title>{quoted}</title>" in html and f"<h1>{quoted}</h1>" in html
    assert f"<p>about {quoted}</p>" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # a table cell
    assert "<script" not in html and "<img src=x" not in html
