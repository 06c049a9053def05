"""Keep the rows of an `fpkit toy eval` table that do not belong to some variant/strategy pairs, so that only those
pairs need sampling after their organism changed (`EVAL_ONLY` in experiments/regenerate_toy_results.sh):

    python experiments/keep_eval_rows.py results/toy_eval/table.parquet OUT.parquet inverted/inverted_anti_drifting ...

Then `fpkit toy eval --reuse OUT.parquet NEW_TABLES...` merges the kept rows with the new ones (it refuses tables that
overlap, were sampled on other seeds or noise rules, or name weights that are not the shipped ones). Refuses a pair
the table does not hold, and writes nothing then.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", help="an `fpkit toy eval` table.parquet (the committed results/toy_eval one)")
    parser.add_argument("out", help="where to write the kept rows (a .parquet file; its folder is created)")
    parser.add_argument("pairs", nargs="+", metavar="VARIANT/STRATEGY", help="the pairs to leave out (to re-sample)")
    args = parser.parse_args(argv)
    bad = [p for p in args.pairs if p.count("/") != 1 or not all(p.split("/"))]
    if bad:
        print(f"error: expected VARIANT/STRATEGY, got {bad}", file=sys.stderr)
        return 2
    try:
        table = pd.read_parquet(args.table)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.table}: {exc}", file=sys.stderr)
        return 2
    if not {"variant", "strategy"} <= set(table.columns):
        print(f"error: {args.table} is not an `fpkit toy eval` table (no variant/strategy columns)", file=sys.stderr)
        return 2
    held = set(zip(table.variant, table.strategy))
    drop = {tuple(p.split("/")) for p in args.pairs}
    missing = sorted("/".join(p) for p in drop - held)
    if missing:
        print(f"error: {args.table} holds no rows of {missing}; it holds {sorted('/'.join(p) for p in held)}",
              file=sys.stderr)
        return 2
    kept = table[[pair not in drop for pair in zip(table.variant, table.strategy)]]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    kept.to_parquet(args.out)
    print(f"kept {len(kept)} of {len(table)} rows ({sorted('/'.join(p) for p in held - drop)}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
