"""Task runs and log lines: written in batches, one transaction per batch, rows many to a statement."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from backend_helpers import register_plain_flow


@pytest.fixture
def run(backend):
    flow = register_plain_flow(backend)
    return backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})


@contextlib.contextmanager
def statements(backend):
    """Collect ``(sql, executemany)`` of every statement the backend's engine sends."""
    seen = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0].upper() + " " + " ".join(statement.split()[1:3]), executemany))

    event.listen(backend.engine, "before_cursor_execute", collect)
    try:
        yield seen
    finally:
        event.remove(backend.engine, "before_cursor_execute", collect)


def test_a_batch_of_a_thousand_task_runs_is_one_transaction_and_two_executemanys(backend, run):
    children = [{"task_slug": "say_hello-1", "task_name": "say_hello", "map_index": i, "state": "Success",
                 "attempts": 1, "start_time": 1.0, "end_time": 2.0} for i in range(1000)]
    with statements(backend) as seen:
        assert backend.write_task_runs(run["id"], children) == 1000
    assert [s for s in seen if s[0].startswith("BEGIN")] == [("BEGIN IMMEDIATE", False)]
    inserts = [s for s in seen if s[0].startswith("INSERT")]
    # the rows 64 to a statement, then the last 40 one by one
    assert inserts == [("INSERT INTO task_runs", True), ("INSERT INTO task_runs", True)]
    assert sorted(t["map_index"] for t in backend.get_task_runs(run["id"])) == list(range(1000))


def test_a_batch_of_log_lines_is_one_transaction_and_two_executemanys(backend, run):
    with statements(backend) as seen:
        backend.write_logs(run["id"], [{"message": f"line {i}", "level": "INFO"} for i in range(1000)])
    assert [s for s in seen if s[0].startswith(("BEGIN", "INSERT"))] == [
        ("BEGIN IMMEDIATE", False), ("INSERT INTO logs", True), ("INSERT INTO logs", True)]
    assert [line["message"] for line in backend.get_logs(run["id"])] == [f"line {i}" for i in range(1000)]


def test_task_runs_are_upserted_by_slug_and_map_index(backend, run):
    backend.write_task_runs(run["id"], [
        {"task_slug": "load-1", "task_name": "load", "state": "Running", "start_time": 1.0},
        {"task_slug": "say-1", "task_name": "say", "map_index": 0, "state": "Running"},
    ])
    backend.write_task_runs(run["id"], [
        {"task_slug": "load-1", "task_name": "load", "map_index": None, "state": "Failed", "message": "boom",
         "attempts": 3, "start_time": 1.0, "end_time": 2.5},
        {"task_slug": "say-1", "task_name": "say", "map_index": 0, "state": "Success", "attempts": 1},
        {"task_slug": "say-1", "task_name": "say", "map_index": -1, "state": "Mapped", "message": "Mapped 1 children"},
    ])
    rows = backend.get_task_runs(run["id"])
    assert [(r["task_slug"], r["map_index"], r["state"]) for r in rows] == [
        ("load-1", -1, "Failed"), ("say-1", 0, "Success"), ("say-1", -1, "Mapped")]
    assert rows[0] == {"task_slug": "load-1", "task_name": "load", "map_index": -1, "state": "Failed",
                       "message": "boom", "attempts": 3, "start_time": 1.0, "end_time": 2.5,
                       "result_location": None}


def test_logs_have_increasing_ids_and_can_be_tailed(backend, run):
    backend.write_logs(run["id"], [
        {"message": "Hello, Arthur!", "level": 20, "timestamp": 10.0, "task_name": "say_hello",
         "task_slug": "say_hello-1", "map_index": 0},
        {"message": "Hello, Ford!", "level": "WARNING", "timestamp": 11.0},
    ])
    backend.write_logs(run["id"], [{"message": "Hello, Marvin!"}])
    lines = backend.get_logs(run["id"])
    assert [line["message"] for line in lines] == ["Hello, Arthur!", "Hello, Ford!", "Hello, Marvin!"]
    assert lines[0]["id"] < lines[1]["id"] < lines[2]["id"]
    assert lines[0] == {"id": lines[0]["id"], "level": "INFO", "timestamp": 10.0, "message": "Hello, Arthur!",
                        "task_name": "say_hello", "task_slug": "say_hello-1", "map_index": 0}
    assert lines[1]["level"] == "WARNING" and lines[2]["timestamp"] > 0
    assert [line["message"] for line in backend.get_logs(run["id"], after=lines[0]["id"])] == [
        "Hello, Ford!", "Hello, Marvin!"]
    assert [line["message"] for line in backend.get_logs(run["id"], after=lines[0]["id"], limit=1)] == [
        "Hello, Ford!"]


def test_logs_of_one_run_do_not_show_in_another(backend, run):
    other = backend.create_flow_run(run["flow_id"], parameters={"greeting": "Yo"})
    backend.write_logs(run["id"], [{"message": "mine"}])
    backend.write_logs(other["id"], [{"message": "theirs"}])
    assert [line["message"] for line in backend.get_logs(other["id"])] == ["theirs"]


def test_a_batch_with_a_bad_row_writes_nothing(backend, run):
    good = {"task_slug": "ok-1", "task_name": "ok", "state": "Success"}
    with pytest.raises(KeyError):
        backend.record(run["id"], [good, {"task_name": "no slug", "state": "Success"}], [{"message": "m"}])
    assert backend.get_task_runs(run["id"]) == [] and backend.get_logs(run["id"]) == []


def test_empty_batches_touch_nothing(backend, run):
    with statements(backend) as seen:
        assert backend.write_logs(run["id"], []) == 0
        assert backend.write_task_runs(run["id"], []) == 0
        backend.record(run["id"], [], [])
    assert seen == []
