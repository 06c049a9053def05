"""The README's screenshots of the three views, taken from the notebooks themselves in a real browser:
notebooks 01 (TraceExplorer), 02 (CompareRuns) and 04 (SweepDashboard) run in full mode in JupyterLab
in Debian chromium (fpkit.browser, the same machinery as the browser test, which screenshots every view
in smoke mode). Run: `python docs/screenshots.py [NOTEBOOK ...]` (default: all three; needs the
[browser] extra; ~3 min on 2 cores)."""

import sys
import tempfile
import time
from pathlib import Path

from fpkit.browser import lab_page, run_notebook, screenshot_cells, stage_notebooks, tracebacks, view_cells, wait_until_run

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "img"
SHOTS = {"01_quickstart.ipynb": "trace_explorer.png", "02_compare_anti_drifting.ipynb": "compare_runs.png",
         "04_quality_vs_length.ipynb": "sweep_dashboard.png"}


def main(names=None) -> None:
    unknown = sorted(set(names or ()) - set(SHOTS))
    if unknown:
        raise SystemExit(f"no screenshot is taken from {unknown}; choose from {sorted(SHOTS)}")
    shots = {name: image for name, image in SHOTS.items() if not names or name in names}
    with tempfile.TemporaryDirectory() as tmp:
        books = stage_notebooks(ROOT, tmp, list(shots))
        for name, image in shots.items():  # one server per notebook: a notebook owns the whole page
            with lab_page(books, env={"PYTHONWARNINGS": "ignore"}, viewport=(1300, 2600)) as (page, base):  # tall: a view fits whole
                run_notebook(page, base, name, wait_for=".jp-Notebook .jp-CodeCell .jp-InputPrompt")
                wait_until_run(page, timeout_s=900)
                time.sleep(3)
                assert not tracebacks(page), tracebacks(page)
                (view,) = view_cells(page)
                screenshot_cells(page, [view], [OUT / image])
                print("wrote", OUT / image, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
