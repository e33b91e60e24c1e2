"""Several real agent processes on one backend (SQLite and PostgreSQL): records, claims, the sweep."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from jupyter_flows.backend import Backend

from agent_helpers import pid_from, process_gone, register_file, wait_for, wait_for_state, write_flow_file

pytestmark = pytest.mark.slow

#: A one-task flow that notes, in a file shared by all runs, which run executed it.
NOTE_RUN_FLOW = '''
import os

import jupyter_flows
from jupyter_flows import Flow, Parameter, task


@task
def note_run(path):
    with open(path, "a") as f:
        f.write(jupyter_flows.context.get("flow_run_id") + "\\n")


with Flow("note-run") as flow:
    note_run(Parameter("out"))
'''


def test_a_running_agent_is_recorded_live_and_stopped_when_it_ends(shared_backend, start_agent):
    backend = shared_backend
    agent = start_agent("--label", "gpu")
    [record] = wait_for(lambda: backend.list_agents(live_only=True), what="the agent's record")
    assert record["kind"] == "local" and record["host"] == socket.gethostname()
    assert set(record["labels"]) == {"gpu", socket.gethostname()}
    first_seen = record["last_seen"]
    wait_for(lambda: backend.list_agents()[0]["last_seen"] > first_seen, what="a later agent heartbeat")
    assert agent.stop() == 0
    [record] = backend.list_agents()
    assert record["live"] is False and record["stopped"] is not None


def test_four_agents_run_a_hundred_runs_created_at_once_each_exactly_once(shared_backend, start_agent, tmp_path,
                                                                          monkeypatch):
    backend = shared_backend
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "2")  # lost after 4 s of silence
    flow = register_file(backend, write_flow_file(tmp_path, NOTE_RUN_FLOW, "note_run.py"))
    out = tmp_path / "executed.txt"
    run_ids = [backend.create_flow_run(flow["id"], parameters={"out": str(out)})["id"] for _ in range(100)]
    for _ in range(4):
        start_agent()

    runs = [wait_for_state(backend, run_id, timeout=600) for run_id in run_ids]

    assert [s["message"] for run in runs for s in run["states"] if s["state"] == "Failed"] == []
    assert Counter(run["state"] for run in runs) == {"Success": 100}
    executed = Counter(out.read_text().split())
    assert set(executed) == set(run_ids) and set(executed.values()) == {1}


def test_a_run_an_agent_cannot_start_a_process_for_is_released_and_runs_later(shared_backend, start_agent,
                                                                              tmp_path, jupyter_flows_home):
    backend = shared_backend
    flow = register_file(backend, write_flow_file(tmp_path, NOTE_RUN_FLOW, "note_run.py"))
    runs_dir = jupyter_flows_home / "runs"
    runs_dir.write_text("not a directory: the agent cannot make a run's log directory")
    run_id = backend.create_flow_run(flow["id"], parameters={"out": str(tmp_path / "executed.txt")})["id"]
    start_agent()

    released = wait_for(lambda: [s for s in backend.get_flow_run(run_id)["states"][1:] if s["state"] == "Scheduled"],
                        what="the run released")
    assert "could not start its process" in released[0]["message"]
    os.remove(runs_dir)

    assert wait_for_state(backend, run_id)["state"] == "Success"


#: One task that works for a few seconds after saying where it runs (for pausing its process).
PAUSABLE_FLOW = '''
import os
import time

from jupyter_flows import Flow, Parameter, task


@task
def note_pid(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))


@task
def work(_, seconds):
    time.sleep(seconds)


with Flow("pausable") as flow:
    work(note_pid(Parameter("pid_file")), Parameter("seconds"))
'''


def test_a_run_paused_past_its_heartbeat_timeout_is_lost_and_never_records_its_late_work(
        shared_backend, start_agent, tmp_path):
    backend = shared_backend
    flow = register_file(backend, write_flow_file(tmp_path, PAUSABLE_FLOW, "pausable.py"))
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow["id"], parameters={"pid_file": str(pid_file), "seconds": 3})
    first = start_agent()
    run_pid = pid_from(pid_file)
    wait_for_state(backend, run["id"], states=("Running",))
    for pid in (first.pid, run_pid):
        os.kill(pid, signal.SIGSTOP)
    try:
        start_agent()  # the one that finds the run silent
        lost = wait_for_state(backend, run["id"], timeout=30)
    finally:
        for pid in (first.pid, run_pid):
            os.kill(pid, signal.SIGCONT)

    assert lost["state"] == "Failed" and lost["state_message"].startswith("lost: no heartbeat since")
    wait_for(lambda: process_gone(run_pid), timeout=15, what="the woken run process to stop")
    after = backend.get_flow_run(run["id"])
    assert (after["state"], after["state_message"]) == ("Failed", lost["state_message"])
    assert [t["state"] for t in backend.get_task_runs(run["id"]) if t["task_name"] == "work"] != ["Success"]


def test_after_a_machine_wide_stall_an_agent_does_not_take_a_live_agent_for_gone(shared_backend, start_agent,
                                                                                  tmp_path, monkeypatch):
    """Every process stalls at once (a paused VM, a machine out of CPU): the agent that wakes first must not
    fail the runs of an agent that wakes a moment later, since its own beats were just as late."""
    backend = shared_backend
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "2")  # lost after 4 s of silence
    flow = register_file(backend, write_flow_file(tmp_path, PAUSABLE_FLOW, "pausable.py"))
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow["id"], parameters={"pid_file": str(pid_file), "seconds": 12})
    holder = start_agent()
    run_pid = pid_from(pid_file)
    wait_for_state(backend, run["id"], states=("Running",))
    judge = start_agent()
    wait_for(lambda: len(backend.list_agents(live_only=True)) == 2, what="both agents live")
    stalled = (judge.pid, holder.pid, run_pid)
    for pid in stalled:
        os.kill(pid, signal.SIGSTOP)
    time.sleep(6)  # silent for 1.5 times the stale threshold
    os.kill(judge.pid, signal.SIGCONT)
    time.sleep(2)  # the judge polls and would sweep in this time; the holder has not beaten yet
    for pid in (holder.pid, run_pid):
        os.kill(pid, signal.SIGCONT)

    final = wait_for_state(backend, run["id"], timeout=60)
    assert (final["state"], final["state_message"]) == ("Success", final["state_message"]), final["states"]


def test_an_agent_whose_database_file_is_deleted_exits_naming_it(backend, start_agent):
    agent = start_agent()
    wait_for(lambda: backend.list_agents(live_only=True), what="the agent's record")
    path = os.path.realpath(backend.engine.url.database)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)

    assert agent.process.wait(timeout=20) != 0
    assert f"its database file {path} was deleted while in use" in agent.output()


@pytest.fixture
def small_disk_home(tmp_path, monkeypatch):
    """A jupyter-flows home on its own 8 MB file system (tmpfs), unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    home = tmp_path / "small-disk"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(home)], check=True)
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(home))
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_leaves_runs_scheduled_with_the_cause_named_and_they_run_once_there_is_space(
        small_disk_home, start_agent, tmp_path):
    backend = Backend()
    flow = register_file(backend, write_flow_file(tmp_path, NOTE_RUN_FLOW, "note_run.py"))
    run = backend.create_flow_run(flow["id"], parameters={"out": str(tmp_path / "executed.txt")})
    with backend.engine.connect() as conn:  # a WAL with no room left in it: the next write needs the disk
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = _fill(small_disk_home)
    agent = start_agent()

    wait_for(lambda: "database or disk is full" in agent.output() or "No space left" in agent.output(),
             what="the agent to report the full disk")
    assert backend.get_flow_run(run["id"])["state"] == "Scheduled"
    assert "is gone" not in agent.output()
    os.remove(filler)

    assert wait_for_state(backend, run["id"], timeout=60)["state"] == "Success"
    backend.close()
