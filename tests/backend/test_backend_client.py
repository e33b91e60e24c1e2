"""The Prefect-shaped views: FlowView, FlowRunView (state, logs, task runs, wait)."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_flows.backend import Backend, Client, FlowRunView, FlowView
from jupyter_flows.engine.state import Cancelled, Failed, Scheduled
from jupyter_flows.exceptions import NotFoundError

from backend_helpers import register_plain_flow


@pytest.fixture
def run_id(backend):
    flow = register_plain_flow(backend)
    return Client().create_flow_run(flow["id"], parameters={"greeting": "Hi"}, run_name="waiting")


def test_create_project_returns_the_same_id_each_time(backend):
    client = Client()
    assert client.create_project("tutorial") == client.create_project("tutorial")
    assert [p["name"] for p in backend.list_projects()] == ["tutorial"]


def test_flow_run_view_state_is_an_engine_state(backend, run_id):
    view = FlowRunView.from_flow_run_id(run_id)
    assert isinstance(view.state, Scheduled)
    backend.set_flow_run_state(run_id, "Failed", "say_hello failed")
    assert isinstance(view.state, Scheduled)  # a view is a snapshot
    latest = view.get_latest()
    assert isinstance(latest.state, Failed) and latest.state.message == "say_hello failed"
    assert [s["state"] for s in latest.states] == ["Scheduled", "Failed"]


def test_wait_returns_once_another_writer_finishes_the_run(backend, run_id):
    def finish_later():
        time.sleep(0.4)
        Backend().set_flow_run_state(run_id, "Running")
        Backend().set_flow_run_state(run_id, "Success", "All reference tasks succeeded.")

    finisher = threading.Thread(target=finish_later)
    finisher.start()
    try:
        done = FlowRunView.from_flow_run_id(run_id).wait(timeout=30)
    finally:
        finisher.join()
    assert done.state.is_successful() and done.end_time is not None


def test_wait_times_out_naming_the_run_and_its_state(run_id):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=rf"flow run 'waiting' \({run_id}\) did not finish within 0.3 s; "
                                           "it is Scheduled"):
        FlowRunView.from_flow_run_id(run_id).wait(timeout=0.3)
    assert time.monotonic() - started < 5


def test_cancel_through_the_client(run_id):
    state = Client().cancel_flow_run(run_id)
    assert isinstance(state, Cancelled)
    assert isinstance(Client().get_flow_run_state(run_id), Cancelled)


def test_views_of_unknown_ids_are_not_found(backend):
    with pytest.raises(NotFoundError, match="no flow run with id 'nope'"):
        FlowRunView.from_flow_run_id("nope")
    with pytest.raises(NotFoundError, match="no flow with id 'nope'"):
        FlowView.from_flow_id("nope")


def test_task_runs_and_logs_read_through_the_view(backend, run_id):
    backend.write_task_runs(run_id, [
        {"task_slug": "say-1", "task_name": "say", "map_index": 0, "state": "TriggerFailed", "message": "upstream"},
    ])
    backend.write_logs(run_id, [{"message": "Hello, Arthur!"}])
    view = FlowRunView.from_flow_run_id(run_id)
    [task_run] = view.get_all_task_runs()
    assert task_run.state.is_failed() and task_run.state.name == "TriggerFailed"
    assert task_run.state.message == "upstream" and task_run.map_index == 0
    assert [line["message"] for line in view.get_logs()] == ["Hello, Arthur!"]


def test_a_client_for_another_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    client = Client(url)
    client.create_project("elsewhere")
    assert [p["name"] for p in Backend(url).list_projects()] == ["elsewhere"]
    assert Backend().list_projects() == []
