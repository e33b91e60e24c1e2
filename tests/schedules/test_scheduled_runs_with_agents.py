"""The seed's hello-flow on a short schedule, run by two real agents with their schedulers: on time, once each."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from jupyter_flows.agent.background import local_agent_process
from jupyter_flows.examples import hello_flow
from jupyter_flows.schedules import IntervalSchedule

pytestmark = pytest.mark.slow

INTERVAL = 2.0


def first_time(run, state):
    return next((s["timestamp"] for s in run["states"] if s["state"] == state), None)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_two_agents_run_each_scheduled_time_once_and_on_time_and_pausing_stops_new_runs(any_backend, tmp_path):
    flow = hello_flow.flow.copy()
    flow.schedule = IntervalSchedule(interval=timedelta(seconds=INTERVAL))
    any_backend.create_project("tutorial")
    flow_id = flow.register(project_name="tutorial")
    registered = time.time()
    env = {**os.environ, "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.1", "JUPYTER_FLOWS_SCHEDULER_INTERVAL": "0.5"}
    with local_agent_process(log_path=tmp_path / "agent-1.log", env=env), \
            local_agent_process(log_path=tmp_path / "agent-2.log", env=env):
        wait_until(lambda: sum(r["state"] == "Success" for r in any_backend.list_flow_runs(limit=None)) >= 4,
                   timeout=120, what="four scheduled runs to succeed")
        any_backend.pause_schedule(flow_id)
        paused = time.time()
        wait_until(lambda: not any(r["state"] in ("Submitted", "Running")
                                   for r in any_backend.list_flow_runs(limit=None)),
                   timeout=120, what="the runs in flight to end")
        time.sleep(2 * INTERVAL)  # time for runs that should no longer come
        runs = [any_backend.get_flow_run(r["id"]) for r in any_backend.list_flow_runs(limit=None)]
    log = (tmp_path / "agent-1.log").read_text() + (tmp_path / "agent-2.log").read_text()
    assert all(r["state"] == "Success" for r in runs), [(r["state"], r["state_message"]) for r in runs] + [log]
    times = sorted(r["scheduled_start_time"] for r in runs)
    assert len(times) == len(set(times)), "a scheduled time ran twice"
    # no time missed between the first run and the pause, and every time on the 2 s grid
    assert [round(b - a, 6) for a, b in zip(times, times[1:])] == [INTERVAL] * (len(times) - 1)
    assert registered < times[0] and times[-1] <= paused
    # on time: claimed soon after the scheduled time (two polls of 0.1 s, with room for a busy
    # machine), never before it
    claim_lags = [first_time(r, "Submitted") - r["scheduled_start_time"] for r in runs]
    assert all(-0.05 <= lag <= 1.5 for lag in claim_lags), claim_lags
    assert any_backend.get_schedule(flow_id)["paused"] is True
    assert not any(r["state"] == "Scheduled" for r in any_backend.list_flow_runs(limit=None))
