"""Real-browser check: JupyterLab serves each notebook to headless Chromium, its cells run (smoke mode),
the widget views render, and every view and each notebook's generated finding is screenshot as a test
artefact. The server asks for a fresh token
(checked here without a browser, and against a running server).

Needs Debian's chromium and `pip install -e '.[browser]'` (jupyterlab, playwright; never
`playwright install`). `make test-browser` installs both and runs it (CI does). The screenshots land in
$FPKIT_ARTIFACTS (default results/artifacts/notebookNN_view0.png, notebookNN_finding.png).
"""

import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fpkit import browser
from fpkit.browser import chromium_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("uid", [0, 1000])
def test_lab_command_asks_for_a_secret_token_on_loopback(monkeypatch, uid):
    monkeypatch.setattr(browser.os, "geteuid", lambda: uid)
    token = browser.new_token()
    assert len(token) >= 32 and token != browser.new_token()
    argv, env = browser.lab_command("/nb", 8888, token)
    assert env == {"JUPYTER_TOKEN": token}
    assert "--ip=127.0.0.1" in argv
    assert not any(token in a or ".token" in a for a in argv)  # neither empty nor readable in `ps`
    assert ("--allow-root" in argv) == (uid == 0)
    assert browser.auth_headers(token) == {"Authorization": f"token {token}"}
    for weak in ("", "short"):
        with pytest.raises(ValueError, match="secret token"):
            browser.lab_command("/nb", 8888, weak)


@pytest.mark.browser
def test_lab_server_refuses_requests_without_its_token(tmp_path):
    pytest.importorskip("jupyterlab")

    def status(base, headers=None):
        try:
            return urllib.request.urlopen(urllib.request.Request(f"{base}/api/status", headers=headers or {}),
                                          timeout=10).status
        except urllib.error.HTTPError as err:
            return err.code

    with browser.lab_server(tmp_path) as (base, token):
        assert token
        assert status(base) == 403
        assert status(base, browser.auth_headers("wrong" + token)) == 403
        assert status(base, browser.auth_headers(token)) == 200


NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
VIEWS = {"01_quickstart.ipynb": 1, "02_compare_anti_drifting.ipynb": 1, "03_paper_ablations.ipynb": 0,
         "04_quality_vs_length.ipynb": 1}  # ipywidgets views each notebook shows


@pytest.mark.browser
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_runs_in_chromium_and_every_view_is_screenshot(tmp_path, name):
    """JupyterLab serves a staged copy of the notebook (smoke mode); every cell runs without a
    traceback, every widget view renders and is screenshot, and so is each generated finding."""
    if chromium_path() is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from fpkit.browser import (lab_page, markdown_output_cells, run_notebook, screenshot_cells, stage_notebooks,
                               tracebacks, view_cells, wait_until_run)

    books = stage_notebooks(ROOT, tmp_path, [name])
    artefacts = Path(os.environ.get("FPKIT_ARTIFACTS", ROOT / "results" / "artifacts"))
    with lab_page(books, env={"FPKIT_SMOKE": "1", "PYTHONWARNINGS": "ignore"}) as (page, base):
        run_notebook(page, base, name, wait_for=".jp-Notebook .jp-CodeCell .jp-InputPrompt")
        wait_until_run(page, timeout_s=600)
        time.sleep(2)  # widget views render after their cell reports done
        assert not tracebacks(page), tracebacks(page)
        views, findings = view_cells(page), markdown_output_cells(page)
        assert len(views) == VIEWS[name], views
        if name.startswith("01"):  # TraceExplorer's controls are live widgets, not text
            assert page.locator(".widget-slider").first.is_visible()
            assert page.locator(".widget-toggle-buttons").first.is_visible()
        assert findings, "no generated finding rendered"
        stem = name.split("_")[0]
        shots = screenshot_cells(page, views + findings[-1:],
                                 [artefacts / f"notebook{stem}_view{k}.png" for k in range(len(views))]
                                 + [artefacts / f"notebook{stem}_finding.png"])
    assert all(p.stat().st_size > 5_000 for p in shots)
    assert not any((ROOT / "notebooks").glob(".ipynb_checkpoints/*"))  # the committed notebooks untouched
