"""Contact sheet of toy organisms (folders or snapshot files) beside the real clip, one seed per sheet:
    python results/toy_motion_diagnosis/sheet.py OUT.png SEED SECTIONS LABEL=FOLDER[:SNAPSHOT] ..."""
import sys

import matplotlib

matplotlib.use("Agg")
import torch

from fpkit.plots import contact_sheet
from fpkit.toy import evaluate as ev
from fpkit.toy.organism import load_organism
from fpkit.toy.world import real_video

torch.set_num_threads(1)
out, seed, sections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
videos, spec = {}, None
for item in sys.argv[4:]:
    label, _, path = item.partition("=")
    folder, _, weights = path.partition(":")
    pipe = load_organism(folder, weights=weights or None)
    spec = ev.geometry(pipe)["spec"]
    videos[label] = ev.generate(pipe, seed, sections, noise_seed=0).video  # draw 0, as when run
frames = next(iter(videos.values())).shape[0]
videos = {"real": real_video(seed, frames, spec), **videos}
fig = contact_sheet(videos, frames=list(range(0, frames, max(1, frames // 12))), title=f"seed {seed}, {sections} sections")
fig.savefig(out, dpi=90)
