"""A real JupyterLab and a real headless chromium for the browser tests.

``lab`` starts ``jupyter lab`` once per test session on a free port, with its
own root directory and jupyter-flows home; tests that register flows for the
lab to show point their own process at ``lab.home``. ``page`` opens a fresh
chromium page (Debian's ``/usr/bin/chromium``, driven by Playwright) and saves
a screenshot under ``test-artifacts/`` when the test fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("JUPYTER_FLOWS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, url: str, token: str, root: Path, home: Path, process: subprocess.Popen):
        self.url = url
        self.token = token
        self.root = root
        self.home = home
        self.process = process

    def lab_url(self, path: str = "lab?reset") -> str:
        separator = "&" if "?" in path else "?"
        return f"{self.url}/{path}{separator}token={self.token}"


def start_lab(root: Path, home: Path, workdir: Path, *args: str, env: dict | None = None) -> Lab:
    """``jupyter lab`` on a free port over ``root`` with jupyter-flows home ``home``; its settings and log in
    ``workdir``. ``args`` are more command-line options, ``env`` more environment variables."""
    port, token = _free_port(), "jupyter-flows-browser-test"
    # No "get notified about Jupyter news?" toast over the UI (and the screenshots).
    notification = workdir / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {**os.environ, "JUPYTER_FLOWS_HOME": str(home), "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.2",
           "JUPYTERLAB_SETTINGS_DIR": str(workdir / "settings"), **(env or {})}
    log = open(workdir / "lab.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *args],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    log.close()  # the server has it
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early; see {log.name}")
            time.sleep(0.3)
    else:
        stop_lab(process)
        raise RuntimeError(f"jupyter lab did not answer within 60 s; see {log.name}")
    return Lab(url, token, root, home, process)


def stop_lab(process: subprocess.Popen) -> None:
    """Stop ``jupyter lab`` as Ctrl-C twice would (SIGTERM: it shuts down its kernels and extensions)."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    root = tmp_path_factory.mktemp("lab_root")
    home = tmp_path_factory.mktemp("lab_flows_home")
    lab = start_lab(root, home, tmp_path_factory.mktemp("lab_work"),
                    "--JupyterFlows.agent=off")  # these tests start the agents they need
    yield lab
    stop_lab(lab.process)


@pytest.fixture(scope="module")
def browser():
    # Per module, not per session: Playwright's sync API keeps an asyncio loop running in this
    # thread while it lives, which would break the async (pytest-jupyter) tests collected after.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    if getattr(request.node, "failed_call", False):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def lab_home(lab, monkeypatch):
    """Point this test process at the lab's jupyter-flows home (its backend and stored flows)."""
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(lab.home))
    return lab.home


def copy_into_lab(lab: Lab, source: Path, name: str | None = None) -> Path:
    target = lab.root / (name or source.name)
    shutil.copy(source, target)
    return target
