"""An IPython shell with the jupyter-flows magics, a hello-flow task in it, and a real local agent.

The shell is IPython's test instance (one per process); each test starts
from a reset namespace with the extension loaded. The agent is a real
``jupyter-flows agent local start`` process on the test's own home, stopped
(SIGINT, then SIGKILL) when the test ends.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jupyter_flows.agent.background import local_agent_process

from jupyter_helpers import HELLO_FLOW_CELL, HELLO_TASK, run


@pytest.fixture
def hello(ip):
    """The shell with ``say_hello`` defined and ``%%flow hello-flow`` run."""
    run(ip, HELLO_TASK)
    run(ip, HELLO_FLOW_CELL)
    return ip


@pytest.fixture
def html_display(ip):
    """Make the shell produce text/html beside text/plain, as a notebook kernel does."""
    formatter = ip.display_formatter
    saved = list(formatter.active_types)
    formatter.active_types = saved + ["text/html"]
    yield
    formatter.active_types = saved


@pytest.fixture
def magics(ip):
    return ip.magics_manager.registry["FlowMagics"]


@pytest.fixture
def fast_agent_intervals(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.1")
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "1")


@pytest.fixture
def agent(tmp_path, fast_agent_intervals):
    """A real local agent polling this test's backend."""
    log_path = tmp_path / "agent.log"
    with local_agent_process(log_path=log_path) as process:
        yield AgentProcess(process, log_path)


class AgentProcess:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")
