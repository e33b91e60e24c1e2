"""Several real agent processes on one backend (SQLite and PostgreSQL): records, claims, the sweep."""

from __future__ import annotations

import socket

from agent_helpers import wait_for


def test_a_running_agent_is_recorded_live_and_stopped_when_it_ends(backend, start_agent):
    agent = start_agent("--label", "gpu")
    live = wait_for(lambda: backend.list_agents(live_only=True), what="the agent's record")
    [record] = live
    assert record["kind"] == "local" and record["host"] == socket.gethostname()
    assert set(record["labels"]) == {"gpu", socket.gethostname()}
    first_seen = record["last_seen"]
    wait_for(lambda: backend.list_agents()[0]["last_seen"] > first_seen, what="a later agent heartbeat")
    assert agent.stop() == 0
    [record] = backend.list_agents()
    assert record["live"] is False and record["stopped"] is not None
