"""Contact sheet over several seeds: per seed the real clip, then each organism's video with STRATEGY at its
training length (one noise draw per clip: noise seed = clip seed, as `fpkit toy eval` samples), every 2nd frame.
    python sheet.py OUT.png STRATEGY SEED[,SEED...] LABEL=FOLDER ..."""
import sys

import matplotlib

matplotlib.use("Agg")
import torch

from fpkit.plots import contact_sheet
from fpkit.toy import evaluate as ev
from fpkit.toy.organism import load_organism
from fpkit.toy.world import real_video

torch.set_num_threads(1)
out, strategy, seeds = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
pipes = {label: load_organism(folder) for label, _, folder in (a.partition("=") for a in sys.argv[4:])}
videos = {}
for seed in seeds:
    for label, pipe in pipes.items():
        g = ev.geometry(pipe)
        video = ev.generate(pipe, seed, g["train_sections"], strategy).video
        if f"{seed} real" not in videos:  # rendered once per seed, above its organisms' rows
            videos[f"{seed} real"] = real_video(seed, video.shape[0], g["spec"])
        videos[f"{seed} {label}"] = video
frames = next(iter(videos.values())).shape[0]
fig = contact_sheet(videos, frames=range(0, frames, 2), title=f"{strategy} at the training length ({frames} frames)")
fig.savefig(out, dpi=70)
print(out)
