"""Writes the four notebooks (without outputs) from the cell sources below: edit here, then run
`python notebooks/build_notebooks.py`. Keeping the sources in one file keeps the parameters cells and
the smoke-mode switch identical across notebooks."""

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

PARAMS_NOTE = (
    "**Parameters.** `MODEL` is the toy organism by default (runs on a 2-core CPU in minutes); on a GPU "
    "machine use a released checkpoint name (`framepack-f1` for vanilla, `framepack-i2v` for the "
    "inverted strategies). `SMOKE` (set by CI through `FPKIT_SMOKE=1`) shrinks steps and lengths."
)

NOTEBOOKS = {
    "01_quickstart.ipynb": [
        ("md", "# 01 · Quickstart\n\nSample one video with `fpkit.sample`, look at it, and open the "
               "`TraceExplorer` to see what every section of the sampler saw: the packed context "
               "(which frames, which compression, which RoPE positions, how many tokens) and the "
               "timestep schedule."),
        ("md", PARAMS_NOTE),
        ("code", 'import os\n\nMODEL = "toy:f1"  # e.g. "framepack-f1" on a GPU machine\n'
                 'SAMPLING_TYPE = "vanilla"\nNUM_SECTIONS = 12  # 4x the toy organism\'s training clips\n'
                 'SEED = 0\nSMOKE = os.environ.get("FPKIT_SMOKE") == "1"'),
        ("code", "import torch\n\nimport fpkit\nfrom fpkit.experiment import load_model, sample_kwargs\n"
                 "from fpkit.widgets import TraceExplorer\n\n"
                 "steps = {} if not SMOKE else {\"num_inference_steps\": 2}\n"
                 "num_sections = 2 if SMOKE else NUM_SECTIONS\n"
                 "pipe = load_model(MODEL)\n"
                 "kwargs = sample_kwargs(MODEL, num_sections=num_sections, sampling_type=SAMPLING_TYPE, **steps)\n"
                 "run = fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(SEED), record=\"steps\")\n"
                 "print(f\"{run.num_frames} frames from {run.trace.plan.num_sections} sections, layout {run.trace.plan.layout}\")"),
        ("code", "run.to_ipython(width=256)"),
        ("md", "The plan is pure: it can be printed (or built with `fpkit.plan(...)`) without a model."),
        ("code", "print(run.trace.plan)"),
        ("code", "run.trace.to_frame()"),
        ("code", "run.trace.to_frame(\"slots\").head(10)"),
        ("md", "## TraceExplorer\n\nMove the section slider (generation or temporal order); the diagram "
               "draws every slot's tokens to scale with its RoPE span and the canvas frames feeding it."),
        ("code", "TraceExplorer(run)"),
    ],
    "02_compare_anti_drifting.ipynb": [
        ("md", "# 02 · Vanilla vs inverted vs anti-drifting\n\nThe same start image and noise seed through "
               "the three sampling orders, each on the checkpoint trained for it: videos side by side, "
               "per-frame metric curves, and the paper's start-end contrast."),
        ("md", PARAMS_NOTE),
        ("code", 'import os\n\nMODELS = {  # the checkpoint each strategy needs\n'
                 '    "vanilla": "toy:f1",  # "framepack-f1"\n'
                 '    "inverted_anti_drifting": "toy:inverted",  # "framepack-i2v"\n'
                 '    "anti_drifting": "toy:inverted",\n}\n'
                 'NUM_SECTIONS = 12\nSEED = 0\nSMOKE = os.environ.get("FPKIT_SMOKE") == "1"'),
        ("code", "import pandas as pd\nimport torch\n\nimport fpkit\nimport fpkit.metrics as fm\n"
                 "from fpkit.experiment import load_model, sample_kwargs\nfrom fpkit.widgets import CompareRuns\n\n"
                 "steps = {} if not SMOKE else {\"num_inference_steps\": 2}\n"
                 "num_sections = 2 if SMOKE else NUM_SECTIONS\n"
                 "pipes = {name: load_model(name) for name in set(MODELS.values())}\n"
                 "runs = {}\n"
                 "for strategy, model in MODELS.items():\n"
                 "    kwargs = sample_kwargs(model, num_sections=num_sections, sampling_type=strategy, **steps)\n"
                 "    runs[strategy] = fpkit.sample(pipes[model], **kwargs, generator=torch.Generator().manual_seed(SEED))\n"
                 "    print(f\"{strategy:>24}: {runs[strategy].num_frames} frames, order {[s.index for s in runs[strategy].trace.plan.sections]}\")"),
        ("code", "from IPython.display import display\n\nfor strategy, run in runs.items():\n"
                 "    print(strategy)\n    display(run.to_ipython(width=192))"),
        ("md", "## Contact sheet\n\nThe same frame indices in every row; on the toy organism the first row is the "
               "world's own continuation of the start image, so drift reads as distance from the real clip."),
        ("code", "from fpkit.plots import contact_sheet\n\n"
                 "videos = {name: run.video for name, run in runs.items()}\n"
                 "if MODELS[\"vanilla\"].startswith(\"toy:\"):\n"
                 "    from fpkit.toy.world import EVAL_SEED_OFFSET, real_video\n\n"
                 "    # the toy models' default start image is \"toy:1000000000\" = world clip EVAL_SEED_OFFSET\n"
                 "    videos = {\"real\": real_video(EVAL_SEED_OFFSET, max(r.num_frames for r in runs.values())), **videos}\n"
                 "contact_sheet(videos, count=10);"),
        ("md", "## Side by side\n\nOne frame scrubber for all videos; metric curves underneath with a marker at the current frame."),
        ("code", "CompareRuns(list(runs.values()), labels=list(runs))"),
        ("md", "## Start-end contrast\n\n|M(first 15%) − M(last 15%)| per metric: larger means more drift."),
        ("code", "tables = pd.concat([fm.compute(run.video, run_id=name, fps=30) for name, run in runs.items()])\n"
                 "contrast = fm.start_end_contrast(tables)\n"
                 "contrast.pivot(index=\"metric\", columns=\"run_id\", values=\"contrast\").round(4)"),
        ("md", "Section-aligned curves: the same metric per section, in generation order (the inverted "
               "strategies generate the end first)."),
        ("code", "curves = pd.concat([fm.section_curves(tables[tables.run_id == name], run.trace, order=\"generation\")\n"
                 "                    for name, run in runs.items()])\n"
                 "curves[curves.metric == \"laplacian_var\"].pivot(index=\"order\", columns=\"run_id\", values=\"value\").round(2)"),
        ("md", "## Which anti-drifting method drifts least, and at what cost?\n\n`fpkit.methods` act at named "
               "sites of the section loop (context, noise, model output, step latents, the finished section) "
               "for one call. `experiments/toy_methods.toml` runs every method with vanilla sampling on the "
               "F1 organism and with inverted anti-drifting on the inverted organism, at 1x and 8x the F1 "
               "training length, over 16 world clips with shared noise; its committed results are reused "
               "when they hold exactly this grid on the shipped organisms (a fresh run takes ~36 min on 2 "
               "cores). Each row is paired with `none` on the same clip and noise; likeness columns are medians."),
        ("code", "from IPython.display import Markdown\n\nfrom fpkit.experiment import reuse_or_run\n"
                 "from fpkit.report import method_cost_table\n\n"
                 "small = {\"num_sections\": [2], \"method\": [\"none\", \"latent_stats\"], \"num_inference_steps\": 2} if SMOKE else None\n"
                 "methods_table, folder, reused = reuse_or_run(\"../experiments/toy_methods.toml\", \"../results/toy_methods\",\n"
                 "                                             \"../results/notebooks/toy_methods\", set_values=small,\n"
                 "                                             only={\"image\": \"w0\"} if SMOKE else None)\n"
                 "print(f\"{'reusing the committed' if reused else 'built'} results in {folder}: {len(methods_table)} runs\")\n"
                 "longest = methods_table[methods_table.num_sections == methods_table.num_sections.max()]\n"
                 "costs = {st: method_cost_table(g) for st, g in longest.groupby(\"sampling_type\")}\n"
                 "for st, t in costs.items():\n"
                 "    display(Markdown(f\"**{st} on {MODELS[st]}, {int(longest.num_sections.max())} sections**\"), t.round(3))"),
        ("code", "def finding(costs) -> str:\n"
                 "    lines = [f\"**Finding (colour drift at {int(longest.num_sections.max())} sections, {int(longest.image.nunique())} clips, paired with `none`):**\", \"\"]\n"
                 "    for st, t in costs.items():\n"
                 "        best = t.iloc[0]\n"
                 "        clear = [m for m, v in zip(t.method, t[\"vs none [95%]\"]) if v.endswith(\"*\") and v.startswith(\"-\")]\n"
                 "        worse = [m for m, v in zip(t.method, t[\"vs none [95%]\"]) if v.endswith(\"*\") and v.startswith(\"+\")]\n"
                 "        none = t[t.method == \"none\"].iloc[0]\n"
                 "        vis = \"world_visible (median)\"\n"
                 "        extra = f\" (sprites visible {best[vis]:.2f} vs {none[vis]:.2f} with none)\" if vis in t else \"\"\n"
                 "        lines.append(f\"- {st}: `{best.method}` drifts least ({best['mean']:.3f}{extra}); clearly below none: \"\n"
                 "                     f\"{', '.join(f'`{m}`' for m in clear) or 'none of them'}; clearly above: {', '.join(f'`{m}`' for m in worse) or 'none of them'}.\")\n"
                 "    return \"\\n\".join(lines)\n\n"
                 "Markdown(finding(costs))"),
        ("md", "Contact sheet of a few methods on one clip at the longest length (the real clip on top)."),
        ("code", "from fpkit.toy.world import EVAL_SEED_OFFSET, real_video\n\n"
                 "if MODELS[\"vanilla\"].startswith(\"toy:\"):\n"
                 "    chosen = [\"none\", costs[\"vanilla\"].method.iloc[0], \"anchor_only\"]\n"
                 "    n = 2 if SMOKE else int(longest.num_sections.max())\n"
                 "    kwargs = sample_kwargs(MODELS[\"vanilla\"], num_sections=n, sampling_type=\"vanilla\", **steps)\n"
                 "    vids = {m: fpkit.sample(pipes[MODELS[\"vanilla\"]], **kwargs, generator=torch.Generator().manual_seed(0),\n"
                 "                            methods=[] if m == \"none\" else [m.split(\"(\")[0]]).video for m in dict.fromkeys(chosen)}\n"
                 "    contact_sheet({\"real\": real_video(EVAL_SEED_OFFSET, max(v.shape[0] for v in vids.values())), **vids}, count=10);"),
        ("md", "## Where does the noisy window look? Attention to the packed context\n\n"
               "`record=\"attention\"` (or `attention=AttentionConfig(...)`) records, for a subsample of the noisy "
               "window's queries, the softmax mass going to each slot of the section's plan: the start anchor, "
               "each history slot (1x / 2x / 4x), the window itself, the SigLIP image tokens and the text, per "
               "block, head and step, without changing the video. Below: the share per slot along a long video, "
               "vanilla on F1 with and without history quantization, and inverted anti-drifting, over a few clips."),
        ("code", "from fpkit.attention import AttentionConfig\nfrom fpkit.metrics import bootstrap_ci\nfrom fpkit.plots import attention_along_video, attention_group\n\n"
                 "CLIPS = 1 if SMOKE else 4\n"
                 "arms = {\"vanilla\": (\"vanilla\", []), \"vanilla + history_quantize\": (\"vanilla\", [\"history_quantize\"]),\n"
                 "        \"inverted_anti_drifting\": (\"inverted_anti_drifting\", [])}\n"
                 "attention_runs, rows = {}, []\n"
                 "for label, (strategy, methods) in arms.items():\n"
                 "    model = MODELS[strategy]\n"
                 "    for clip in range(CLIPS):\n"
                 "        kwargs = sample_kwargs(model, num_sections=num_sections, sampling_type=strategy, **steps)\n"
                 "        if MODELS[strategy].startswith(\"toy:\"):\n"
                 "            from fpkit.toy.world import start_image\n"
                 "            kwargs[\"image\"] = start_image(EVAL_SEED_OFFSET + clip)\n"
                 "        run = fpkit.sample(pipes[model], **kwargs, generator=torch.Generator().manual_seed(clip), methods=methods,\n"
                 "                           attention=AttentionConfig(queries=32, every=3))\n"
                 "        attention_runs.setdefault(label, run)\n"
                 "        f = run.trace.to_frame(\"attention\")\n"
                 "        f[\"group\"] = [attention_group(k, c, s) for k, c, s in zip(f.kind, f.compression, f.side)]\n"
                 "        share = f.groupby([\"index\", \"step\", \"block\", \"group\"]).mass.sum().groupby([\"index\", \"group\"]).mean()\n"
                 "        rows += [dict(arm=label, clip=clip, index=i, group=g, mass=m) for (i, g), m in share.items()]\n"
                 "shares = pd.DataFrame(rows)\n"
                 "for label, run in attention_runs.items():\n"
                 "    attention_along_video(run.trace).axes[0].set_title(f\"{label}: attention per slot along the video (clip 0)\", fontsize=9)"),
        ("code", "def finding(shares) -> str:\n"
                 "    last = shares[\"index\"].max()\n"
                 "    lines = [f\"**Share of the noisy window's attention, first vs last section ({shares['clip'].nunique()} clips, mean [95% interval]):**\", \"\"]\n"
                 "    for arm, g in shares.groupby(\"arm\", sort=False):\n"
                 "        parts = []\n"
                 "        for group in (\"anchor\", \"noisy\", \"text\"):\n"
                 "            ends = [g[(g[\"index\"] == i) & (g.group == group)].mass.to_numpy() for i in (0, last)]\n"
                 "            cis = [bootstrap_ci(v, n_boot=2000) for v in ends]\n"
                 "            parts.append(f\"{group} {cis[0].estimate:.3f} -> {cis[1].estimate:.3f}\" + (\"\" if cis[0].n < 2 else f\" ([{cis[1].low:.3f}, {cis[1].high:.3f}])\"))\n"
                 "        history = g[g.group.str.startswith(\"history\")].groupby(\"index\").mass.sum()\n"
                 "        parts.append(f\"all history {history.iloc[0] / g['clip'].nunique():.3f} -> {history.iloc[-1] / g['clip'].nunique():.3f}\")\n"
                 "        lines.append(f\"- {arm}: \" + \"; \".join(parts))\n"
                 "    return \"\\n\".join(lines)\n\n"
                 "Markdown(finding(shares))"),
    ],
    "03_paper_ablations.ipynb": [
        ("md", "# 03 · Does the paper's ablation pattern hold on the toy organism?\n\n"
               "FramePack's Table 1 says: inverted anti-drifting drifts least, vanilla most, and "
               "history discretization (+D) drifts less than plain F1. This notebook judges each claim on "
               "the toy organisms with paired intervals over unseen world clips, after mapping the paper's "
               "metrics to what the toy can measure. The conclusion below is generated from the numbers."),
        ("md", "**Parameters.** `RESULTS` is the committed `fpkit toy eval` output (16 unseen clips, 1x / 4x / "
               "8x the f1 training length); it is reused when present (sampling it again takes ~17 min on 2 "
               "cores: set `RECOMPUTE = True`). `SMOKE` (CI) samples 2 clips at 2 steps instead."),
        ("code", 'import os\n\nRESULTS = "../results/toy_eval"\nRECOMPUTE = False\nMULTIPLE = 8  # length of the ablation, x the f1 training clips\n'
                 'SMOKE = os.environ.get("FPKIT_SMOKE") == "1"\nMODEL = "toy"  # the shipped organisms (fpkit.toy)'),
        ("code", "from pathlib import Path\n\nimport pandas as pd\nimport torch\nfrom IPython.display import Markdown, display\n\n"
                 "import fpkit.toy.evaluate as ev\nfrom fpkit.toy.world import EVAL_SEED_OFFSET\n\ntorch.set_num_threads(1)\n"
                 "saved = Path(RESULTS) / \"table.parquet\"\n"
                 "if saved.is_file() and not (RECOMPUTE or SMOKE):\n"
                 "    table = pd.read_parquet(saved)\n"
                 "    print(f\"reusing the committed results in {RESULTS} ({table.seed.nunique()} clips; made by `fpkit toy eval`)\")\n"
                 "else:\n"
                 "    MULTIPLE = 2 if SMOKE else MULTIPLE\n"
                 "    table = ev.evaluate_organisms(seeds=range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + (2 if SMOKE else 16)),\n"
                 "                                  multiples=(1, MULTIPLE), num_inference_steps=2 if SMOKE else 12)\n"
                 "MULTIPLE = int(table.multiple.max())\ntable.head()"),
        ("md", "## What the paper measures, and what the toy can say\n\n"
               "| paper | stands for | fpkit on the toy | can the toy say it? |\n| --- | --- | --- | --- |\n"
               "| Δdrift of clarity (MUSIQ), start vs end 15% | the picture decaying over the video | `drift_hist`: Hellinger distance between the colour histograms of the first and last 15% of frames | yes for colour decay; the toy has no perceptual quality model (MUSIQ needs weights and natural images) |\n"
               "| Δdrift of aesthetic / image quality | the same, other judges | `drift_background`: L2 change of the background colour | partly: only colour and background, not aesthetics |\n"
               "| Δdrift of motion (RAFT flow) | motion dying or exploding | `drift_visible`: share of sprites still visible (start minus end); `speed_ratio` (likeness) | yes: the world's ground truth tracks every sprite |\n"
               "| dynamic degree, human ELO | how much moves, what people prefer | not measured | no |\n\n"
               "Every toy measure compares with the world's own continuation of the start image, which no real "
               "video benchmark has; the paper's numbers are on real video and released checkpoints, so only the "
               "*pattern* (which method drifts more) is compared, never the values."),
        ("code", "ablation = ev.ablation_table(table, multiple=MULTIPLE)\n"
                 "ablation[\"arm\"] = ablation.variant + \" / \" + ablation.strategy\n"
                 "show = ablation.assign(**{\"mean [95%]\": [f\"{m:.3g} [{lo:.3g}, {hi:.3g}]\" for m, lo, hi in zip(ablation[\"mean\"], ablation.low, ablation.high)],\n"
                 "                          \"vs f1 vanilla [95%]\": [\"-\" if pd.isna(lo) else f\"{d:+.3g} [{lo:+.3g}, {hi:+.3g}]\" for d, lo, hi in zip(ablation.minus_baseline, ablation.minus_baseline_low, ablation.minus_baseline_high)]})\n"
                 "show.pivot(index=\"arm\", columns=\"measure\", values=\"mean [95%]\")"),
        ("code", "from fpkit.plots import interval_bars\n\n"
                 "interval_bars(ablation[ablation.measure == \"drift_hist\"], f\"drift_hist at {MULTIPLE}x (lower: less colour drift)\", \"arm\");"),
        ("md", "## The paper's claims, judged\n\n\"agree\" when every paired interval a claim rests on excludes 0 in the "
               "claimed direction, \"disagree\" when one excludes 0 the other way, else unclear."),
        ("code", "pattern = ev.paper_pattern(table, multiple=MULTIPLE)\n"
                 "pattern.pivot(index=\"claim\", columns=\"measure\", values=\"verdict\")"),
        ("code", "def conclusion(pattern, ablation, likeness) -> str:\n"
                 "    lines = [f\"**At {MULTIPLE}x the f1 training length, over {table.seed.nunique()} paired clips:**\", \"\"]\n"
                 "    for claim, g in pattern.groupby(\"claim\", sort=False):\n"
                 "        verdicts = dict(zip(g.measure, g.verdict))\n"
                 "        short = {m: v.split(\" \")[0] for m, v in verdicts.items()}\n"
                 "        lines.append(f\"- *{claim}*: \" + \", \".join(f\"{v} on {m}\" for m, v in short.items()))\n"
                 "    hist = ablation[ablation.measure == \"drift_hist\"].sort_values(\"mean\")\n"
                 "    lines.append(f\"- least colour drift: {hist.arm.iloc[0]} ({hist['mean'].iloc[0]:.3g}); most: {hist.arm.iloc[-1]} ({hist['mean'].iloc[-1]:.3g})\")\n"
                 "    far = likeness[(likeness.measure == \"visible_last_section\") & (likeness.strategy == \"inverted_anti_drifting\")]\n"
                 "    if len(far):\n"
                 "        v = far.estimate.iloc[0]\n"
                 "        lines.append(f\"- caveat: the inverted organism's far end (generated first) keeps its sprites in {v:.0%} of \"\n"
                 "                     \"sprite-frames at its training length\" + (\"; a low drift there partly means a stable frame without sprites\" if v < 0.5 else \"\"))\n"
                 "    return \"\\n\".join(lines)\n\n"
                 "likeness = ev.likeness_table(table)\ndisplay(Markdown(conclusion(pattern, ablation, likeness)))"),
        ("md", "## Does drift grow with length? (vanilla on f1)"),
        ("code", "ev.drift_table(table).round(4)[[\"measure\", \"multiple\", \"frames\", \"mean\", \"low\", \"high\", \"minus_1x\", \"minus_1x_low\", \"minus_1x_high\", \"above_1x\"]]"),
    ],
    "04_quality_vs_length.ipynb": [
        ("md", "# 04 · Quality versus length\n\nMetric against video length per strategy, then window size and "
               "flow shift: three sweeps on the toy organism, plotted with the same functions `fpkit report` "
               "uses, and a `SweepDashboard` to slice the tables."),
        ("md", PARAMS_NOTE + "\n\nOn a GPU machine use `experiments/length_sweep.toml`, "
               "`window_size_sweep.toml` and `flow_shift_sweep.toml`."),
        ("code", 'import os\n\nEXPERIMENTS = "../experiments"\nOUT = "../results/notebooks"\n'
                 'METRIC = "laplacian_var"\nSMOKE = os.environ.get("FPKIT_SMOKE") == "1"'),
        ("code", "import pandas as pd\n\nimport fpkit\nimport fpkit.metrics as fm\nfrom fpkit.plots import quality_vs_length, drift_bars\n"
                 "from fpkit.report import load_results\n\n"
                 "fast = {\"num_inference_steps\": 2} if SMOKE else {}\n"
                 "length = fpkit.run_experiment(f\"{EXPERIMENTS}/toy_length_sweep.toml\", out_dir=f\"{OUT}/toy_length_sweep\",\n"
                 "                              set_values={**fast, **({\"num_sections\": [1, 3]} if SMOKE else {})},\n"
                 "                              only={\"image\": \"w0\"})\n"
                 "table, per_frame, exp = load_results(f\"{OUT}/toy_length_sweep\")\n"
                 "longest = table[table.num_sections == table.num_sections.max()].run_id\n"
                 "curves = fm.windowed(per_frame[per_frame.run_id.isin(longest)], window_s=0.25, fps=30)\n"
                 "curves = curves.merge(table[[\"run_id\", \"sampling_type\"]], on=\"run_id\")\n"
                 "quality_vs_length(curves, METRIC);"),
        ("md", "Drift (start-end contrast) against the number of sections, per strategy:"),
        ("code", "length.pivot_table(index=\"num_sections\", columns=\"sampling_type\", values=f\"{METRIC}_drift\").round(3)"),
        ("code", "window = fpkit.run_experiment(f\"{EXPERIMENTS}/toy_window_sweep.toml\", out_dir=f\"{OUT}/toy_window_sweep\",\n"
                 "                              set_values={**fast, **({\"latent_window_size\": [2, 4], \"num_frames\": 16} if SMOKE else {})},\n"
                 "                              only={\"image\": \"w0\"})\n"
                 "shift = fpkit.run_experiment(f\"{EXPERIMENTS}/toy_flow_shift_sweep.toml\", out_dir=f\"{OUT}/toy_flow_shift_sweep\",\n"
                 "                             set_values={**fast, **({\"flow_shift\": [1.0, \"dynamic\"], \"num_sections\": 2} if SMOKE else {})},\n"
                 "                             only={\"image\": \"w0\"})\n"
                 "drift_bars(window, METRIC, label_cols=[\"latent_window_size\"]);\ndrift_bars(shift, METRIC, label_cols=[\"flow_shift\"]);"),
        ("md", "## SweepDashboard\n\nPick a metric, an x axis and a colour; the filtered table updates underneath."),
        ("code", "from fpkit.widgets import SweepDashboard\n\nSweepDashboard(pd.concat([length, window, shift], ignore_index=True))"),
    ],
}


def build() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for kind, source in cells:
            cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
            nb.cells.append(cell)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    build()
