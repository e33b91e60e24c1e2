"""Live task log lines in one process: a recorded notebook run shows them while its task runs, once each."""

from __future__ import annotations

import threading
import time

import pytest

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.backend import BackendRecorder
from jupyter_flows.backend.live_logs import LiveLogs, LogStream
from jupyter_flows.engine.logging import LogEntry
from jupyter_flows.exceptions import NotFoundError
from jupyter_flows.executors import LocalDaskExecutor, LocalExecutor


@task
def talk(n):
    logger = jupyter_flows.context.get("logger")
    for i in range(n):
        logger.info(f"line {i}")
        time.sleep(0.1)
    return n


def _talking_flow(backend) -> Flow:
    backend.create_project("live")
    with Flow("talking") as flow:
        talk(20)
    flow.register(project_name="live")
    return flow


def _count_while_running(backend, recorder: BackendRecorder, counts: list, done: threading.Event) -> None:
    while not done.is_set():
        run_id = recorder.flow_run_id
        try:
            lines = [e for e in backend.get_logs(run_id) if e["message"].startswith("line ")] if run_id else None
        except NotFoundError:  # the recorder has not added the run yet
            lines = None
        if lines is not None:
            counts.append(len(lines))
        time.sleep(0.1)


@pytest.mark.parametrize("executor", [LocalExecutor(), LocalDaskExecutor(num_workers=2)], ids=["local", "threads"])
def test_recorded_run_in_this_process_shows_task_lines_before_the_task_ends(backend, executor):
    flow = _talking_flow(backend)
    recorder = BackendRecorder(backend)
    counts: list = []
    done = threading.Event()
    watcher = threading.Thread(target=_count_while_running, args=(backend, recorder, counts, done))
    watcher.start()
    try:
        state = flow.run(listeners=[recorder], executor=executor)
    finally:
        done.set()
        watcher.join()

    assert state.is_successful()
    assert any(0 < n < 20 for n in counts), counts  # some lines, before the task's end brought the rest
    messages = [e["message"] for e in backend.get_logs(recorder.flow_run_id) if e["message"].startswith("line ")]
    assert messages == [f"line {i}" for i in range(20)]


def test_a_run_without_a_recorder_carries_no_log_stream():
    seen = {}

    @task
    def look():
        seen["stream"] = jupyter_flows.context.get("log_stream")

    with Flow("plain") as flow:
        look()
    assert flow.run().is_successful()
    assert seen["stream"] is None


def test_a_failed_live_write_is_taken_again_and_written_once(backend):
    flow = _talking_flow(backend)
    run = backend.create_flow_run(flow_id=flow.register(project_name="live"))
    attempts = []

    def write_failing_once(rows):
        attempts.append(len(rows))
        if len(attempts) == 1:
            raise OSError("backend away for a moment")
        backend.record_rows(run["id"], (), rows)

    live = LiveLogs(LogStream(backend.url, run["id"]), write_failing_once)
    entries: list = []
    live.follow(entries)
    for i in range(3):
        entries.append(LogEntry(20, time.time(), f"line {i}", "talk", "talk-1", None))
    deadline = time.monotonic() + 10
    while not all(e.recorded for e in entries) and time.monotonic() < deadline:
        time.sleep(0.05)
    live.release(entries)
    live.close()

    assert attempts[:2] == [3, 3]
    assert {e.recorded for e in entries} == {backend.url}
    assert [e["message"] for e in backend.get_logs(run["id"])] == ["line 0", "line 1", "line 2"]


def test_lines_not_yet_taken_when_the_task_ends_stay_unmarked_for_the_result_to_carry(backend):
    live = LiveLogs(LogStream("sqlite:////tmp/unused.db", "some-run"), lambda rows: None)
    entries = [LogEntry(20, time.time(), "said just before the end")]
    live.follow(entries)

    live.release(entries)
    live.close()

    assert entries[0].recorded is False


def test_log_stream_pickles_to_its_url_and_run():
    import pickle

    stream = pickle.loads(pickle.dumps(LogStream("sqlite:////tmp/x.db", "run-1")))

    assert (stream.url, stream.flow_run_id) == ("sqlite:////tmp/x.db", "run-1")


def test_a_worker_without_the_backends_sqlite_file_streams_nothing_and_creates_no_file(tmp_path):
    missing = tmp_path / "elsewhere" / "backend.db"  # the file is on the host that runs the flow

    live = LogStream(f"sqlite:///{missing}", "run-on-another-host").follow([])

    assert live is None  # the lines travel back with the task run instead
    assert not missing.exists() and not missing.parent.exists()


def test_a_run_recorded_into_two_backends_gets_each_line_once_in_each(backend, tmp_path):
    from jupyter_flows.backend import Backend

    other = Backend(f"sqlite:///{tmp_path / 'other.db'}")
    flow = _talking_flow(backend)
    other.create_project("live")
    other_flow_id = other.register_flow("live", "talking", storage=None, run_config=None, executor=None,
                                        parameters=[], graph={"tasks": [], "edges": []}, labels=[],
                                        content_hash="talking")["id"]
    here, there = BackendRecorder(backend), BackendRecorder(other, flow_id=other_flow_id)

    assert flow.run(listeners=[here, there]).is_successful()

    for recorded_in, run_id in ((backend, here.flow_run_id), (other, there.flow_run_id)):
        lines = [e["message"] for e in recorded_in.get_logs(run_id) if e["message"].startswith("line ")]
        assert lines == [f"line {i}" for i in range(20)]
    other.close()
