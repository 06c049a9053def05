"""Render notebooks in a real browser: JupyterLab on loopback driven by Debian's Chromium through
playwright (no browser download). Used by the browser test and the README screenshots."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_token() -> str:
    """A fresh secret per server: a lab that serves a kernel runs code for whoever can reach it."""
    return secrets.token_urlsafe(32)


def lab_command(root_dir, port: int, token: str) -> tuple[list[str], dict]:
    """(argv, environment additions) for a JupyterLab on loopback that asks for `token`.

    The token travels in the environment (JUPYTER_TOKEN): /proc/PID/environ is readable by its owner
    only, while the command line is world-readable in `ps`. `--allow-root` only when running as root,
    where Jupyter refuses to start without it."""
    if not isinstance(token, str) or len(token) < 16:
        raise ValueError(f"JupyterLab needs a secret token of 16+ characters, got {token!r}: with an empty "
                         "one any local user can run code on its kernels")
    argv = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.password=", f"--ServerApp.root_dir={root_dir}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    return argv, {"JUPYTER_TOKEN": token}


def auth_headers(token: str) -> dict:
    """What a client sends to be let in (Jupyter reads `Authorization: token ...`)."""
    return {"Authorization": f"token {token}"}


@contextlib.contextmanager
def lab_server(root_dir, env: dict | None = None):
    """Yield (base_url, token) for a JupyterLab serving `root_dir` on loopback, stopped afterwards."""
    import tempfile

    port, token = _free_port(), new_token()
    argv, secret_env = lab_command(root_dir, port, token)
    settings = tempfile.TemporaryDirectory(prefix="fpkit-lab-settings-")
    # every cell rendered (JupyterLab 4 draws only the cells in view by default), so prompts,
    # outputs and screenshots of a whole notebook can be checked
    tracker = Path(settings.name) / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    server = subprocess.Popen(argv, env={**os.environ, **(env or {}), **secret_env,
                                         "JUPYTERLAB_SETTINGS_DIR": settings.name,
                                         # no layout restored from an earlier server (its open tabs)
                                         "JUPYTERLAB_WORKSPACES_DIR": settings.name},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"{base}/api/status", headers=auth_headers(token)),
                                       timeout=2)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start") from None
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        settings.cleanup()


@contextlib.contextmanager
def lab_page(root_dir, env: dict | None = None, viewport=(1400, 1000)):
    """Yield (page, base_url) for a JupyterLab serving `root_dir`, stopped afterwards; every request
    of the page carries the server's token."""
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if chromium is None:
        raise RuntimeError("Debian chromium is not installed (apt-get install chromium)")
    with lab_server(root_dir, env) as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                      extra_http_headers=auth_headers(token))
        try:
            yield context.new_page(), base
        finally:
            browser.close()


def run_notebook(page, base: str, name: str, wait_for: str = ".widget-slider", timeout_s: int = 300) -> None:
    """Open `name`, accept the kernel dialog, run every cell (Run > Run All Cells) and wait for
    `wait_for`."""
    from playwright.sync_api import Error

    page.goto(f"{base}/lab/tree/{name}")
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    with contextlib.suppress(Error):  # first open: a kernel-selection dialog intercepts clicks
        page.click(".jp-Dialog .jp-mod-accept", timeout=8_000)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-InputArea-editor").click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_selector(wait_for, timeout=timeout_s * 1000)
    with contextlib.suppress(Error):  # the news toast covers a corner of the screenshots
        page.click(".jp-toast-button >> text=No", timeout=2_000)


def tracebacks(page) -> list[str]:
    texts = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    return [t for t in texts if "Traceback" in t]


def stage_notebooks(root, folder, names=None) -> Path:
    """A copy of the repository's notebooks in `folder`/notebooks beside links to its experiments/
    and to each committed results folder (`folder`/results/<name>), so the notebooks' relative paths
    work, JupyterLab's autosave never touches the committed notebooks, and what the notebooks build
    lands under `folder`. Returns the staged notebooks folder."""
    root, folder = Path(root), Path(folder)
    books = folder / "notebooks"
    books.mkdir(parents=True, exist_ok=True)
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        if names is None or path.name in names:
            shutil.copy(path, books / path.name)
    (folder / "experiments").symlink_to(root / "experiments")
    results = folder / "results"
    results.mkdir(exist_ok=True)
    for entry in sorted((root / "results").iterdir()):
        if entry.is_dir() and entry.name != "notebooks":
            (results / entry.name).symlink_to(entry)
    return books


def wait_until_run(page, timeout_s: int = 600) -> None:
    """Wait until every code cell has run: each input prompt shows an execution count, none "[*]"."""
    deadline = time.time() + timeout_s
    while True:
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        if prompts and all(p.strip().startswith("[") and p.strip()[1:-2].isdigit() for p in prompts):
            return
        if time.time() > deadline:
            busy = sum("*" in p for p in prompts)
            raise TimeoutError(f"notebook still running after {timeout_s} s ({busy} cells busy or queued)")
        time.sleep(1.0)


def view_cells(page) -> list[int]:
    """Indices (among code cells) of the cells whose output holds an ipywidgets view (fpkit's views
    are VBoxes; tqdm's progress bars, also widgets, are HBoxes)."""
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    return [i for i in range(cells.count()) if cells.nth(i).locator(".jp-OutputArea .widget-vbox").count()]


def markdown_output_cells(page) -> list[int]:
    """Indices (among code cells) of the cells whose output is rendered markdown (generated findings)."""
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    return [i for i in range(cells.count()) if cells.nth(i).locator(".jp-OutputArea .jp-RenderedMarkdown").count()]


def screenshot_cells(page, indices, paths) -> list[Path]:
    """Screenshot the outputs of the code cells at `indices` into `paths` (created folders)."""
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    out = []
    for index, path in zip(indices, paths):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        output = cells.nth(index).locator(".jp-Cell-outputWrapper").first
        output.scroll_into_view_if_needed()
        time.sleep(0.5)
        output.screenshot(path=str(path))
        out.append(path)
    return out
