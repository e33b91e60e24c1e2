"""The Flows sidebar and run views in a real JupyterLab, driven in headless chromium.

A real local agent runs on the lab's jupyter-flows home, so runs registered
here, started from the panel, or started from a notebook's toolbar all
progress to Success, and their logs come from the real flow. Screenshots of
the panel, the run view and the run dialog are saved under
test-artifacts/screenshots/, or into docs/screenshots/ (the README's) when
JUPYTER_FLOWS_UPDATE_SCREENSHOTS=1 is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from jupyter_flows.agent.background import local_agent_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("JUPYTER_FLOWS_UPDATE_SCREENSHOTS") == "1"
               else REPO / "test-artifacts" / "screenshots")
RUN_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module", autouse=True)
def screenshots_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def agent(lab, tmp_path_factory):
    """``jupyter-flows agent local start`` on the lab's home, stopped (with its runs) after the module."""
    env = {**os.environ, "JUPYTER_FLOWS_HOME": str(lab.home), "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.2"}
    log_path = tmp_path_factory.mktemp("agent_log") / "agent.log"
    with local_agent_process(log_path=log_path, env=env, cwd=lab.root) as process:
        yield process


@pytest.fixture
def hello_flow_id(lab_home):
    """The tutorial's hello-flow, registered in project "tutorial" of the lab's backend."""
    from jupyter_flows.backend import Client
    from jupyter_flows.examples.hello_flow import flow

    Client().create_project("tutorial")
    return flow.register(project_name="tutorial")


