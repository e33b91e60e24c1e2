"""A large run's records: many rows to a statement on SQLite, written as they came, read back unchanged."""

from __future__ import annotations

import os
import pickle

import pytest

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.backend import BackendRecorder
from jupyter_flows.backend import live_logs
from jupyter_flows.backend.live_logs import LogStream, stream_here, stop_streaming
from jupyter_flows.backend.task_runs import ROWS_PER_STATEMENT

from backend_helpers import register_plain_flow


@pytest.fixture
def run(backend):
    flow = register_plain_flow(backend)
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.set_flow_run_state(run["id"], "Running")
    return run


def _row(run_id, index, state, end=None, location=None):
    return (run_id, "child-1", "child", index, state, f"{state} {index}", 1, 10.0 + index, end, location)


def test_a_task_run_started_and_finished_in_one_statement_ends_finished(backend, run):
    # Running then Success of the same child inside one many-row statement: applied in order
    rows = [_row(run["id"], i, "Running") for i in range(ROWS_PER_STATEMENT // 2)]
    rows += [_row(run["id"], i, "Success", end=20.0 + i, location=f"/packs/a.pack#{i}")
             for i in range(ROWS_PER_STATEMENT // 2)]
    backend.record_rows(run["id"], rows, [])
    stored = backend.get_task_runs(run["id"])
    assert [(t["map_index"], t["state"], t["end_time"], t["result_location"]) for t in stored] == [
        (i, "Success", 20.0 + i, f"/packs/a.pack#{i}") for i in range(ROWS_PER_STATEMENT // 2)]


def test_rows_past_the_last_full_statement_are_written_too_with_their_types(backend, run):
    n = 2 * ROWS_PER_STATEMENT + 3
    backend.record_rows(run["id"], [_row(run["id"], i, "Failed" if i == n - 1 else "Success", end=None)
                                    for i in range(n)], [])
    stored = backend.get_task_runs(run["id"])
    assert [t["map_index"] for t in stored] == list(range(n))
    last = stored[-1]
    assert last == {"task_slug": "child-1", "task_name": "child", "map_index": n - 1, "state": "Failed",
                    "message": f"Failed {n - 1}", "attempts": 1, "start_time": 10.0 + n - 1, "end_time": None,
                    "result_location": None}


def test_log_lines_keep_their_order_across_statements(backend, run):
    n = 3 * ROWS_PER_STATEMENT + 5
    lines = [(run["id"], "WARNING" if i % 7 == 0 else "INFO", 100.0 + i, f"line {i}", "child", "child-1", i)
             for i in range(n)]
    backend.record_rows(run["id"], [], lines)
    stored = backend.get_logs(run["id"])
    assert [(line["message"], line["level"], line["map_index"]) for line in stored] == [
        (f"line {i}", "WARNING" if i % 7 == 0 else "INFO", i) for i in range(n)]
    assert [line["id"] for line in stored] == sorted(line["id"] for line in stored)


def test_an_agent_style_run_given_its_run_row_records_everything_and_its_final_state(backend, tutorial):
    @task
    def double(x):
        return 2 * x

    with Flow("doubling") as flow:
        double.map(Parameter("xs", default=list(range(300))))
    flow_id = flow.register(project_name="tutorial")
    run = backend.create_flow_run(flow_id)
    backend.set_flow_run_state(run["id"], "Submitted")
    recorder = BackendRecorder(backend, flow_id=flow_id, flow_run=backend.get_flow_run(run["id"]))
    assert flow.run(flow_run_id=run["id"], listeners=[recorder]).is_successful()
    assert recorder.final_state == "Success" == backend.get_flow_run(run["id"])["state"]
    doubled = [t for t in backend.get_task_runs(run["id"]) if t["task_name"] == "double"]
    assert sorted(t["map_index"] for t in doubled if t["state"] == "Success") == list(range(300))
    assert [t["state"] for t in doubled if t["map_index"] == -1] == ["Mapped"]


def test_a_forked_process_does_not_use_its_parents_live_log_writer(backend, run):
    stream = LogStream(backend.url, run["id"])
    parents = stream_here(stream, lambda rows: None)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answers whether it got its own writer, then leaves at once
        try:
            mine = live_logs._live_logs_of(stream)
            answer = (mine is not None and mine is not parents, type(mine).__name__)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            answer = (False, repr(exc))
        os.write(writer, pickle.dumps(answer))
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as answer_pipe:
        answer = pickle.loads(answer_pipe.read())
    os.waitpid(pid, 0)
    stop_streaming(stream)
    assert answer == (True, "LiveLogs")
    assert live_logs._live_logs_of(stream) is not parents  # and the parent forgot it when told to
