"""Schedules through the REST API of a real Jupyter server: preview as typed, set, list, pause, resume."""

from __future__ import annotations

from datetime import datetime

import pytest

from server_helpers import register_hello_flow

pytestmark = pytest.mark.slow


async def test_preview_describes_a_cron_schedule_and_its_next_times_in_the_zone(api):
    status, body = await api("GET", "schedules", "preview", params={"cron": "0 6 * * 1-5", "tz": "Europe/Berlin"})
    assert status == 200
    assert body["description"] == "at 06:00, Monday through Friday (Europe/Berlin)"
    times = [datetime.fromisoformat(t) for t in body["next"]]
    assert len(times) == 5 and all(t.hour == 6 and t.isoweekday() <= 5 for t in times)


@pytest.mark.parametrize("params, message", [
    ({"cron": "0 6 * * 1-9"}, "field 5 (day of week) '1-9' is not valid (out of range)"),
    ({"every": "15m", "tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"every": "-5m"}, "'-5m' is not a duration"),
    ({}, "give a cron expression or an interval"),
])
async def test_a_bad_schedule_preview_is_a_400_naming_the_value(api, params, message):
    status, body = await api("GET", "schedules", "preview", params=params)
    assert status == 400 and message in body["message"]


async def test_a_flow_scheduled_through_the_api_shows_its_schedule_and_next_run_in_the_flow_list(api, backend):
    flow_id = register_hello_flow()
    status, body = await api("POST", "flows", flow_id, "schedule",
                             body={"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin",
                                   "parameters": {"people": ["Zaphod"]}})
    assert status == 200 and body["paused"] is False
    assert body["description"] == "at 06:00, Monday through Friday (Europe/Berlin) with people=['Zaphod']"
    _, listed = await api("GET", "flows")
    [flow] = listed["flows"]
    assert flow["schedule"]["description"] == body["description"]
    next_run = datetime.fromtimestamp(flow["next_run"]).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert next_run.hour == 6 and next_run.isoweekday() <= 5

    status, paused = await api("POST", "flows", flow_id, "schedule", "pause")
    assert status == 200 and paused["paused"] is True and paused["next_run"] is None
    _, listed = await api("GET", "flows")
    assert listed["flows"][0]["schedule"]["paused"] is True and listed["flows"][0]["next_run"] is None
    status, resumed = await api("POST", "flows", flow_id, "schedule", "resume")
    assert status == 200 and resumed["paused"] is False and resumed["next_run"] == flow["next_run"]


async def test_scheduled_runs_show_their_scheduled_start_time(api, backend):
    flow_id = register_hello_flow()
    await api("POST", "flows", flow_id, "schedule", body={"every": "1h"})
    backend.create_scheduled_runs()
    _, page = await api("GET", "flow-runs", params={"flow_id": flow_id})
    starts = sorted(r["scheduled_start_time"] for r in page["flow_runs"])
    assert len(starts) == 10 and [b - a for a, b in zip(starts, starts[1:])] == [3600.0] * 9
    _, detail = await api("GET", "flow-runs", page["flow_runs"][0]["id"])
    assert detail["scheduled_start_time"] == page["flow_runs"][0]["scheduled_start_time"]


@pytest.mark.parametrize("body, status, message", [
    ({"every": "15m", "parameters": {"nobody": 1}}, 400, "sets parameter 'nobody', which flow 'hello-flow'"),
    ({"cron": "0 6 * *"}, 400, "it has 4 fields"),
    ({"every": "1h", "missed_runs": "some"}, 400, "unknown missed-run policy 'some'; known: latest, all"),
    ({"every": "1h", "when": "now"}, 400, "unknown field 'when'"),
])
async def test_bad_schedules_are_refused_naming_the_value(api, backend, body, status, message):
    flow_id = register_hello_flow()
    code, answer = await api("POST", "flows", flow_id, "schedule", body=body)
    assert code == status and message in answer["message"]
    assert backend.get_schedule(flow_id) is None


async def test_pausing_a_flow_without_a_schedule_or_an_unknown_flow_is_refused(api):
    flow_id = register_hello_flow()
    status, body = await api("POST", "flows", flow_id, "schedule", "pause")
    assert status == 400 and "flow 'hello-flow' has no schedule to pause" in body["message"]
    status, body = await api("POST", "flows", "no-such-flow", "schedule", "resume")
    assert status == 404 and "no flow with id 'no-such-flow'" in body["message"]


async def test_a_schedule_on_an_archived_version_is_refused(api):
    first = register_hello_flow(greeting="Hello")
    register_hello_flow(greeting="Howdy")
    status, body = await api("POST", "flows", first, "schedule", body={"every": "1h"})
    assert status == 400 and "version 1" in body["message"] and "is archived" in body["message"]


@pytest.fixture
def server_scheduler(monkeypatch):
    """The server started by this test runs a scheduler (asked for before ``api`` starts the server)."""
    monkeypatch.setenv("JUPYTER_FLOWS_SERVER_SCHEDULER", "1")
    monkeypatch.setenv("JUPYTER_FLOWS_SCHEDULER_INTERVAL", "0.2")


async def test_the_server_runs_a_scheduler_when_asked_to(server_scheduler, api, backend):
    from server_helpers import wait_for

    flow_id = register_hello_flow()
    await api("POST", "flows", flow_id, "schedule", body={"every": "1h"})

    async def runs():
        _, page = await api("GET", "flow-runs", params={"flow_id": flow_id})
        return len(page["flow_runs"]) == 10

    await wait_for(runs, timeout=30, what="the server's scheduler to create the next 10 runs")


async def test_the_server_runs_no_scheduler_by_default(api, backend):
    import asyncio

    flow_id = register_hello_flow()
    await api("POST", "flows", flow_id, "schedule", body={"every": "1h"})
    await asyncio.sleep(1.0)
    _, page = await api("GET", "flow-runs", params={"flow_id": flow_id})
    assert page["flow_runs"] == []
