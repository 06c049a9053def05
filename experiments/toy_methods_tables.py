"""The per-length tables of docs/toy.md "Anti-drifting methods on the organism": for each organism and
length of a `toy_methods` result table, `fpkit.report.method_cost_table` (mean colour drift, paired
differences to `none` with 95% bootstrap intervals, medians of the likeness measures) as markdown.

    python experiments/toy_methods_tables.py [results/toy_methods]"""
import sys
from pathlib import Path

import pandas as pd

from fpkit.report import method_cost_table

HEADERS = {"mean": "colour drift `drift_hist`", "world_hist_distance vs none [95%]": "colour distance to the true frames, vs none [95%]",
           "world_visible (median)": "visible", "world_speed_ratio (median)": "speed ratio",
           "world_motion_follow (median)": "motion_follow", "world_sharpness_ratio (median)": "sharpness ratio"}
ORGANISM = {"toy:f1": "F1 organism", "toy:inverted": "inverted organism"}


def main(folder: str = "results/toy_methods") -> None:
    table = pd.read_parquet(Path(folder) / "table.parquet")
    for (model, strategy, sections), part in table.groupby(["model", "sampling_type", "num_sections"], sort=True):
        rows = method_cost_table(part).drop(columns=["low", "high", "n"]).rename(columns=HEADERS)
        print(f"{ORGANISM.get(model, model)}, {strategy}, {sections} sections, "
              f"{part.image.nunique()} clips:\n")
        print(rows.to_markdown(index=False, floatfmt=".3g"), "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
