"""Far-end contact sheet: per seed, the real clip, then each organism's inverted anti-drifting video at
SECTIONS sections (one noise draw per clip: noise seed = clip seed), frames 0, 3, 6 and the far-end
section's (generated first, from the start image alone). A folder ending in '+sde' samples with
FlowMatchEulerDiscreteScheduler(stochastic_sampling=True) instead of the pipeline's ODE (stop 32).
    python farend_sheet.py OUT.png SECTIONS SEED[,SEED...] LABEL=FOLDER[:SNAPSHOT][+sde] ..."""
import sys

import matplotlib

matplotlib.use("Agg")
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from fpkit.plots import contact_sheet
from fpkit.toy import evaluate as ev
from fpkit.toy.organism import load_organism
from fpkit.toy.world import real_video

torch.set_num_threads(1)
out, sections, seeds = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")]
pipes = {}
for item in sys.argv[4:]:
    label, _, path = item.partition("=")
    sde = path.endswith("+sde")
    folder, _, weights = path.removesuffix("+sde").partition(":")
    pipe = load_organism(folder, weights=weights or None)
    if sde:
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, stochastic_sampling=True)
    pipes[label] = pipe
videos = {}
for seed in seeds:
    for label, pipe in pipes.items():
        video = ev.generate(pipe, seed, sections, "inverted_anti_drifting").video  # noise seed = clip seed
        if f"{seed} real" not in videos:
            videos[f"{seed} real"] = real_video(seed, video.shape[0], ev.geometry(pipe)["spec"])
        videos[f"{seed} {label}"] = video
frames = next(iter(videos.values())).shape[0]
lws = ev.geometry(next(iter(pipes.values())))["lws"]
shown = [0, 3, 6, *range(frames - lws, frames)]
fig = contact_sheet(videos, frames=shown, title=f"inverted anti-drifting, {sections} sections: far end = last {lws} frames")
fig.savefig(out, dpi=80)
print(out)
