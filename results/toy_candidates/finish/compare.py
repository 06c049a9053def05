"""Stop 40: does finishing the shipped inverted organism's schedule (16k -> 20k, the end of its 20k cosine
schedule, warm restart) buy motion? From 12k to 16k this recipe's motion_follow grew by +0.05; the stops 34-38
organism gained nothing over the same stretch (+0.008, `../inverted_words/`).

    fpkit toy train --variant inverted --steps 20000 --seed 0 --threads 2 --codec-patch 4 --sections 1 3 \
        --last-image 0.1 --first-section-weight 4 --resume fpkit/toy/checkpoints/inverted --stop-at 20000 \
        --snapshot-every 2000 --out runs/inv-20k
    mkdir -p runs/root20k && ln -s ../inv-20k runs/root20k/inverted
    fpkit toy eval --root runs/root20k --only inverted/inverted_anti_drifting --out runs/eval20k-iad   # and
    fpkit toy eval --root runs/root20k --only inverted/anti_drifting --out runs/eval20k-ad           # side by side
    python results/toy_candidates/finish/compare.py runs/eval20k-iad/table.parquet runs/eval20k-ad/table.parquet

Pairs the candidate's `fpkit toy eval` rows with the shipped organism's in `results/toy_eval` (same 16 unseen
seeds, one noise draw per clip shared by both), at the training length (1x, 3 sections) and at 8x; writes
`compare.md` and the candidate's table (`table_step20000.parquet`) beside this script.

`fpkit/toy/checkpoints/V` in these commands is the v4 set shipped then (16k; since stop 42 the folder holds
v5: `git show 5c57729:fpkit/toy/checkpoints/V/transformer.safetensors` has v4's weights), and the shipped
rows are `results/toy_eval` at that time (`arms.shipped_table(V4)`)."""
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import V4, eval_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

candidate = pd.concat([pd.read_parquet(p) for p in sys.argv[1:]], ignore_index=True)
candidate = candidate[candidate.variant == "inverted"]
shipped = shipped_table(V4)  # the v4 set, shipped when this ran
shipped = shipped[shipped.variant == "inverted"]
if set(candidate.weights) & set(shipped.weights):
    raise SystemExit(f"the candidate's weights {set(candidate.weights)} are the shipped ones: nothing to compare")
candidate.to_parquet(HERE / "table_step20000.parquet", index=False)

text = eval_report({"20k": candidate, "shipped 16k": shipped}, (("20k", "shipped 16k"),),
                   "# The shipped inverted organism finished to 20k vs as shipped (16k)")
(HERE / "compare.md").write_text(text)
print(text)
