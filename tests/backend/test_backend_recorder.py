"""BackendRecorder: a running flow run's task runs, logs and states, written in batches."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import event

import jupyter_flows
from jupyter_flows import Flow, Parameter, task, unmapped
from jupyter_flows.backend import Backend, BackendRecorder, FlowRunView, connection
from jupyter_flows.exceptions import BackendError, FlowRunFinishedError, NotFoundError

from backend_helpers import build_hello_flow


@task
def double(x):
    jupyter_flows.context.get("logger").info(f"doubling {x}")
    return 2 * x


@task
def fail_on_three(x):
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def _mapped_flow(name: str = "numbers") -> Flow:
    with Flow(name) as flow:
        numbers = Parameter("numbers", default=[1, 2, 3])
        fail_on_three.map(double.map(numbers))
    return flow


def _count_transactions(backend):
    begins = []
    event.listen(backend.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: begins.append(statement)
                 if statement.startswith("BEGIN IMMEDIATE") else None)
    return begins


def test_an_agent_run_is_recorded_from_running_to_its_final_state(backend, tutorial):
    flow = _mapped_flow()
    flow_id = flow.register(project_name="tutorial")
    run_id = backend.create_flow_run(flow_id, parameters={"numbers": [1, 2]})["id"]
    state = flow.run(parameters={"numbers": [1, 2]}, flow_run_id=run_id, listeners=[BackendRecorder(backend)])
    assert state.is_successful()
    run = FlowRunView.from_flow_run_id(run_id)
    assert [s["state"] for s in run.states] == ["Scheduled", "Running", "Success"]
    assert run.state.message == "All reference tasks succeeded." and run.start_time <= run.end_time
    rows = {(t.task_name, t.map_index): t for t in run.get_all_task_runs()}
    assert set(rows) == {("numbers", -1), ("double", -1), ("double", 0), ("double", 1),
                         ("fail_on_three", -1), ("fail_on_three", 0), ("fail_on_three", 1)}
    parent = rows[("double", -1)]
    assert parent.state.is_mapped() and parent.state.message == "Mapped 2 children"
    assert parent.start_time <= rows[("double", 0)].start_time and parent.end_time >= rows[("double", 1)].end_time
    assert rows[("double", 1)].attempts == 1
    logs = run.get_logs()
    assert [line["message"] for line in logs if line["task_name"] == "double"] == ["doubling 1", "doubling 2"]
    assert logs[1]["task_slug"] == "double-1" and logs[1]["map_index"] == 0 and logs[1]["level"] == "INFO"


def test_a_failed_task_is_recorded_with_its_message_and_fails_the_run(backend, tutorial):
    flow = _mapped_flow()
    flow.register(project_name="tutorial")
    recorder = BackendRecorder(backend)
    state = flow.run(parameters={"numbers": [1, 1.5]}, listeners=[recorder])
    assert state.is_failed()
    run = FlowRunView.from_flow_run_id(recorder.flow_run_id)
    assert run.state.is_failed() and run.state.message == "Some reference tasks failed."
    failed = [t for t in run.get_all_task_runs() if t.state.is_failed()]
    assert [(t.task_name, t.map_index) for t in failed] == [("fail_on_three", 1)]
    assert "three is not allowed" in failed[0].state.message
    assert any(line["level"] == "ERROR" for line in run.get_logs())


def test_a_run_started_by_hand_is_added_under_the_registered_flow(backend, tutorial):
    flow = _mapped_flow()
    flow_id = flow.register(project_name="tutorial")
    recorder = BackendRecorder(backend)
    flow.run(listeners=[recorder])
    run = backend.get_flow_run(recorder.flow_run_id)
    assert run["flow_id"] == flow_id and run["parameters"] == {"numbers": [1, 2, 3]}
    assert [s["state"] for s in run["states"]] == ["Running", "Success"]
    assert backend.claim_flow_run("agent", []) is None  # never offered to an agent


def test_recording_a_flow_that_was_never_registered_says_how_to_fix_it(backend, tutorial):
    with pytest.raises(NotFoundError, match="cannot record this run of flow 'numbers'.*Register the flow first"):
        _mapped_flow().run(listeners=[BackendRecorder(backend)])


def test_ten_thousand_children_are_written_in_a_few_dozen_transactions(backend, tutorial):
    flow = _mapped_flow()
    flow.register(project_name="tutorial")
    recorder = BackendRecorder(backend, batch_size=500, flush_interval=60)
    begins = _count_transactions(backend)
    flow.run(parameters={"numbers": list(range(4, 5004))}, listeners=[recorder])
    stored = backend.get_task_runs(recorder.flow_run_id)
    assert len(stored) == 1 + 2 * 5001
    assert len(backend.get_logs(recorder.flow_run_id)) == 5000 + 2
    # 10,002 task runs and 5,002 log lines in batches of 500, plus the start and end of the run
    assert len(begins) <= 15002 // 500 + 1 + 4


def test_the_time_based_flush_makes_progress_visible_while_the_run_goes_on(backend, tutorial):
    seen_mid_run = []

    @task
    def peek(x):
        """The last child waits until the earlier children show up in the backend."""
        if x < 4:
            return x
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stored = Backend().get_task_runs(jupyter_flows.context.get("flow_run_id"))
            if any(t["map_index"] == 3 for t in stored):
                seen_mid_run.append(len(stored))
                break
            time.sleep(0.05)
        return x

    with Flow("slow") as flow:
        peek.map(Parameter("xs", default=list(range(5))))
    flow.register(project_name="tutorial")
    recorder = BackendRecorder(backend, batch_size=10_000, flush_interval=0)
    flow.run(listeners=[recorder])
    assert seen_mid_run and seen_mid_run[0] >= 4


def test_a_backend_locked_during_the_run_loses_nothing(backend, tutorial, monkeypatch, capsys):
    hello_id = build_hello_flow().register(project_name="tutorial")
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_S", 0.1)
    impatient = Backend()
    recorder = BackendRecorder(impatient, flow_id=hello_id, batch_size=1)
    holder = sqlite3.connect(backend.engine.url.database, isolation_level=None, check_same_thread=False)
    failed_while_locked = []

    @task
    def lock_backend():
        holder.execute("BEGIN IMMEDIATE")

    @task
    def unlock_backend():
        deadline = time.monotonic() + 10
        while recorder.write_error is None and time.monotonic() < deadline:
            time.sleep(0.02)  # until the recorder has met the lock
        failed_while_locked.append(recorder.write_error)
        holder.execute("ROLLBACK")

    with Flow("hello-flow") as locked:
        say = build_hello_flow().get_tasks(name="say_hello")[0]
        lock = lock_backend()
        people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
        greetings = say.map(people, upstream_tasks=[unmapped(lock)])
        unlock_backend(upstream_tasks=[greetings])
    state = locked.run(listeners=[recorder])
    holder.close()
    assert state.is_successful()
    assert "database is locked" in str(failed_while_locked[0])
    assert "Could not record flow run" in capsys.readouterr().out
    assert recorder.write_error is None
    stored = backend.get_task_runs(recorder.flow_run_id)
    assert {(t["task_name"], t["map_index"]) for t in stored} >= {
        ("say_hello", 0), ("say_hello", 1), ("say_hello", 2), ("lock_backend", -1), ("unlock_backend", -1)}
    assert backend.get_flow_run(recorder.flow_run_id)["state"] == "Success"


def test_a_backend_that_stays_unwritable_fails_the_end_of_the_run_loudly(backend, tutorial, jupyter_flows_home):
    flow = _mapped_flow()
    flow.register(project_name="tutorial")
    read_only = Backend(f"sqlite:///file:{jupyter_flows_home / 'backend.db'}?mode=ro&uri=true")
    run_id = backend.create_flow_run(flow.register(project_name="tutorial"))["id"]
    backend.set_flow_run_state(run_id, "Submitted")
    recorder = BackendRecorder(read_only)
    with pytest.raises(BackendError, match="attempt to write a readonly database"):
        flow.run(flow_run_id=run_id, listeners=[recorder])


def test_a_locked_backend_delays_the_records_not_the_flow(backend, tutorial, monkeypatch):
    flow_id = _mapped_flow().register(project_name="tutorial")
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_S", 3.0)
    recorder = BackendRecorder(Backend(), flow_id=flow_id, batch_size=1, retry_interval=0.1)
    holder = sqlite3.connect(backend.engine.url.database, isolation_level=None, check_same_thread=False)
    timings = {}

    @task
    def lock_backend():
        holder.execute("BEGIN IMMEDIATE")
        timings["locked"] = time.monotonic()

    @task
    def work(x):
        return x

    @task
    def unlock_backend(results):
        timings["work done"] = time.monotonic()
        holder.execute("ROLLBACK")

    with Flow("numbers") as flow:
        results = work.map(Parameter("numbers", default=list(range(50))), upstream_tasks=[unmapped(lock_backend())])
        unlock_backend(results)
    state = flow.run(listeners=[recorder])
    holder.close()
    assert state.is_successful()
    assert timings["work done"] - timings["locked"] < 2.0  # no task waited for the 3 s busy timeout
    assert len([t for t in backend.get_task_runs(recorder.flow_run_id) if t["task_name"] == "work"]) == 51


def test_the_writer_thread_ends_when_idle_and_comes_back(backend, tutorial, monkeypatch):
    import threading

    from jupyter_flows.backend import recorder as recorder_module
    from jupyter_flows.engine.logging import LogEntry
    from jupyter_flows.engine.state import Success

    monkeypatch.setattr(recorder_module._BatchWriter, "IDLE_EXIT_S", 0.1)
    flow = _mapped_flow()
    flow.register(project_name="tutorial")
    recorder = BackendRecorder(backend, flush_interval=0)
    recorder.flow_run_started(flow, "abandoned-run-0000", {"numbers": [1]})
    recorder.log(LogEntry(20, time.time(), "first"))
    recorder.flush()
    deadline = time.monotonic() + 10
    while any(t.name.startswith("jupyter-flows-recorder-abandone") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the idle writer thread did not end"
        time.sleep(0.05)
    recorder.log(LogEntry(20, time.time(), "second"))
    recorder.flow_run_finished(Success("done", result={}))
    assert [line["message"] for line in backend.get_logs("abandoned-run-0000")] == ["first", "second"]
    assert backend.get_flow_run("abandoned-run-0000")["state"] == "Success"


def test_runs_on_a_thread_pool_are_recorded_too(backend, tutorial, monkeypatch):
    from jupyter_flows.executors import LocalDaskExecutor

    monkeypatch.setenv("GREETING", "Hello")
    flow = build_hello_flow()
    flow.executor = LocalDaskExecutor(scheduler="threads", num_workers=3)
    flow.register(project_name="tutorial")
    recorder = BackendRecorder(backend)
    assert flow.run(listeners=[recorder]).is_successful()
    messages = [line["message"] for line in backend.get_logs(recorder.flow_run_id)]
    assert {"Hello, Arthur!", "Hello, Ford!", "Hello, Marvin!"} <= set(messages)


def test_records_of_a_run_taken_for_lost_are_dropped_once_not_retried(backend, tutorial):
    @task
    def taken_away(run_id: str):
        Backend().set_flow_run_state(run_id, "Failed", "lost: no heartbeat (taken by another agent)")

    with Flow("taken") as flow:
        run_id_param = Parameter("run_id", default="")
        double.map(Parameter("numbers", default=[1, 2]), upstream_tasks=[unmapped(taken_away(run_id_param))])
    flow_id = flow.register(project_name="tutorial")
    run_id = backend.create_flow_run(flow_id, parameters={"run_id": ""})["id"]
    recorder = BackendRecorder(backend, retry_interval=0.05)
    started = time.monotonic()
    with pytest.raises(FlowRunFinishedError):
        flow.run(parameters={"run_id": run_id}, flow_run_id=run_id, listeners=[recorder])
    assert time.monotonic() - started < 10
    writes = []
    record_rows = backend.record_rows
    backend.record_rows = lambda *args, **kwargs: (writes.append(args), record_rows(*args, **kwargs))
    time.sleep(0.5)  # ten retry intervals: a writer that kept the refused rows would try again each one
    assert writes == []
    run = FlowRunView.from_flow_run_id(run_id)
    assert run.state.is_failed() and run.state.message.startswith("lost:")
    assert [s["state"] for s in run.states][-1] == "Failed"
