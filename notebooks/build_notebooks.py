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
               "F1 organism at 1x and 8x the training length over 16 world clips with shared noise; its "
               "committed results are reused when present (a fresh run takes ~35 min on 2 cores). Each row "
               "is paired with `none` on the same clip and noise."),
        ("code", "from pathlib import Path\n\nfrom IPython.display import Markdown\n\n"
                 "from fpkit.experiment.store import RunStore\nfrom fpkit.report import comparison_lines\n\n"
                 "store = RunStore(Path(\"../results/toy_methods\"))\n"
                 "if store.exists() and len(store.read_table()):\n"
                 "    methods_table = store.read_table()\n"
                 "    print(f\"reusing the committed results/toy_methods: {len(methods_table)} runs\")\n"
                 "else:  # a small fresh version: two methods, one clip\n"
                 "    methods_table = fpkit.run_experiment(\"../experiments/toy_methods.toml\", out_dir=\"../results/notebooks/toy_methods\",\n"
                 "        set_values={\"num_sections\": [2], \"method\": [\"none\", \"latent_stats\"], \"num_inference_steps\": 2},\n"
                 "        only={\"image\": \"w0\"})\n"
                 "Markdown(\"\\n\".join(comparison_lines(methods_table)))"),
        ("code", "from fpkit.metrics import paired_table\n\n"
                 "longest = methods_table[(methods_table.num_sections == methods_table.num_sections.max())\n"
                 "                        & (methods_table.sampling_type == \"vanilla\")]  # the F1 organism\n"
                 "ranked = paired_table(longest, \"world_drift_hist\", pair=[\"image\"], by=[])\n"
                 "best, worst = ranked.iloc[0], ranked.iloc[-1]\n"
                 "clear = [m for m, c, d in zip(ranked.method, ranked.clear, ranked[\"diff\"]) if c and d < 0]\n"
                 "Markdown(f\"**Finding (F1 organism, vanilla, colour drift at {int(longest.num_sections.max())} sections, {ranked.n.max()} clips):** \"\n"
                 "         f\"`{best.method}` drifts least ({best['mean']:.3f}, 95% [{best.low:.3f}, {best.high:.3f}]), \"\n"
                 "         f\"`{worst.method}` most ({worst['mean']:.3f}). Clearly below `none` (paired interval excludes 0): \"\n"
                 "         f\"{', '.join(f'`{m}`' for m in clear) or 'none of them'}.\")"),
        ("md", "Contact sheet of a few methods on one clip at the longest length (the real clip on top)."),
        ("code", "from fpkit.toy.world import EVAL_SEED_OFFSET, real_video\n\n"
                 "if MODELS[\"vanilla\"].startswith(\"toy:\"):\n"
                 "    chosen = [\"none\", ranked.method.iloc[0], \"anchor_only\"]\n"
                 "    n = 2 if SMOKE else int(longest.num_sections.max())\n"
                 "    kwargs = sample_kwargs(MODELS[\"vanilla\"], num_sections=n, sampling_type=\"vanilla\", **steps)\n"
                 "    vids = {m: fpkit.sample(pipes[MODELS[\"vanilla\"]], **kwargs, generator=torch.Generator().manual_seed(0),\n"
                 "                            methods=[] if m == \"none\" else [m.split(\"(\")[0]]).video for m in dict.fromkeys(chosen)}\n"
                 "    contact_sheet({\"real\": real_video(EVAL_SEED_OFFSET, max(v.shape[0] for v in vids.values())), **vids}, count=10);"),
    ],
    "03_paper_ablations.ipynb": [
        ("md", "# 03 · The paper's ablations\n\nThe sampling ablation (vanilla vs inverted anti-drifting vs "
               "anti-drifting, short and long) rebuilt from an experiment file, with the paper's reported "
               "pattern beside ours; then, on the toy organism, the training-side ablations (history "
               "discretization, packing variants) where they are shipped."),
        ("md", PARAMS_NOTE + "\n\nOn a GPU machine use `experiments/paper_sampling_ablation.toml`."),
        ("code", 'import os\n\nEXPERIMENT = "../experiments/toy_sampling_ablation.toml"\n'
                 'OUT = "../results/notebooks/toy_sampling_ablation"\nSMOKE = os.environ.get("FPKIT_SMOKE") == "1"'),
        ("code", "import pandas as pd\n\nimport fpkit\n\n"
                 "smoke = {\"num_inference_steps\": 2, \"num_sections\": [1, 2]} if SMOKE else {}\n"
                 "only = {\"image\": \"w0\"} if SMOKE else None\n"
                 "table = fpkit.run_experiment(EXPERIMENT, out_dir=OUT, set_values=smoke, only=only)\n"
                 "table[[\"sampling_type\", \"num_sections\", \"image\", \"frames\", \"laplacian_var_drift\", \"color_shift_drift\"]].head()"),
        ("md", "## Our ablation table\n\nStart-end contrast (lower = less drift), averaged over inputs, per "
               "sampling type and length."),
        ("code", "drift_cols = [c for c in (\"laplacian_var_drift\", \"tenengrad_drift\", \"color_shift_drift\", \"brightness_drift\",\n"
                 "                          \"ssim_first_drift\", \"flow_magnitude_drift\") if c in table]\n"
                 "ours = table.groupby([\"num_sections\", \"sampling_type\"])[drift_cols].mean().round(4)\nours"),
        ("md", "## The paper's reported pattern\n\nFrom the paper (arXiv 2504.12626, ablation table; the "
               "numbers are secondary-source and unverified, see the facts file). Their clarity metric is "
               "MUSIQ and motion is RAFT flow; ours are offline proxies (Laplacian sharpness, DIS flow)."),
        ("code", "paper = pd.DataFrame([\n"
                 "    {\"sampling_type\": \"vanilla\", \"layout\": \"td_f16k4f2k2f1k1_g9\", \"d_clarity\": 3.18, \"d_motion\": 3.42, \"ELO\": 1074,\n"
                 "     \"pattern\": \"highest dynamic degree (partly drift); most drift\"},\n"
                 "    {\"sampling_type\": \"vanilla + D\", \"layout\": \"td_f16k4f2k2f1k1_g9 +D\", \"d_clarity\": 2.30, \"d_motion\": None, \"ELO\": 1222,\n"
                 "     \"pattern\": \"discretized history: competitive on drift\"},\n"
                 "    {\"sampling_type\": \"inverted_anti_drifting\", \"layout\": \"f1k1_x_g9_f1k1f2k2f16k4_td\", \"d_clarity\": 2.3, \"d_motion\": None, \"ELO\": 1226,\n"
                 "     \"pattern\": \"best on all drift metrics, lower dynamic degree\"},\n"
                 "    {\"sampling_type\": \"anti_drifting\", \"layout\": \"endpoints then fill\", \"d_clarity\": None, \"d_motion\": None, \"ELO\": None,\n"
                 "     \"pattern\": \"works when motion is small or periodic\"},\n"
                 "])\npaper"),
        ("code", "longest = table[table.num_sections == table.num_sections.max()]\n"
                 "side = longest.groupby(\"sampling_type\")[drift_cols].mean()\n"
                 "side[\"rank_by_sharpness_drift\"] = side[drift_cols[0]].rank().astype(int)\n"
                 "side.round(4)"),
        ("md", "## Training-side ablations on the toy\n\nVanilla sampling of every shipped forward-layout "
               "variant (e.g. `f1` vs `f1+D`, history discretization) at the same long length."),
        ("code", "import torch\n\nimport fpkit.metrics as fm\nfrom fpkit.experiment import load_model, sample_kwargs\nfrom fpkit.toy import available\n\n"
                 "rows = []\nfor variant in [v for v in available() if v.startswith(\"f1\")]:\n"
                 "    model = f\"toy:{variant}\"\n"
                 "    kwargs = sample_kwargs(model, num_sections=2 if SMOKE else 12, sampling_type=\"vanilla\",\n"
                 "                           **({\"num_inference_steps\": 2} if SMOKE else {}))\n"
                 "    run = fpkit.sample(load_model(model), **kwargs, generator=torch.Generator().manual_seed(0))\n"
                 "    s = fm.summary(fm.compute(run.video, run_id=variant), run_id=variant)\n"
                 "    rows.append(s)\n"
                 "pd.concat(rows)[[\"run_id\", \"laplacian_var_drift\", \"color_shift_drift\", \"flicker_mean\"]].round(4)"),
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
