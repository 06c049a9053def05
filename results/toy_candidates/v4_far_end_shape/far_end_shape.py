"""Shape at the far end: `shape_iou_last_section` (new in stop 34) of every shipped organism and
strategy at its training length, 16 unseen seeds, one noise draw per clip, beside the whole-clip
shape_iou and the real clip's own; medians with 95% bootstrap intervals, and the per-seed paired
difference last section minus whole clip.
    python results/toy_candidates/v4_far_end_shape/far_end_shape.py OUT_DIR"""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.metrics import bootstrap_ci, paired_difference
from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

torch.set_num_threads(1)
out = Path(sys.argv[1])
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]
tables, lines = [], ["| organism / strategy | shape_iou (whole clip) | shape_iou_last_section | real clip, last section | last section - whole clip | visible_last_section |",
                     "| --- | --- | --- | --- | --- | --- |"]
fmt = lambda iv: f"{iv.estimate:.2f} [{iv.low:.2f}, {iv.high:.2f}]"
for variant, strategy in evaluate.ABLATION:
    t = evaluate.likeness(organism.load_organism(variant), seeds, sampling_type=strategy)
    t.insert(0, "strategy", strategy)
    t.insert(0, "variant", variant)
    tables.append(t)
    s = evaluate.scored(t)  # no visible sprite: 0
    whole, last = s.shape_iou, s.shape_iou_last_section
    lines.append(f"| {variant} / {strategy} | {fmt(bootstrap_ci(whole, 'median'))} | {fmt(bootstrap_ci(last, 'median'))} | "
                 f"{t.shape_iou_last_section_real.median():.2f} | {fmt(paired_difference(last, whole, 'median'))} | "
                 f"{fmt(bootstrap_ci(t.visible_last_section, 'median'))} |")
    print(lines[-1], flush=True)
out.mkdir(parents=True, exist_ok=True)
pd.concat(tables).to_csv(out / "table.csv", index=False)
(out / "far_end_shape.md").write_text("\n".join(lines) + "\n")
