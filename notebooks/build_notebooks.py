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
        ("md", "## What this run shows\n\nGenerated from the run's trace and, on the toy organism, from the "
               "world's own continuation of the start image (fpkit.toy.compare_to_world). One seed: "
               "notebooks 03 and 04 give intervals over clips."),
        ("code", "from IPython.display import Markdown\n\n"
                 "def what_it_shows(run) -> str:\n"
                 "    sections = run.trace.to_frame()\n"
                 "    total, first = sections.seconds.sum(), sections.sort_values(\"order\").seconds.iloc[0]\n"
                 "    lines = [f\"**{SAMPLING_TYPE} on {MODEL}:** {run.num_frames} frames in {len(sections)} sections \"\n"
                 "             f\"(layout {run.trace.plan.layout}); sampling took {total:.1f} s, {sections.seconds.median():.2f} s \"\n"
                 "             f\"median per section (first {first:.2f} s), at most {sections.tokens_total.max()} tokens per call.\"]\n"
                 "    if MODEL.startswith(\"toy:\") and kwargs.get(\"height\") == 64:\n"
                 "        from fpkit.toy import compare_to_world, drift\n"
                 "        from fpkit.toy.world import EVAL_SEED_OFFSET\n\n"
                 "        world = compare_to_world(run.video.float(), seed=EVAL_SEED_OFFSET)  # the default start image's clip\n"
                 "        d = drift(run.video.float(), seed=EVAL_SEED_OFFSET)\n"
                 "        lines.append(f\"Against the world's own clip: sprites visible in {world['visible']:.0%} of sprite-frames \"\n"
                 "                     f\"(the real clip {world['visible_real']:.0%}), moving at {world['speed_ratio']:.2f}x the real speed, \"\n"
                 "                     f\"colour distance to the true frames {world['hist_distance']:.3f} (target <= 0.12); colour drift \"\n"
                 "                     f\"start vs end {d['drift_hist']:.3f}. Looks like its world on every target: \"\n"
                 "                     f\"{'yes' if world['looks_like_world'] else 'no (' + ', '.join(k for k, v in world['passes'].items() if not v) + ' missed)'}.\")\n"
                 "    return \"\\n\\n\".join(lines)\n\n"
                 "Markdown(what_it_shows(run))"),
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
               "F1 organism and with inverted anti-drifting on the inverted organism, at 1x, 4x and 8x the F1 "
               "training length, over 16 world clips with shared noise; its committed results are reused "
               "when they hold exactly this grid on the shipped organisms (a fresh run takes ~60 min on 2 "
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
               "cores: set `RECOMPUTE = True`; a recompute draws one noise per clip, the committed table one "
               "draw for all clips, as every table before stop 30). `SMOKE` (CI) samples 2 clips at 2 steps instead."),
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
                 "MULTIPLE = int(table.multiple.max())\n"
                 "# tables written before stop 30 have no noise_seed column: every clip sampled noise seed 0\n"
                 "per_clip = \"noise_seed\" in table and bool((table.noise_seed == table.seed).all())\n"
                 "print(\"noise:\", \"one draw per clip (noise seed = clip seed)\" if per_clip else\n"
                 "      \"one draw (noise seed 0) shared by every clip: where the noise decides much (the inverted \"\n"
                 "      \"organism's far end) a figure rests on that one draw (docs/toy.md)\")\n"
                 "table.head()"),
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
        ("md", "# 04 · Quality versus length\n\nHow does each sampling order hold up as the video grows? "
               "Three sweeps on the toy organisms over 8 unseen world clips with shared noise: length "
               "(1 to 24 sections), window size and flow shift, each point a mean with its 95% bootstrap "
               "interval over the clips, plotted with the functions `fpkit report` uses. The conclusion is "
               "generated from the numbers."),
        ("md", PARAMS_NOTE + "\n\nThe committed results under `results/` are reused when they hold exactly "
               "these grids on the shipped organisms (a fresh run of the three takes ~10 min on 2 cores). "
               "On a GPU machine use `experiments/length_sweep.toml`, `window_size_sweep.toml` and "
               "`flow_shift_sweep.toml` (and a headline metric's drift, e.g. `color_shift_drift`, as `MEASURE`)."),
        ("code", 'import os\n\nEXPERIMENTS = "../experiments"\nCOMMITTED = "../results"\nOUT = "../results/notebooks"\n'
                 'MEASURE = "world_drift_hist"  # colour drift, start vs end window (toy: world-referenced)\n'
                 'LIKENESS = "world_visible"  # share of true sprites still visible\n'
                 'PER_FRAME = "color_hist_distance"  # along the video: colour distance to the first frame\n'
                 'SMOKE = os.environ.get("FPKIT_SMOKE") == "1"'),
        ("code", "import pandas as pd\nfrom IPython.display import Markdown, display\n\n"
                 "from fpkit.experiment import reuse_or_run\nfrom fpkit.metrics.stats import summarize\n"
                 "from fpkit.plots import quality_vs_length, sweep_plot\n"
                 "from fpkit.report import frame_curves, length_trend, load_results, section_seconds\n\n"
                 "def sweep(name, smoke_values):\n"
                 "    table, folder, reused = reuse_or_run(f\"{EXPERIMENTS}/{name}.toml\", f\"{COMMITTED}/{name}\", f\"{OUT}/{name}\",\n"
                 "                                         set_values={**smoke_values, \"num_inference_steps\": 2} if SMOKE else None,\n"
                 "                                         only={\"image\": \"w0\"} if SMOKE else None, progress=False)\n"
                 "    print(f\"{name}: {'reusing the committed' if reused else 'built'} results in {folder} ({len(table)} runs, {table.image.nunique()} clips)\")\n"
                 "    return table, folder\n\n"
                 "def with_intervals(table, x, by=\"sampling_type\", value=MEASURE):\n"
                 "    s = summarize(table, [by, x], value=value, n_boot=2000)\n"
                 "    s[\"mean [95%]\"] = [f\"{m:.3f}\" + (\"\" if n < 2 else f\" [{lo:.3f}, {hi:.3f}]\") for m, lo, hi, n in zip(s.estimate, s.low, s.high, s.n)]\n"
                 "    return s.pivot(index=x, columns=by, values=\"mean [95%]\")\n\n"
                 "length, length_dir = sweep(\"toy_length_sweep\", {\"num_sections\": [1, 3]})\n"
                 "with_intervals(length, \"num_sections\")"),
        ("code", "sweep_plot(length, MEASURE, \"num_sections\", color=\"sampling_type\");\n"
                 "sweep_plot(length, LIKENESS, \"num_sections\", color=\"sampling_type\");"),
        ("md", "Along the video at the longest length: the per-frame colour distance to the first frame in "
               "0.25 s windows, the band a 95% interval over the clips, dotted lines at section boundaries."),
        ("code", "table, per_frame, exp = load_results(length_dir)\n"
                 "table = table[table.run_id.isin(length.run_id)]\n"
                 "longest = table[table.num_sections == table.num_sections.max()]\n"
                 "curves = frame_curves(per_frame[per_frame.run_id.isin(longest.run_id)], longest, window_s=0.25, fps=exp.get(\"fps\", 30))\n"
                 "quality_vs_length(curves, PER_FRAME, section_s=section_seconds(longest, exp.get(\"fps\", 30)));"),
        ("code", "def conclusion(length) -> str:\n"
                 "    trend = length_trend(length, MEASURE)\n"
                 "    top = length.num_sections.max()\n"
                 "    lines = [f\"**{MEASURE} from {length.num_sections.min()} to {top} sections, {length.image.nunique()} clips (paired, 95% interval):**\", \"\"]\n"
                 "    for _, r in trend.iterrows():\n"
                 "        lines.append(f\"- {r.sampling_type}: {r.iloc[1]:.3f} -> {r.iloc[2]:.3f}, difference {r['diff']:+.3f} [{r.low:+.3f}, {r.high:+.3f}]: {r.trend}\")\n"
                 "    at_top = length[length.num_sections == top].groupby(\"sampling_type\")[[MEASURE, LIKENESS]].mean().sort_values(MEASURE)\n"
                 "    best = at_top.index[0]\n"
                 "    lines.append(f\"- least drift at {top} sections: {best} ({at_top[MEASURE].iloc[0]:.3f}, sprites visible {at_top[LIKENESS].iloc[0]:.2f}); \"\n"
                 "                 f\"most: {at_top.index[-1]} ({at_top[MEASURE].iloc[-1]:.3f}, visible {at_top[LIKENESS].iloc[-1]:.2f})\")\n"
                 "    return \"\\n\".join(lines)\n\n"
                 "Markdown(conclusion(length))"),
        ("md", "## Window size and flow shift (vanilla on F1)\n\nThe F1 organism was trained with a window of 4 "
               "latent frames; the flow-shift sweep keeps the window and varies the schedule's shift."),
        ("code", "window, _ = sweep(\"toy_window_sweep\", {\"latent_window_size\": [2, 4], \"num_frames\": 16})\n"
                 "shift, _ = sweep(\"toy_flow_shift_sweep\", {\"flow_shift\": [1.0, \"dynamic\"], \"num_sections\": 2})\n"
                 "display(with_intervals(window, \"latent_window_size\"), with_intervals(shift, \"flow_shift\"))\n"
                 "sweep_plot(window, MEASURE, \"latent_window_size\", color=\"sampling_type\");\n"
                 "sweep_plot(shift, MEASURE, \"flow_shift\", color=\"sampling_type\");"),
        ("code", "from fpkit.metrics import paired_table\n\n"
                 "def best_setting(table, axis, default) -> str:\n"
                 "    t = table.assign(**{axis: table[axis].astype(str)})\n"
                 "    ranked = paired_table(t, MEASURE, arm=axis, baseline=str(default), pair=[\"image\"], by=[])\n"
                 "    best = ranked.iloc[0]\n"
                 "    if best[axis] == str(default):\n"
                 "        return f\"- {axis}: {default} drifts least ({best['mean']:.3f})\"\n"
                 "    verdict = \"clearly\" if best.clear else \"not clearly (interval spans 0)\"\n"
                 "    return (f\"- {axis}: {best[axis]} drifts least ({best['mean']:.3f}), {verdict} below {axis} = {default} \"\n"
                 "            f\"({best['diff']:+.3f} [{best.diff_low:+.3f}, {best.diff_high:+.3f}])\")\n\n"
                 "Markdown(\"\\n\".join([f\"**Vanilla on F1, {MEASURE}, paired over {window.image.nunique()} clips:**\", \"\",\n"
                 "                         best_setting(window, \"latent_window_size\", 4), best_setting(shift, \"flow_shift\", \"dynamic\" if \"dynamic\" in set(shift.flow_shift.astype(str)) else shift.flow_shift.iloc[0])]))"),
        ("md", "## SweepDashboard\n\nOne sweep at a time (never averaged across experiments): pick a measure, an x "
               "axis (any config field) and a colour; the summary table pivots them with intervals."),
        ("code", "from fpkit.widgets import SweepDashboard\n\nSweepDashboard(length)"),
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
