"""Keyframes (paper Fig. 2d) on the inverted toy organism: does pinning frames of the world's own clip
hold a long video to the world, and is it the keyframes' content that does it?

    python experiments/toy_keyframes.py [--seeds 16] [--sections 24] [--root DIR] [--out results/toy_keyframes]

Arms, paired over the same start images and noise (shared noise seed per clip):
- anti_drifting: endpoints first, then fill (no keyframes; the baseline);
- keyframes_end: the real clip's last frame pinned (an end image, as users give one);
- keyframes_every_16: the real clip's frames 16, 32, ..., pinned (a timeline of images);
- keyframes_wrong_clip: frames 16, 32, ... of another world clip pinned (control: keyframes whose
  content is not this video's; if it scores like keyframes_every_16, the measures reward pinning, not
  content).
Writes table.csv (one row per seed and arm), report.md (paired 95% bootstrap intervals against
anti_drifting) and contact.png (real clip and each arm at the same frames, first seed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--sections", type=int, default=24)
    parser.add_argument("--every", type=int, default=16, help="pixel frames between keyframes")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--root", default=None, help="checkpoint folders by variant (default: the shipped ones)")
    parser.add_argument("--out", default="results/toy_keyframes")
    args = parser.parse_args(argv)
    if args.seeds < 2 or args.sections < 2 or args.every < 1:
        parser.error(f"need --seeds >= 2, --sections >= 2, --every >= 1; got {args.seeds}, {args.sections}, {args.every}")

    import torch

    from fpkit.atomic import atomic_write
    from fpkit.plots import contact_sheet
    from fpkit.report import summary_lines
    from fpkit.toy import compare_to_world, drift, load_organism
    from fpkit.toy.world import EVAL_SEED_OFFSET
    from fpkit.toy.evaluate import generate, geometry
    from fpkit.toy.world import render_clip

    torch.set_num_threads(1)
    pipe = load_organism("inverted" if args.root is None else Path(args.root) / "inverted")
    g = geometry(pipe)
    last = args.sections * g["lws"]  # the video's last pixel frame (temporal compression 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, sheet = [], {}
    t0 = time.perf_counter()
    for i in range(args.seeds):
        seed = EVAL_SEED_OFFSET + i
        real = render_clip(seed, last + 1, g["spec"])
        other = render_clip(seed + 1000, last + 1, g["spec"])  # also unseen: seeds >= EVAL_SEED_OFFSET
        times = list(range(args.every, last + 1, args.every))
        arms = {
            "anti_drifting": ("anti_drifting", {}),
            "keyframes_end": ("keyframes", {last: real.image(last)}),
            f"keyframes_every_{args.every}": ("keyframes", {f: real.image(f) for f in times}),
            "keyframes_wrong_clip": ("keyframes", {f: other.image(f) for f in times}),
        }
        for arm, (strategy, keyframes) in arms.items():
            kw = {"keyframes": keyframes} if keyframes else {}
            video = generate(pipe, seed, args.sections, strategy, args.steps, noise_seed=i, **kw).video
            world = compare_to_world(video, seed, g["spec"], g["lws"])
            world.pop("passes")
            rows.append({"image": f"w{i}", "seed": i, "method": arm, "num_sections": args.sections,
                         **{f"world_{k}": v for k, v in world.items()},
                         **{f"world_{k}": v for k, v in drift(video, seed, g["spec"]).items()}})
            if i == 0:
                sheet.setdefault("real", real.frames)
                sheet[arm] = video
        print(f"seed {i + 1}/{args.seeds}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    table = pd.DataFrame(rows)
    atomic_write(out / "table.csv", lambda p: table.to_csv(p, index=False))
    fig = contact_sheet(sheet, count=9, title=f"inverted organism, {args.sections} sections, seed 1e9")
    atomic_write(out / "contact.png", lambda p: fig.savefig(p, dpi=110, format="png"))
    command = "python experiments/toy_keyframes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = ["# Keyframes on the inverted toy organism", "", f"`{command.strip()}`: {args.seeds} unseen world clips x "
          f"{len(arms)} arms, {args.sections} sections ({last + 1} frames), shared noise per clip; "
          f"{time.perf_counter() - t0:.0f} s.", "", __doc__.split("\n\n")[2], ""]
    md += summary_lines(table, arm="method", baseline="anti_drifting")
    visible = table.groupby("method")["world_visible"].agg(["mean", "min", "max"]).round(3)
    md += ["## Sprites still visible in their colour (share of sprite-frames; higher is better)", "",
           visible.to_markdown(), "", "![contact sheet](contact.png)", ""]
    atomic_write(out / "report.md", "\n".join(md))
    print(f"-> {out}/report.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
