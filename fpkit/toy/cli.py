"""`fpkit toy ...`: train a toy organism, list the shipped ones.

    fpkit toy train --variant f1 --minutes 45 --seed 0 [--out DIR]
    fpkit toy list
"""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .train import main as train_main

        return train_main(rest)
    if command == "list":
        from .organism import available, read_meta
        from .train import VARIANTS

        shipped = available()
        for name, variant in VARIANTS.items():
            meta = read_meta(name) if name in shipped else {}
            status = (f"shipped: {meta.get('steps')} steps, {meta.get('wall_time_s')} s, "
                      f"loss {meta.get('final_loss', float('nan')):.4f}") if meta else "not shipped"
            print(f"{name:10s} {variant.strategy:24s} {status}\n{'':10s} {variant.description}")
        return 0
    print(f"unknown toy command {command!r}; known: train, list", file=sys.stderr)
    return 2
