"""Stop 37: does training the inverted organism on the case it is evaluated on buy a better far end? The shipped
inverted recipe from scratch with `--last-image 0.1 --first-section-weight 4` (the evaluation case: 3 sections,
no last image, inverted anti-drifting, goes from 6.6% / 3.1% / 2.9% of the steps for its orders 0 / 1 / 2 to
15.2% / 3.7% / 3.6%), paired at the same step with runs of the shipped recipe:
  matched    the candidate (generic prompt)
  plain      the shipped chain: at 4k `../s3_step4000/inverted`, at 8k / 12k its snapshots' tables
             (`../s3_step8000_eval`, `../s3_step12000_eval`, stop 31; no `shape_iou_last_section` then), at
             16k the shipped organism's (`results/toy_eval` as committed at 86e459b, its training-length rows)
  rerun      (4k only) the stop-36 run with heading prompts in training, sampled with the generic prompt: it
             does not read the words, so it is a second training run of the shipped recipe
             (`../inverted_words/scratch_eval`)
plain - rerun is the run-to-run spread that a recipe difference has to exceed. 16 unseen seeds at the training
length (3 sections), 12 steps, one noise draw per clip shared by every arm (the committed tables' rule).
    python results/toy_candidates/matched/compare.py CANDIDATE_FOLDER STEP OUT_DIR [STRATEGY]
With STRATEGY, samples only that strategy (two processes side by side); without, samples what is missing and
writes OUT_DIR/compare_stepSTEP.md."""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import paired_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

torch.set_num_threads(1)
candidate, step, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
STRATEGIES = sys.argv[4:] or ["inverted_anti_drifting", "anti_drifting"]
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]
SHIPPED_CHAIN = {8000: "toy_candidates/s3_step8000_eval", 12000: "toy_candidates/s3_step12000_eval",
                 16000: "86e459b"}  # the shipped chain's tables at that step (16k: results/toy_eval at that revision)
CHAIN_16K = "16b94433cf11"  # weights_digest of the chain's 16k inverted transformer (shipped in stops 34-38)
ARMS = ("matched", "plain", "rerun") if step == 4000 else ("matched", "plain")
PAIRS = (("matched", "plain"), ("matched", "rerun"), ("plain", "rerun")) if step == 4000 else (("matched", "plain"),)


def baselines(strategy: str) -> pd.DataFrame:
    """The shipped recipe's arms at `step`, one wide row per (arm, seed) like `evaluate.likeness`."""
    if step == 4000:
        base = pd.read_csv(HERE.parent / "inverted_words" / "scratch_eval" / f"scratch_table_step4000_{strategy}.csv")
        return base[base.arm.isin(["plain", "generic"])].replace({"arm": {"generic": "rerun"}})
    if step in SHIPPED_CHAIN:
        where = SHIPPED_CHAIN[step]
        long = shipped_table(where) if step == 16000 else pd.read_parquet(HERE.parent.parent / where / "table.parquet")
        long = long[(long.strategy == strategy) & (long.multiple == 0)]
        if "weights" in long and set(long.weights) != {CHAIN_16K}:  # a table of other weights: not this chain
            raise SystemExit(f"{SHIPPED_CHAIN[step]} sampled other weights ({set(long.weights)}) than the chain's 16k")
        wide = long.pivot(index=["seed", "noise_seed"], columns="measure", values="value")
        return wide.reset_index().assign(arm="plain")
    raise SystemExit(f"no baseline at step {step}: 4000, " + ", ".join(map(str, SHIPPED_CHAIN)))

out.mkdir(parents=True, exist_ok=True)
tables = []
for strategy in STRATEGIES:
    path = out / f"table_step{step}_{strategy}.csv"
    if not path.exists():
        pipe = organism.load_organism(candidate)
        evaluate.likeness(pipe, seeds, sampling_type=strategy).assign(arm="matched", strategy=strategy).to_csv(path, index=False)
    tables.append(pd.concat([pd.read_csv(path), baselines(strategy).assign(strategy=strategy)], ignore_index=True))
if len(sys.argv) > 4:
    sys.exit(0)
table = pd.concat(tables, ignore_index=True)

text = paired_report(table, ARMS, PAIRS, f"# Inverted organism trained on its evaluation case vs the shipped recipe, "
                     f"step {step}: medians over 16 seeds and paired median differences [95%]")
(out / f"compare_step{step}.md").write_text(text)
print(text)
