"""``jupyter-flows demo``: the tutorial from registration to parallel greetings, on the embedded backend."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

JUPYTER_FLOWS = str(Path(sys.executable).parent / "jupyter-flows")


def test_demo_registers_runs_and_watches_the_tutorial_flow_with_a_local_agent(monkeypatch, jupyter_flows_home):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.05")

    result = subprocess.run([JUPYTER_FLOWS, "demo"], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Registered flow 'hello-flow' version 1 in project 'tutorial'" in out
    for name in ("Arthur", "Ford", "Marvin"):
        assert f"Hello, {name}!" in out
    assert "ended Success" in out
    assert "they overlapped (ran in parallel)" in out
    assert "Stopping the agent" in out
    agent_log = (jupyter_flows_home / "demo-agent.log").read_text()
    assert "stopped" in agent_log


def test_demo_greets_the_people_given(monkeypatch, jupyter_flows_home):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.05")

    result = subprocess.run([JUPYTER_FLOWS, "demo", "--people", "Zaphod", "--people", "Trillian"],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Hello, Zaphod!" in result.stdout and "Hello, Trillian!" in result.stdout
    assert "Hello, Arthur!" not in result.stdout
