"""Where do the sprites of anti-drifting-with-endpoints (AD) stop? Per frame t, the share of the
world's displacement from the start image that the generated sprites show (least-squares slope of
c_gen(t) - c(0) on c_real(t) - c(0), pooled over sprites and seeds), for AD and inverted
anti-drifting (IAD) on one organism, with the generation order of each frame's section.

    python results/toy_motion_diagnosis/ad/where.py ORGANISM_DIR SEEDS [SECTIONS [NOISE_SEED [STRATEGY ...]]] > out.txt
"""
import sys

import numpy as np
import torch

from fpkit import planning
from fpkit.toy import evaluate as ev
from fpkit.toy.organism import load_organism
from fpkit.toy.world import EVAL_SEED_OFFSET

torch.set_num_threads(1)
pipe = load_organism(sys.argv[1])
seeds = [EVAL_SEED_OFFSET + i for i in range(int(sys.argv[2]))]
n = int(sys.argv[3]) if len(sys.argv) > 3 else ev.geometry(pipe)["train_sections"]
noise_seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
strategies = sys.argv[5:] or ("inverted_anti_drifting", "anti_drifting")
lws = ev.geometry(pipe)["lws"]
for strategy in strategies:
    order = {}
    for s in planning.plan(strategy, n, lws, (16, 16), 2).sections:
        for p in range(*s.window):
            order[p] = s.order
    num = np.zeros(1 + n * lws); den = np.zeros_like(num); err = [[] for _ in num]
    for seed in seeds:
        video = ev.generate(pipe, seed, n, strategy, noise_seed=noise_seed).video
        clip = ev._truth(seed, video.shape[0], None)
        areas = ev._areas(clip)
        _, gc = ev.sprite_tracks(video, clip.colours, areas)
        _, rc = ev.sprite_tracks(clip.frames, clip.colours, areas)
        dg, dr = gc - gc[:1], rc - rc[:1]
        ok = np.isfinite(dg).all(-1) & np.isfinite(dr).all(-1)
        for t in range(len(num)):
            m = ok[t]
            num[t] += (dg[t][m] * dr[t][m]).sum()
            den[t] += (dr[t][m] ** 2).sum()
            err[t] += list(np.linalg.norm(gc[t][m] - rc[t][m], axis=-1))
    print(f"{strategy}, {n} sections, {len(seeds)} seeds, noise seed {noise_seed}: frame | generation order | share of the world's "
          f"displacement from the start | median position error px | world's median displacement px")
    for t in range(1, len(num)):
        print(f"  {t:2d} | {order.get(t, '-')} | {num[t] / max(den[t], 1e-9):+.2f} | {np.median(err[t]):.1f} |"
              f" {np.sqrt(den[t] / max(len(err[t]), 1)):.1f}")
