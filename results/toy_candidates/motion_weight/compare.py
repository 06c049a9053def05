"""Stop 41: does the motion-weighted loss (`--motion-weight W`: weight 1 + W x the latent's frame-to-frame change,
mean weight 1) bring the shipped f1's sprite speed (0.64) to the 0.67 target on the v4 organism, and at what cost
in looks? On v3 at 4k -> 8k (a high learning rate) W = 3 bought f1 +0.096 of speed for +0.026 of colour and +0.51
of sharpness, W = 10 +0.14 for more texture (docs/toy.md, "What we tried"); v4 f1 has headroom on both. Three arms
fine-tune the shipped f1 (16k) for 2,000 steps of its own schedule (16k -> 18k, the same clips, plans and noise;
`--init`, since a warm restart refuses a changed recipe), W = 0 (the control: what the steps alone buy), 3 and 10:

    for W in 0 3 10; do fpkit toy train --variant f1 --steps 20000 --seed 0 --threads 1 --codec-patch 4 \
        --codec-whitening 0 --heading-prompt 0.8 --motion-weight $W --init fpkit/toy/checkpoints/f1 \
        --stop-at 18000 --no-progress --out runs/f1-mw$W & done; wait
    for W in 0 3 10; do mkdir -p runs/root-mw$W && ln -sfn ../f1-mw$W runs/root-mw$W/f1; done
    fpkit toy eval --root runs/root-mw0 --only f1/vanilla --out runs/eval-mw0    # two or three side by side
    fpkit toy eval --root runs/root-mw3 --only f1/vanilla --out runs/eval-mw3
    fpkit toy eval --root runs/root-mw10 --only f1/vanilla --out runs/eval-mw10
    python results/toy_candidates/motion_weight/compare.py runs/eval-mw0 runs/eval-mw3 runs/eval-mw10

Pairs the arms' `fpkit toy eval` rows with each other and with the shipped f1's in `results/toy_eval` (same 16
unseen seeds, one noise draw per clip), at the training length (3 sections) and at 8x, plus vanilla's drift at 8x
over 1x per arm (goal 2: the organism must still drift); writes `compare.md` and the arms' rows
(`table_mwW.parquet`) beside this script.

`fpkit/toy/checkpoints/V` in these commands is the v4 set shipped then (16k; since stop 42 the folder holds
v5: `git show 5c57729:fpkit/toy/checkpoints/V/transformer.safetensors` has v4's weights), and the shipped
rows are `results/toy_eval` at that time (`arms.shipped_table(V4)`)."""
import sys
from pathlib import Path

from fpkit.toy.evaluate import drift_table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from arms import V4, candidate_rows, eval_report, shipped_table  # noqa: E402  (results/toy_candidates/arms.py)

shipped = shipped_table(V4)  # the v4 set, shipped when this ran
tables = {"shipped 16k": shipped[(shipped.variant == "f1") & (shipped.strategy == "vanilla")]}
for folder in map(Path, sys.argv[1:]):
    w = folder.name.removeprefix("eval-mw")
    tables[f"W={w}"] = candidate_rows(folder, "f1", shipped, HERE / f"table_mw{w}.parquet", strategy="vanilla")

arms = [a for a in tables if a != "shipped 16k"]
pairs = [(a, "W=0") for a in arms if a != "W=0"] + [("W=0", "shipped 16k")]
text = eval_report(tables, tuple(pairs), "# f1 fine-tuned 16k -> 18k with the motion-weighted loss (W = 0, 3, 10) "
                   "vs the shipped f1 (16k)")
lines = ["", "## Drift of vanilla at 8x over 1x (mean, paired over seeds) [95%]", "",
         "| arm | measure | 1x | 8x | 8x - 1x |", "| --- | --- | --- | --- | --- |"]
for arm, table in tables.items():
    d = drift_table(table)
    for measure, part in d.groupby("measure", sort=False):
        one, eight = part[part.multiple == 1].iloc[0], part[part.multiple == 8].iloc[0]
        lines.append(f"| {arm} | {measure} | {one['mean']:.3g} | {eight['mean']:.3g} | "
                     f"{eight.minus_1x:+.3g} [{eight.minus_1x_low:+.3g}, {eight.minus_1x_high:+.3g}] |")
text += "\n".join(lines) + "\n"
(HERE / "compare.md").write_text(text)
print(text)
