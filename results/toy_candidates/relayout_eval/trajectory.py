"""Medians [95%] over the 16 seeds of every evaluated snapshot (step*.parquet), IAD and AD, at the
training length, beside the two baselines (one draw per clip, same seeds): the natural-variance
inverted trained from scratch (8k) and the v3 (unit-variance) inverted at 16k.
    python results/toy_candidates/relayout_eval/trajectory.py > trajectory.md"""
import glob
import re
from pathlib import Path

import pandas as pd

from fpkit.metrics import bootstrap_ci

here = Path(__file__).parent
MEASURES = ["visible", "visible_last_section", "hist_distance", "background_error", "speed_ratio", "motion_follow",
            "shape_iou", "sharpness_ratio"]
STEP = re.compile(r"step(\d+)")
tables = {"from f1, %dk" % (int(STEP.search(p).group(1)) // 1000): pd.read_parquet(p)
          for p in sorted(glob.glob(str(here / "step*.parquet")), key=lambda p: int(STEP.search(p).group(1)))}
tables["scratch (w0), 8k"] = pd.read_parquet("results/toy_noise/hp_step8000_inverted/table.parquet")
tables["v3, 16k"] = pd.read_parquet("results/toy_noise/long_step16000/table.parquet")
for strategy in ("inverted_anti_drifting", "anti_drifting"):
    print(f"\n### inverted / {strategy}: medians over 16 seeds [95%]\n")
    print("| run | " + " | ".join(MEASURES) + " |\n|" + " --- |" * (len(MEASURES) + 1))
    for name, t in tables.items():
        t = t[(t.variant == "inverted") & (t.strategy == strategy) & (t.multiple == 0)]
        cells = []
        for m in MEASURES:
            v = t[t.measure == m].value.fillna(0).to_numpy()  # no sprite: no speed, 0
            ci = bootstrap_ci(v, statistic="median")
            cells.append(f"{ci.estimate:.3g} [{ci.low:.2g}, {ci.high:.2g}]")
        print(f"| {name} | " + " | ".join(cells) + " |")
