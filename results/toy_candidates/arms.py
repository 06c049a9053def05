"""The markdown report of the probes in this folder: arms (a run, a step, a prompt) sampled on the same seeds
with the same noise draws, per strategy the median of each measure per arm and the paired median differences
of the chosen pairs [95%] (`fpkit.metrics.paired_difference`). Imported by the probes' scripts
(`matched/compare.py`, `matched/compare_depth.py`, `inverted_words/compare.py`, `compare_scratch.py`,
`finish/compare.py`, `finish/compare_w8.py`, `motion_weight/compare.py`, `compare_set.py`,
`displacement_weight/compare.py`, `farend_focus/compare.py`), which
put this folder on `sys.path`.

    from arms import MEASURES, candidate_rows, eval_report, paired_report, shipped_table
    text = paired_report(table, arms=("a", "b"), pairs=(("a", "b"),), title="# ...")
    text = eval_report({"a": long_a, "b": long_b}, pairs=(("a", "b"),), title="# ...")  # `fpkit toy eval` tables

`table`: `fpkit.toy.evaluate.likeness` rows with `arm` and `strategy` columns. A measure missing from an arm
(a table written before the measure existed) is left out of that strategy's report; arms sampled on other
seeds or other noise draws are refused (not paired).

A probe pairs its candidate with the organisms shipped when it ran: `shipped_table(V4)` reads `results/toy_eval`'s
table as committed at that revision, so the probe still re-makes its report after a later set is shipped."""
import io
import subprocess
from pathlib import Path

import pandas as pd

from fpkit.metrics import paired_difference
from fpkit.toy.evaluate import scored

V3 = "984faa7"  # results/toy_eval on the v3 set at 8k (stops 25-33): the baseline of hp_step8000_eval, long_step12000_eval
V4 = "60b18a8"  # the last commit of results/toy_eval on the v4 set (16k; inverted of stop 39): stops 40-41's baseline
V5 = "da8de3f"  # results/toy_eval on the v5 set (18k), shipped in stop 42: stop 43's baseline


def shipped_table(rev: str) -> pd.DataFrame:
    """`results/toy_eval/table.parquet` as committed at git revision `rev` (the shipped organisms' rows then)."""
    root = Path(__file__).resolve().parents[2]
    try:
        data = subprocess.run(["git", "-C", str(root), "show", f"{rev}:results/toy_eval/table.parquet"],
                              check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot read results/toy_eval/table.parquet at {rev!r} (needs the git history): {exc}")
    return pd.read_parquet(io.BytesIO(data))


MEASURES = ["visible", "visible_last_section", "hist_distance", "speed_ratio", "motion_follow", "shape_iou",
            "shape_iou_last_section", "sharpness_ratio", "background_error"]


def paired_report(table: pd.DataFrame, arms, pairs, title: str, measures=MEASURES, labels=None) -> str:
    labels = labels or {}
    lines = [title, ""]
    for strategy, part in table.groupby("strategy", sort=False):
        wide = {arm: scored(g).set_index("seed").sort_index() for arm, g in part.groupby("arm")}
        missing = [a for a in arms if a not in wide]
        if missing:
            raise ValueError(f"{strategy}: no rows for arm(s) {missing}")
        first = wide[arms[0]]
        for arm in arms:
            w = wide[arm]
            if list(w.index) != list(first.index) or (w.noise_seed.to_numpy() != first.noise_seed.to_numpy()).any():
                raise ValueError(f"{strategy}: arm {arm!r} was sampled on other seeds or noise than {arms[0]!r}: not paired")
        lines += [f"## {strategy}", "", "| measure | " + " | ".join(labels.get(a, a) for a in arms) + " | "
                  + " | ".join(f"{a} - {b}" for a, b in pairs) + " |", "| --- " * (1 + len(arms) + len(pairs)) + "|"]
        for m in measures:
            if not all(m in part.columns and part.loc[part.arm == a, m].notna().any() for a in arms):
                continue  # not measured in some arm's table (scored would read it as 0)
            diffs = []
            for a, b in pairs:
                d = paired_difference(wide[a][m].to_numpy(), wide[b][m].to_numpy(), statistic="median")
                diffs.append(f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
            lines.append(f"| {m} | " + " | ".join(f"{wide[a][m].median():.3g}" for a in arms) + " | "
                         + " | ".join(diffs) + " |")
        lines.append("")
    return "\n".join(lines)


AT_8X = ["visible", "hist_distance", "drift_hist", "drift_visible", "drift_background", "speed_ratio", "motion_follow",
         "shape_iou", "sharpness_ratio"]


def eval_report(tables: dict, pairs, title: str, multiples=((0, MEASURES), (8, AT_8X))) -> str:
    """`paired_report` over `fpkit toy eval` tables (long format, one per arm: {arm: table}), one part per
    (multiple, measures): the training length (0) and longer clips, e.g. 8x."""
    parts = []
    for multiple, measures in multiples:
        rows = []
        for arm, long in tables.items():
            long = long[long.multiple == multiple]
            wide = long.pivot(index=["strategy", "seed", "noise_seed"], columns="measure", values="value")
            rows.append(wide.reset_index().assign(arm=arm))
        heading = (f"## {'training length (1x, 3 sections)' if multiple == 0 else f'{multiple}x the training length'}: "
                   "medians over 16 seeds, paired median differences [95%]")
        parts.append(paired_report(pd.concat(rows, ignore_index=True), tuple(tables), pairs, heading,
                                   measures=measures).replace("\n## ", "\n### "))
    return f"{title}\n\n" + "\n".join(parts)


def candidate_rows(folder, variant: str, shipped: pd.DataFrame, out, strategy: str | None = None) -> pd.DataFrame:
    """A candidate's `fpkit toy eval` rows (FOLDER/table.parquet) for `variant` (and `strategy`), written to `out`;
    refuses a table with no such rows or one sampled from the shipped weights (nothing to compare)."""
    from pathlib import Path

    table = pd.read_parquet(Path(folder) / "table.parquet")
    table = table[(table.variant == variant) & ((table.strategy == strategy) if strategy else True)]
    if table.empty or set(table.weights) & set(shipped.weights):
        raise SystemExit(f"{folder}: no {variant} rows, or the shipped weights: nothing to compare")
    table.to_parquet(out, index=False)
    return table
