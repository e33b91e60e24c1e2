"""Agents' records: registration, liveness by the database's clock, why a run waits, the stale-run sweep."""

from __future__ import annotations

import time

import pytest

from jupyter_flows.exceptions import FlowRunFinishedError, NotFoundError

from backend_helpers import register_plain_flow

BEAT = 0.5  # heartbeat interval of these tests: an agent silent for 2 beats is gone


@pytest.fixture
def quick_heartbeats(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", str(BEAT))


def _run(backend, labels=()):
    flow = register_plain_flow(backend)
    return backend.create_flow_run(flow["id"], parameters={"greeting": "hi"}, labels=list(labels))


def test_a_registered_agent_is_listed_live_with_what_it_offers(backend):
    record = backend.register_agent("agent-1", "host-a", ["gpu", "host-a", "gpu"], managed_by="jupyter-server")
    assert record["live"] is True
    [listed] = backend.list_agents()
    assert {k: listed[k] for k in ("id", "host", "labels", "kind", "managed_by", "runs_in_flight", "stopped")} == {
        "id": "agent-1", "host": "host-a", "labels": ["gpu", "host-a"], "kind": "local",
        "managed_by": "jupyter-server", "runs_in_flight": 0, "stopped": None}
    assert listed["live"] is True
    assert abs(listed["last_seen"] - time.time()) < 5


def test_a_stopped_agent_is_listed_but_not_live(backend):
    backend.register_agent("agent-1", "host-a", [])
    backend.register_agent("agent-2", "host-a", [])
    backend.agent_stopped("agent-1")
    assert [(a["id"], a["live"]) for a in backend.list_agents()] == [("agent-1", False), ("agent-2", True)]
    assert [a["id"] for a in backend.list_agents(live_only=True)] == ["agent-2"]


def test_an_agent_that_stops_beating_goes_stale_and_a_beat_brings_it_back(backend, quick_heartbeats):
    backend.register_agent("agent-1", "host-a", [])
    time.sleep(3 * BEAT)
    assert backend.list_agents(live_only=True) == []
    backend.agent_heartbeat("agent-1", runs_in_flight=3)
    [agent] = backend.list_agents(live_only=True)
    assert agent["runs_in_flight"] == 3


def test_a_heartbeat_of_an_unknown_agent_is_refused(backend):
    with pytest.raises(NotFoundError, match="no agent with id 'ghost'"):
        backend.agent_heartbeat("ghost", 0)


def test_a_scheduled_run_with_no_agent_says_no_agent_is_running(backend):
    run = _run(backend)
    assert backend.waiting_reason(run) == "no agent is running"
    backend.register_agent("agent-1", "host-a", [])
    backend.agent_stopped("agent-1")
    assert backend.waiting_reason(run) == "no agent is running"


def test_a_scheduled_run_names_the_labels_no_live_agent_has(backend):
    run = _run(backend, labels=["gpu", "host-b", "python"])
    backend.register_agent("agent-1", "host-a", ["host-a", "python"])
    backend.register_agent("agent-2", "host-c", ["host-c", "gpu"])
    assert backend.waiting_reason(run) == "no live agent has the labels it needs: host-b"


def test_labels_held_only_by_different_agents_are_named_together(backend):
    run = _run(backend, labels=["gpu", "python"])
    backend.register_agent("agent-1", "host-a", ["python"])
    backend.register_agent("agent-2", "host-a", ["gpu"])
    assert backend.waiting_reason(run) == "no live agent has all the labels it needs together: gpu, python"


def test_a_run_a_live_agent_may_take_has_no_waiting_reason(backend):
    run = _run(backend, labels=["python"])
    backend.register_agent("agent-1", "host-a", ["host-a", "python"])
    assert backend.waiting_reason(run) is None
    backend.claim_flow_run("agent-1", ["host-a", "python"])
    assert backend.waiting_reason(backend.get_flow_run(run["id"])) is None


def test_the_sweep_fails_silent_runs_of_a_gone_agent_once(backend, quick_heartbeats):
    run = _run(backend)
    backend.register_agent("agent-1", "host-a", [])
    backend.claim_flow_run("agent-1")
    backend.agent_stopped("agent-1")
    time.sleep(3 * BEAT)
    [failed] = backend.fail_stale_runs(2 * BEAT)
    assert failed["id"] == run["id"] and failed["state"] == "Failed"
    assert "lost: no heartbeat since" in failed["state_message"] and "agent agent-1 is gone" in failed["state_message"]
    assert backend.fail_stale_runs(2 * BEAT) == []
    assert [s["state"] for s in backend.get_flow_run(run["id"])["states"]] == ["Scheduled", "Submitted", "Failed"]


def test_the_sweep_leaves_the_runs_of_a_live_agent_alone(backend, quick_heartbeats):
    run = _run(backend)
    backend.register_agent("agent-1", "host-a", [])
    backend.claim_flow_run("agent-1")
    for _ in range(4):
        time.sleep(BEAT)
        backend.agent_heartbeat("agent-1", runs_in_flight=1)
        assert backend.fail_stale_runs(2 * BEAT) == []
    assert backend.get_flow_run(run["id"])["state"] == "Submitted"


def test_an_agent_heartbeat_keeps_the_runs_it_holds_fresh(backend, quick_heartbeats):
    run = _run(backend)
    backend.register_agent("agent-1", "host-a", [])
    claimed = backend.claim_flow_run("agent-1")
    time.sleep(2 * BEAT)
    backend.agent_heartbeat("agent-1", runs_in_flight=1)
    assert backend.get_flow_run(run["id"])["heartbeat"] > claimed["heartbeat"] + BEAT


def test_a_heartbeat_of_a_finished_run_says_it_ended_and_is_not_recorded(backend):
    run = _run(backend)
    backend.claim_flow_run("agent-1")
    assert backend.heartbeat(run["id"])["ended"] is False
    failed = backend.set_flow_run_state(run["id"], "Failed", "lost")
    beat = backend.heartbeat(run["id"])
    assert (beat["state"], beat["ended"]) == ("Failed", True)
    assert backend.get_flow_run(run["id"])["heartbeat"] == failed["heartbeat"]


def test_task_runs_of_a_run_failed_as_lost_are_refused_and_nothing_is_written(backend):
    run = _run(backend)
    backend.set_flow_run_state(run["id"], "Running")
    backend.set_flow_run_state(run["id"], "Failed", "lost: no heartbeat")
    late = [{"task_slug": "work-1", "task_name": "work", "state": "Success"}]
    with pytest.raises(FlowRunFinishedError, match=r"already ended Failed: its task runs are no longer recorded"):
        backend.record(run["id"], late, [{"message": "finished after all"}])
    assert backend.get_task_runs(run["id"]) == [] and backend.get_logs(run["id"]) == []
    assert backend.write_logs(run["id"], [{"message": "woke up"}]) == 1  # what it says is still kept


def test_a_cancelled_run_still_records_how_its_process_wound_down(backend):
    run = _run(backend)
    backend.set_flow_run_state(run["id"], "Running")
    backend.cancel_flow_run(run["id"])
    backend.write_task_runs(run["id"], [{"task_slug": "work-1", "task_name": "work", "state": "Cancelled"}])
    assert [t["state"] for t in backend.get_task_runs(run["id"])] == ["Cancelled"]


def test_a_batch_of_task_runs_counts_as_a_heartbeat_of_its_run(backend, quick_heartbeats):
    run = _run(backend)
    backend.set_flow_run_state(run["id"], "Running")  # recorded in-process: no agent beats for it
    for _ in range(4):
        time.sleep(BEAT)
        backend.write_task_runs(run["id"], [{"task_slug": "work-1", "task_name": "work", "state": "Running"}])
        assert backend.fail_stale_runs(2 * BEAT) == []
    assert backend.get_flow_run(run["id"])["state"] == "Running"
