"""`fpkit demo`: every sampling strategy on the toy organism at the training clip length and 4x it,
with metrics, plots, mp4s and a short report; the tiny random pipeline when no organism is shipped."""

from __future__ import annotations

import time
from pathlib import Path

def demo_experiment(model: str, steps: int, seed: int, quick: bool = False) -> dict:
    """The demo as an experiment (the same runner, store and report as `fpkit run`)."""
    from .experiment import model_defaults

    if model == "toy":
        d = model_defaults("toy:f1")
        images = {"w0": "toy:1000000000", "w1": "toy:1000000001"}  # held-out world clips
        sections = [3, 12]  # the training clips hold 3 sections; 12 = 4x
        model_cfg = {"name": "toy:inverted", "by_sampling_type": {"vanilla": "toy:f1"}}
        prompt = d["prompt"]
    else:
        d = model_defaults("tiny")
        images = {"discs": "builtin:discs"}
        sections = [2, 6]
        model_cfg = {"name": "tiny", "seed": seed}
        prompt = d["prompt"]
    if quick:
        images = dict(list(images.items())[:1])
        sections = sections[:1] + [sections[0] + 1]
    return {
        "name": "demo",
        "description": f"every sampling strategy on the {'toy organism' if model == 'toy' else 'tiny random pipeline'}"
                       f", {sections[0]} and {sections[1]} sections",
        "model": model_cfg,
        "inputs": {"images": images, "prompts": {"world": prompt}},
        "fixed": {"height": d["height"], "width": d["width"], "latent_window_size": d["latent_window_size"],
                  "num_inference_steps": steps or d["num_inference_steps"], "guidance_scale": d["guidance_scale"]},
        "grid": {"sampling_type": ["vanilla", "inverted_anti_drifting", "anti_drifting"],
                 "num_sections": sections, "seed": [seed]},
        "record": {"level": "sections"},
    }


def _toy_world_lines(table) -> list[str]:
    from fpkit.toy import TARGETS
    from fpkit.toy.evaluate import DRIFT_MEASURES

    cols = ["sampling_type", "num_sections", "image", "looks_like_world", *[f"world_{k}" for k in TARGETS]]
    short = table[table.num_sections == table.num_sections.min()][cols].sort_values(cols[:3])
    drift = table.groupby(["sampling_type", "num_sections"])[[f"world_{m}" for m in DRIFT_MEASURES]].mean()
    return ["", "## Does it look like the world? (toy organism, training clip length)", "",
            f"Generated vs the world's real continuation; targets {TARGETS}.", "",
            short.round(3).to_markdown(index=False), "",
            "## Toy drift per strategy and length (means over the demo's inputs)", "",
            f"Only {table.image.nunique()} start images and one noise seed: for intervals over 16 seeds see "
            "`fpkit toy eval` (docs/toy.md).", "", drift.round(4).to_markdown(), ""]


def run_demo(out, model: str = "auto", steps: int | None = None, seed: int = 0, quick: bool = False) -> Path:
    from .atomic import atomic_write
    from .experiment import parse_experiment, run_experiment
    from .report import write_report

    out = Path(out)
    if model == "auto":
        try:
            from fpkit.toy import available

            model = "toy" if {"f1", "inverted"} <= set(available()) else "tiny"
        except ImportError:
            model = "tiny"
    t0 = time.perf_counter()
    exp = parse_experiment(demo_experiment(model, steps, seed, quick))
    table = run_experiment(exp, out_dir=out)  # toy runs carry their world columns (models.Toy)
    report = write_report(out)
    extra = _toy_world_lines(table) if model == "toy" else []
    summary = table.groupby(["sampling_type", "num_sections"])[
        [c for c in ("laplacian_var_drift", "color_shift_drift", "flicker_mean") if c in table]].mean()
    text = report.read_text() + "\n".join(["", "## Drift per strategy and length (means over inputs)", "",
                                          summary.round(4).to_markdown(), *extra])
    atomic_write(report, text)
    print(summary.round(4).to_string())
    print(f"demo ({model}): {len(table)} runs in {time.perf_counter() - t0:.0f} s -> {out}/report.md, "
          f"{out}/plots/, {out}/runs/<run_id>/video.mp4")
    return report
