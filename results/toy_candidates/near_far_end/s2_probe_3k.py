import sys, torch, pandas as pd
from fpkit.toy import organism, evaluate, world
torch.set_num_threads(1)
seeds = [world.EVAL_SEED_OFFSET + i for i in range(16)]
rows = []
for label, folder, weights in [("s2", "runs/inverted-s2-w0", "runs/inverted-s2-w0/snapshots/step_0003000.safetensors"),
                               ("s1-4", "runs/inverted-hp", "runs/inverted-hp/snapshots/step_0003000.safetensors")]:
    pipe = organism.load_organism(folder, weights=weights)
    t = evaluate.likeness(pipe, seeds, num_sections=2, sampling_type="inverted_anti_drifting")
    t["run"] = label
    rows.append(t)
t = pd.concat(rows); t.to_parquet("runs/near/s2_probe_3k.parquet")
print(t.groupby("run")[["visible", "visible_last_section", "shape_iou", "hist_distance", "sharpness_ratio", "motion_follow", "speed_ratio"]].median().round(3).to_string())
