"""The shipped f1 sampled with diffusers' FlowMatchEulerDiscreteScheduler(stochastic_sampling=True) (each step
re-noises the x0 estimate) instead of the ODE: python results/toy_motion_diagnosis/stochastic.py STEPS [OUT.csv]"""
import sys, torch
from diffusers import FlowMatchEulerDiscreteScheduler
from fpkit.toy.organism import load_organism
from fpkit.toy import evaluate as ev
from fpkit.toy.world import EVAL_SEED_OFFSET
torch.set_num_threads(1); torch.manual_seed(0)
pipe = load_organism("f1")
pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, stochastic_sampling=True)
steps = int(sys.argv[1])
t = ev.likeness(pipe, [EVAL_SEED_OFFSET + i for i in range(16)], num_inference_steps=steps, noise="shared")  # draw 0, as when run
cols = ["visible", "hist_distance", "speed_ratio", "motion_follow", "sharpness_ratio", "shape_iou"]
print("stochastic", steps, t[cols].fillna(0).median().round(3).to_dict())
t.to_csv(sys.argv[2] if len(sys.argv) > 2 else f"stochastic{steps}_f1.csv", index=False)
