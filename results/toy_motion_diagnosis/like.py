import sys, torch, pandas as pd
from fpkit.toy.organism import load_organism
from fpkit.toy import evaluate as ev
from fpkit.toy.world import EVAL_SEED_OFFSET
torch.set_num_threads(1)
folder, n = sys.argv[1], int(sys.argv[2]); strategy = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
folder, _, weights = folder.partition(":")  # FOLDER or FOLDER:RUN/snapshots/step_N.safetensors
pipe = load_organism(folder, weights=weights or None)
prompt = sys.argv[5] if len(sys.argv) > 5 else "auto"  # "generic": a heading-prompted organism without its words
t = ev.likeness(pipe, [EVAL_SEED_OFFSET + i for i in range(n)], sampling_type=strategy, prompt=prompt,
                noise="shared")  # noise seed 0 for every clip, as when its CSVs were made (stop 27-28)
cols = ["visible", "hist_distance", "speed_ratio", "motion_follow", "sharpness_ratio", "shape_iou"]
print(folder, strategy, prompt, t[cols].fillna(0).median().round(3).to_dict())
if len(sys.argv) > 4: t.to_csv(sys.argv[4], index=False)
