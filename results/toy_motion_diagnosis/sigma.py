"""Where along the noise levels is motion lost? Teacher-forced section ORDER of a vanilla plan (true
history from the clip), the true window noised to level s with fixed noise; the model's one-step
estimate x0_hat = x_s - s * v. Reports, per s, the latent-space projected change of the window
against the last known frame: slope <x0_hat - prev, x0 - prev> / |x0 - prev|^2 over the window's
moving latent pixels (1 = the true change, 0 = a copy of the last known frame), pooled over seeds.
PROMPT (stop 28): generic (default), heading (each seed's world.heading_prompt) or reversed (its
headings turned round: do the words steer the estimate?).
    python results/toy_motion_diagnosis/sigma.py FOLDER|shipped-name [ORDER] [SEEDS] [PROMPT]"""
import math
import sys

import numpy as np
import torch

from fpkit import planning
from fpkit.schedule import dynamic_mu, shift_sigmas
from fpkit.toy import evaluate as ev
from fpkit.toy.organism import PROMPT_BANK, load_organism
from fpkit.toy.train import Conditioning, section_batch
from fpkit.toy.world import EVAL_SEED_OFFSET, HEADINGS, heading_prompt, render_clips

torch.set_num_threads(1)
folder = sys.argv[1]
order = int(sys.argv[2]) if len(sys.argv) > 2 else 0
n_seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 16
prompt = sys.argv[4] if len(sys.argv) > 4 else "generic"
assert prompt in ("generic", "heading", "reversed"), prompt
pipe = load_organism(folder)
tr, g = pipe.transformer, ev.geometry(pipe)
hist = planning.HistorySpec(**pipe.fpkit_toy["variant"]["history"])
cond = Conditioning(pipe, prompts=PROMPT_BANK[:1])
plan = planning.plan("vanilla", order + 1, g["lws"], (16, 16), tr.config.patch_size, hist, False)
levels = [0.98, 0.9, 0.8, 0.65, 0.5, 0.35, 0.2, 0.1]
num, den = np.zeros(len(levels)), 0.0
seeds = [EVAL_SEED_OFFSET + i for i in range(n_seeds)]
videos = render_clips(seeds, plan.num_latents, g["spec"])
lat = pipe.vae.encode(videos).latent_dist.mode()
b = section_batch(plan, order, lat)
a, e = b["section"].window
prev = lat[:, :, a - 1:a]
change = b["x0"] - prev  # (B, C, T, h, w)
emb = cond.image(videos[:, :, 0])
noise = torch.randn(b["x0"].shape, generator=torch.Generator().manual_seed(0))
def turned(text: str) -> str:  # "... moves up left slow" -> "... moves down right slow"
    parts = []
    for part in text.split(" and "):
        words = part.split()
        parts.append(" ".join(words[:3] + [HEADINGS[(HEADINGS.index(" ".join(words[3:-1])) + 4) % 8], words[-1]]))
    return " and ".join(parts)


if prompt == "generic":
    text = cond.text(torch.zeros(len(seeds), dtype=torch.long))
else:
    words = [heading_prompt(s, g["spec"]) for s in seeds]
    text = cond.texts(words if prompt == "heading" else [turned(w) for w in words])
den = float((change * change).sum())
row = []
with torch.no_grad():
    for s in levels:
        x_s = (1 - s) * b["x0"] + s * noise
        v = tr(hidden_states=x_s, timestep=torch.full((len(seeds),), s * 1000.0), image_embeds=emb, guidance=None,
               return_dict=False, **text, **b["context"])[0]
        x0_hat = x_s - s * v
        slope = float(((x0_hat - prev) * change).sum()) / den
        err = float(((x0_hat - b["x0"]) ** 2).mean())
        row.append((s, round(slope, 3), round(err, 4)))
print(folder, "order", order, "window", (a, e), "seeds", n_seeds, "prompt", prompt)
print("s      slope(change)  x0 mse")
for s, slope, err in row:
    print(f"{s:4.2f}   {slope:+.3f}        {err:.4f}")
