"""`fpkit demo | toy ...`: the command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

STRATEGY_NAMES = ("vanilla", "inverted_anti_drifting", "anti_drifting")


def _demo_tiny(out: Path, steps: int, seed: int) -> None:
    """All strategies on the tiny random pipeline: videos, traces and a section table."""
    import numpy as np
    import pandas as pd
    import torch
    from PIL import Image

    import fpkit

    pipe = fpkit.tiny_pipeline(seed=seed)
    rng = np.random.RandomState(seed)
    image = Image.fromarray((rng.rand(64, 96, 3) * 255).astype("uint8"))
    tables = []
    for strategy in STRATEGY_NAMES:
        t0 = time.perf_counter()
        run = fpkit.sample(pipe, image=image, prompt="a tiny random world", height=64, width=96, num_frames=61,
                           latent_window_size=3, num_inference_steps=steps, sampling_type=strategy,
                           generator=torch.Generator().manual_seed(seed), record="sections")
        folder = out / strategy
        folder.mkdir(parents=True, exist_ok=True)
        run.save_video(folder / "video.mp4", fps=30)
        run.trace.save(folder / "trace")
        table = run.trace.to_frame()
        tables.append(table)
        print(f"{strategy:>24}: {run.trace.plan.num_sections} sections, {run.num_frames} frames, "
              f"layout {run.trace.plan.layout}, {time.perf_counter() - t0:.1f} s -> {folder}")
    pd.concat(tables).to_csv(out / "sections.csv", index=False)
    print(f"wrote {out / 'sections.csv'}")


def cmd_demo(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _demo_tiny(out, args.steps, args.seed)
    return 0


def cmd_toy(args, rest) -> int:
    from fpkit.toy.cli import main as toy_main

    return toy_main(rest) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fpkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run every sampling strategy and write videos, traces and tables")
    demo.add_argument("--out", required=True, help="output folder")
    demo.add_argument("--steps", type=int, default=4, help="denoising steps per section")
    demo.add_argument("--seed", type=int, default=0)
    sub.add_parser("toy", help="the toy model organism: `fpkit toy train --variant f1` ...", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "toy":
        return cmd_toy(None, argv[1:])
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.steps < 1:
            parser.error(f"--steps must be >= 1, got {args.steps}")
        return cmd_demo(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
