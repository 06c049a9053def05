"""Teacher-forced vanilla section: true history (frames 0..4k) -> generate the next window; projected
net motion of the sprites over that window vs the real clip (1 = right motion, 0 = static)."""
import sys, math, numpy as np, torch
from fpkit import planning
from fpkit.toy.organism import load_organism, PROMPT_BANK
from fpkit.toy import evaluate as ev
from fpkit.toy.train import Conditioning, section_batch
from fpkit.toy.world import EVAL_SEED_OFFSET, render_clips
from fpkit.schedule import dynamic_mu, shift_sigmas
torch.set_num_threads(1)
variant, weights, order = sys.argv[1], (sys.argv[2] if sys.argv[2] != "-" else None), int(sys.argv[3])
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 12
pipe = load_organism(variant, weights=weights)
tr = pipe.transformer
g = ev.geometry(pipe); lws = g["lws"]
hist = planning.HistorySpec(**pipe.fpkit_toy["variant"]["history"])
cond = Conditioning(pipe, prompts=PROMPT_BANK[:1])
n = order + 1
plan = planning.plan("vanilla", n, lws, (16, 16), tr.config.patch_size, hist, False)
shift = math.exp(dynamic_mu(lws * 16 * 16 / 4, pipe.scheduler.config))
sig = torch.from_numpy(shift_sigmas(np.linspace(1, 0, steps + 1)[:-1], shift)).float().tolist() + [0.0]
res = []
for i in range(8):
    seed = EVAL_SEED_OFFSET + i
    videos = render_clips([seed], plan.num_latents, g["spec"])
    lat = pipe.vae.encode(videos).latent_dist.mode()
    b = section_batch(plan, order, lat)
    a, e = b["section"].window
    x = torch.randn(b["x0"].shape, generator=torch.Generator().manual_seed(i))
    emb = cond.image(videos[:, :, 0])
    with torch.no_grad():
        for s, s2 in zip(sig[:-1], sig[1:]):
            v = tr(hidden_states=x, timestep=torch.tensor([s * 1000.0]), image_embeds=emb, guidance=None,
                   return_dict=False, **cond.text(torch.tensor([0])), **b["context"])[0]
            x = x + (s2 - s) * v
        full = lat.clone(); full[:, :, a:e] = x
        frames = (pipe.vae.decode(full, return_dict=False)[0][0].permute(1, 0, 2, 3) + 1) / 2
    clip = ev._truth(seed, frames.shape[0], g["spec"]); areas = ev._areas(clip)
    _, gc = ev.sprite_tracks(frames.clamp(0, 1), clip.colours, areas)
    _, rc = ev.sprite_tracks(clip.frames, clip.colours, areas)
    dr = rc[e - 1] - rc[a - 1]; dg = gc[e - 1] - gc[a - 1]
    m = np.isfinite(dg).all(-1) & np.isfinite(dr).all(-1)
    res.append(((dg * dr).sum(-1)[m].sum(), (dr * dr).sum(-1)[m].sum()))
r = np.array(res); print(variant, weights, "order", order, "window", (a, e), "pooled projected motion", round(r[:, 0].sum() / r[:, 1].sum(), 2), "per seed", np.round(r[:, 0] / np.maximum(r[:, 1], 1e-6), 2))
