"""Likeness at the training length with diffusers' FlowMatchEulerDiscreteScheduler(stochastic_sampling=True)
(each step re-noises the x0 estimate with fresh noise from the run's generator) instead of the pipeline's ODE,
one noise draw per clip, 16 unseen seeds; the table pairs with `fpkit toy eval` tables of the same weights.
    python eval_stochastic.py ROOT OUT.parquet VARIANT/STRATEGY ..."""
import sys

import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from fpkit.toy import evaluate as ev
from fpkit.toy import organism
from fpkit.toy.world import EVAL_SEED_OFFSET

torch.set_num_threads(1)
load = organism.load_organism


def stochastic(*args, **kwargs):
    pipe = load(*args, **kwargs)
    pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, stochastic_sampling=True)
    return pipe


organism.load_organism = stochastic  # evaluate_organisms imports it at call time
root, out, pairs = sys.argv[1], sys.argv[2], [tuple(p.split("/")) for p in sys.argv[3:]]
t = ev.evaluate_organisms(pairs, seeds=range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 16), multiples=(), root=root,
                          progress=False)
t.to_parquet(out)
print(ev.likeness_table(t)[["variant", "strategy", "measure", "estimate", "low", "high"]].to_string())