def write_greeting_notebook(path: Path) -> None:
    """A notebook whose cell tagged ``parameters`` sets ``name``, and which prints a greeting."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell('name = "World"')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell('print(f"Hello, {name}!")')]
    nbformat.write(nb, path)


def run_from_palette(page: Page, command: str, search_text: str) -> None:
    """Find ``command`` in the command palette by ``search_text`` and run it.

    Tried again from the start when the palette is not there: while a
    notebook is still settling, the shortcut can land before it is handled,
    or the notebook takes the focus back, which closes the palette.
    """
    search = page.locator(".lm-CommandPalette-input")
    item = page.locator(f'.lm-CommandPalette-item[data-command="{command}"]')
    for _ in range(5):
        if not search.is_visible():
            page.keyboard.press("Control+Shift+C")
        try:
            search.fill(search_text, timeout=2000)
            item.click(timeout=2000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"could not run {command} from the command palette in 5 tries")


def open_lab(page: Page, lab, path: str = "lab?reset") -> None:
    page.goto(lab.lab_url(path))
    page.wait_for_selector("#jp-main-dock-panel")


def open_flows_panel(page: Page) -> None:
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jupyter-flows-panel"]').click()
    expect(page.locator("#jupyter-flows-panel")).to_be_visible()


def flow_item(page: Page, project: str, flow: str):
    return page.locator(f'[data-testid="project-item"][data-project-name="{project}"] '
                        f'[data-testid="flow-item"][data-flow-name="{flow}"]')


def run_view(page: Page, run_id: str):
    return page.locator(f'[data-testid="run-view"][data-run-id="{run_id}"]')


def open_run_id(page: Page) -> str:
    """The id of the run view in front (the one just opened)."""
    view = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-testid="run-view"]')
    expect(view).to_be_visible()
    return view.get_attribute("data-run-id")


def expect_success_with_log(page: Page, run_id: str, line: str) -> None:
    view = run_view(page, run_id)
    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Success", timeout=RUN_TIMEOUT_MS)
    expect(view.get_by_test_id("run-log")).to_contain_text(line)


def test_the_panel_shows_the_tutorial_flow_and_its_run_reaching_success_with_its_log(page, lab, agent,
                                                                                      hello_flow_id):
    from jupyter_flows.backend import Client

    run_id = Client().create_flow_run(hello_flow_id)
    open_lab(page, lab)
    open_flows_panel(page)

    flow = flow_item(page, "tutorial", "hello-flow")
    expect(flow).to_be_visible()
    run_item = flow.locator(f'[data-testid="flow-run-item"][data-run-id="{run_id}"]')
    expect(run_item).to_have_attribute("data-state", "Success", timeout=RUN_TIMEOUT_MS)
    expect(run_item.get_by_test_id("state-badge")).to_have_css("background-color", "rgb(40, 167, 69)")

    run_item.locator("button").click()
    expect_success_with_log(page, run_id, "Hello, Arthur!")
    view = run_view(page, run_id)
    for name in ("Ford", "Marvin"):
        expect(view.get_by_test_id("run-log")).to_contain_text(f"Hello, {name}!")
    expect(view.get_by_test_id("timeline-bar")).to_have_count(5)  # people, say_hello, 3 children
    expect(view.locator('[data-testid="task-runs-table"] tbody tr')).to_have_count(5)
    assert int(view.get_by_test_id("run-timeline").get_attribute("data-peak-concurrency")) >= 2

    page.screenshot(path=str(SCREENSHOTS / "lab-flows-panel.png"))
    view.screenshot(path=str(SCREENSHOTS / "run-view.png"))


def test_a_run_started_from_the_panel_with_a_changed_parameter_greets_zaphod(page, lab, agent, hello_flow_id):
    open_lab(page, lab)
    open_flows_panel(page)

    flow_item(page, "tutorial", "hello-flow").get_by_test_id("run-flow-button").click()
    people = page.locator('.jp-Dialog textarea[data-param="people"]')
    expect(people).to_have_value('["Arthur","Ford","Marvin"]')
    people.fill('["Zaphod"]')
    page.locator(".jp-Dialog-content").screenshot(path=str(SCREENSHOTS / "run-dialog.png"))
    people.fill('["Zaphod"')
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    expect(page.get_by_test_id("parameter-error")).to_contain_text('["Zaphod" is not valid JSON')
    page.locator('.jp-Dialog textarea[data-param="people"]').fill('["Zaphod"]')
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()

    run_id = open_run_id(page)
    expect_success_with_log(page, run_id, "Hello, Zaphod!")
    view = run_view(page, run_id)
    expect(view.get_by_test_id("run-parameters")).to_have_text('people=["Zaphod"]')
    expect(view.get_by_test_id("run-log")).not_to_contain_text("Hello, Arthur!")
    expect(flow_item(page, "tutorial", "hello-flow").locator(f'[data-run-id="{run_id}"]')).to_have_attribute(
        "data-state", "Success")


def test_a_running_run_is_cancelled_from_its_view(page, lab, agent, hello_flow_id):
    from jupyter_flows.backend import Backend, Client

    crowd = [f"Guest {i}" for i in range(40)]  # about 20 s of greetings on two workers
    run_id = Client().create_flow_run(hello_flow_id, parameters={"people": crowd})
    open_lab(page, lab)
    open_flows_panel(page)
    flow_item(page, "tutorial", "hello-flow").locator(f'[data-run-id="{run_id}"] button').click()

    view = run_view(page, run_id)
    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Running", timeout=RUN_TIMEOUT_MS)
    expect(view.get_by_test_id("run-log")).to_contain_text("Hello, Guest", timeout=RUN_TIMEOUT_MS)
    view.get_by_test_id("cancel-run").click()

    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Cancelled")
    expect(view.get_by_test_id("cancel-run")).to_have_count(0)
    expect(view.get_by_test_id("run-state")).to_have_css("background-color", "rgb(96, 125, 139)")
    assert Backend().get_flow_run(run_id)["state"] == "Cancelled"


def test_an_open_notebook_runs_as_a_flow_from_its_toolbar_button(page, lab, agent, lab_home):
    write_greeting_notebook(lab.root / "greet.ipynb")

    open_lab(page, lab, "lab/tree/greet.ipynb?reset")
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-FlowsRunNotebookButton")
    expect(button).to_be_visible()
    button.locator("button, jp-button").first.click()

    page.get_by_test_id("notebook-flow-project").fill("notebooks")
    expect(page.get_by_test_id("notebook-flow-name")).to_have_value("greet")
    expect(page.get_by_test_id("notebook-flow-output-dir")).to_have_value("greet-runs")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    name = page.locator('.jp-Dialog input[data-param="name"]')
    expect(name).to_have_value("World")
    name.fill("Ford")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()

    run_id = open_run_id(page)
    expect_success_with_log(page, run_id, "Hello, Ford!")
    link = run_view(page, run_id).get_by_test_id("output-notebook-link")
    expect(link).to_have_text(f"greet-runs/{run_id}.ipynb")
    open_flows_panel(page)
    expect(flow_item(page, "notebooks", "greet").locator(f'[data-run-id="{run_id}"]')).to_have_attribute(
        "data-state", "Success")
    expect(flow_item(page, "notebooks", "greet")).to_contain_text("Notebook")
    page.screenshot(path=str(SCREENSHOTS / "notebook-run.png"))

    link.click()
    executed = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(f"{run_id}.ipynb")
    expect(executed.locator(".jp-OutputArea-output")).to_contain_text("Hello, Ford!")
    assert (lab.root / "greet-runs" / f"{run_id}.ipynb").is_file()


def test_run_notebook_as_flow_is_in_the_command_palette(page, lab):
    write_greeting_notebook(lab.root / "palette.ipynb")
    open_lab(page, lab, "lab/tree/palette.ipynb?reset")
    # Give the notebook the focus first: the notebook taking it while it loads would close the palette.
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputPrompt").first.click()
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook.jp-mod-commandMode")).to_be_visible()

    run_from_palette(page, "jupyter-flows:run-notebook", "Run notebook as flow")

    expect(page.get_by_test_id("notebook-flow-name")).to_have_value("palette")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-reject").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def register_greeter(greeting: str, name: str = "greeter") -> str:
    """A flow ``name`` in project "versions"; a new greeting makes a new version (older ones archived)."""
    from jupyter_flows import Flow, Parameter
    from jupyter_flows.backend import Client
    from jupyter_flows.examples.hello_flow import say_hello
    from jupyter_flows.run_configs import LocalRun

    with Flow(name) as flow:
        say_hello.map(Parameter("people", default=["Arthur"]))
    flow.run_config = LocalRun(env={"GREETING": greeting})
    Client().create_project("versions")
    return flow.register(project_name="versions")


def test_the_panel_pages_through_older_runs_and_picks_a_flow_version(page, lab, lab_home):
    from jupyter_flows.backend import Backend

    backend = Backend()
    first = register_greeter("Hello")
    first_runs = [backend.create_flow_run(first, run_name=f"greeter-v1-{i}")["id"] for i in range(7)]
    second = register_greeter("Howdy")
    second_run = backend.create_flow_run(second, run_name="greeter-v2-0")["id"]
    open_lab(page, lab)
    open_flows_panel(page)

    flow = flow_item(page, "versions", "greeter")
    runs = flow.get_by_test_id("flow-run-item")
    picker = flow.get_by_test_id("flow-version-picker")
    expect(picker).to_have_value(second)
    expect(runs).to_have_count(1)
    expect(runs.first).to_have_attribute("data-run-id", second_run)
    expect(flow.get_by_test_id("older-runs")).to_have_count(0)

    picker.select_option(label="v1 (archived)")
    expect(flow).to_have_attribute("data-flow-id", first)
    expect(runs).to_have_count(5)
    expect(flow.get_by_test_id("run-flow-button")).to_be_disabled()
    flow.get_by_test_id("older-runs").click()
    expect(runs).to_have_count(7)
    expect(flow.get_by_test_id("older-runs")).to_have_count(0)
    assert [runs.nth(i).get_attribute("data-run-id") for i in range(7)] == first_runs[::-1]
    page.screenshot(path=str(SCREENSHOTS / "panel-versions.png"))

    picker.select_option(value=second)
    flow.get_by_test_id("run-flow-button").click()
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    started = open_run_id(page)
    assert backend.get_flow_run(started)["flow_id"] == second
    expect(flow.locator(f'[data-run-id="{started}"]')).to_have_count(1)


def test_a_run_no_agent_can_take_says_why_it_waits_in_the_panel_and_its_view(page, lab, agent, hello_flow_id):
    from jupyter_flows.backend import Client

    run_id = Client().create_flow_run(hello_flow_id, labels=["gpu-test"])
    open_lab(page, lab)
    open_flows_panel(page)

    expect(page.get_by_test_id("agents-status")).to_have_attribute("data-live", "1", timeout=30_000)
    expect(page.get_by_test_id("agents-status")).to_have_text("1 agent running")
    item = flow_item(page, "tutorial", "hello-flow").locator(f'[data-run-id="{run_id}"]')
    expect(item.get_by_test_id("run-waiting-reason")).to_have_text(
        "Waiting: no live agent has the labels it needs: gpu-test")
    item.locator("button").click()
    view = run_view(page, run_id)
    expect(view.get_by_test_id("run-waiting-reason")).to_have_text("no live agent has the labels it needs: gpu-test")
    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Scheduled")
    view.get_by_test_id("cancel-run").click()
    expect(view.get_by_test_id("run-waiting-reason")).to_have_count(0)


def test_the_run_view_pages_through_a_long_log_to_its_last_line(page, lab, lab_home):
    from jupyter_flows.backend import Backend

    backend = Backend()
    # A label no agent has: the lab's own agent must not start the run and add lines of its own.
    run_id = backend.create_flow_run(register_greeter("Hello", name="chatty"), labels=["nobody-serves-this"])["id"]
    backend.write_logs(run_id, [{"message": f"line {i}", "level": "INFO"} for i in range(2500)])
    backend.cancel_flow_run(run_id)
    open_lab(page, lab)
    open_flows_panel(page)

    flow_item(page, "versions", "chatty").locator(f'[data-run-id="{run_id}"] button').click()

    log = run_view(page, run_id).get_by_test_id("run-log")
    expect(log.get_by_test_id("log-line")).to_have_count(2500)
    expect(log.get_by_test_id("log-line").first).to_contain_text("line 0")
    expect(log.get_by_test_id("log-line").last).to_contain_text("line 2499")
