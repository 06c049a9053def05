"""Stop 43: can a loss weight make the inverted organism's far end reach further? `../farend_reach/` found that the
far end, generated first from the start image alone, lands at 0.38 of the world's sprite displacement, so inverted
anti-drifting moves its sprites at 0.55 of the world's speed (issue 9's target: 0.67). `--displacement-weight W`
weighs each latent pixel 1 + W x its change since the start image (where a sprite has gone and where it now is),
the far end's whole displacement; `--motion-weight` (frame-to-frame change) bought the F1 variants their speed but
nothing on this organism (`../motion_weight/compare_set.md`).

Arms: the shipped v5 inverted organism (step 18,000) warm-restarted to step 19,200 of its 20k schedule with W = 0
(the control: what the steps and the warm restart alone buy), 3 and 10, the same clips, plans and noise (one thread
each; W = 3 and 10 side by side beside the toy_methods grid, 0.48 steps/s on average, 42 min; W = 0 after them, 15 min):

    for W in 0 3 10; do fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 1 --codec-patch 4 \
        --sections 1 3 --last-image 0.1 --first-section-weight 4 --resume fpkit/toy/checkpoints/inverted \
        --stop-at 19200 --displacement-weight $W --no-progress --out runs/disp/w$W & done; wait
    # each arm as runs/root-wW/inverted (a link to its folder), then
    for W in 0 3 10; do fpkit toy eval --root runs/root-w$W --only inverted/inverted_anti_drifting \
        inverted/anti_drifting --multiples 1 8 --out runs/eval-w$W; done
    python results/toy_candidates/displacement_weight/compare.py reach runs/disp/w0 runs/disp/w3 runs/disp/w10
    python results/toy_candidates/displacement_weight/compare.py report runs/eval-w0 runs/eval-w3 runs/eval-w10

Then the W = 0 and 10 arms on to step 20,000, the end of the schedule (a second warm restart, one thread each side by
side, 8 min), likeness at the training length only:

    for W in 0 10; do fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 1 --codec-patch 4 \
        --sections 1 3 --last-image 0.1 --first-section-weight 4 --resume runs/disp/w$W --displacement-weight $W \
        --no-progress --out runs/disp20k/w$W-20k & done; wait
    for W in 0 10; do fpkit toy eval --root runs/root20k-w$W --only inverted/inverted_anti_drifting \
        inverted/anti_drifting --multiples 1 --out runs/eval-w$W-20k; done
    python results/toy_candidates/displacement_weight/compare.py reach runs/disp20k/w0-20k runs/disp20k/w10-20k
    python results/toy_candidates/displacement_weight/compare.py report --md compare_20k.md runs/eval-w0-20k runs/eval-w10-20k

`reach` writes reach_wW.csv (`../farend_reach/`'s reach of each arm), `report` compare.md and each arm's rows
(table_wW.parquet). Every arm is paired with the control and the control with the shipped v5 rows
(`results/toy_eval` at V5, `arms.shipped_table`; `../farend_reach/table.csv` for the reach): all sample the same
16 unseen seeds with each clip's own noise draw."""
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "farend_reach"))
from arms import MEASURES, V5, candidate_rows, eval_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)
from probe import median_cell, paired_cell, per_section, reach_rows  # noqa: E402  (results/toy_candidates/farend_reach/probe.py)


STRATEGIES = ("inverted_anti_drifting", "anti_drifting")
SHIPPED = "shipped 18k"
CONTROL = "W=0"


def label(folder: Path) -> str:  # runs/disp/w3 or runs/eval-w3 -> "W=3"
    return "W=" + folder.name.removeprefix("eval-").removeprefix("w")


def reach_report(arms: dict, pairs) -> str:
    """Reach per section (median over seeds [95%]) per arm and strategy, and the far end's paired differences."""
    lines = ["## Reach (`../farend_reach/`): generated sprite displacement from the start image regressed on the "
             "world's, 3 sections; median over 16 seeds [95%], paired differences of the far end", "",
             "| strategy | arm | frames 1-4 | frames 5-8 | frames 9-12 (far end) |", "| --- | --- | --- | --- | --- |"]
    per = {arm: per_section(table) for arm, table in arms.items()}
    diffs = []
    for strategy in STRATEGIES:
        for arm, p in per.items():
            cells = " | ".join(median_cell(p.loc[strategy][s]) for s in (0, 1, 2))
            lines.append(f"| {strategy} | {arm} | {cells} |")
        for a, b in pairs:
            pair = pd.concat([per[a].loc[strategy][2], per[b].loc[strategy][2]], axis=1, keys=["a", "b"]).dropna()
            diffs.append(f"- {strategy}, far end {a} - {b}: {paired_cell(pair.a, pair.b)} ({len(pair)} seeds)")
    return "\n".join(lines + [""] + diffs) + "\n"


def write_reach(folders, out: Path) -> None:
    """`../farend_reach/`'s reach of each checkpoint folder under both strategies: out/reach_FOLDERNAME.csv."""
    import torch

    torch.set_num_threads(1)
    for folder in folders:
        rows = [row for strategy in STRATEGIES for row in reach_rows(str(folder), strategy)]
        pd.DataFrame(rows).assign(variant="inverted").to_csv(out / f"reach_{folder.name}.csv", index=False)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("reach", "report"):
        raise SystemExit("usage: compare.py reach CANDIDATE_FOLDER ... | compare.py report EVAL_FOLDER ...")
    command, rest = argv[0], argv[1:]
    md = "compare.md"
    if rest[:1] == ["--md"]:  # another report name (a second set of arms)
        md, rest = rest[1], rest[2:]
    folders = [Path(f) for f in rest]
    if command == "reach":
        write_reach(folders, HERE)
        return
    shipped = shipped_table(V5)
    arms = {label(f): f.name.removeprefix("eval-") for f in folders}  # "W=3": "w3" (table_w3, reach_w3)
    tables = {arm: candidate_rows(f, "inverted", shipped, HERE / f"table_{arms[arm]}.parquet")
              for arm, f in zip(arms, folders)}
    tables[SHIPPED] = shipped[shipped.variant == "inverted"]
    base = next((arm for arm in tables if arm.split("-")[0] == CONTROL), SHIPPED)  # W=0 or W=0-20k
    pairs = tuple((arm, base) for arm in tables if arm not in (base, SHIPPED)) + \
        (((base, SHIPPED),) if base != SHIPPED else ())
    at_8x = all((t.multiple == 8).any() for t in tables.values())  # the 20k arms were evaluated at 1x only
    text = eval_report(tables, pairs, "# inverted, warm-restarted from the shipped 18k with --displacement-weight W, "
                       "vs the control (W = 0) and the shipped v5 (18k)", **({} if at_8x else {"multiples": ((0, MEASURES),)}))
    try:
        reach = {arm: pd.read_csv(HERE / f"reach_{name}.csv") for arm, name in arms.items()}
    except OSError as exc:
        raise SystemExit(f"{exc}: run `compare.py reach` on the arms' checkpoint folders first")
    shipped_reach = pd.read_csv(HERE.parent / "farend_reach" / "table.csv")
    reach[SHIPPED] = shipped_reach[shipped_reach.variant == "inverted"]
    text += "\n" + reach_report(reach, pairs)
    (HERE / md).write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
