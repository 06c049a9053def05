"""How many CPU threads a sampling call uses: torch's default (one per core) collapses on a busy
2-core machine, where a small model is as fast on one thread and several times slower on two.

Measured on a 2-core build machine, a 12-section toy sample: 1.7 s on 1 thread and 1.7 s on 2 when
the machine is quiet; with one other busy process, 1.8 s on 1 thread and 6.5-7.0 s on 2 (84 s vs 8 s
was seen under load 4-10). So a model this small gets one thread, scoped to the call."""

from __future__ import annotations

import contextlib

SMALL_MODEL_PARAMETERS = 50_000_000  # the toy organisms (~2-5M) and the tiny test pipelines are far below


def check_threads(threads) -> None:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be None (automatic) or an int >= 1, got {threads!r}")


def sampling_threads(pipe, threads: int | None = None) -> int | None:
    """The thread count a call on `pipe` runs with: `threads` when given; None (leave torch's setting)
    on an accelerator or for a large model; 1 for a small model on the CPU."""
    check_threads(threads)
    if threads is not None:
        return threads
    transformer = pipe.transformer
    device = next(transformer.parameters()).device
    if device.type != "cpu":
        return None
    size = sum(p.numel() for p in transformer.parameters())
    return 1 if size < SMALL_MODEL_PARAMETERS else None


@contextlib.contextmanager
def cpu_threads(threads: int | None):
    """torch.set_num_threads(threads) inside the block, the previous count restored afterwards
    (None: no change)."""
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
