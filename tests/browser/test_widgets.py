"""The configuration form and the live run widget in a real JupyterLab, driven in headless chromium.

A notebook that loads the magics and defines hello-flow is run in the lab;
the form renders, the executor is switched to a LocalDaskExecutor pool of
threads and GREETING is changed, Run here runs the flow in the notebook's
kernel, and the live run widget reaches Success with the new greeting in its
log. Screenshots of the form and of the run widget go to test-artifacts/screenshots/, or refresh
the README's copies in docs/screenshots/ with JUPYTER_FLOWS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("JUPYTER_FLOWS_UPDATE_SCREENSHOTS") == "1"
               else REPO / "test-artifacts" / "screenshots")

HELLO_TASK = '''import os
import time

from jupyter_flows import Parameter, context, task


@task
def say_hello(name):
    time.sleep(0.5)
    greeting = os.environ.get("GREETING")
    context.get("logger").info(f"{greeting}, {name}!")'''

HELLO_FLOW = '''%%flow hello-flow --env GREETING=Hello
people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
say_hello.map(people)'''


def write_notebook(root: Path, name: str) -> None:
    nb = new_notebook(cells=[new_code_cell("%load_ext jupyter_flows"), new_code_cell(HELLO_TASK),
                             new_code_cell(HELLO_FLOW), new_code_cell('hello_flow.configure(project_name="tutorial")')],
                      metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                               "name": "python3"}})
    nbformat.write(nb, root / name)


def run_all_cells_until_visible(page: Page, target, attempts: int = 3) -> None:
    """Run all cells until ``target`` shows.

    The lab sometimes asks which kernel to start when a freshly opened
    notebook is run before its kernel is connected; the question is answered
    with the default kernel, and a run-all that the question swallowed is
    repeated (re-running the cells is harmless).
    """
    question = page.locator(".jp-Dialog", has_text="Select Kernel")
    page.add_locator_handler(question, lambda dialog: dialog.locator(".jp-mod-accept").click())
    for _ in range(attempts):
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        try:
            target.wait_for(state="visible", timeout=30_000)
            return
        except PlaywrightTimeout:
            continue
    expect(target).to_be_visible()


def test_configure_the_executor_and_greeting_then_run_here_and_watch_it_succeed(page, lab, lab_home):
    write_notebook(lab.root, "widgets-hello.ipynb")
    page.goto(lab.lab_url("lab/tree/widgets-hello.ipynb?reset"))
    page.wait_for_selector(".jp-NotebookPanel")
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_be_attached(timeout=60_000)
    form = page.locator(".jupyter-flows-config")
    run_all_cells_until_visible(page, form)
    expect(form).to_contain_text("Configure flow hello-flow")
    form.locator(".jupyter-flows-executor-kind select").select_option(
        label="LocalDaskExecutor: a local pool of threads or processes")
    expect(form.locator(".jupyter-flows-scheduler")).to_be_visible()
    expect(form.locator(".jupyter-flows-scheduler button", has_text="threads")).to_have_class(
        re.compile(r"\bmod-active\b"))
    greeting = form.locator(".jupyter-flows-env-value input")
    expect(greeting).to_have_value("Hello")
    greeting.fill("Howdy")
    expect(form.locator(".jupyter-flows-env-name input")).to_have_value("GREETING")
    form.locator(".jupyter-flows-project input").fill("tutorial")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    form.screenshot(path=str(SCREENSHOTS / "widget-config-form.png"))

    form.locator(".jupyter-flows-run-here").click()
    run = form.locator(".jupyter-flows-run")
    expect(run).to_be_visible(timeout=30_000)
    expect(run.locator(".jupyter-flows-run-summary")).to_contain_text("Success", timeout=90_000)
    expect(run.locator(".jupyter-flows-run-log")).to_contain_text("Howdy, Arthur!")
    expect(run.locator(".jupyter-flows-run-log")).to_contain_text("Howdy, Marvin!")
    expect(run).to_contain_text("Mapped · 3/3")
    expect(form.locator(".jupyter-flows-status")).to_contain_text(
        "Run here with LocalDaskExecutor(scheduler='threads') ended Success")
    run.screenshot(path=str(SCREENSHOTS / "widget-run-view.png"))
