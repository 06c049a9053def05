"""The run store: the one owner of a results folder's layout (runner, report, ls and widgets use it).

    <root>/experiment.json        the experiment last started here, with its grid's run ids
    <root>/table.parquet          one row per finished run of that grid, rewritten after every run
    <root>/runs/<run_id>/         config.json, trace/, video.mp4, metrics.parquet, row.json, done.json
    <root>/runs/.tmp-<run_id>-*/  a run being built; renamed to runs/<run_id> only when complete
    <root>/runs/.<run_id>.lock    flock held by the process building that run (claims)
    <root>/.lock                  flock held while table.parquet or experiment.json is rewritten

Every file is written atomically (fpkit.atomic); done.json records every file's size, so a killed or
damaged run never looks finished. A process builds a run only while holding its claim, so two
processes on one folder never build the same run nor delete each other's work; leftovers whose
claim nobody holds are stale and cleaned.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from ..atomic import atomic_write, fsync_path, is_temp_of

CONFIG, TRACE, VIDEO, METRICS, ROW, DONE = "config.json", "trace", "video.mp4", "metrics.parquet", "row.json", "done.json"
EXPERIMENT, TABLE, RUNS = "experiment.json", "table.parquet", "runs"
FRAMES = "frames.parquet"  # per-frame metrics of the table's runs (written by fpkit report)
TMP_PREFIX = ".tmp-"


class RunFolder:
    """The files of one run folder (`runs/<run_id>/`)."""

    def __init__(self, path):
        self.path = Path(path)

    config = property(lambda self: self.path / CONFIG)
    trace = property(lambda self: self.path / TRACE)
    video = property(lambda self: self.path / VIDEO)
    metrics = property(lambda self: self.path / METRICS)
    row = property(lambda self: self.path / ROW)
    done = property(lambda self: self.path / DONE)

    def is_done(self) -> bool:
        """done.json exists and every file it lists exists with the recorded size."""
        try:
            files = json.loads(self.done.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return all((self.path / n).is_file() and (self.path / n).stat().st_size == size for n, size in files.items())

    def read_row(self) -> dict:
        return json.loads(self.row.read_text())

    def read_config(self) -> dict:
        return json.loads(self.config.read_text())

    def read_metrics(self):
        import pandas as pd

        return pd.read_parquet(self.metrics) if self.metrics.is_file() else None


def run_is_done(run_dir) -> bool:
    return RunFolder(run_dir).is_done()


def _lock(path: Path, wait: bool) -> int | None:
    """An flock on `path` (created if needed), or None if another process holds it and not `wait`.
    A holder may unlink the file on release, so the lock counts only if it is still the file there."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _release(path: Path, fd: int, remove: bool) -> None:
    if remove:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    os.close(fd)


