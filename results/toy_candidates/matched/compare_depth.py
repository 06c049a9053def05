"""Stop 38: is the inverted far end a capacity limit? The matched recipe (this folder's README) with twice the
depth (`--blocks 4`: 4 dual-stream + 4 single-stream blocks, 4.4M parameters against 2.75M), same seed, so the
same clips, plans and noise, paired at 4k with
  deep       the 4-block run (generic prompt)
  matched    the 2-block matched run at 4k (`table_step4000_*.csv`: what depth is added to)
  plain      the shipped recipe at 4k (`../s3_step4000/inverted`, via compare.py's tables)
16 unseen seeds at the training length (3 sections), 12 steps, one noise draw per clip shared by every arm.
    python results/toy_candidates/matched/compare_depth.py DEEP_FOLDER [STRATEGY]
With STRATEGY, samples only that strategy (two processes side by side); without, samples what is missing and
writes compare_depth_step4000.md."""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import paired_report  # noqa: E402  (results/toy_candidates/arms.py)

torch.set_num_threads(1)
deep = sys.argv[1]
STRATEGIES = sys.argv[2:] or ["inverted_anti_drifting", "anti_drifting"]
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]

tables = []
for strategy in STRATEGIES:
    path = HERE / f"table_depth_step4000_{strategy}.csv"
    if not path.exists():
        pipe = organism.load_organism(deep)
        evaluate.likeness(pipe, seeds, sampling_type=strategy).assign(arm="deep", strategy=strategy).to_csv(path, index=False)
    both = pd.read_csv(HERE / f"table_step4000_{strategy}.csv")  # the matched run's 4k rows
    plain = pd.read_csv(HERE.parent / "inverted_words" / "scratch_eval" / f"scratch_table_step4000_{strategy}.csv")
    tables += [pd.read_csv(path), both, plain[plain.arm == "plain"].assign(strategy=strategy)]
if len(sys.argv) > 2:
    sys.exit(0)
text = paired_report(pd.concat(tables, ignore_index=True), ("deep", "matched", "plain"),
                     (("deep", "matched"), ("deep", "plain"), ("matched", "plain")),
                     "# Twice the depth on the matched inverted recipe, step 4000: medians over 16 seeds and paired "
                     "median differences [95%]")
(HERE / "compare_depth_step4000.md").write_text(text)
print(text)
