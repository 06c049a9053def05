import sys, numpy as np, torch
from fpkit.toy.organism import load_organism
from fpkit.toy import evaluate as ev
from fpkit.toy.world import EVAL_SEED_OFFSET
torch.set_num_threads(1)
pipe = load_organism(sys.argv[1]); n = int(sys.argv[2])
rows = []
for i in range(n):
    seed = EVAL_SEED_OFFSET + i
    video = ev.generate(pipe, seed, 3, noise_seed=0).video  # draw 0, as when run (stop 27)
    clip = ev._truth(seed, video.shape[0], None); areas = ev._areas(clip)
    _, gc = ev.sprite_tracks(video, clip.colours, areas); _, rc = ev.sprite_tracks(clip.frames, clip.colours, areas)
    v = np.linalg.norm(np.diff(clip.positions.numpy(), axis=0), axis=-1).mean(0)
    for k in range(len(v)):
        f = ev.motion_follow(gc[:, k:k+1], rc[:, k:k+1])
        rows.append((v[k], float(clip.radii[k]), f))
r = np.array(rows); o = np.argsort(r[:, 0])
for a in np.array_split(o, 3):
    print("speed %.2f-%.2f px/frame: follow median %.2f (n=%d)" % (r[a, 0].min(), r[a, 0].max(), np.nanmedian(r[a, 2]), len(a)))
print("corr(speed, follow) =", np.round(np.corrcoef(r[np.isfinite(r[:,2]), 0], r[np.isfinite(r[:,2]), 2])[0, 1], 2))
