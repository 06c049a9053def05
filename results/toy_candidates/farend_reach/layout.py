"""Stop 45: layout or data? The inverted organism reads the start image's motion trail at about a third of f1's
reach (`horizon.md`: one section from the start image alone, frames 1-4: v5 f1 0.75, v5 inverted 0.28; at 4k on the
unit-variance codec f1 0.12, inverted -0.14). Two things differ: the layout (inverted puts the start image in the
clean-pre slot at index 0 with zeros in the post / 2x / 4x slots; F1 has it at index 0 and in the 1x history slot next
to the section) and the data (F1's 1-3 section plans train section 0, this very case, on 61% of the steps; the v3 inverted recipe's
1-4 section plans, half of them ending on a last image, on 17%; shares of 20,000 `train.draw_plan` draws, counting
the quarter of inverted plans drawn as anti-drifting, whose first generated section is frames 1-4).

Arms at equal steps (4k and 8k, the unit-variance 4x4 codec, seed 0):
- each layout on its own recipe's data: `../c4_step4000/f1` (the F1 recipe: 1-3 section plans, section 0 on about
  61% of the steps) and `../c4_step4000/inverted` (the v3 recipe: 1-4 sections, half of them with a last image, 17%), the
  weights whose reach `horizon.md` has, and the same runs resumed to 8k (`../c4_step8000/`); the inverted layout also
  on the v5 recipe (`../matched/step4000`, `step8000`: 1-3 sections, last image 0.1, first-section weight 4: the
  chain the shipped inverted organism continued; a first generated section on 82% of the steps, frames 1-4 from
  the start alone on 41%);
- one case only: the F1 and the inverted recipe with `--sections 1 1` (and `--last-image 0` for inverted), so that
  every step trains frames 1-4 from the start image alone, in each variant's own layout; resumed to 8k as the c4 runs
  were (a warm restart: add `--resume runs/layout/V-s1 --stop-at 8000 --snapshot-every 2000 --out
  runs/layout/V-s1-8k`):

      fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 1 --codec-patch 4 --sections 1 1 --last-image 0 --stop-at 4000 --snapshot-every 1000 --out runs/layout/inverted-s1
      fpkit toy train --variant f1 --steps 20000 --seed 0 --threads 1 --codec-patch 4 --sections 1 1 --stop-at 4000 --snapshot-every 1000 --out runs/layout/f1-s1

If the inverted layout trained on the case alone reads the trail as far as F1's, the data mix is why the shipped
inverted organism reaches less; if it stays short, the layout is. Per arm: the reach of frames 1-4 (`probe.reach_rows`,
1 section) and the likeness of that section (`evaluate.likeness`, 1 section: shape, colour, visibility), 16 unseen
seeds, each clip's own noise draw, 12 steps; the one-case runs also at their 1k-3k and 6k snapshots. The weights are
not kept (runs/layout; about 11 MB per run).

    python results/toy_candidates/farend_reach/layout.py            # writes layout.csv and layout.md
    python results/toy_candidates/farend_reach/layout.py --missing  # only the arms the csv lacks (and are trained)
    python results/toy_candidates/farend_reach/layout.py --report   # layout.md from the committed csv
"""
import json
import sys
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from probe import SEEDS, median_cell, paired_cell, reach_rows  # noqa: E402

RUNS = Path("runs/layout")
F1_MIX, V3_MIX, V5_MIX = ("F1 recipe (1-3 sections)", "v3 recipe (1-4 sections, last image 0.5, first-section weight 2)",
                          "v5 recipe (1-3 sections, last image 0.1, first-section weight 4)")
ONE = "one case (1 section, no last image)"
ARMS = (  # (layout, data, step, checkpoint folder, snapshot or None, strategy)
    *[(layout, data, step, HERE.parent / f"c4_step{step}" / layout, None, strategy)
      for step in (4000, 8000)
      for layout, data, strategy in (("f1", F1_MIX, "vanilla"), ("inverted", V3_MIX, "inverted_anti_drifting"))],
    *[("inverted", V5_MIX, step, HERE.parent / f"matched/step{step}", None, "inverted_anti_drifting") for step in (4000, 8000)],
    *[(layout, ONE, s, RUNS / (run if s <= 4000 else run + "-8k"),
       f"snapshots/step_{s:07d}.safetensors" if s % 4000 else None, strategy)
      for layout, run, strategy in (("f1", "f1-s1", "vanilla"), ("inverted", "inverted-s1", "inverted_anti_drifting"))
      for s in (1000, 2000, 3000, 4000, 6000, 8000)],
)
PAIRS = (  # (what, (layout, data) minus (layout, data)), at 4k and 8k
    ("one case - F1 recipe, F1 layout", ("f1", ONE), ("f1", F1_MIX)),
    ("one case - v3 recipe, inverted layout", ("inverted", ONE), ("inverted", V3_MIX)),
    ("one case - v5 recipe, inverted layout", ("inverted", ONE), ("inverted", V5_MIX)),
    ("inverted layout, v3 recipe - F1 layout, F1 recipe", ("inverted", V3_MIX), ("f1", F1_MIX)),
    ("inverted layout, v5 recipe - F1 layout, F1 recipe", ("inverted", V5_MIX), ("f1", F1_MIX)),
    ("inverted - F1 layout, one case each", ("inverted", ONE), ("f1", ONE)),
)
LIKENESS = ["shape_iou", "hist_distance", "visible", "sharpness_ratio"]


