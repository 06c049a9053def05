"""fpkit.sample now vs fpkit.sample at an earlier git revision, on the same pipeline, interleaved.

The earlier package is exported with `git archive` into a temporary folder and imported under another
name, so both samplers run side by side in one process (machine noise hits both alike). Prints the
medians and the ratio now / then, with no methods and with a no-op method at the per-step sites.
Run: `python benchmarks/bench_against_revision.py --rev 06fb04f [--repeats 9]`.
"""

from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import fpkit
from common import NoOp, bench_pipeline, interleaved, ratio_lines

ROOT = Path(__file__).resolve().parents[1]


def import_revision(rev: str, folder: Path):
    """The fpkit package at `rev`, imported as `fpkit_<rev>`."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "fpkit"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    name = f"fpkit_{rev}"
    (folder / "fpkit").rename(folder / name)
    sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rev", required=True)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = import_revision(args.rev, Path(tmp))
        pipe = bench_pipeline()
        image = Image.fromarray((np.random.RandomState(0).rand(64, 96, 3) * 255).astype("uint8"))
        kwargs = dict(image=image, prompt="a benchmark", height=64, width=96, num_frames=61, latent_window_size=5,
                      num_inference_steps=4, sampling_type="inverted_anti_drifting", record="sections")
        g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
        configs = {
            f"fpkit at {args.rev}": lambda: old.sample(pipe, **kwargs, generator=g()),
            "fpkit now": lambda: fpkit.sample(pipe, **kwargs, generator=g()),
            "fpkit now, no-op method": lambda: fpkit.sample(pipe, **kwargs, generator=g(), methods=[NoOp()]),
        }
        videos = [fn().video for fn in configs.values()]
        assert all(torch.equal(videos[0], v) for v in videos[1:]), "the samplers disagree"
        times = interleaved(configs, args.repeats)
    print(f"inverted, 4 sections x 4 steps, 64x96, record=sections, {args.repeats} interleaved repeats; "
          "videos bit-identical")
    print("\n".join(ratio_lines(times, f"fpkit at {args.rev}")))


if __name__ == "__main__":
    main()
