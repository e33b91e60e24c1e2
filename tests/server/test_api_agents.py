"""Agents through the REST API, and why a Scheduled run waits (``waiting_reason``)."""

from __future__ import annotations

import pytest

from server_helpers import register_hello_flow, wait_for

pytestmark = pytest.mark.slow


async def test_no_agents_before_any_started(api):
    status, body = await api("GET", "agents")

    assert status == 200 and body["agents"] == []


async def test_a_running_agent_is_listed_live_with_its_host_and_labels(api, agent):
    async def live_agents():
        _, body = await api("GET", "agents")
        return [a for a in body["agents"] if a["live"]]

    [listed] = await wait_for(live_agents, what="the agent to register")

    assert set(listed) == {"id", "host", "labels", "last_seen", "runs_in_flight", "live", "managed"}
    assert listed["managed"] is False  # a user started it, not this server
    assert listed["host"] and listed["runs_in_flight"] == 0 and listed["last_seen"] > 0


async def test_a_scheduled_run_without_an_agent_says_it_waits_for_one(api, backend):
    run = backend.create_flow_run(register_hello_flow())

    _, detail = await api("GET", "flow-runs", run["id"])
    _, listing = await api("GET", "flow-runs")

    assert detail["waiting_reason"] == "no agent is running"
    assert [r["waiting_reason"] for r in listing["flow_runs"]] == ["no agent is running"]


async def test_a_run_started_without_an_agent_says_so_in_the_answer(api):
    status, run = await api("POST", "flow-runs", body={"flow_id": register_hello_flow()})

    assert status == 201 and run["waiting_reason"] == "no agent is running"


async def test_a_run_needing_a_label_no_live_agent_has_names_the_label(api, backend, agent):
    flow_id = register_hello_flow()

    async def agent_is_live():
        _, body = await api("GET", "agents")
        return any(a["live"] for a in body["agents"])

    await wait_for(agent_is_live, what="the agent to register")
    _, run = await api("POST", "flow-runs", body={"flow_id": flow_id, "labels": ["gpu"]})
    _, detail = await api("GET", "flow-runs", run["id"])

    assert detail["state"] == "Scheduled"
    assert detail["waiting_reason"] == "no live agent has the labels it needs: gpu"


async def test_a_run_that_is_not_scheduled_has_no_waiting_reason(api, backend):
    run = backend.create_flow_run(register_hello_flow())
    backend.cancel_flow_run(run["id"])

    _, detail = await api("GET", "flow-runs", run["id"])

    assert detail["waiting_reason"] is None
