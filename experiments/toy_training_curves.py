"""Redraw the shipped organisms' training curves (results/toy_training, docs/img/toy_training_curves.png)
after some variants were retrained, without re-sampling the others.

    python experiments/toy_training_curves.py NEW_TABLE [NEW_TABLE ...] [--out results/toy_training]

Each NEW_TABLE is a `likeness_vs_steps.csv` written by `fpkit toy curve` for the retrained variants'
runs; its variants' rows replace theirs in OUT/likeness_vs_steps.csv, the other variants' rows stay
(their EMA snapshots need not exist any more). Loss curves come from the shipped folders' meta.json
(fpkit/toy/checkpoints/V), which carry every leg of their chains. Refuses a table whose last step is
not the shipped organism's step count, and tables sampled with different seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+", help="likeness_vs_steps.csv of `fpkit toy curve` for retrained variants")
    parser.add_argument("--out", default="results/toy_training")
    args = parser.parse_args(argv)
    out = Path(args.out)
    missing = [t for t in [*args.tables, out / "likeness_vs_steps.csv"] if not Path(t).is_file()]
    if missing:
        print(f"error: no such table: {missing}", file=sys.stderr)
        return 2
    from fpkit.toy import organism

    kept = pd.read_csv(out / "likeness_vs_steps.csv")
    new = pd.concat([pd.read_csv(t) for t in args.tables], ignore_index=True)
    shipped = organism.available()
    steps = {v: organism.read_meta(v)["steps"] for v in shipped}
    problems = [f"{v}: not a shipped variant" for v in sorted(set(new.variant)) if v not in steps]
    problems += [f"{v}: last step {int(g.step.max())}, the shipped organism has {steps[v]}"
                 for v, g in new.groupby("variant") if v in steps and g.step.max() != steps[v]]
    if set(new.seed) != set(kept.seed):
        problems.append(f"seeds differ from {out / 'likeness_vs_steps.csv'}'s: {sorted(set(new.seed) ^ set(kept.seed))[:4]} ...")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    table = pd.concat([kept[~kept.variant.isin(set(new.variant))], new], ignore_index=True)
    order = [v for v in shipped if v in set(table.variant)]
    table = table.sort_values(["variant", "step", "measure", "seed"], key=lambda c: c.map(order.index) if c.name == "variant" else c,
                              kind="stable", ignore_index=True)
    losses = {v: organism.read_meta(v)["loss_curve"] for v in order}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fpkit.plots import training_curves

    table.to_csv(out / "likeness_vs_steps.csv", index=False)
    fig = training_curves(losses, table)
    fig.savefig(out / "training_curves.png", dpi=110)
    plt.close(fig)
    summary = table.groupby(["variant", "step", "measure"], sort=False)["value"].median().unstack("measure")
    print(summary.round(3).to_string())
    print(f"-> {out / 'training_curves.png'}, {out / 'likeness_vs_steps.csv'} (replaced: {sorted(set(new.variant))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
