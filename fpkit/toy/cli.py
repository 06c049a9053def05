"""`fpkit toy ...`: train a toy organism, evaluate the shipped ones, list them.

    fpkit toy train --variant f1 --steps 14000 --seed 0 [--out DIR] [--resume DIR]
    fpkit toy eval [--seeds 16] [--multiples 1 4 8] [--out results/toy_eval] [--only f1/vanilla ...] [--noise per-seed]
    fpkit toy eval --reuse A/table.parquet B/table.parquet --out results/toy_eval   # merge split runs
    fpkit toy curve RUN_DIR [RUN_DIR ...] --out DIR [--baseline RUN] [--noise per-seed]  # likeness vs steps
    fpkit toy list
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _fail(message: str) -> int:
    print(f"fpkit toy: {message}", file=sys.stderr)
    return 2


def _markdown(table, floatfmt=".4g") -> str:
    return table.to_markdown(index=False, floatfmt=floatfmt)


# Sampling settings an eval table records; `--reuse` takes them from the tables, sampling uses these defaults.
EVAL_DEFAULTS = {"steps": 12, "prompt": "auto"}


def eval_main(argv) -> int:
    """Likeness, drift-versus-length and the ablation table with 95% intervals; writes OUT/report.md."""
    from .evaluate import NOISE, PROMPTS  # importing fpkit.toy.cli has loaded the package (and evaluate) already

    parser = argparse.ArgumentParser(prog="fpkit toy eval", description=eval_main.__doc__)
    parser.add_argument("--seeds", type=int, default=16, help="unseen start images (paired over strategies)")
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 4, 8],
                        help="lengths in multiples of the f1 training clip (3 sections)")
    parser.add_argument("--steps", type=int, default=None,
                        help="sampling steps (default 12; with --reuse: the tables' own, a different --steps is refused)")
    parser.add_argument("--out", default="results/toy_eval")
    parser.add_argument("--root", default=None, metavar="DIR",
                        help="evaluate the checkpoint folders in DIR (named by variant) instead of the shipped ones")
    parser.add_argument("--only", nargs="+", default=None, metavar="VARIANT/STRATEGY",
                        help="evaluate only these (variant, strategy) pairs, e.g. f1/vanilla inverted/anti_drifting "
                             "(split the evaluation over processes, then merge the tables with --reuse)")
    parser.add_argument("--reuse", nargs="*", default=None, metavar="TABLE",
                        help="summarise without sampling: OUT/table.parquet, or these tables (e.g. from --only "
                             "runs in parallel) concatenated into OUT/table.parquet")
    parser.add_argument("--prompt", default=None, choices=PROMPTS,
                        help="auto (default): organisms trained with --heading-prompt sample with their start image's "
                             "heading prompt, others with the generic one; generic: the generic prompt for all (the "
                             "control); reversed: every heading turned round (an organism that reads the words moves "
                             "against the world). With --reuse: the tables' own rule (a different --prompt is refused)")
    parser.add_argument("--noise", default=None, choices=NOISE,
                        help="per-seed (default): clip s samples noise seed s (each clip its own draw, shared by every "
                             "organism and strategy on it); shared: noise seed 0 for every clip (the tables up to stop "
                             "29). With --reuse: the tables' own rule (a different --noise is refused)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        return _fail(f"--seeds must be >= 2 (intervals need a spread over seeds), got {args.seeds}")
    if any(m < 1 for m in args.multiples) or 1 not in args.multiples:
        return _fail(f"--multiples must be >= 1 and include 1 (drift is compared with 1x), got {args.multiples}")
    if args.steps is not None and args.steps < 1:
        return _fail(f"--steps must be >= 1, got {args.steps}")
    from . import evaluate as ev
    from .organism import available
    from .world import EVAL_SEED_OFFSET

    if args.root is not None and not Path(args.root).is_dir():
        return _fail(f"--root {args.root!r} is not a folder")
    shipped = available(args.root)
    if not shipped:
        return _fail(f"no toy checkpoint folders in {args.root or 'fpkit/toy/checkpoints'}")
    organisms = None
    if args.only is not None:
        from ..planning import STRATEGIES

        organisms = []
        for item in args.only:
            variant, _, strategy = item.partition("/")
            if variant not in shipped or strategy not in STRATEGIES:
                return _fail(f"--only {item!r}: give VARIANT/STRATEGY with a variant in {shipped} and a strategy "
                             f"in {sorted(STRATEGIES)}")
            organisms.append((variant, strategy))
    reuse = [Path(t) for t in args.reuse] if args.reuse else None
    unreadable = [str(t) for t in reuse or () if not t.is_file()]
    if unreadable:
        return _fail(f"--reuse: no such table {unreadable}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "fpkit toy eval " + " ".join(shlex.quote(a) for a in argv)
    seeds = range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + args.seeds)
    if args.reuse is not None:
        import pandas as pd

        if not reuse and not (out / "table.parquet").is_file():
            return _fail(f"--reuse: no {out / 'table.parquet'} to summarise")
        try:
            parts = [pd.read_parquet(t) for t in reuse or [out / "table.parquet"]]
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
            return _fail(f"--reuse: cannot read a table: {exc}")
        key = ["variant", "strategy", "seed", "multiple", "measure"]
        bad = [str(t) for t, p in zip(reuse or [], parts) if not set(key) <= set(p.columns)]
        if bad:
            return _fail(f"--reuse: not `fpkit toy eval` tables (no {key} columns): {bad}")
        # tables written before the noise rule existed sampled every clip with noise seed 0
        parts = [p if "noise_seed" in p.columns else p.assign(noise_seed=0) for p in parts]
        rules = [_noise_rule(p) for p in parts]
        if "mixed" in rules:
            return _fail(f"--reuse: a table's noise seeds are neither its clip seeds nor all 0 (rules {rules}): "
                         f"not made by `fpkit toy eval`")
        if len(set(rules)) > 1:
            return _fail(f"--reuse: the tables were sampled with different noise rules {rules}; "
                         f"pair only tables of one rule (re-sample with --noise)")
        if args.noise is not None and args.noise != rules[0]:
            return _fail(f"--noise {args.noise}: the tables were sampled with --noise {rules[0]}")
        seed_sets = sorted({tuple(sorted(set(p.seed))) for p in parts})
        if len(seed_sets) > 1:
            return _fail(f"--reuse: the tables were sampled on different seeds {[list(s) for s in seed_sets]}: "
                         f"their strategies would not be paired")
        args.noise = rules[0]
        for column, default in EVAL_DEFAULTS.items():
            # tables written before stop 31 do not record these: the command line's (or the default) is used
            flag = f"--{column}"
            found = sorted({str(v) for p in parts if column in p.columns for v in p[column].unique()})
            if len(found) > 1:
                return _fail(f"--reuse: the tables were sampled with different {flag} {found}; pair only tables "
                             f"sampled alike")
            given = getattr(args, column)
            if found and given is not None and str(given) != found[0]:
                return _fail(f"{flag} {given}: the tables were sampled with {flag} {found[0]}")
            setattr(args, column, type(default)(found[0]) if found else given if given is not None else default)
        table = pd.concat(parts, ignore_index=True)
        twice = table.duplicated(key)
        if twice.any():
            dup = table[twice][["variant", "strategy"]].drop_duplicates().to_records(index=False).tolist()
            return _fail(f"--reuse: the tables overlap (same variant, strategy, seed, length) for {dup}")
        if organisms is not None:
            table = table[[(v, st) in organisms for v, st in zip(table.variant, table.strategy)]]
        if "weights" in table.columns:  # the contact sheets sample --root's organisms: they must be the tables'
            from .organism import _folder, weights_digest

            sampled = table.dropna(subset=["weights"]).groupby("variant").weights.unique()
            for variant, digests in sampled.items():
                if len(digests) > 1:
                    return _fail(f"--reuse: the tables sampled {variant} with different weights {sorted(digests)}")
                here = (_folder(variant if args.root is None else Path(args.root) / variant)
                        if variant in shipped else None)
                have = weights_digest(here / "transformer.safetensors") if here is not None else "none"
                if have != digests[0]:
                    return _fail(f"--reuse: the tables sampled {variant} with weights {digests[0]}, but "
                                 f"{args.root or 'fpkit/toy/checkpoints'} holds {have}: give the --root they "
                                 f"were sampled from (the contact sheets sample it)")
        if reuse:
            table.to_parquet(out / "table.parquet")
    else:
        args.noise = args.noise or "per-seed"
        for column, default in EVAL_DEFAULTS.items():
            setattr(args, column, getattr(args, column) or default)
        table = ev.evaluate_organisms(organisms, seeds=seeds, multiples=tuple(args.multiples),
                                      num_inference_steps=args.steps, progress=not args.no_progress, root=args.root,
                                      prompt=args.prompt, noise=args.noise)
        table.to_parquet(out / "table.parquet")
    top = int(table.multiple.max())
    used = sorted(int(x) for x in table.seed.unique())
    sections = {
        "likeness": ev.likeness_table(table),
        "drift": ev.drift_table(table),
        "ablation": ev.ablation_table(table, multiple=top),
        "pattern": ev.paper_pattern(table, multiple=top),
    }
    titles = {
        "likeness": "Likeness at each variant's training length (median over seeds, 95% bootstrap interval)",
        "drift": "Vanilla drift on f1 versus length (mean over seeds; paired difference to 1x)",
        "ablation": f"Ablation at {top}x the f1 training length (mean drift; paired difference to vanilla on f1)",
        "pattern": "The paper's Table 1 pattern, judged on paired intervals",
    }
    lines = ["# Toy organism evaluation", "", f"Command: `{command}`", "",
             f"{len(used)} unseen start images (seeds {used[0]}..{used[-1]}), {_NOISE_TEXT[args.noise]}, "
             f"{args.steps} sampling steps. Drift: start vs end windows (15% of frames 1..T-1).", ""]
    for key, frame in sections.items():
        frame.to_csv(out / f"{key}.csv", index=False)
        text = _markdown(frame)
        lines += [f"## {titles[key]}", "", text, ""]
        print(f"\n{titles[key]}\n{text}")
    lines += _contact_sheets(out, used[0], sorted({(v, st) for v, st in zip(table.variant, table.strategy)},
                                                     key=_order), sorted(set(table.multiple) - {0}), args.steps,
                             args.root, args.noise, args.prompt)
    (out / "report.md").write_text("\n".join(lines))
    print(f"\n-> {out}/report.md, {out}/table.parquet")
    return 0


_NOISE_TEXT = {"per-seed": "one noise draw per start image (noise seed = clip seed) shared by every organism and "
                            "strategy on it",
               "shared": "one noise draw (noise seed 0) shared by every start image, organism and strategy"}


def _noise_rule(table) -> str:
    """"per-seed" or "shared" from an eval table's noise_seed column ("mixed" if neither)."""
    if (table.noise_seed == table.seed).all():
        return "per-seed"
    return "shared" if (table.noise_seed == 0).all() else "mixed"