class RunStore:
    """A results folder. `update_table(ids)` keeps table.parquet equal to the finished runs of `ids`."""

    def __init__(self, root):
        self.root = Path(root)
        self.runs_dir = self.root / RUNS
        self.table_path = self.root / TABLE
        self.experiment_path = self.root / EXPERIMENT
        self.frames_path = self.root / FRAMES
        self._rows: dict[str, dict] = {}  # finished runs' rows read so far (finished runs never change)

    def exists(self) -> bool:
        return self.experiment_path.is_file() or self.runs_dir.is_dir() or self.table_path.is_file()

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder(self.runs_dir / run_id)

    def _names(self) -> set[str]:
        try:
            return {n for n in os.listdir(self.runs_dir) if not n.startswith(".")}
        except FileNotFoundError:
            return set()

    def done_ids(self, ids=None) -> list[str]:
        """Finished runs among `ids` (None: every finished run in the folder), in the given order."""
        names = self._names()
        ids = sorted(names) if ids is None else ids
        return [i for i in ids if i in names and (i in self._rows or self.folder(i).is_done())]

    def row(self, run_id: str) -> dict:
        if run_id not in self._rows:
            self._rows[run_id] = self.folder(run_id).read_row()
        return self._rows[run_id]

    # -- claims and building ---------------------------------------------------------------
    @contextmanager
    def claim(self, run_id: str, wait: bool = False):
        """Yields True while this process holds `run_id`'s claim, False if another process does."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self.runs_dir / f".{run_id}.lock"
        fd = _lock(path, wait)
        if fd is None:
            yield False
            return
        try:
            for stale in self.runs_dir.glob(f"{TMP_PREFIX}{run_id}-*"):  # a killed build of this run
                shutil.rmtree(stale, ignore_errors=True)
            yield True
        finally:
            _release(path, fd, remove=True)

    @contextmanager
    def building(self, run_id: str):
        """A fresh temp folder for a run (hold its claim); removed again if the build fails."""
        tmp = self.runs_dir / f"{TMP_PREFIX}{run_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def commit(self, tmp: Path, run_id: str, **done_info) -> RunFolder:
        """done.json (every file's size), fsync, then one rename: the run appears complete or not at all."""
        files = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
        (tmp / DONE).write_text(json.dumps({"run_id": run_id, "files": files, **done_info}))
        for p in [*sorted(tmp.rglob("*")), tmp]:
            fsync_path(p)
        final = self.folder(run_id).path
        if final.exists():  # a damaged earlier attempt (we hold the claim)
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_path(self.runs_dir)
        return RunFolder(final)

    # -- folder-level files ----------------------------------------------------------------
    @contextmanager
    def locked(self):
        """Exclusive access to table.parquet and experiment.json; leftover temp files of theirs
        (nobody writes them without this lock) are removed."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = _lock(self.root / ".lock", wait=True)
        try:
            for p in self.root.iterdir():
                if is_temp_of(p.name, EXPERIMENT) or is_temp_of(p.name, TABLE):
                    p.unlink(missing_ok=True)
            yield
        finally:
            _release(self.root / ".lock", fd, remove=False)

    def read_experiment(self) -> dict:
        try:
            return json.loads(self.experiment_path.read_text())
        except (OSError, ValueError):
            return {}

    def write_experiment(self, data: dict) -> None:
        """experiment.json, rewritten only when it changes (a finished folder may be read-only)."""
        text = json.dumps(data, indent=1, default=str)
        if self.experiment_path.is_file() and self.experiment_path.read_text() == text:
            return
        with self.locked():
            atomic_write(self.experiment_path, text)

    def clean(self) -> list[Path]:
        """Remove stale leftovers: temp run folders and claim files no live process holds, and
        temp files of table.parquet / experiment.json. Returns what was removed."""
        removed = []
        if not self.runs_dir.is_dir():
            return removed
        for p in sorted(self.runs_dir.iterdir()):
            if p.name.startswith(TMP_PREFIX):
                run_id = p.name[len(TMP_PREFIX):].rsplit("-", 1)[0]
            elif p.name.startswith(".") and p.name.endswith(".lock"):
                run_id = p.name[1:-len(".lock")]
            else:
                continue
            with self.claim(run_id) as mine:  # a claim we can take is one nobody is using
                if mine:
                    removed.append(p)
        with self.locked():
            pass
        return removed

    # -- the table -------------------------------------------------------------------------
    def table(self, ids=None):
        """Rows of the finished runs among `ids` (None: every finished run in the folder)."""
        return table_from_rows([self.row(i) for i in self.done_ids(ids)])

    def update_table(self, ids) -> "pd.DataFrame":  # noqa: F821
        """Rewrite table.parquet as the finished runs among `ids`, when that changes it. The folder
        is listed under the lock, so the last writer always includes every committed run."""
        table = self.table(ids)
        if self._table_ids() == list(table["run_id"]):
            return table
        with self.locked():
            table = self.table(ids)
            atomic_write(self.table_path, lambda p: table.to_parquet(p, index=False))
        return table

    def _table_ids(self) -> list | None:
        import pyarrow.parquet as pq

        try:
            return pq.read_table(self.table_path, columns=["run_id"]).column("run_id").to_pylist()
        except (OSError, KeyError, ValueError):
            return None

    def write_frames(self, per_frame) -> Path:
        """frames.parquet: the per-frame metrics of the table's runs in one file, so a results folder
        committed without its runs/ still draws per-frame curves (fpkit report writes it)."""
        atomic_write(self.frames_path, lambda p: per_frame.to_parquet(p, index=False))
        return self.frames_path

    def read_frames(self, ids):
        """Per-frame metrics of `ids`: each run's own metrics.parquet, else the rows frames.parquet
        holds for runs whose folder is absent; None when there are none."""
        import pandas as pd

        frames, missing = [], []
        for i in ids:
            table = self.folder(i).read_metrics()
            (frames.append(table) if table is not None else missing.append(i))
        if missing and self.frames_path.is_file():
            saved = pd.read_parquet(self.frames_path)
            frames.append(saved[saved["run_id"].isin(missing)])
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else None

    def read_table(self, all_runs: bool = False):
        """table.parquet (the last grid's finished runs), or with `all_runs` every finished run."""
        import pandas as pd

        if all_runs:
            if not self.exists():
                raise FileNotFoundError(f"no results folder at {self.root} (run `fpkit run EXP.toml` first)")
            return self.table()
        if not self.table_path.is_file():
            raise FileNotFoundError(f"no results table at {self.table_path} (run `fpkit run EXP.toml` first)")
        return pd.read_parquet(self.table_path)


def table_from_rows(rows: list[dict]):
    """A DataFrame parquet can store: one type per column (mixed axes such as flow_shift = [3.0,
    "dynamic"] become text, lists become JSON)."""
    import pandas as pd

    table = pd.DataFrame(rows) if rows else pd.DataFrame({"run_id": pd.Series([], dtype=str)})
    for col in table.columns:
        if table[col].map(lambda v: isinstance(v, (list, tuple, dict))).any():
            table[col] = table[col].map(lambda v: json.dumps(v) if v is not None else None)
            continue
        types = {type(v) for v in table[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
        if len(types) > 1 and not types <= {int, float, bool}:
            table[col] = table[col].map(lambda v: None if v is None else str(v))
    return table
