"""Real-browser check: JupyterLab serves notebook 01 to headless Chromium, its cells run (smoke mode),
the widgets render, and a screenshot is saved as a test artefact. The server asks for a fresh token
(checked here without a browser, and against a running server).

Needs Debian's chromium and `pip install -e '.[browser]'` (jupyterlab, playwright; never
`playwright install`). `make test-browser` installs both and runs it (CI does). The screenshot lands in
$FPKIT_ARTIFACTS (default results/artifacts/notebook01.png).
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


@pytest.mark.browser
def test_notebook_01_renders_widgets_in_chromium(tmp_path):
    if chromium_path() is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from fpkit.browser import lab_page, run_notebook, tracebacks

    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", tmp_path)  # the server may autosave outputs
    artefacts = Path(os.environ.get("FPKIT_ARTIFACTS", ROOT / "results" / "artifacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    with lab_page(tmp_path, env={"FPKIT_SMOKE": "1", "PYTHONWARNINGS": "ignore"}) as (page, base):
        run_notebook(page, base, "01_quickstart.ipynb", wait_for=".widget-slider")
        page.wait_for_selector(".jp-OutputArea-output img", timeout=120_000)
        assert page.locator(".widget-slider").first.is_visible()
        assert page.locator(".widget-toggle-buttons").first.is_visible()
        assert not tracebacks(page)
        page.locator(".widget-slider").first.scroll_into_view_if_needed()
        time.sleep(1.0)
        shot = artefacts / "notebook01.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
