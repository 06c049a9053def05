"""Stop 36: does an inverted organism trained with heading prompts from its first step read them? The shipped
inverted recipe from scratch with `--heading-prompt 0.8` (`scratch/`, continued to step N), paired with the
shipped chain's own run at the same step (`../s3_step4000/inverted`: same seed, so the same clips, plans and
noise; heading prompts come from their own RNG stream). Sampled at the training length (3 sections), 16
unseen seeds, one noise draw per clip shared by every arm:
  plain      the shipped chain at step N (no prompts in training; generic prompt)
  words      the prompted run with its start image's heading prompt
  generic    the prompted run with the generic prompt (what the words add within one model)
  reversed   the prompted run with every heading reversed (up <-> down, left <-> right): if the words set
             the direction, motion_follow falls below the generic prompt's (`prompt="reversed"` since stop 36;
             the committed tables set the same text on the pipeline, checked equal)
    python results/toy_candidates/inverted_words/compare_scratch.py WORDS_FOLDER PLAIN_FOLDER STEP OUT_DIR [STRATEGY]
With STRATEGY, samples only that strategy (two processes, one per strategy, side by side); without, samples
the strategies whose table is missing and writes the report."""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from arms import paired_report  # noqa: E402  (results/toy_candidates/arms.py)

torch.set_num_threads(1)
words_dir, plain_dir, step, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
STRATEGIES = sys.argv[5:] or ["inverted_anti_drifting", "anti_drifting"]
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]
ARMS = ("plain", "words", "generic", "reversed")
PAIRS = (("words", "plain"), ("generic", "plain"), ("words", "generic"), ("reversed", "generic"))


out.mkdir(parents=True, exist_ok=True)
tables = []
for strategy in STRATEGIES:
    path = out / f"scratch_table_step{step}_{strategy}.csv"
    if path.exists():
        tables.append(pd.read_csv(path))
        continue
    words = organism.load_organism(words_dir)
    arms = {"plain": evaluate.likeness(organism.load_organism(plain_dir), seeds, sampling_type=strategy),
            "words": evaluate.likeness(words, seeds, sampling_type=strategy, prompt="auto"),
            "generic": evaluate.likeness(words, seeds, sampling_type=strategy, prompt="generic"),
            "reversed": evaluate.likeness(words, seeds, sampling_type=strategy, prompt="reversed")}
    table = pd.concat([t.assign(arm=arm, strategy=strategy, step=step) for arm, t in arms.items()], ignore_index=True)
    table.to_csv(path, index=False)
    tables.append(table)
if len(sys.argv) > 5:
    sys.exit(0)
table = pd.concat(tables, ignore_index=True)

text = paired_report(table, ARMS, PAIRS, f"# Inverted organism with heading prompts from scratch vs without, step "
                     f"{step}: medians over 16 seeds and paired median differences [95%]")
(out / f"scratch_compare_step{step}.md").write_text(text)
print(text)
