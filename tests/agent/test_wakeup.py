"""An agent wakes when a run is created (SQLite wake-up file, PostgreSQL LISTEN/NOTIFY), and idles cheaply."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from jupyter_flows.agent.wakeup import Wakeup
from jupyter_flows.backend import Backend

from agent_helpers import register_file, wait_for, wait_for_state, write_flow_file

QUICK_FLOW = '''
from jupyter_flows import Flow, task


@task
def one():
    return 1


with Flow("quick-flow") as flow:
    one()
'''

#: Far longer than any test waits: only a wake-up can explain a quick pickup.
LONG_POLL = "60"


@pytest.fixture
def quick_flow(shared_backend, tmp_path) -> dict:
    return register_file(shared_backend, write_flow_file(tmp_path, QUICK_FLOW, "quick_flow.py"))


def test_wait_returns_early_when_another_process_creates_a_run(shared_backend, quick_flow):
    wakeup = Wakeup(shared_backend.url).start()
    try:
        time.sleep(0.3)  # the PostgreSQL listener is connected
        other = Backend(shared_backend.url)
        timer = threading.Timer(0.3, other.create_flow_run, (quick_flow["id"],))
        timer.start()
        started = time.monotonic()
        assert wakeup.wait(30) is True
        assert time.monotonic() - started < 5
        timer.join()
        other.close()
    finally:
        wakeup.close()


def test_wait_times_out_when_nothing_is_created(shared_backend):
    wakeup = Wakeup(shared_backend.url).start()
    try:
        assert wakeup.wait(0.3) is False
    finally:
        wakeup.close()


def test_a_run_scheduled_for_later_does_not_wake_the_agent(shared_backend, quick_flow):
    wakeup = Wakeup(shared_backend.url).start()
    try:
        time.sleep(0.3)
        shared_backend.create_flow_run(quick_flow["id"], scheduled_start_time=time.time() + 3600)
        assert wakeup.wait(1.0) is False
    finally:
        wakeup.close()


def test_agent_picks_up_a_new_run_long_before_its_next_poll(shared_backend, quick_flow, start_agent, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", LONG_POLL)
    agent = start_agent()
    wait_for(lambda: shared_backend.list_agents(), timeout=30, what="the agent's record")
    time.sleep(1.0)  # past its first poll: from now on only a wake-up makes it claim
    run = shared_backend.create_flow_run(quick_flow["id"])
    finished = wait_for_state(shared_backend, run["id"], timeout=20)
    assert finished["state"] == "Success", agent.output()
    submitted = next(s["timestamp"] for s in finished["states"] if s["state"] == "Submitted")
    assert submitted - finished["created"] < 2.0


def test_an_idle_agent_does_not_busy_loop(backend, start_agent, monkeypatch):
    """A loop that spins would use most of a core; the idle figure itself (under 1%) is measured by
    ``benchmarks.agent_pickup``, since a busy machine adds its own noise to a 5-second sample."""
    for name in ("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "JUPYTER_FLOWS_HEARTBEAT_INTERVAL"):
        monkeypatch.delenv(name)  # the settings users run with
    agent = start_agent("--no-hostname-label")
    wait_for(lambda: backend.list_agents(), timeout=30, what="the agent's record")
    process = psutil.Process(agent.pid)
    time.sleep(2.0)  # start-up work is done
    before = process.cpu_times()
    seconds = 5.0
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user + after.system) - (before.user + before.system)
    assert used / seconds <= 0.05, f"idle agent used {used / seconds:.1%} of a core"
