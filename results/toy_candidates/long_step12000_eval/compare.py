"""The two long runs at a later step against the same runs at 8k: f1 (natural-variance codec,
heading words unread) against ../hp_step8000_eval, inverted (v3 unit-variance codec) against the
shipped v3 at 8k (results/toy_eval as committed then, `arms.shipped_table(V3)`); same 16 seeds and noise. Medians at the training length and the
paired median difference [95%].
    python compare.py TABLE.parquet [TABLE.parquet ...] > compare.txt   (labelled by their folders' step: long_step12000_eval -> "at 12k")"""
import re
import sys
from pathlib import Path

import pandas as pd

from fpkit.metrics import paired_difference

root = Path(__file__).resolve().parents[3]  # the repository
sys.path.insert(0, str(root / "results/toy_candidates"))
from arms import V3, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

base = {"f1": pd.read_parquet(root / "results/toy_candidates/hp_step8000_eval/table.parquet"),
        "inverted": shipped_table(V3)}
likeness = ["visible", "visible_last_section", "hist_distance", "background_error", "speed_ratio", "motion_follow",
            "sharpness_ratio", "shape_iou"]


def values(t, variant, strategy, measure):
    sel = t[(t.variant == variant) & (t.strategy == strategy) & (t.multiple == 0) & (t.measure == measure)]
    return sel.set_index("seed").value.sort_index().fillna(0)


for path in sys.argv[1:]:
    table = pd.read_parquet(path)
    folder = Path(path).resolve().parent.name
    step = re.search(r"step(\d+)000", folder)
    label = f"at {step.group(1)}k" if step else folder
    for variant, strategy in table[["variant", "strategy"]].drop_duplicates().itertuples(index=False):
        print(f"\n{variant} / {strategy}, {label} vs the same run at 8k "
              "(16 seeds; medians, paired median difference [95%])")
        for m in likeness:
            a = values(table, variant, strategy, m)
            b = values(base[variant], variant, strategy, m).loc[a.index]
            d = paired_difference(a.to_numpy(), b.to_numpy(), statistic="median")
            print(f"  {m:22s} {a.median():7.3f} vs {b.median():7.3f}   {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
