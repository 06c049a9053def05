"""Stop 35: does the inverted organism read heading words when it has nothing else to go on? The shipped
inverted organism (step 16k of its 20k schedule) trained on 16k -> N twice from the same weights, clips,
plans and noise: without prompts (`runs/inv-cont`, the control: the schedule finished) and with heading
prompts on 80% of the clips (`runs/inv-words`, `--heading-prompt 0.8`). Sampled at the training length
(3 sections), 16 unseen seeds, one noise draw per clip shared by every arm (paired):
  shipped    the shipped 16k weights (generic prompt)
  cont       the control at step N (generic prompt)
  words      the prompted run at step N with its start image's heading prompt
  generic    the prompted run with the generic prompt (what the words add within one model)
  reversed   the prompted run with every heading reversed (up <-> down, left <-> right): if the words set
             the direction, motion_follow falls below the generic prompt's (`prompt="reversed"` since stop 36;
             the committed tables set the same text on the pipeline, checked equal)
    python results/toy_candidates/inverted_words/compare.py STEP OUT_DIR
With OUT_DIR/table_stepSTEP.csv already there, only the report is written from it."""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from arms import paired_report  # noqa: E402  (results/toy_candidates/arms.py)

torch.set_num_threads(1)
step, out = int(sys.argv[1]), Path(sys.argv[2])
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]


def snapshot(run: str):
    return organism.load_organism(run, weights=Path(run) / "snapshots" / f"step_{step:07d}.safetensors")


path = out / f"table_step{step}.csv"
if path.exists():  # sampled before: report only
    table = pd.read_csv(path)
else:
    tables = []
    for strategy in ("inverted_anti_drifting", "anti_drifting"):
        arms = {"shipped": evaluate.likeness(organism.load_organism("inverted"), seeds, sampling_type=strategy),
                "cont": evaluate.likeness(snapshot("runs/inv-cont"), seeds, sampling_type=strategy)}
        words = snapshot("runs/inv-words")
        arms["words"] = evaluate.likeness(words, seeds, sampling_type=strategy, prompt="auto")
        arms["generic"] = evaluate.likeness(words, seeds, sampling_type=strategy, prompt="generic")
        arms["reversed"] = evaluate.likeness(words, seeds, sampling_type=strategy, prompt="reversed")
        for arm, t in arms.items():
            tables.append(t.assign(arm=arm, strategy=strategy, step=step))
    table = pd.concat(tables, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)

text = paired_report(table, ("shipped", "cont", "words", "generic", "reversed"),
                     (("cont", "shipped"), ("words", "cont"), ("words", "generic"), ("reversed", "generic")),
                     f"# Inverted organism, step {step}: medians over 16 seeds and paired median differences [95%]",
                     labels={"shipped": "shipped 16k"})
(out / f"compare_step{step}.md").write_text(text)
print(text)
