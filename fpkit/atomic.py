"""One atomic-write helper for the package: write a temp file beside the target, fsync, rename.

Readers never see half a file, and after a crash (SIGKILL, power loss) a path holds either its old
or its new content. Temp names start with `.<name>.tmp-` so stores can find and clean leftovers.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

TMP_MARK = ".tmp-"


def temp_name(path: Path) -> Path:
    """A unique hidden sibling of `path`: .<name>.tmp-<pid>-<random>."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, content: str | bytes | Callable[[str], None]) -> Path:
    """Write `content` (text, bytes, or a writer called with the temp path) to `path` atomically."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        if callable(content):
            content(str(tmp))
        else:
            tmp.write_bytes(content.encode() if isinstance(content, str) else content)
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_path(path.parent)
    return path


def is_temp_of(name: str, target: str) -> bool:
    """Whether a file name is a temp file of `target` written by atomic_write (or by fpkit < 0.2:
    .experiment.json.<hex>, .table.<hex>.parquet)."""
    stem, dot, ext = target.rpartition(".")
    return name.startswith(f".{target}.") or (bool(dot) and name.startswith(f".{stem}.") and name.endswith(f".{ext}"))
