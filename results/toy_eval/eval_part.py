"""One half of `fpkit toy eval` (16 seeds, multiples 1 4 8, 12 steps) on the shipped organisms, so that
two processes share the 2 cores; the halves are concatenated and summarised by `fpkit toy eval --reuse`."""
import sys

from fpkit.toy import evaluate as ev
from fpkit.toy.world import EVAL_SEED_OFFSET

part = sys.argv[1]
organisms = {"a": [("f1", "vanilla"), ("inverted", "inverted_anti_drifting"), ("inverted", "anti_drifting")],
             "b": [("f1+D", "vanilla"), ("f1-h1", "vanilla")]}[part]
t = ev.evaluate_organisms(organisms, seeds=range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 16), multiples=(1, 4, 8),
                          progress=False)
t.to_parquet(f"runs/eval/part_{part}.parquet")
print("done", part, len(t))
