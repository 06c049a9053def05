"""Complete a results folder sampled with `fpkit run --only` from an older results folder of the same
experiment, for the grid runs whose run ids they share.

    python experiments/merge_results.py EXPERIMENT.toml NEW_DIR OLD_DIR

A run id fingerprints everything that decides a run's result (model weights, inputs, seed, settings),
so an id present in OLD_DIR's table is the same run: after one toy organism changes, only its runs get
new ids and need sampling (`fpkit run EXP.toml --only sampling_type=...`); the other runs' rows and
per-frame metrics are taken from OLD_DIR (the committed folder, which keeps table.parquet and
frames.parquet, not runs/). Rewrites NEW_DIR's table.parquet as the whole grid's runs in grid order, its
frames.parquet with OLD_DIR's per-frame rows for the runs it took, and experiment.json with the whole
grid's run ids; then run `fpkit report NEW_DIR`. A run in both folders is taken from NEW_DIR. Refuses
when a grid run is in neither folder or when the folders hold other experiments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", help="the experiment TOML both folders were sampled from")
    parser.add_argument("new", help="results folder of `fpkit run EXP --only ...` (has runs/)")
    parser.add_argument("old", help="earlier results folder of the same experiment (table.parquet, frames.parquet)")
    args = parser.parse_args(argv)
    new, old = Path(args.new), Path(args.old)
    missing = [str(p) for p in (Path(args.experiment), new / "table.parquet", new / "experiment.json",
                                old / "experiment.json", old / "table.parquet", old / "frames.parquet")
               if not p.is_file()]
    if missing:
        print(f"error: missing {missing}", file=sys.stderr)
        return 2
    import pandas as pd

    from fpkit.atomic import atomic_write
    from fpkit.experiment import load_experiment
    from fpkit.experiment.store import RunStore

    exp = load_experiment(args.experiment)
    ids = [r.run_id for r in exp.runs()]
    store = RunStore(new)
    mine = store.done_ids(ids)
    saved = pd.read_parquet(old / "table.parquet")
    names = {json.loads((d / "experiment.json").read_text()).get("name") for d in (new, old)}
    problems = []
    if names != {exp.name}:
        problems.append(f"the folders hold experiments {sorted(map(str, names))}, the file is {exp.name!r}")
    sampled, committed = set(mine), set(saved.run_id)
    taken = [i for i in ids if i not in sampled and i in committed]
    lacking = [i for i in ids if i not in sampled and i not in committed]
    if lacking:
        problems.append(f"{len(lacking)} grid runs are in neither folder (e.g. {lacking[:3]}): sample them first")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    parts = [store.table(mine)] if mine else []  # an empty frame would turn integer columns into floats
    rows = pd.concat([*parts, saved[saved.run_id.isin(taken)]], ignore_index=True)
    table = rows.set_index("run_id").loc[ids].reset_index()[saved.columns]
    frames = pd.read_parquet(old / "frames.parquet")
    experiment = {**json.loads((new / "experiment.json").read_text()), "run_ids": ids}
    with store.locked():
        atomic_write(store.table_path, lambda p: table.to_parquet(p, index=False))
        atomic_write(store.frames_path, lambda p: frames[frames.run_id.isin(taken)].to_parquet(p, index=False))
        atomic_write(store.experiment_path, json.dumps(experiment, indent=1, default=str))
    print(f"{new}: {len(ids)} grid runs, {len(mine)} sampled there, {len(taken)} taken from {old}; "
          f"next: fpkit report {new}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
