"""The heading-prompted runs continued from 4k to 8k (the words still sampled; sigma_f1_8k.txt says
whether they are read now) against (a) the same runs at 4k (../hp_step4000_eval: what 4k more steps
buy) and (b) the shipped v3 organisms at 8k (results/toy_eval as committed then, `arms.shipped_table(V3)`:
unit-variance codec, no words, same 16 seeds and noise). Medians and the paired median difference [95%] at the training length.
    python results/toy_candidates/hp_step8000_eval/compare.py"""
import sys
from pathlib import Path

import pandas as pd

from fpkit.metrics import paired_difference

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent))
from arms import V3, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

table = pd.read_parquet(here / "table.parquet")
controls = {"the same run at 4k": pd.read_parquet(here.parent / "hp_step4000_eval" / "table.parquet"),
            "shipped v3 at 8k": shipped_table(V3)}
likeness = ["visible", "visible_last_section", "hist_distance", "background_error", "speed_ratio", "motion_follow",
            "sharpness_ratio", "shape_iou"]


def values(t, variant, strategy, measure):
    sel = t[(t.variant == variant) & (t.strategy == strategy) & (t.multiple == 0) & (t.measure == measure)]
    return sel.set_index("seed").value.sort_index().fillna(0)


for variant, strategy in table[["variant", "strategy"]].drop_duplicates().itertuples(index=False):
    for name, control in controls.items():
        if values(control, variant, strategy, "visible").empty:
            continue
        print(f"\n{variant} / {strategy} at 8k vs {name} (16 seeds; medians, paired median difference [95%])")
        for m in likeness:
            a = values(table, variant, strategy, m)
            b = values(control, variant, strategy, m).loc[a.index]
            d = paired_difference(a.to_numpy(), b.to_numpy(), statistic="median")
            print(f"  {m:22s} {a.median():7.3f} vs {b.median():7.3f}   {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
