"""Real local agent processes for the restart tests, stopped at the end of each test whatever happened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_flows.agent.background import start_agent_process, stop_agent_process

sys.path.insert(0, str(Path(__file__).parent.parent / "agent"))  # agent_helpers: the CLI, waits, registration


@pytest.fixture
def start_agent(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "0.5")
    processes: list[subprocess.Popen] = []

    def start(*options: str) -> subprocess.Popen:
        with open(tmp_path / f"agent-{len(processes)}.log", "wb") as out:
            process = start_agent_process(*options, out=out)
        processes.append(process)
        return process

    yield start
    for process in processes:
        stop_agent_process(process, timeout=15)
