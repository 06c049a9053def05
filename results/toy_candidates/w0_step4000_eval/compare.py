"""The w0 candidates (natural-variance codec, step 4k) against the shipped recipe at the same step
(c4_step4000), same 16 seeds and noise: medians and the paired median difference [95%] of the
likeness measures at the training length (controls: like.py tables of c4_step4000), then mean drift
at 1x and 8x with the paired mean difference (control: ../c4_step4000_eval/table.parquet).
    python results/toy_candidates/w0_step4000_eval/compare.py"""
from pathlib import Path

import pandas as pd

from fpkit.metrics import paired_difference

here = Path(__file__).parent
table = pd.read_parquet(here / "table.parquet")
drift_base = pd.read_parquet(here.parent / "c4_step4000_eval" / "table.parquet")
diag = here.parent.parent / "toy_motion_diagnosis" / "history"
controls = {("f1", "vanilla"): "base4k_f1.csv", ("inverted", "inverted_anti_drifting"): "base4k_inverted_iad.csv",
            ("inverted", "anti_drifting"): "base4k_inverted_ad.csv", ("f1+D", "vanilla"): "base4k_f1D.csv"}
likeness = ["visible", "hist_distance", "background_error", "speed_ratio", "motion_follow", "sharpness_ratio", "shape_iou"]
for (variant, strategy), csv in controls.items():
    mine = table[(table.variant == variant) & (table.strategy == strategy)]
    if mine.empty:
        continue
    control = pd.read_csv(diag / csv).set_index("seed")
    print(f"\n{variant} / {strategy}: w0 at 4k vs the shipped recipe at 4k (16 seeds)")
    for m in likeness:
        t = mine[(mine.multiple == 0) & (mine.measure == m)].set_index("seed").value.fillna(0)
        c = control[m].fillna(0).loc[t.index]
        d = paired_difference(t.to_numpy(), c.to_numpy(), statistic="median")
        print(f"  {m:17s} {t.median():7.3f} vs {c.median():7.3f}   {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
    for m in ("drift_hist", "drift_background", "drift_visible"):
        for mult in (1, 8):
            t = mine[(mine.multiple == mult) & (mine.measure == m)].set_index("seed").value
            b = drift_base[(drift_base.variant == variant) & (drift_base.strategy == strategy)
                           & (drift_base.multiple == mult) & (drift_base.measure == m)].set_index("seed").value.loc[t.index]
            d = paired_difference(t.to_numpy(), b.to_numpy())
            print(f"  {m:17s} {mult}x mean {t.mean():.4f} vs {b.mean():.4f}   {d.estimate:+.4f} [{d.low:+.4f}, {d.high:+.4f}]")
