"""Paired comparison of two like.py tables (same seeds, same noise):
python results/toy_motion_diagnosis/compare.py TREATED.csv CONTROL.csv"""
import sys

import pandas as pd

from fpkit.metrics import paired_difference

treated, control = (pd.read_csv(p).set_index("seed") for p in sys.argv[1:3])
assert list(treated.index) == list(control.index), "the tables must hold the same seeds"
# like.py tables made before stop 30 have no noise_seed column: they sampled every clip with noise seed 0
noise = [t["noise_seed"] if "noise_seed" in t.columns else pd.Series(0, index=t.index) for t in (treated, control)]
assert (noise[0] == noise[1]).all(), "the tables sampled their seeds with other noise: not paired"
print(f"{sys.argv[1]} vs {sys.argv[2]} ({len(treated)} seeds; medians, paired median difference [95%])")
for m in ["visible", "hist_distance", "speed_ratio", "motion_follow", "sharpness_ratio", "shape_iou",
          "background_error"]:
    t, c = treated[m].fillna(0), control[m].fillna(0)
    d = paired_difference(t.to_numpy(), c.to_numpy(), statistic="median")
    print(f"{m:17s} {t.median():7.3f} vs {c.median():7.3f}   {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
