"""Stop 42: where does inverted anti-drifting lose its speed? On v5 it moves its sprites at 0.55 of the world's
speed (anti-drifting with endpoints 0.69, f1's vanilla 0.72). Inverted anti-drifting generates the far end
(frames 9-12 of a 3-section clip) first, from the start image alone, then the sections between it and the
start; anti-drifting generates section 0 (frames 1-4, next to the start) and the far end first, then fills.
If the far end is placed too close to the start, every later section interpolates a too-short path.

Per clip and frame t, the **reach**: the least-squares slope of the generated sprite displacement from the start
image, c_gen(t) - c_gen(0), on the real one, c_real(t) - c_real(0), over the clip's sprites (`evaluate.sprite_tracks`
centroids; 1 = where the world puts them, 0 = not moved from the start). 16 unseen seeds, one noise draw per
clip (as `fpkit toy eval`), the shipped v5 organisms, 3 sections, 12 steps:

    python results/toy_candidates/farend_reach/probe.py   # writes table.csv and reach.md beside this script
    python results/toy_candidates/farend_reach/probe.py --report   # reach.md from the committed table.csv
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fpkit.metrics import bootstrap_ci, paired_difference
from fpkit.toy import evaluate as ev
from fpkit.toy import organism, world

HERE = Path(__file__).resolve().parent
SEEDS = range(world.EVAL_SEED_OFFSET, world.EVAL_SEED_OFFSET + 16)
ARMS = (("f1", "vanilla"), ("inverted", "inverted_anti_drifting"), ("inverted", "anti_drifting"))


def reach_rows(variant: str, strategy: str, seeds=SEEDS, sections: int = 3, pipe=None) -> list[dict]:
    """Per clip and frame the reach of `variant` (a shipped name or a checkpoint folder; `pipe`: its pipeline already
    loaded, e.g. with a snapshot's weights) under `strategy`, `sections` sections, each clip's own noise draw (as
    `fpkit toy eval`); also imported by `../displacement_weight/compare.py`, `horizon.py` and `layout.py`."""
    pipe, rows = pipe or organism.load_organism(variant), []
    for seed in seeds:
        video = ev.generate(pipe, seed, sections, strategy).video
        clip = world.render_clip(seed, video.shape[0])
        _, gen = ev.sprite_tracks(video, clip.colours, ev._areas(clip))
        _, real = ev.sprite_tracks(clip.frames, clip.colours, ev._areas(clip))
        for t in range(1, video.shape[0]):
            dg, dr = gen[t] - gen[0], real[t] - real[0]  # (S, 2)
            ok = np.isfinite(dg).all(-1) & np.isfinite(dr).all(-1)
            norm = float((dr[ok] ** 2).sum())
            reach = float((dg[ok] * dr[ok]).sum() / norm) if ok.any() and norm > 1.0 else float("nan")
            rows.append(dict(variant=variant, strategy=strategy, sections=sections, seed=seed, frame=t, reach=reach,
                             real_px=float(np.sqrt(norm / max(int(ok.sum()), 1)))))
    return rows


def median_cell(values) -> str:
    """'median [low, high]' of a Series (NaN dropped), 95% bootstrap interval: a reach table's cell."""
    ci = bootstrap_ci(values.dropna().to_numpy(), statistic="median")
    return f"{ci.estimate:.2f} [{ci.low:.2f}, {ci.high:.2f}]"


def paired_cell(a, b) -> str:
    """'+d [low, high]': the median of the paired differences a - b (aligned arrays), 95%."""
    d = paired_difference(np.asarray(a), np.asarray(b), statistic="median")
    return f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"


def per_section(table: pd.DataFrame) -> pd.DataFrame:
    """Mean reach per (strategy, seed) and section: columns 0, 1, 2 = frames 1-4, 5-8, 9-12 (the far end)."""
    table = table.assign(section=(table.frame - 1) // 4)
    return table.groupby(["strategy", "seed", "section"]).reach.mean().unstack("section")


def main(argv: list[str]) -> None:
    if "--report" not in argv:
        torch.set_num_threads(1)
        rows = [row for variant, strategy in ARMS for row in reach_rows(variant, strategy)]
        pd.DataFrame(rows).to_csv(HERE / "table.csv", index=False)
    per = per_section(pd.read_csv(HERE / "table.csv"))
    lines = ["# Reach per section (median over 16 seeds of the per-clip mean over the section's frames) [95%]", "",
             "| organism / strategy | frames 1-4 | frames 5-8 | frames 9-12 (far end) |", "| --- | --- | --- | --- |"]
    for variant, strategy in ARMS:
        p = per.loc[strategy]
        lines.append(f"| {variant} / {strategy} | " + " | ".join(median_cell(p[s]) for s in (0, 1, 2)) + " |")
    lines += ["", "Paired differences of the far-end reach (median, 95%):", ""]
    far = per[2].unstack("strategy")
    for a, b in (("inverted_anti_drifting", "anti_drifting"), ("inverted_anti_drifting", "vanilla"),
                 ("anti_drifting", "vanilla")):
        pair = far[[a, b]].dropna()
        lines.append(f"- {a} - {b}: {paired_cell(pair[a], pair[b])} ({len(pair)} seeds)")
    (HERE / "reach.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
