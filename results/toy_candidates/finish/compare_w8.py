"""Stop 40, second arm: the same 16k -> 20k stretch with the far end weighted twice as much again
(`--first-section-weight 8` instead of the recipe's 4; a fine-tune, `--init`, since a warm restart must keep
the recipe). The evaluation case (inverted anti-drifting, 3 sections, no last image) gets 17.9% / 2.3% / 2.2%
of the steps for its orders 0 / 1 / 2 instead of 15.0% / 3.7% / 3.6% (40,000 draws of `train.draw_plan`): the
weight acts within a plan, so doubling it adds little far-end practice. Same start weights, clips and noise as
the plain finish (only the section draw differs), so the pair w8 - 20k isolates the weight, and w8 - shipped
16k is what shipping it at 20k would change.

    fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 2 --codec-patch 4 --sections 1 3 \
        --last-image 0.1 --first-section-weight 8 --init fpkit/toy/checkpoints/inverted --stop-at 20000 \
        --snapshot-every 2000 --no-progress --out runs/inv-20k-w8
    mkdir -p runs/root20k-w8 && ln -s ../inv-20k-w8 runs/root20k-w8/inverted
    fpkit toy eval --root runs/root20k-w8 --only inverted/inverted_anti_drifting --out runs/eval20k-w8-iad   # and
    fpkit toy eval --root runs/root20k-w8 --only inverted/anti_drifting --out runs/eval20k-w8-ad           # side by side
    python results/toy_candidates/finish/compare_w8.py runs/eval20k-w8-iad/table.parquet runs/eval20k-w8-ad/table.parquet

Writes `compare_w8.md` and `table_step20000_w8.parquet` beside this script.

`fpkit/toy/checkpoints/V` in these commands is the v4 set shipped then (16k; since stop 42 the folder holds
v5: `git show 5c57729:fpkit/toy/checkpoints/V/transformer.safetensors` has v4's weights), and the shipped
rows are `results/toy_eval` at that time (`arms.shipped_table(V4)`)."""
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import V4, eval_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)


w8 = pd.concat([pd.read_parquet(p) for p in sys.argv[1:]], ignore_index=True)
w8 = w8[w8.variant == "inverted"]
finish = pd.read_parquet(HERE / "table_step20000.parquet")
shipped = shipped_table(V4)  # the v4 set, shipped when this ran
shipped = shipped[shipped.variant == "inverted"]
arms = {"w8 20k": w8, "20k": finish, "shipped 16k": shipped}
if len({frozenset(t.weights) for t in arms.values()}) != 3:
    raise SystemExit("two arms sampled the same weights: nothing to compare")
w8.to_parquet(HERE / "table_step20000_w8.parquet", index=False)

text = eval_report(arms, (("w8 20k", "20k"), ("w8 20k", "shipped 16k")),
                   "# The inverted organism's last 4k steps with the far end weighted 8 (vs 4)")
(HERE / "compare_w8.md").write_text(text)
print(text)