def trained(folder: Path, snapshot: str | None, step: int) -> bool:
    """The arm's weights exist and are final: a run folder's own transformer is rewritten every few minutes while it
    trains, so it counts only once meta.json says the run reached `step`."""
    if snapshot:
        return (folder / snapshot).is_file()
    meta = folder / "meta.json"
    return meta.is_file() and json.loads(meta.read_text()).get("steps", 0) >= step


def measure(folder: Path, snapshot: str | None, strategy: str) -> pd.DataFrame:
    """Per seed: the mean reach over frames 1-4 and the section's likeness measures."""
    from fpkit.toy import evaluate as ev
    from fpkit.toy import organism

    pipe = organism.load_organism(str(folder), weights=folder / snapshot if snapshot else None)
    reach = pd.DataFrame(reach_rows(str(folder), strategy, sections=1, pipe=pipe)).groupby("seed").reach.mean()
    like = ev.scored(ev.likeness(pipe, list(SEEDS), num_sections=1, sampling_type=strategy)).set_index("seed")[LIKENESS]
    return like.assign(reach=reach).reset_index()


def report(table: pd.DataFrame) -> str:
    lines = ["# Reading the trail: layout or data? (first section from the start image alone, frames 1-4; "
             "median over 16 seeds [95%])", "",
             "| layout | training data | step | reach | shape_iou | hist distance | visible | sharpness ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (layout, data, step), rows in table.groupby(["layout", "data", "step"], sort=False):
        lines.append(f"| {layout} | {data} | {step} | " + " | ".join(median_cell(rows[m]) for m in ["reach", *LIKENESS]) + " |")
    by_arm = table.set_index(["layout", "data", "step", "seed"]).sort_index()
    measured = set(zip(table.layout, table.data, table.step))
    for step in (4000, 8000):
        lines += ["", f"Paired at step {step} (median of the per-seed differences [95%]):", ""]
        for name, a, b in PAIRS:
            if (*a, step) not in measured or (*b, step) not in measured:
                continue
            x, y = by_arm.loc[(*a, step)], by_arm.loc[(*b, step)]
            ok = x.index.intersection(y.index)
            lines.append(f"- {name}: reach {paired_cell(x.loc[ok, 'reach'], y.loc[ok, 'reach'])}, shape_iou "
                         f"{paired_cell(x.loc[ok, 'shape_iou'], y.loc[ok, 'shape_iou'])}, hist distance "
                         f"{paired_cell(x.loc[ok, 'hist_distance'], y.loc[ok, 'hist_distance'])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if "--report" not in argv:
        ready = [arm for arm in ARMS if trained(arm[3], arm[4], arm[2])]
        if len(ready) < len(ARMS) and "--missing" not in argv:
            raise SystemExit(f"missing checkpoints {[str(a[3] / (a[4] or '')) for a in ARMS if a not in ready]}: "
                             "train them with the docstring's commands (--missing measures those there are)")
        torch.set_num_threads(1)
        done = pd.read_csv(HERE / "layout.csv") if "--missing" in argv and (HERE / "layout.csv").is_file() else None
        have = set() if done is None else set(zip(done.layout, done.data, done.step))
        parts = [measure(f, snap, s).assign(layout=lay, data=dat, step=step)
                 for lay, dat, step, f, snap, s in ready if (lay, dat, step) not in have]
        order = {arm[:3]: i for i, arm in enumerate(ARMS)}  # the csv in ARMS order, whatever was measured first
        table = pd.concat([done, *parts], ignore_index=True)
        arm = [order[key] for key in zip(table.layout, table.data, table.step)]
        table = table.assign(arm=arm).sort_values(["arm", "seed"], kind="stable").drop(columns="arm")
        table.to_csv(HERE / "layout.csv", index=False)
        if len(ready) < len(ARMS):
            print(f"measured {len(ready)} of {len(ARMS)} arms; run again with --missing when the rest are trained")
            return
    text = report(pd.read_csv(HERE / "layout.csv"))
    (HERE / "layout.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
