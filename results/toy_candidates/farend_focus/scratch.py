"""Stop 45: the far end's case from scratch. `../farend_reach/layout.md` found that the inverted layout reads the start
image's trail as far as F1's when it trains on the from-start case, and less the fewer steps its recipe spends there.
This trains the far-end-heavy cut of this folder (`--sections 3 3 --last-image 0 --first-section-weight 12`: about
64% of the steps on inverted anti-drifting's far end at the training length) from scratch, where stop 44 only
fine-tuned with it, and pairs it at equal steps (4k) with the v5 recipe's run (`../matched/step4000`, the chain the
shipped inverted organism continued; same seed and codec):

    fpkit toy train --variant inverted --steps 20000 --stop-at 4000 --seed 0 --threads 2 --codec-patch 4 --sections 3 3 --last-image 0 --first-section-weight 12 --snapshot-every 2000 --out runs/layout/farend-heavy

Does the far end reach further, and what happens to the sections generated after it (which get fewer steps)? Per
arm and strategy, 3 sections (the training length), 16 unseen seeds, each clip's own noise draw, 12 steps: the
likeness measures (`evaluate.likeness`) and the reach per section (`../farend_reach/probe.py`; inverted
anti-drifting's far end is section 2, frames 9-12).

    python results/toy_candidates/farend_focus/scratch.py            # writes scratch.csv and scratch.md
    python results/toy_candidates/farend_focus/scratch.py --report   # scratch.md from the committed csv
"""
import sys
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "farend_reach"))
from layout import trained  # noqa: E402
from probe import SEEDS, median_cell, paired_cell, per_section, reach_rows  # noqa: E402

ARMS = (("v5 recipe (matched, 4k)", HERE.parent / "matched/step4000"),
        ("far-end-heavy from scratch (4k)", Path("runs/layout/farend-heavy")))
STRATEGIES = ("inverted_anti_drifting", "anti_drifting")
MEASURES = ["speed_ratio", "motion_follow", "shape_iou", "shape_iou_last_section", "hist_distance", "visible",
            "visible_last_section", "sharpness_ratio"]


def measure(folder: Path, strategy: str) -> pd.DataFrame:
    from fpkit.toy import evaluate as ev
    from fpkit.toy import organism

    pipe = organism.load_organism(str(folder))
    like = ev.scored(ev.likeness(pipe, list(SEEDS), num_sections=3, sampling_type=strategy)).set_index("seed")[MEASURES]
    reach = per_section(pd.DataFrame(reach_rows(str(folder), strategy, sections=3, pipe=pipe)))
    reach = reach.droplevel("strategy").rename(columns={0: "reach_s0", 1: "reach_s1", 2: "reach_s2"})
    return like.join(reach).reset_index()


def report(table: pd.DataFrame) -> str:
    cols = [*MEASURES, "reach_s0", "reach_s1", "reach_s2"]
    lines = ["# The far end's case from scratch vs the v5 recipe at 4k (3 sections, median over 16 seeds [95%])", ""]
    for strategy, rows in table.groupby("strategy", sort=False):
        lines += [f"## {strategy}", "", "| measure | " + " | ".join(a for a, _ in ARMS) + " | heavy - v5 (paired) |",
                  "| --- | --- | --- | --- |"]
        a, b = (rows[rows.arm == name].set_index("seed").sort_index() for name, _ in ARMS)
        for m in cols:
            ok = a[m].notna() & b[m].notna()
            lines.append(f"| {m} | {median_cell(a[m])} | {median_cell(b[m])} | {paired_cell(b[m][ok], a[m][ok])} |")
        lines.append("")
    lines.append("reach_sK: the reach of section K's frames (4K+1 .. 4K+4); inverted anti-drifting generates section 2 "
                 "(the far end) first, anti-drifting sections 0 and 2.")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if "--report" not in argv:
        missing = [str(f) for _, f in ARMS if not trained(f, None, 4000)]  # a run still training is not final
        if missing:
            raise SystemExit(f"missing checkpoints {missing}: train them with the docstring's command")
        torch.set_num_threads(1)
        parts = [measure(f, s).assign(arm=name, strategy=s) for s in STRATEGIES for name, f in ARMS]
        pd.concat(parts, ignore_index=True).to_csv(HERE / "scratch.csv", index=False)
    text = report(pd.read_csv(HERE / "scratch.csv"))
    (HERE / "scratch.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
