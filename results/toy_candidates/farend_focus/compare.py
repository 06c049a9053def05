"""Stop 44: does more training on the far end make the inverted organism's far end reach further? Inverted
anti-drifting's far end (frames 9-12 of the 3-section evaluation case, generated first from the start image alone)
lands at 0.38 of the world's sprite displacement (`../farend_reach/`), and the shipped recipe spends 15.2% of its
steps on exactly that case. `--sections 3 3 --last-image 0 --first-section-weight 12` spends 64% on it (inverted
anti-drifting plans are 75% of the steps, all of 3 sections, order 0 at weight 12 of 14), the rest on the fill
sections of the same plans and on anti-drifting plans. `../displacement_weight/` moved the far end +0.06 to
+0.08 further (paired) with a loss weight (`--displacement-weight 10`), short of the speed target; arms focus-wW add it.

Arms: the shipped v5 inverted organism (step 18,000) fine-tuned to 20,000, the end of its schedule (`--init`: same
weights, another data cut; one thread each, two side by side, 1.6-1.7 steps/s each, 20 min a pair):

    for W in 0 10; do fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 1 --codec-patch 4 \
        --sections 3 3 --last-image 0 --first-section-weight 12 --init fpkit/toy/checkpoints/inverted --stop-at 20000 \
        --displacement-weight $W --no-progress --out runs/farend/focus-w$W & done; wait   # then W = 3 and 5
    # runs/farend/focus-w0 is named runs/farend/focus; each arm as runs/root-ARM/inverted (a link), then
    for arm in focus focus-w3 focus-w5 focus-w10; do fpkit toy eval --root runs/root-$arm \
        --only inverted/inverted_anti_drifting inverted/anti_drifting --multiples 1 --out runs/eval-$arm; done
    python results/toy_candidates/farend_focus/compare.py reach runs/farend/focus runs/farend/focus-w3 ...
    python results/toy_candidates/farend_focus/compare.py report runs/eval-focus runs/eval-focus-w3 ...

Then the candidate at equal budget: the same tail on the weights the shipped 18k continued from (stop 39's 16k),
16k -> 18k, in its one-command form (one thread beside an evaluation):

    git archive f9ab55e fpkit/toy/checkpoints/inverted | tar -x -C runs/old/f9ab55e
    fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 1 --codec-patch 4 --sections 1 3 \
        --last-image 0.1 --first-section-weight 4 --tail-from 16000 --tail-sections 3 3 --tail-last-image 0 \
        --tail-first-section-weight 12 --displacement-weight 5 --displacement-weight-from 16000 \
        --resume runs/old/f9ab55e/fpkit/toy/checkpoints/inverted --stop-at 18000 --no-progress --out runs/farend/tail16k-w5
    fpkit toy eval --root runs/root-tail16k-w5 --only inverted/inverted_anti_drifting inverted/anti_drifting \
        --multiples 1 8 --out runs/eval-tail16k-w5
    # and focus-w5 at 8x: the same eval with --multiples 1 8 --out runs/eval-focus-w5-8x
    python results/toy_candidates/farend_focus/compare.py reach runs/farend/tail16k-w3 runs/farend/tail16k-w5
    python results/toy_candidates/farend_focus/compare.py report runs/eval-focus runs/eval-focus-w3 \
        runs/eval-focus-w5-8x runs/eval-focus-w10 runs/eval-tail16k-w3 runs/eval-tail16k-w5
    # tail16k-w3: the tail16k-w5 train line with --displacement-weight 3 (two threads), evaluated at 1x only

A tail16k arm pairs with the shipped 18k (the same 16k weights, steps, clips and noise; the shipped 16k -> 18k ran on
two threads), every other arm with the 20k control, and the arms sampled at 8x with the shipped 18k there.

The control is `../displacement_weight/`'s W = 0 arm at 20k (the shipped recipe's own data cut, warm-restarted 18k
-> 19.2k -> 20k; it equals the shipped organism), its W = 10 arm at 20k the reference for the loss weight alone:
both committed there (table_w0-20k.parquet, reach_w0-20k.csv, ...), so this report re-makes from committed files
once `report` has written this folder's tables. All arms sample the same 16 unseen seeds with each clip's own noise
draw, at the training length (3 sections)."""
import importlib.util
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import AT_8X, MEASURES, V5, candidate_rows, eval_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

_spec = importlib.util.spec_from_file_location("displacement_compare", HERE.parent / "displacement_weight" / "compare.py")
disp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(disp)  # write_reach, reach_report, SHIPPED

CONTROL, DISP = "control 20k", "W=10 20k"
REFERENCE = {CONTROL: "w0-20k", DISP: "w10-20k"}  # ../displacement_weight/{table,reach}_NAME.*


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("reach", "report"):
        raise SystemExit("usage: compare.py reach CANDIDATE_FOLDER ... | compare.py report EVAL_FOLDER ...")
    command, folders = argv[0], [Path(f) for f in argv[1:]]
    if command == "reach":
        disp.write_reach(folders, HERE)
        return
    shipped = shipped_table(V5)
    arms = {f.name.removeprefix("eval-").removesuffix("-8x"): f for f in folders}  # "focus": runs/eval-focus
    tables = {arm: candidate_rows(f, "inverted", shipped, HERE / f"table_{arm}.parquet") for arm, f in arms.items()}
    tables.update({arm: pd.read_parquet(HERE.parent / "displacement_weight" / f"table_{name}.parquet")
                   for arm, name in REFERENCE.items()})
    tables[disp.SHIPPED] = shipped[shipped.variant == "inverted"]
    # an 18k -> 20k arm pairs with the 20k control, a 16k -> 18k tail with the shipped 18k (the same 16k weights,
    # steps, clips and noise; only the tail's cut and weight differ)
    pairs = tuple((arm, disp.SHIPPED if arm.startswith("tail16k") else CONTROL) for arm in (*arms, DISP)) + \
        ((CONTROL, disp.SHIPPED),)
    if "focus" in arms and "focus-w10" in arms:  # what the loss weight adds to the far-end-heavy plans
        pairs = (("focus-w10", "focus"),) + pairs
    text = eval_report(tables, pairs, "# inverted, trained on far-end-heavy plans (`--sections 3 3 --last-image 0 "
                       "--first-section-weight 12`; focus arms 18k -> 20k, tail16k arms 16k -> 18k), vs the shipped "
                       "recipe's 20k control, its W = 10 arm and the shipped v5 (18k)", multiples=((0, MEASURES),))
    long = [arm for arm in arms if (tables[arm].multiple == 8).any()]  # arms also sampled at 8x
    if long:
        text += "\n" + eval_report({**{arm: tables[arm] for arm in long}, disp.SHIPPED: tables[disp.SHIPPED]},
                                   tuple((arm, disp.SHIPPED) for arm in long), "# at 8x, against the shipped v5",
                                   multiples=((8, AT_8X),)).split("\n", 2)[2]
    try:
        reach = {arm: pd.read_csv(HERE / f"reach_{arm}.csv") for arm in arms}
    except OSError as exc:
        raise SystemExit(f"{exc}: run `compare.py reach` on the arms' checkpoint folders first")
    reach.update({arm: pd.read_csv(HERE.parent / "displacement_weight" / f"reach_{name}.csv")
                  for arm, name in REFERENCE.items()})
    shipped_reach = pd.read_csv(HERE.parent / "farend_reach" / "table.csv")
    reach[disp.SHIPPED] = shipped_reach[shipped_reach.variant == "inverted"]
    text += "\n" + disp.reach_report(reach, pairs)
    (HERE / "compare.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
