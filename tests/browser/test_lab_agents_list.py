"""The Flows panel lists the agents on the lab's backend, as ``jupyter-flows get agents`` does.

A real local agent process with a label of its own: the panel shows its
host, its labels, when it was last seen ("3 s ago", live), how many runs it
holds while one of its runs waits on a file this test creates, and, once
the agent is stopped, that it is gone.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_lab_panel import SCREENSHOTS, open_flows_panel, open_lab

from jupyter_flows.agent.background import start_agent_process, stop_agent_process

sys.path.insert(0, str(Path(__file__).parent.parent / "agent"))  # agent_helpers: registering a flow file

from agent_helpers import register_file, wait_for_state, write_flow_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LABEL = "agents-list-test"
#: Beats are 5 s apart by default; an agent is gone after two missed ones, so a live one reads 0-10 s ago.
BEAT_WAIT_MS = 30_000

HELD_FLOW = '''
import time
from pathlib import Path

from jupyter_flows import Flow, task


@task
def hold():
    while not Path({release!r}).exists():
        time.sleep(0.1)


with Flow("held") as flow:
    hold()
'''


@pytest.fixture
def labelled_agent(lab, lab_home, tmp_path):
    """A local agent on the lab's home with label ``LABEL``, stopped at the end of the test if still running."""
    env = {**os.environ, "JUPYTER_FLOWS_HOME": str(lab.home), "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.2"}
    with open(tmp_path / "agent.log", "wb") as out:
        process = start_agent_process("--label", LABEL, "--warm", "0", out=out, env=env, cwd=lab.root)
    yield process
    stop_agent_process(process, timeout=15)


def _agent_id(backend) -> str:
    """The id of the live agent carrying ``LABEL``, once it registered."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ids = [a["id"] for a in backend.list_agents(live_only=True) if LABEL in a["labels"]]
        if ids:
            return ids[0]
        time.sleep(0.2)
    raise AssertionError(f"no live agent with label {LABEL!r} registered within 60 s")


def test_the_panel_lists_a_live_agent_with_its_host_labels_last_seen_and_runs_then_shows_it_gone(
        page, lab, lab_home, labelled_agent, tmp_path):
    from jupyter_flows.backend import Backend

    backend = Backend()
    agent_id = _agent_id(backend)
    release = tmp_path / "release"
    flow = register_file(backend, write_flow_file(tmp_path, HELD_FLOW.format(release=str(release)), "held.py"),
                         "agents-list", LABEL)
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    open_lab(page, lab)
    open_flows_panel(page)

    row = page.locator(f'[data-testid="agent-item"][data-agent-id="{agent_id}"]')
    expect(row).to_have_attribute("data-live", "true")
    expect(row.get_by_test_id("agent-status")).to_have_text("live")
    expect(row.get_by_test_id("agent-host")).to_have_text(socket.gethostname())
    expect(row.get_by_test_id("agent-labels")).to_contain_text(LABEL)
    expect(row.get_by_test_id("agent-last-seen")).to_have_text(re.compile(r"^seen \d+ s ago$"))
    assert 0 <= int(row.get_by_test_id("agent-last-seen").get_attribute("data-age")) <= 15
    expect(row.get_by_test_id("agent-runs")).to_have_text("1 run in flight", timeout=BEAT_WAIT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#jupyter-flows-panel").screenshot(path=str(SCREENSHOTS / "lab-agents-list.png"))

    release.touch()
    assert wait_for_state(backend, run_id, timeout=90)["state"] == "Success"
    expect(row.get_by_test_id("agent-runs")).to_have_text("no runs in flight", timeout=BEAT_WAIT_MS)

    stop_agent_process(labelled_agent, timeout=15)
    page.locator(".jp-FlowsPanel-refresh").click()
    expect(row).to_have_attribute("data-live", "false")
    expect(row.get_by_test_id("agent-status")).to_have_text("gone")
    expect(row.get_by_test_id("agent-last-seen")).to_have_text(re.compile(r"^seen \d+ s ago$"))
    expect(page.get_by_test_id("agents-status")).to_have_attribute("data-live", "0")

