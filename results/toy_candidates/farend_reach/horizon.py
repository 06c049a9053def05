"""Stop 44: does the inverted organism lose its far end to distance? `probe.py` found the far end of a 3-section clip
(frames 9-12, generated first from the start image alone) at 0.38 of the world's sprite displacement, where f1's first
section (frames 1-4, also from the start image alone) reaches 0.75. Inverted anti-drifting on 1, 2 and 3 sections puts
the far end at frames 1-4, 5-8 and 9-12 with the same weights: if the near far end reaches as far as f1's first
section, the organism reads the start image's motion trail and loses the displacement with distance.

Then the first section alone (1 section: frames 1-4 from the start image alone, the case every organism trains on
most) across the organism sets, to see what sets the reading of the trail: the codec's channel scales (v3: unit
variance for every variant; v4 / v5 F1: natural variance), the F1 variants' motion-weighted tail (v4 f1 has none)
or the inverted layout and data; and the codec alone: probe weights of one recipe and seed trained to equal steps on
both codecs (`../c4_step4000`, `../w0_step4000`, `../c4_step8000`, `../hp_step8000`). The old sets come from git: `git archive REV fpkit/toy/checkpoints | tar -x -C
runs/old/REV` for REV = 984faa7 (v3, step 8k) and e6a8e3d (v4, step 16k).

16 unseen seeds, each clip's own noise draw, 12 steps, one thread (about 6 min in all):

    python results/toy_candidates/farend_reach/horizon.py            # writes horizon.csv and horizon.md
    python results/toy_candidates/farend_reach/horizon.py --missing  # only the rows horizon.csv lacks
    python results/toy_candidates/farend_reach/horizon.py --report   # horizon.md from the committed csv
"""
import sys
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from probe import median_cell, paired_cell, reach_rows  # noqa: E402

STRATEGY = "inverted_anti_drifting"
OLD = Path("runs/old")
FIRST_SECTION = (  # (label, checkpoint, strategy): one section from the start image alone
    ("v5 f1 (18k, natural variance, motion-weighted tail)", "f1", "vanilla"),
    ("v5 inverted (18k, unit variance)", "inverted", STRATEGY),
    ("v4 f1 (16k, natural variance, no tail)", OLD / "e6a8e3d/fpkit/toy/checkpoints/f1", "vanilla"),
    ("v4 inverted of stop 34 (16k, unit variance, before the stop 39 recipe)", OLD / "e6a8e3d/fpkit/toy/checkpoints/inverted", STRATEGY),
    ("v3 f1 (8k, unit variance)", OLD / "984faa7/fpkit/toy/checkpoints/f1", "vanilla"),
    ("v3 inverted (8k, unit variance, 1-4 section plans)", OLD / "984faa7/fpkit/toy/checkpoints/inverted", STRATEGY),
)
CANDIDATES = HERE.parent  # committed probe weights: the same recipe and seed on both codecs, equal steps
CODEC = (  # (organism, strategy, unit-variance folder, natural-variance folder)
    ("f1 at 4k", "vanilla", CANDIDATES / "c4_step4000/f1", CANDIDATES / "w0_step4000/f1"),
    ("inverted at 4k (1-4 section plans)", STRATEGY, CANDIDATES / "c4_step4000/inverted",
     CANDIDATES / "w0_step4000/inverted"),
    ("f1+D at 8k (section 0 has no history to snap)", "vanilla", CANDIDATES / "c4_step8000/f1+D",
     CANDIDATES / "hp_step8000/f1+D"),
)


def far_end(table: pd.DataFrame) -> pd.DataFrame:
    """Mean reach over each clip's far-end frames (the last section: frames 4(n-1)+1 .. 4n), per variant, seed, n."""
    far = table[(table.frame - 1) // 4 == table.sections - 1]
    return far.groupby(["variant", "sections", "seed"]).reach.mean().unstack("sections")


def report(table: pd.DataFrame) -> str:
    first = table[table.label.notna()]
    table = table[table.label.isna()]
    far = far_end(table)
    lines = ["# Far-end reach by distance from the start image (inverted anti-drifting, median over seeds [95%])", "",
             "| organism | frames 1-4 (1 section) | frames 5-8 (2 sections) | frames 9-12 (3 sections) |",
             "| --- | --- | --- | --- |"]
    for variant, rows in far.groupby(level="variant"):
        lines.append(f"| {variant} | " + " | ".join(median_cell(rows[n]) for n in (1, 2, 3)) + " |")
    lines += ["", "Paired differences (median, 95%):", ""]
    for variant, rows in far.groupby(level="variant"):
        for a, b in ((3, 1), (3, 2), (2, 1)):
            pair = rows[[a, b]].dropna()
            lines.append(f"- {variant}: {a} sections - {b}: {paired_cell(pair[a], pair[b])} ({len(pair)} seeds)")
    lines += ["", "## The first section from the start image alone (1 section, frames 1-4), by organism set", "",
              "| organism | strategy | reach, frames 1-4 | - v5 f1 (paired) |", "| --- | --- | --- | --- |"]
    per = first.groupby(["label", "seed"], sort=False).reach.mean().unstack("seed")
    base = per.loc[FIRST_SECTION[0][0]]
    for label, _, strategy in FIRST_SECTION:
        if label not in per.index:
            continue
        row = per.loc[label]
        ok = row.notna() & base.notna()
        lines.append(f"| {label} | {strategy} | {median_cell(row)} | "
                     + ("-" if label == FIRST_SECTION[0][0] else paired_cell(row[ok], base[ok])) + " |")
    lines += ["", "## The codec at equal steps: the same recipe and seed with unit-variance (w1) and natural-variance (w0) "
              "channels (1 section, frames 1-4)", "", "| organism | w1 | w0 | w0 - w1 (paired) |", "| --- | --- | --- | --- |"]
    for name, _, _, _ in CODEC:
        if f"{name} w1" not in per.index or f"{name} w0" not in per.index:
            continue
        w1, w0 = per.loc[f"{name} w1"], per.loc[f"{name} w0"]
        ok = w1.notna() & w0.notna()
        lines.append(f"| {name} | {median_cell(w1)} | {median_cell(w0)} | {paired_cell(w0[ok], w1[ok])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if "--report" not in argv:
        missing = [str(f) for _, f, _ in FIRST_SECTION if isinstance(f, Path) and not f.is_dir()]
        if missing:
            raise SystemExit(f"missing old checkpoints {missing}: see the docstring's git archive line")
        torch.set_num_threads(1)
        done = pd.read_csv(HERE / "horizon.csv") if "--missing" in argv else None  # keep what is there
        have = set() if done is None else set(done.label.dropna()) | ({None} if done.label.isna().any() else set())
        rows = [] if None in have else [row for n in (1, 2, 3) for row in reach_rows("inverted", STRATEGY, sections=n)]
        wanted = [(label, folder, strategy) for label, folder, strategy in FIRST_SECTION] + \
                 [(f"{name} {w}", folder, strategy) for name, strategy, *folders in CODEC
                  for w, folder in zip(("w1", "w0"), folders)]
        rows += [dict(row, label=label) for label, folder, strategy in wanted if label not in have
                 for row in reach_rows(str(folder), strategy, sections=1)]
        table = pd.DataFrame(rows)
        pd.concat([done, table], ignore_index=True).to_csv(HERE / "horizon.csv", index=False)
    text = report(pd.read_csv(HERE / "horizon.csv"))
    (HERE / "horizon.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
