"""A pipeline of notebooks built from the file browser ("Create flow from notebooks") and run by an agent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

from jupyter_flows.agent.background import local_agent_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def agent(lab, tmp_path_factory):
    """``jupyter-flows agent local start`` on the lab's home, stopped (with its runs) after the module."""
    env = {**os.environ, "JUPYTER_FLOWS_HOME": str(lab.home), "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.2"}
    with local_agent_process(log_path=tmp_path_factory.mktemp("agent_log") / "agent.log", env=env,
                             cwd=lab.root) as process:
        yield process


def write_notebook(path: Path, parameters: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def listing_item(page: Page, name: str):
    return page.locator(".jp-DirListing-item", has_text=name)


def test_a_two_notebook_pipeline_is_built_from_the_file_browser_ordered_and_run(page: Page, lab, agent):
    # Listed alphabetically the report comes first; the user moves the extract up.
    write_notebook(lab.root / "pipe" / "a_report.ipynb", 'title = "Rows"',
                   'print(title, open("rows.txt").read())')
    write_notebook(lab.root / "pipe" / "b_extract.ipynb", "rows = 1", 'open("rows.txt", "w").write(str(rows))')

    page.goto(lab.lab_url("lab/tree/pipe?reset"))
    page.wait_for_selector("#jp-main-dock-panel")
    listing_item(page, "a_report.ipynb").click()
    listing_item(page, "b_extract.ipynb").click(modifiers=["Shift"])
    listing_item(page, "b_extract.ipynb").click(button="right")
    page.locator(".lm-Menu-item", has_text="Create flow from notebooks").click()

    dialog = page.locator(".jp-Dialog")
    steps = dialog.get_by_test_id("pipeline-step")
    expect(steps).to_have_count(2)
    steps.nth(1).get_by_test_id("pipeline-up").click()
    expect(steps.nth(0)).to_have_attribute("data-path", "pipe/b_extract.ipynb")
    steps.nth(0).get_by_test_id("pipeline-parameters").fill('{"rows": 7}')
    dialog.get_by_test_id("pipeline-project").fill("pipes")
    dialog.get_by_test_id("pipeline-name").fill("rows-report")
    dialog.locator(".jp-Dialog-button", has_text="Register and run").click()

    view = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-testid="run-view"]')
    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Success", timeout=RUN_TIMEOUT_MS)
    table = view.get_by_test_id("task-runs-table")
    expect(table).to_contain_text("b_extract")
    expect(table).to_contain_text("a_report")
    assert (lab.root / "pipe" / "rows.txt").read_text() == "7"
    run_id = view.get_attribute("data-run-id")
    executed = sorted(p.name for p in (lab.home / "runs" / run_id).glob("*.ipynb"))
    assert executed == ["a_report-1.ipynb", "b_extract-1.ipynb"]
    report = nbformat.read(lab.home / "runs" / run_id / "a_report-1.ipynb", as_version=4)
    assert "Rows 7" in "".join(o.get("text", "") for c in report.cells for o in c.get("outputs", []))


def test_the_run_view_links_a_parent_run_and_its_child_runs(page: Page, lab, agent, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(lab.home))
    from jupyter_flows.backend import Backend, Client
    from jupyter_flows.examples.hello_flow import flow

    Client().create_project("family")
    flow_id = flow.register(project_name="family")
    backend = Backend()
    parent = backend.create_flow_run(flow_id=flow_id, run_name="the-parent")
    child = backend.create_flow_run(flow_id=flow_id, run_name="the-child", parent_flow_run_id=parent["id"])

    page.goto(lab.lab_url())
    page.wait_for_selector("#jp-main-dock-panel")
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jupyter-flows-panel"]').click()
    page.locator(f'#jupyter-flows-panel [data-run-id="{parent["id"]}"]').first.click()

    parent_view = page.locator(f'[data-testid="run-view"][data-run-id="{parent["id"]}"]')
    children = parent_view.get_by_test_id("child-run")
    expect(children).to_have_count(1)
    expect(children).to_contain_text("the-child")
    children.click()
    child_view = page.locator(f'[data-testid="run-view"][data-run-id="{child["id"]}"]')
    expect(child_view.get_by_test_id("parent-run")).to_have_text(f"run {parent['id'][:8]}")


def test_a_notification_link_opens_the_run_view_in_the_lab(page: Page, lab, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(lab.home))
    monkeypatch.setenv("JUPYTER_FLOWS_SERVER_URL", lab.url)
    from jupyter_flows.backend import Backend, Client
    from jupyter_flows.examples.hello_flow import flow
    from jupyter_flows.notifications import run_url

    Client().create_project("linked")
    run = Backend().create_flow_run(flow_id=flow.register(project_name="linked"), run_name="linked-run")

    page.goto(f"{run_url(run['id'])}&token={lab.token}")

    view = page.locator(f'[data-testid="run-view"][data-run-id="{run["id"]}"]')
    expect(view.locator(".jp-FlowsRunView-title")).to_have_text("linked-run")


def test_a_pipeline_can_be_registered_on_a_schedule(page: Page, lab, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(lab.home))
    write_notebook(lab.root / "nightly" / "one.ipynb", "", "print(1)")
    write_notebook(lab.root / "nightly" / "two.ipynb", "", "print(2)")

    page.goto(lab.lab_url("lab/tree/nightly?reset"))
    page.wait_for_selector("#jp-main-dock-panel")
    listing_item(page, "one.ipynb").click()
    listing_item(page, "two.ipynb").click(modifiers=["Shift"])
    listing_item(page, "two.ipynb").click(button="right")
    page.locator(".lm-Menu-item", has_text="Create flow from notebooks").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_test_id("pipeline-project").fill("scheduled")
    dialog.get_by_test_id("pipeline-name").fill("nightly-pair")
    dialog.get_by_test_id("pipeline-schedule").check()
    expect(dialog).to_contain_text("Monday through Friday")
    dialog.locator(".jp-Dialog-button", has_text="Register").first.click()
    expect(dialog).to_have_count(0)

    from jupyter_flows.backend import Backend

    backend = Backend()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the dialog closes before the registration's request returns
        flows = [f for f in backend.list_flows("scheduled") if f["name"] == "nightly-pair"] \
            if any(p["name"] == "scheduled" for p in backend.list_projects()) else []
        schedule = backend.get_schedule(flows[0]["id"]) if flows else None
        if schedule is not None:
            break
        time.sleep(0.2)
    assert schedule is not None and "Monday through Friday" in schedule["description"]
    flow = flows[0]
    assert sorted(t["name"] for t in flow["graph"]["tasks"]) == ["one", "two"]
