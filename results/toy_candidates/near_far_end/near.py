"""Inverted anti-drifting of one organism at several section counts (2 / 3 / 4 sections: far end 5-8, 9-12,
13-16 frames from the start image), 16 unseen seeds, one noise draw per clip: does the far end hold its
sprites when it is nearer? FOLDER[:SNAPSHOT] samples a run's EMA snapshot instead of its last weights.
    python near.py FOLDER[:SNAPSHOT] OUT.parquet [SECTIONS ...]   (default 2 3 4; stop 33)"""
import sys

import pandas as pd
import torch

from fpkit.toy import evaluate, organism, world

torch.set_num_threads(1)
folder, _, weights = sys.argv[1].partition(":")
sections = [int(n) for n in sys.argv[3:]] or [2, 3, 4]
pipe = organism.load_organism(folder, weights=weights or None)
seeds = [world.EVAL_SEED_OFFSET + i for i in range(16)]
rows = []
for n in sections:
    t = evaluate.likeness(pipe, seeds, num_sections=n, sampling_type="inverted_anti_drifting")
    t["sections"] = n
    rows.append(t)
t = pd.concat(rows)
t.to_parquet(sys.argv[2])
print(sys.argv[1])
print(t.groupby("sections")[["visible", "visible_last_section", "shape_iou", "hist_distance", "sharpness_ratio",
                             "motion_follow", "speed_ratio"]].median().round(3).to_string())
