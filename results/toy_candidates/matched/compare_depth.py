"""Stop 38: is the inverted far end a capacity limit? The matched recipe (this folder's README) with twice the
depth (`--blocks 4`: 4 dual-stream + 4 single-stream blocks, 4.4M parameters against 2.75M), same seed, so the
same clips, plans and noise:

    fpkit toy train --variant inverted --steps 20000 --stop-at 4000 --seed 0 --threads 2 --codec-patch 4 --sections 1 3 --last-image 0.1 --first-section-weight 4 --blocks 4 --snapshot-every 2000 --no-progress --out runs/inverted-matched-deep
    python results/toy_candidates/matched/compare_depth.py runs/inverted-matched-deep runs/inverted-matched 2000

Arms, 16 unseen seeds at the training length (3 sections), 12 steps, one noise draw per clip shared by all:
  deep          the 4-block run's EMA snapshot at STEP
  matched       the 2-block matched run's snapshot at STEP (equal steps: what depth buys)
  matched_2x    the 2-block run at 2 x STEP (`table_step{2 STEP}_*.csv`; a 4-block step costs 2x, so this
                is equal training time)
Tables go to `depth/`, the report to `depth/compare_depth_stepSTEP.md`."""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import paired_report  # noqa: E402  (results/toy_candidates/arms.py)

torch.set_num_threads(2)
deep_run, matched_run, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]
out = HERE / "depth"
out.mkdir(exist_ok=True)

tables = []
for strategy in ("inverted_anti_drifting", "anti_drifting"):
    for arm, run in (("deep", deep_run), ("matched", matched_run)):
        path = out / f"table_{arm}_step{step}_{strategy}.csv"
        if not path.exists():
            pipe = organism.load_organism(run, weights=Path(run) / "snapshots" / f"step_{step:07d}.safetensors")
            evaluate.likeness(pipe, seeds, sampling_type=strategy).assign(arm=arm, strategy=strategy).to_csv(path, index=False)
        tables.append(pd.read_csv(path))
    tables.append(pd.read_csv(HERE / f"table_step{2 * step}_{strategy}.csv").assign(arm="matched_2x"))
text = paired_report(pd.concat(tables, ignore_index=True), ("deep", "matched", "matched_2x"),
                     (("deep", "matched"), ("deep", "matched_2x")),
                     f"# Twice the depth on the matched inverted recipe at step {step}, against the 2-block run at "
                     f"{step} (equal steps) and {2 * step} (equal time): medians over 16 seeds and paired median "
                     "differences [95%]")
(out / f"compare_depth_step{step}.md").write_text(text)
print(text)