def _order(pair) -> tuple:
    """Sort key: the ablation's order, then any other (variant, strategy) pair by name."""
    from .evaluate import ABLATION

    return (list(ABLATION).index(pair), "") if pair in ABLATION else (len(ABLATION), "/".join(pair))


def _contact_sheets(out: Path, seed: int, organisms, multiples, steps: int, root=None,
                    noise: str = "per-seed", prompt: str = "auto") -> list[str]:
    """Real clip beside every (variant, strategy) from one start image at 1x and the longest length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import contact_sheet
    from . import evaluate as ev
    from .organism import load_organism
    from .world import real_video

    pipes = {v: load_organism(v if root is None else Path(root) / v) for v in {v for v, _ in organisms}}
    lines = ["## Contact sheets (one unseen start image; rows share frame indices)", ""]
    for m in sorted({1, max(multiples)}):
        videos = {}
        for variant, strategy in organisms:
            videos[f"{variant} {strategy}"] = ev.generate(pipes[variant], seed, 3 * m, strategy, steps,
                                                          noise_seed=ev.noise_seed_for(seed, noise),
                                                          prompt=prompt).video
        frames = next(iter(videos.values())).shape[0]
        spec = ev.geometry(next(iter(pipes.values())))["spec"]
        videos = {"real": real_video(seed, frames, spec), **videos}
        picks = [int(round(i * (frames - 1) / 11)) for i in range(12)]
        fig = contact_sheet(videos, frames=picks, title=f"seed {seed}, {3 * m} sections ({frames} frames, {m}x)")
        fig.savefig(out / f"contact_{m}x.png", dpi=100)
        plt.close(fig)
        lines += [f"![{m}x](contact_{m}x.png)", ""]
    return lines


def curve_main(argv) -> int:
    """Loss and likeness versus training steps for training run folders (with --snapshot-every)."""
    from .evaluate import NOISE

    parser = argparse.ArgumentParser(prog="fpkit toy curve", description=curve_main.__doc__)
    parser.add_argument("runs", nargs="+", help="training run folders (fpkit toy train --out DIR)")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--out", default="results/toy_training")
    parser.add_argument("--baseline", default=None, metavar="RUN",
                        help="compare every other run with this one (a folder name among RUN_DIRs) at the steps "
                             "they share: paired median differences over seeds with 95%% intervals (OUT/paired.csv)")
    parser.add_argument("--noise", default="per-seed", choices=NOISE,
                        help="per-seed: clip s samples noise seed s; shared: noise seed 0 for every clip (the curves "
                             "up to stop 29)")
    args = parser.parse_args(argv)
    bad = [r for r in args.runs if not (Path(r) / "meta.json").is_file()]
    if bad:
        return _fail(f"not training run folders (no meta.json): {bad}")
    if args.seeds < 1:
        return _fail(f"--seeds must be >= 1, got {args.seeds}")
    labels = [Path(r).resolve().name for r in args.runs]
    if len(set(labels)) < len(labels):
        return _fail(f"run folders need distinct names (they label the curves), got {labels}")
    if args.baseline is not None and args.baseline not in labels:
        return _fail(f"--baseline {args.baseline!r} is not one of the runs {labels}")
    import json

    import pandas as pd

    from . import evaluate as ev
    from .world import EVAL_SEED_OFFSET
    from ..plots import training_curves

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + args.seeds)
    tables, losses = [], {}
    # one curve per run: labelled by variant when every run is another variant, else by folder name
    metas = [json.loads((Path(r) / "meta.json").read_text()) for r in args.runs]
    variants = [m["variant"] for m in metas]
    names = variants if len(set(variants)) == len(variants) and args.baseline is None else labels
    for run, meta, name, label in zip(args.runs, metas, names, labels):
        losses[name] = meta["loss_curve"]
        tables.append(ev.likeness_vs_steps(run, seeds, noise=args.noise).assign(variant=name, run=label))
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(out / "likeness_vs_steps.csv", index=False)
    import matplotlib.pyplot as plt

    fig = training_curves(losses, table)
    fig.savefig(out / "training_curves.png", dpi=110)
    plt.close(fig)  # a command, not a notebook: leave no figure registered with pyplot
    summary = table.groupby(["variant", "step", "measure"])["value"].median().unstack("measure")
    print(f"{args.seeds} unseen start images, noise: {_NOISE_TEXT[args.noise]}")
    print(summary.round(3).to_string())
    written = [out / "training_curves.png", out / "likeness_vs_steps.csv"]
    if args.baseline is not None:
        paired = ev.recipes_at_equal_steps(table, args.baseline)
        paired.to_csv(out / "paired.csv", index=False)
        print(f"\nversus {args.baseline} at equal steps (median over seeds; paired median difference [95%]):")
        print(_markdown(paired))
        written.append(out / "paired.csv")
    print("-> " + ", ".join(map(str, written)))
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .train import main as train_main

        return train_main(rest)
    if command == "eval":
        return eval_main(rest)
    if command == "curve":
        return curve_main(rest)
    if command == "list":
        from .organism import available, read_meta
        from .train import VARIANTS

        shipped = available()
        for name, variant in VARIANTS.items():
            meta = read_meta(name) if name in shipped else {}
            status = (f"shipped: {meta.get('steps')} steps, {meta.get('wall_time_s')} s, "
                      f"loss {meta.get('final_loss') or float('nan'):.4f}") if meta else "not shipped"
            print(f"{name:10s} {variant.strategy:24s} {status}\n{'':10s} {variant.description}")
        return 0
    return _fail(f"unknown toy command {command!r}; known: train, eval, curve, list")
