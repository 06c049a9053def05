"""Stop 41, second part: the same 2,000-step motion-weighted tail (W = 10, 16k -> 18k) on the other three shipped
variants, so that the set keeps equal budgets and f1's ablation variants its recipe. The inverted organism with its
own flags; its control is the plain 16k -> 18k (the step-18000 snapshot of `../finish/`'s warm restart, the same
clips and noise). For f1+D and f1-h1 the control is f1's (`compare.md`: the tail alone buys nothing).

    for V in f1+D f1-h1; do fpkit toy train --variant $V --steps 20000 --seed 0 --threads 1 --codec-patch 4 \
        --codec-whitening 0 --heading-prompt 0.8 --motion-weight 10 --init fpkit/toy/checkpoints/$V \
        --stop-at 18000 --no-progress --out runs/$V-mw10 & done
    fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 1 --codec-patch 4 --sections 1 3 \
        --last-image 0.1 --first-section-weight 4 --motion-weight 10 --init fpkit/toy/checkpoints/inverted \
        --stop-at 18000 --no-progress --out runs/inv-mw10
    # runs/inv-18k: a checkpoint folder of runs/inv-20k (../finish/) with snapshots/step_0018000 as its transformer
    # each arm in a folder runs/root-X/VARIANT, then (two side by side):
    fpkit toy eval --root runs/root-inv18k --only inverted/inverted_anti_drifting inverted/anti_drifting \
        --multiples 1 8 --out runs/eval-inv18k
    for S in inverted_anti_drifting anti_drifting; do fpkit toy eval --root runs/root-inv-mw10 \
        --only inverted/$S --multiples 1 8 --out runs/eval-inv-mw10-$S & done; wait
    fpkit toy eval --reuse runs/eval-inv-mw10-*/table.parquet --out runs/eval-inv-mw10
    fpkit toy eval --root runs/root-f1+D-mw10 --only f1+D/vanilla --multiples 1 8 --out runs/eval-f1+D-mw10
    fpkit toy eval --root runs/root-f1-h1-mw10 --only f1-h1/vanilla --multiples 1 8 --out runs/eval-f1-h1-mw10
    python results/toy_candidates/motion_weight/compare_set.py runs/eval-inv18k runs/eval-inv-mw10 \
        runs/eval-f1+D-mw10 runs/eval-f1-h1-mw10

(A first pair of f1+D and f1-h1 runs was stopped at ~16.3k for the session's time; the kept ones ran 16k -> 18k
in one leg each, like f1's.) Writes `compare_set.md` and each arm's rows (`table_<arm>.parquet`) beside this script.

`fpkit/toy/checkpoints/V` in these commands is the v4 set shipped then (16k; since stop 42 the folder holds
v5: `git show 5c57729:fpkit/toy/checkpoints/V/transformer.safetensors` has v4's weights), and the shipped
rows are `results/toy_eval` at that time (`arms.shipped_table(V4)`)."""
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import V4, candidate_rows, eval_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

shipped = shipped_table(V4)  # the v4 set, shipped when this ran
inv_18k, inv_w10, *f1_ablations = map(Path, sys.argv[1:])


def rows(folder: Path, variant: str) -> pd.DataFrame:
    return candidate_rows(folder, variant, shipped, HERE / f"table_{folder.name.removeprefix('eval-')}.parquet")


parts = [eval_report({"W=10": rows(inv_w10, "inverted"), "18k": rows(inv_18k, "inverted"),
                      "shipped 16k": shipped[shipped.variant == "inverted"]},
                     (("W=10", "18k"), ("18k", "shipped 16k")),
                     "# inverted: 16k -> 18k with W = 10 vs plain (its control) vs as shipped")]
for folder in f1_ablations:
    variant = folder.name.removeprefix("eval-").removesuffix("-mw10")
    parts.append(eval_report({"W=10": rows(folder, variant), "shipped 16k": shipped[shipped.variant == variant]},
                             (("W=10", "shipped 16k"),), f"# {variant}: 16k -> 18k with W = 10 vs as shipped"))
text = "\n".join(parts)
(HERE / "compare_set.md").write_text(text)
print(text)
