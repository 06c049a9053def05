"""Screenshots of the three notebook views for the README, taken in a real browser (JupyterLab in
Debian chromium, see fpkit.browser). Run: `python docs/screenshots.py` (needs the [browser] extra)."""

import tempfile
import time
from pathlib import Path

import nbformat

from fpkit.browser import lab_page, run_notebook, tracebacks

OUT = Path(__file__).parent / "img"
CELLS = [
    "import torch, fpkit\nfrom fpkit.experiment import load_model, sample_kwargs\n"
    "from fpkit.widgets import TraceExplorer, CompareRuns, SweepDashboard\n"
    "models = {'vanilla': 'toy:f1', 'inverted_anti_drifting': 'toy:inverted', 'anti_drifting': 'toy:inverted'}\n"
    "runs = {st: fpkit.sample(load_model(m), **sample_kwargs(m, num_sections=8, sampling_type=st),\n"
    "                         generator=torch.Generator().manual_seed(0)) for st, m in models.items()}",
    "TraceExplorer(runs['inverted_anti_drifting'])",
    "CompareRuns(list(runs.values()), labels=list(runs))",
    "table = fpkit.run_experiment('{root}/experiments/toy_length_sweep.toml', out_dir='{root}/results/screens',\n"
    "                             only={'image': 'w0'}, set_values={'num_sections': [1, 3, 6, 12]}, progress=False)\n"
    "SweepDashboard(table)",
]
NAMES = {1: "trace_explorer.png", 2: "compare_runs.png", 3: "sweep_dashboard.png"}


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c.replace("{root}", str(root))) for c in CELLS]
        nbformat.write(nb, Path(tmp) / "views.ipynb")
        with lab_page(tmp, viewport=(1300, 1000)) as (page, base):
            run_notebook(page, base, "views.ipynb", wait_for=".widget-dropdown", timeout_s=600)
            time.sleep(3)
            assert not tracebacks(page), tracebacks(page)
            cells = page.locator(".jp-Notebook .jp-CodeCell")
            for index, name in NAMES.items():
                output = cells.nth(index).locator(".jp-Cell-outputWrapper").first
                output.scroll_into_view_if_needed()
                time.sleep(0.5)
                output.screenshot(path=str(OUT / name))
                print("wrote", OUT / name)


if __name__ == "__main__":
    main()
