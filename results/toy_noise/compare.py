"""One noise draw for every clip vs one per clip: likeness medians [95% bootstrap] of the same organisms
on the same 16 start images, sampled with noise seed 0 for every clip (`--noise shared`, the tables up
to stop 29) and with noise seed = clip seed (`--noise per-seed`).

    python results/toy_noise/compare.py SHARED_TABLE PER_SEED_TABLE > compare.md
"""
import sys

import pandas as pd

from fpkit.metrics import bootstrap_ci

MEASURES = ["visible", "visible_last_section", "hist_distance", "speed_ratio", "motion_follow", "shape_iou",
            "sharpness_ratio"]
shared, per_seed = (pd.read_parquet(p) for p in sys.argv[1:3])
print("| organism / strategy | measure | shared noise (seed 0) | per-seed noise |\n| --- | --- | --- | --- |")
for (variant, strategy), _ in per_seed.groupby(["variant", "strategy"], sort=False):
    for measure in MEASURES:
        cells = []
        for t in (shared, per_seed):
            v = t[(t.variant == variant) & (t.strategy == strategy) & (t.multiple == 0) & (t.measure == measure)]
            v = v.set_index("seed").value.fillna(0.0).sort_index()  # no visible sprite: no speed/shape, scored 0
            ci = bootstrap_ci(v, statistic="median")
            cells.append(f"{ci.estimate:.3g} [{ci.low:.3g}, {ci.high:.3g}]" if len(v) else "-")
        print(f"| {variant} / {strategy} | {measure} | {cells[0]} | {cells[1]} |")
