"""The server shows a run whose process and agent went silent as lost, not as Running forever."""

from __future__ import annotations

import time

import pytest

from server_helpers import register_hello_flow

pytestmark = pytest.mark.slow


async def test_a_run_left_running_by_a_dead_agent_reads_as_lost(api, backend, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "0.2")
    flow_id = register_hello_flow("tutorial")
    run = backend.create_flow_run(flow_id=flow_id, state="Running", flow_run_id="left-by-a-dead-agent")
    time.sleep(0.6)  # silent for longer than two heartbeats, and no agent holds it

    status, body = await api("GET", "flow-runs", run["id"])

    assert status == 200
    assert body["state"] == "Failed"
    assert body["state_message"].startswith("lost: no heartbeat since")
    assert body["finished"] is True
    assert backend.get_flow_run(run["id"])["state"] == "Failed"


async def test_a_running_run_that_beats_stays_running(api, backend, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "5")
    flow_id = register_hello_flow("tutorial")
    run = backend.create_flow_run(flow_id=flow_id, state="Running", flow_run_id="alive-and-beating")
    backend.heartbeat(run["id"])

    status, body = await api("GET", "flow-runs", run["id"])

    assert status == 200
    assert body["state"] == "Running"
