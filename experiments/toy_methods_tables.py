"""The per-length tables of docs/toy.md "Anti-drifting methods on the organism": for each organism and
length of a `toy_methods` result table, `fpkit.report.method_cost_table` (mean colour drift, paired
differences to `none` with 95% bootstrap intervals, medians of the likeness measures) as markdown;
with --readme the README's table instead (both organisms side by side at one length, 24 sections).

    python experiments/toy_methods_tables.py [results/toy_methods] [--readme [SECTIONS]]"""
import re
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


def readme(folder: str = "results/toy_methods", sections: str = "24") -> None:
    """README "Anti-drifting methods on the organism": per method, F1 vanilla and inverted AD side by side."""
    table = pd.read_parquet(Path(folder) / "table.parquet")
    table = table[table.num_sections == int(sections)]

    def short(text):  # "+0.1098 [+0.087, +0.1292] *" -> "+0.110 [+0.087, +0.129] *"
        if text in ("-", "+0 [+0, +0]"):
            return text
        return re.sub(r"[+-]?\d+(\.\d+)?(e-?\d+)?", lambda m: f"{float(m.group()):+.3f}", text)

    parts = [method_cost_table(table[table.model == model]) for model in ("toy:f1", "toy:inverted")]
    both = parts[0].merge(parts[1], on="method", suffixes=("_f", "_i"))
    for _, r in both.iterrows():
        cells = [r.method]
        for s in ("_f", "_i"):
            cells += [f"{r['mean' + s]:.3f}", short(r["vs none [95%]" + s]), f"{r['world_visible (median)' + s]:.2f}",
                      f"{r['world_motion_follow (median)' + s]:.2f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--readme" in args:
        at = args.index("--readme")
        readme(*args[:at], *args[at + 1:])
    else:
        main(*args)
