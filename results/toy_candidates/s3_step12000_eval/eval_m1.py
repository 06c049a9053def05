"""Like eval_probe.py, at 1x the f1 length (3 sections) as well as the training length."""
import sys
import torch
from fpkit.toy import evaluate as ev
from fpkit.toy.world import EVAL_SEED_OFFSET
torch.set_num_threads(1)
root, out, pairs = sys.argv[1], sys.argv[2], [tuple(p.split("/")) for p in sys.argv[3:]]
t = ev.evaluate_organisms(pairs, seeds=range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 16), multiples=(1,), root=root,
                          progress=False)
t.to_parquet(out)
