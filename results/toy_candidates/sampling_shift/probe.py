"""Stop 40: is the shipped organisms' missing speed in the sampler's noise schedule? Every evaluation samples
with the pipeline's rule, the dynamic shift of the toy's tiny token count (exp(mu) = 1.65, the shift training
drew its noise levels with). A larger shift spends more of the 12 steps at high noise, where the layout (and
so where a sprite has gone) is decided; a smaller one fewer. Same weights, seeds and noise draws in every arm
(16 unseen seeds at the training length, one draw per clip), paired against the pipeline's rule.

    python results/toy_candidates/sampling_shift/probe.py VARIANT STRATEGY   # e.g. inverted inverted_anti_drifting
    python results/toy_candidates/sampling_shift/probe.py --report           # report.md from the tables

Writes table_VARIANT_STRATEGY.csv (one row per arm and seed) and report.md beside this script."""
import sys
from pathlib import Path

import pandas as pd
import torch

from fpkit.toy import evaluate, organism
from fpkit.toy.world import EVAL_SEED_OFFSET

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import MEASURES, paired_report  # noqa: E402  (results/toy_candidates/arms.py)

SHIFTS = {"rule (1.65)": None, "shift 1": 1.0, "shift 3": 3.0, "shift 6": 6.0}
PAIRS = tuple((arm, "rule (1.65)") for arm in list(SHIFTS)[1:])
seeds = [EVAL_SEED_OFFSET + i for i in range(16)]

if sys.argv[1:] == ["--report"]:
    parts = [paired_report(pd.read_csv(p), tuple(SHIFTS), PAIRS, f"## {p.stem.removeprefix('table_').split('_', 1)[0]}",
                           measures=MEASURES).replace("\n## ", "\n### ")
             for p in sorted(HERE.glob("table_*.csv"))]
    text = ("# Sampling shift on the shipped organisms: medians over 16 seeds at the training length, paired median "
            "differences against the pipeline's rule [95%]\n\n" + "\n".join(parts))
    (HERE / "report.md").write_text(text)
    print(text)
    sys.exit(0)

torch.set_num_threads(1)
variant, strategy = sys.argv[1], sys.argv[2]
pipe = organism.load_organism(f"fpkit/toy/checkpoints/{variant}")
arms = []
for arm, shift in SHIFTS.items():
    scores = evaluate.likeness(pipe, seeds, sampling_type=strategy, flow_shift=shift)  # the training length
    arms.append(scores.drop(columns=[c for c in scores if c.startswith("pass_")]).assign(arm=arm, strategy=strategy))
table = pd.concat(arms, ignore_index=True)
table = table[["arm", "strategy", *table.columns[:-2]]]
table.to_csv(HERE / f"table_{variant}_{strategy}.csv", index=False)
