"""A new user's JupyterLab: nothing started but ``jupyter lab``, and a notebook run as a flow gets run.

Each test starts its own ``jupyter lab`` on a fresh home (and a fresh
jupyter-flows home), the way issue 17 tried it: the server's managed agent is
all there is. Stopping the server must leave no agent and no run process.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import psutil
import pytest
from playwright.sync_api import Page, expect

from conftest import CHROMIUM, start_lab, stop_lab
from test_lab_panel import RUN_TIMEOUT_MS, open_flows_panel, open_lab, open_run_id, run_view, write_greeting_notebook

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_lab(tmp_path, monkeypatch):
    """``fresh_lab(*options)``: a ``jupyter lab`` on new homes, stopped when the test ends."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    started = []

    def start(*options: str):
        root, home, user_home = (tmp_path / name for name in ("root", "flows_home", "user_home"))
        for directory in (root, home, user_home):
            directory.mkdir()
        lab = start_lab(root, home, tmp_path, *options, env={"HOME": str(user_home)})
        started.append(lab)
        monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(home))  # this test reads the lab's backend
        return lab

    yield start
    for lab in started:
        if lab.process.poll() is None:
            stop_lab(lab.process)


def run_notebook_as_flow(page: Page, lab, notebook: str) -> str:
    """Open ``notebook``, click "Run as flow", keep the defaults, Run; the id of the run view that opens."""
    open_lab(page, lab, f"lab/tree/{notebook}?reset")
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-FlowsRunNotebookButton")
    button.locator("button, jp-button").first.click()
    page.get_by_test_id("notebook-flow-project").fill("notebooks")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    expect(page.locator('.jp-Dialog input[data-param="name"]')).to_have_value("World")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    return open_run_id(page)


def expect_success(page: Page, run_id: str) -> None:
    expect(run_view(page, run_id).locator(".jp-FlowsRunView-body")).to_have_attribute(
        "data-state", "Success", timeout=RUN_TIMEOUT_MS)


def test_a_new_users_notebook_runs_as_a_flow_and_its_output_opens(page, fresh_lab):
    lab = fresh_lab()
    write_greeting_notebook(lab.root / "greet.ipynb")

    run_id = run_notebook_as_flow(page, lab, "greet.ipynb")

    expect_success(page, run_id)
    run_view(page, run_id).get_by_test_id("output-notebook-link").click()
    executed = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(f"{run_id}.ipynb")
    expect(executed.locator(".jp-OutputArea-output")).to_contain_text("Hello, World!")
    open_flows_panel(page)
    expect(page.get_by_test_id("agents-status")).to_contain_text("1 agent running")
    page.get_by_test_id("agent-log-button").click()
    expect(page.get_by_test_id("agent-log")).to_contain_text("started with labels")


def test_with_the_managed_agent_off_the_run_says_no_agent_runs_until_start_is_clicked(page, fresh_lab):
    lab = fresh_lab("--JupyterFlows.agent=off")
    write_greeting_notebook(lab.root / "greet.ipynb")

    run_id = run_notebook_as_flow(page, lab, "greet.ipynb")
    view = run_view(page, run_id)
    expect(view.get_by_test_id("run-waiting-reason")).to_have_text("no agent is running")
    open_flows_panel(page)
    expect(page.get_by_test_id("agents-status")).to_contain_text("No agent is running")
    page.get_by_test_id("start-agent").click()

    expect(page.get_by_test_id("agents-status")).to_contain_text("1 agent running", timeout=30_000)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=run_id[:8]).first.click()
    expect_success(page, run_id)


def test_stopping_the_server_leaves_no_agent_and_no_run_process_behind(fresh_lab):
    from jupyter_flows.backend import Backend, Client
    from jupyter_flows.core.flow import Flow
    from jupyter_flows.storage.notebook import Notebook

    lab = fresh_lab()
    backend = Backend()
    client = Client(backend=backend)
    client.create_project("notebooks")
    flow_id = client.register(Flow("slow", storage=Notebook(write_slow_notebook(lab.root / "slow.ipynb"))),
                              project_name="notebooks")
    run_id = client.create_flow_run(flow_id)
    _wait(lambda: backend.get_flow_run(run_id)["state"] == "Running", "the run to start")
    descendants = psutil.Process(lab.process.pid).children(recursive=True)
    agent_processes = [p for p in descendants if "--managed-by" in p.cmdline()]

    stop_lab(lab.process)

    assert len(agent_processes) == 1
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == []
    assert backend.get_flow_run(run_id)["state"] == "Cancelled"
    assert backend.list_agents(live_only=True) == []


def write_slow_notebook(path: Path) -> Path:
    """A notebook that runs for two minutes: still running when the server stops."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(120)")]
    nbformat.write(nb, path)
    return path


def _wait(predicate, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
