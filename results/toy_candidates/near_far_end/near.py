"""Inverted anti-drifting of one organism at 2, 3 and 4 sections (far end 5-8, 9-12, 13-16 frames from the
start image), 16 unseen seeds, one noise draw per clip: does the far end hold its sprites when it is nearer?
    python near.py FOLDER OUT.parquet   (stop 33)"""
import sys, torch, pandas as pd
from fpkit.toy import organism, evaluate, world
torch.set_num_threads(1)
folder = sys.argv[1]
pipe = organism.load_organism(folder)
seeds = [world.EVAL_SEED_OFFSET + i for i in range(16)]
rows = []
for n in (2, 3, 4):
    t = evaluate.likeness(pipe, seeds, num_sections=n, sampling_type="inverted_anti_drifting")
    t["sections"] = n
    rows.append(t)
t = pd.concat(rows)
t.to_parquet(sys.argv[2])
print(folder)
print(t.groupby("sections")[["visible", "visible_last_section", "shape_iou", "hist_distance", "motion_follow", "speed_ratio"]].median().round(3))
