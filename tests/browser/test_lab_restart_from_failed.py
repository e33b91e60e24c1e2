"""Issue 12's "Restart from failed" in the Lab run view, through a real agent process.

A flow whose second task fails until a file exists fails; the user creates
the file (the fix) and clicks "Restart from failed" in the run's view. The
same run goes on to Success, its history shows both attempts, and the task
that had succeeded is not run again (its result is read from its checkpoint).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_lab_panel import (
    RUN_TIMEOUT_MS,
    SCREENSHOTS,
    flow_item,
    open_flows_panel,
    open_lab,
    run_view,
)

from jupyter_flows.agent.background import local_agent_process

sys.path.insert(0, str(Path(__file__).parent.parent / "agent"))  # agent_helpers: registering a flow file

from agent_helpers import register_file, wait_for_state, write_flow_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: ``prepare`` succeeds and notes each execution; ``load`` fails until the file "fixed" exists.
FIXABLE_FLOW = '''
from pathlib import Path

from jupyter_flows import Flow, task

WORKDIR = Path({workdir!r})


@task
def prepare():
    with open(WORKDIR / "executions.log", "a") as log:
        log.write("prepare\\n")
    return 41


@task
def load(value):
    if not (WORKDIR / "fixed").exists():
        raise RuntimeError("the input file is missing")
    return value + 1


with Flow("fixable-in-lab") as flow:
    load(prepare())
'''


@pytest.fixture
def agent(lab, tmp_path):
    """A local agent on the lab's home for this test, stopped (with its runs) at its end."""
    env = {**os.environ, "JUPYTER_FLOWS_HOME": str(lab.home), "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.2"}
    with local_agent_process(log_path=tmp_path / "agent.log", env=env, cwd=lab.root) as process:
        yield process


def test_restart_from_failed_in_the_run_view_reruns_the_failed_task_and_ends_success_with_both_attempts(
        page, lab, lab_home, agent, tmp_path):
    from jupyter_flows.backend import Backend

    backend = Backend()
    flow = register_file(backend, write_flow_file(tmp_path, FIXABLE_FLOW.format(workdir=str(tmp_path)), "fixable.py"),
                         "restart-in-lab")
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert wait_for_state(backend, run_id, timeout=90)["state"] == "Failed"
    open_lab(page, lab)
    open_flows_panel(page)
    flow_item(page, "restart-in-lab", "fixable-in-lab").locator(
        f'[data-testid="flow-run-item"][data-run-id="{run_id}"] button').click()
    view = run_view(page, run_id)
    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Failed")
    expect(view.get_by_test_id("run-history")).to_have_attribute("data-attempts", "1")

    (tmp_path / "fixed").touch()  # the user fixes the cause
    view.get_by_test_id("restart-run").click()

    expect(view.locator(".jp-FlowsRunView-body")).to_have_attribute("data-state", "Success", timeout=RUN_TIMEOUT_MS)
    expect(view.get_by_test_id("restart-run")).to_have_count(0)
    history = view.get_by_test_id("run-history")
    expect(history).to_have_attribute("data-attempts", "2")
    attempts = history.get_by_test_id("run-attempt")
    expect(attempts.nth(0)).to_have_attribute("data-final-state", "Failed")
    expect(attempts.nth(1)).to_have_attribute("data-final-state", "Success")
    expect(attempts.nth(1)).to_contain_text("Attempt 2: Scheduled")
    expect(view.get_by_test_id("run-log")).to_contain_text("Restarting: 1 successful task run(s) kept")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.screenshot(path=str(SCREENSHOTS / "run-view-restarted.png"))

    run = backend.get_flow_run(run_id)
    assert [s["state"] for s in run["states"]].count("Running") == 2 and run["state"] == "Success"
    assert (tmp_path / "executions.log").read_text().split() == ["prepare"]  # kept from the first attempt
    states = {t["task_name"]: t["state"] for t in backend.get_task_runs(run_id)}
    assert states == {"prepare": "Success", "load": "Success"}
