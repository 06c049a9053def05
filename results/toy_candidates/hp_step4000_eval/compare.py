"""Heading-prompted candidates (natural-variance codec + --heading-prompt 0.8, step 4k) against
(a) the same recipe without heading words (../w0_step4000_eval: same seed, clips, plans and noise in
training; same 16 seeds and sampling noise here) and (b) themselves sampled with the generic prompt
(generic/table.parquet: the within-model control). Medians and the paired median difference [95%]
of the likeness measures at the training length, then mean drift at 1x and 8x with the paired mean
difference against (a).
    python results/toy_candidates/hp_step4000_eval/compare.py"""
from pathlib import Path

import pandas as pd

from fpkit.metrics import paired_difference

here = Path(__file__).parent
table = pd.read_parquet(here / "table.parquet")
generic = pd.read_parquet(here / "generic" / "table.parquet")
base = pd.read_parquet(here.parent / "w0_step4000_eval" / "table.parquet")
likeness = ["visible", "hist_distance", "background_error", "speed_ratio", "motion_follow", "sharpness_ratio", "shape_iou"]


def values(t, variant, strategy, multiple, measure):
    sel = t[(t.variant == variant) & (t.strategy == strategy) & (t.multiple == multiple) & (t.measure == measure)]
    return sel.set_index("seed").value.sort_index()


def row(label, a, b, statistic):
    a, b = a.fillna(0), b.fillna(0).loc[a.index]
    d = paired_difference(a.to_numpy(), b.to_numpy(), statistic=statistic)
    centre = a.median() if statistic == "median" else a.mean()
    other = b.median() if statistic == "median" else b.mean()
    print(f"  {label:24s} {centre:7.3f} vs {other:7.3f}   {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")


for variant, strategy in table[["variant", "strategy"]].drop_duplicates().itertuples(index=False):
    for name, control in (("no heading words (w0 at 4k)", base), ("generic prompt, same weights", generic)):
        if values(control, variant, strategy, 0, "visible").empty:
            continue
        print(f"\n{variant} / {strategy}: heading prompt vs {name} (16 seeds; medians, paired median difference)")
        for m in likeness:
            row(m, values(table, variant, strategy, 0, m), values(control, variant, strategy, 0, m), "median")
        if control is base:
            for m in ("drift_hist", "drift_background", "drift_visible"):
                for mult in (1, 8):
                    a = values(table, variant, strategy, mult, m)
                    if not a.empty:
                        row(f"{m} {mult}x (mean)", a, values(control, variant, strategy, mult, m), "mean")
