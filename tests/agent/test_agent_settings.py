"""A bad JUPYTER_FLOWS_* setting stops an agent or a run with its name, never a busy loop or a stuck run."""

from __future__ import annotations

import os
import time

import pytest

from agent_helpers import register_file, run_cli, wait_for_state, write_flow_file
from jupyter_flows.run_configs import LocalRun

pytestmark = pytest.mark.slow

QUICK_FLOW = '''
from jupyter_flows import Flow, task


@task
def hello():
    return "hello"


with Flow("quick-flow") as flow:
    hello()
'''


@pytest.fixture
def quick_flow(backend, tmp_path) -> dict:
    return register_file(backend, write_flow_file(tmp_path, QUICK_FLOW, "quick_flow.py"))


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_agent_with_a_bad_heartbeat_interval_refuses_to_start_before_claiming(
        monkeypatch, start_agent, backend, quick_flow, value):
    run = backend.create_flow_run(flow_id=quick_flow["id"])
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", value)

    agent = start_agent()

    assert agent.process.wait(timeout=30) == 2
    lines = [line for line in agent.output().splitlines() if line.strip()]
    assert len(lines) == 1, agent.output()
    assert f"JUPYTER_FLOWS_HEARTBEAT_INTERVAL={value!r}" in lines[0]
    assert "a number > 0" in lines[0]
    assert backend.get_flow_run(run["id"])["state"] == "Scheduled"


def test_agent_with_a_bad_log_level_refuses_to_start(monkeypatch, start_agent):
    monkeypatch.setenv("JUPYTER_FLOWS_LOG_LEVEL", "loud")

    agent = start_agent()

    assert agent.process.wait(timeout=30) == 2
    last = agent.output().strip().splitlines()[-1]
    assert last.startswith("Error: JUPYTER_FLOWS_LOG_LEVEL='loud' is not a log level")


def test_run_config_env_with_a_bad_setting_fails_the_run_with_the_variable_named(start_agent, backend, quick_flow):
    bad_env = LocalRun(env={"JUPYTER_FLOWS_HEARTBEAT_INTERVAL": "abc"}).to_dict()
    run = backend.create_flow_run(flow_id=quick_flow["id"], run_config=bad_env)

    start_agent()

    final = wait_for_state(backend, run["id"], timeout=30)
    assert final["state"] == "Failed"
    assert "JUPYTER_FLOWS_HEARTBEAT_INTERVAL='abc'" in final["state_message"]
    assert "Submitted" in [s["state"] for s in final["states"]]


def test_run_process_with_a_bad_setting_fails_its_run_instead_of_leaving_it_submitted(
        monkeypatch, backend, quick_flow):
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "abc")
    started = time.monotonic()

    result = run_cli("run", "--name", "quick-flow", "--execute")

    assert result.returncode == 1
    assert time.monotonic() - started < 60
    run = backend.list_flow_runs(flow_id=quick_flow["id"])[0]
    assert run["state"] == "Failed"
    assert "cannot start" in run["state_message"]
    assert "JUPYTER_FLOWS_HEARTBEAT_INTERVAL='abc'" in run["state_message"]
    assert "Failed" in result.stdout


def test_run_process_exits_with_code_2_when_its_backend_setting_is_unusable(backend, quick_flow):
    import subprocess
    import sys

    run = backend.create_flow_run(flow_id=quick_flow["id"])
    env = {**os.environ, "JUPYTER_FLOWS_HOME": "", "JUPYTER_FLOWS_BACKEND_URL": ""}

    result = subprocess.run([sys.executable, "-m", "jupyter_flows.agent.execute", run["id"]],
                            env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "JUPYTER_FLOWS_HOME='' is empty" in result.stderr
