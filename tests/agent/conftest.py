"""Real agent processes for the agent tests, with short intervals so the tests stay quick.

Every agent started through the ``start_agent`` fixture is stopped at the end
of its test (SIGINT, then SIGKILL), whatever the test did to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent_helpers import HEARTBEAT_INTERVAL, POLL_INTERVAL, SLOW_FLOW, AgentProcess, register_file, write_flow_file

sys.path.insert(0, str(Path(__file__).parents[1] / "backend"))
from postgres_server import postgres_server  # noqa: E402,F401  (the one PostgreSQL harness)


@pytest.fixture(autouse=True)
def fast_intervals(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", str(POLL_INTERVAL))
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", str(HEARTBEAT_INTERVAL))


@pytest.fixture
def start_agent(tmp_path):
    agents: list[AgentProcess] = []

    def start(*options: str) -> AgentProcess:
        log_path = tmp_path / f"agent-{len(agents)}.log"
        with open(log_path, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_flows.cli", "agent", "local", "start", *options],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        agent = AgentProcess(process, log_path)
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture
def slow_flow(backend, tmp_path) -> dict:
    return register_file(backend, write_flow_file(tmp_path, SLOW_FLOW, "slow_flow.py"))


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_backend(request, jupyter_flows_home, monkeypatch):
    """One backend for the test and every agent it starts: the home's SQLite file, or a PostgreSQL database."""
    from jupyter_flows.backend import Backend

    if request.param == "postgresql":
        monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", request.getfixturevalue("postgres_server").new_database())
    backend = Backend()
    yield backend
    backend.close()
