"""Does `make demo`'s 8 sampling steps (fpkit.demo.TOY_DEMO_STEPS) score like the evaluations' 12 on the
shipped organisms? Every strategy the demo samples, on its organism, at the training length (3
sections), 16 unseen seeds, one noise draw per clip shared by both step counts (paired); medians and
the paired median difference 8 - 12 steps with 95% bootstrap intervals.
    python results/toy_candidates/v4_demo_steps/demo_steps.py OUT_DIR"""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.metrics import paired_difference
from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

torch.set_num_threads(1)
out = Path(sys.argv[1])
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]
measures = ["visible", "hist_distance", "background_error", "speed_ratio", "motion_follow", "sharpness_ratio", "shape_iou"]
pairs = [("f1", "vanilla"), ("inverted", "inverted_anti_drifting"), ("inverted", "anti_drifting")]
tables, lines = [], ["| organism / strategy | measure | 8 steps | 12 steps | 8 - 12, paired median [95%] |",
                     "| --- | --- | --- | --- | --- |"]
for variant, strategy in pairs:
    pipe = organism.load_organism(variant)
    got = {}
    for steps in (8, 12):
        t = evaluate.likeness(pipe, seeds, sampling_type=strategy, num_inference_steps=steps)
        tables.append(t.assign(variant=variant, strategy=strategy, steps=steps))
        got[steps] = evaluate.scored(t).set_index("seed")
    for m in measures:
        a, b = got[8][m], got[12][m].loc[got[8].index]
        d = paired_difference(a.to_numpy(), b.to_numpy(), statistic="median")
        lines.append(f"| {variant} / {strategy} | {m} | {a.median():.3g} | {b.median():.3g} | "
                     f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}] |")
        print(lines[-1], flush=True)
out.mkdir(parents=True, exist_ok=True)
pd.concat(tables).to_csv(out / "table.csv", index=False)
(out / "demo_steps.md").write_text("\n".join(lines) + "\n")
