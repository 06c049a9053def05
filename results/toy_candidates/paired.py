"""Two `fpkit toy eval` tables of the same seeds and noise rule, paired: for every (variant, strategy)
in both, the medians at the training length and the paired median and mean differences A - B [95%]
(the mean for the discrete visibility shares, whose per-seed differences are mostly 0).

    python results/toy_candidates/paired.py A/table.parquet B/table.parquet [--map f1=f1 ...] [--multiple M]
--map NEW=OLD pairs variant NEW of A with variant OLD of B (e.g. f1+D=f1: an ablation against its base).
--multiple M compares at M x the f1 training length (3M sections) instead of each variant's own length (0)."""
import argparse

import pandas as pd

from fpkit.metrics import paired_difference
from fpkit.toy.evaluate import scored

LIKENESS = ["visible", "visible_last_section", "hist_distance", "background_error", "speed_ratio", "motion_follow",
            "sharpness_ratio", "shape_iou"]
parser = argparse.ArgumentParser()
parser.add_argument("a")
parser.add_argument("b")
parser.add_argument("--map", nargs="*", default=[])
parser.add_argument("--multiple", type=int, default=0)
args = parser.parse_args()
a, b = scored(pd.read_parquet(args.a)), scored(pd.read_parquet(args.b))  # no sprite: no speed or shape, 0
for t in (a, b):
    if "noise_seed" not in t.columns:
        t["noise_seed"] = 0  # tables written before the column sampled every clip with noise seed 0
mapping = dict(m.split("=") for m in args.map)


def values(t, variant, strategy, measure):
    sel = t[(t.variant == variant) & (t.strategy == strategy) & (t.multiple == args.multiple) & (t.measure == measure)]
    return sel.set_index("seed")[["value", "noise_seed"]].sort_index()


where = "each variant's training length" if args.multiple == 0 else f"{args.multiple}x the f1 training length"
print(f"A = {args.a}\nB = {args.b}\nmedians over seeds at {where}; A - B: paired median and mean differences [95%]")
for variant, strategy in a[["variant", "strategy"]].drop_duplicates().itertuples(index=False):
    other = mapping.get(variant, variant)
    if not ((b.variant == other) & (b.strategy == strategy)).any():
        continue
    print(f"\n| {variant} / {strategy} vs {other} / {strategy} | A | B | A - B median [95%] | A - B mean [95%] |\n| --- | --- | --- | --- | --- |")
    for m in LIKENESS:
        x, y = values(a, variant, strategy, m), values(b, other, strategy, m)
        seeds = x.index.intersection(y.index)
        if not (x.loc[seeds, "noise_seed"] == y.loc[seeds, "noise_seed"]).all():
            raise SystemExit(f"{variant}/{strategy}: the tables sampled these seeds with other noise: not paired")
        xa, ya = x.loc[seeds, "value"], y.loc[seeds, "value"]
        d, e = (paired_difference(xa.to_numpy(), ya.to_numpy(), statistic=s) for s in ("median", "mean"))
        print(f"| {m} | {xa.median():.3g} | {ya.median():.3g} | {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}] "
              f"| {e.estimate:+.3f} [{e.low:+.3f}, {e.high:+.3f}] |")
