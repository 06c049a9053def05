import sys
from fpkit.toy import evaluate as ev
from fpkit.toy.world import EVAL_SEED_OFFSET
part = sys.argv[1]
organisms = {"a": [("f1", "vanilla"), ("inverted", "inverted_anti_drifting"), ("inverted", "anti_drifting")],
             "b": [("f1+D", "vanilla"), ("f1-h1", "vanilla")]}[part]
t = ev.evaluate_organisms(organisms, seeds=range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 16), multiples=(1, 8),
                          root="runs/c4-4000", progress=False,  # a copy of results/toy_candidates/c4_step4000
                          noise="shared")  # noise seed 0 for every clip, as when run (stop 21)
t.to_parquet(f"runs/eval_c4_4000_{part}.parquet")
print("done", part, len(t))
