"""What happens to flow runs when agents die, are stopped, compete, or runs are cancelled."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from agent_helpers import (
    HEARTBEAT_INTERVAL, jupyter_flows_command, log_messages, pid_from, process_gone, register_file, run_cli, wait_for,
    wait_for_state, write_flow_file,
)

pytestmark = pytest.mark.slow


def test_agent_killed_with_sigkill_leaves_its_run_failed_as_lost_and_keeps_what_was_recorded(
        tmp_path, start_agent, backend, slow_flow):
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow_id=slow_flow["id"], parameters={"pid_file": str(pid_file)})
    doomed = start_agent()
    run_pid = pid_from(pid_file)
    wait_for(lambda: "pid noted" in log_messages(backend, run["id"]), what="the first task's log line")
    wait_for_state(backend, run["id"], states=("Running",))

    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait()
    killed_at = time.time()
    wait_for(lambda: process_gone(run_pid), timeout=5, what="the run's process to die with its agent")
    start_agent()

    final = wait_for_state(backend, run["id"], timeout=30)
    assert final["state"] == "Failed"
    assert final["state_message"].startswith("lost: no heartbeat since")
    # Two silent intervals, then the next sweep (one interval) of the agent that found it, plus its start.
    assert final["end_time"] - killed_at < 2 * HEARTBEAT_INTERVAL + HEARTBEAT_INTERVAL + 5
    assert "pid noted" in log_messages(backend, run["id"])
    assert any(t["task_name"] == "note_pid" and t["state"] == "Success" for t in backend.get_task_runs(run["id"]))


def test_cancelled_run_ends_cancelled_and_its_process_is_gone(tmp_path, start_agent, backend, slow_flow):
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow_id=slow_flow["id"], parameters={"pid_file": str(pid_file)})
    agent = start_agent()
    run_pid = pid_from(pid_file)
    wait_for_state(backend, run["id"], states=("Running",))

    result = run_cli("cancel", run["id"])

    assert result.returncode == 0, result.stderr
    assert "Cancelled" in result.stdout
    wait_for(lambda: process_gone(run_pid), timeout=10, what="the cancelled run's process to stop")
    final = backend.get_flow_run(run["id"])
    assert final["state"] == "Cancelled"
    assert final["state_message"] == "Cancelled by user"
    assert agent.process.poll() is None, "the agent keeps running after a cancel"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_an_agent_with_a_run_in_flight_leaves_the_run_finished(
        tmp_path, start_agent, backend, slow_flow, signum):
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow_id=slow_flow["id"], parameters={"pid_file": str(pid_file)})
    agent = start_agent()
    run_pid = pid_from(pid_file)
    wait_for_state(backend, run["id"], states=("Running",))

    agent.process.send_signal(signum)

    assert agent.process.wait(timeout=20) == 0, agent.output()
    final = backend.get_flow_run(run["id"])
    assert final["state"] == "Cancelled"
    assert f"stopped by {signum.name} while the run was in flight" in final["state_message"]
    assert process_gone(run_pid)
    assert "stopped" in agent.output()


def test_run_process_that_crashes_fails_the_run_with_its_exit_code(tmp_path, start_agent, backend):
    code = '''
import os

from jupyter_flows import Flow, task


@task
def crash():
    os._exit(7)


with Flow("crash-flow") as flow:
    crash()
'''
    flow = register_file(backend, write_flow_file(tmp_path, code))
    start_agent()

    run = backend.create_flow_run(flow_id=flow["id"])

    final = wait_for_state(backend, run["id"])
    assert final["state"] == "Failed"
    assert "exited with code 7" in final["state_message"]


QUICK_FLOW = '''
import jupyter_flows
from jupyter_flows import Flow, task


@task
def once():
    jupyter_flows.context.get("logger").info("ran " + jupyter_flows.context.get("flow_run_id"))


with Flow("quick-flow") as flow:
    once()
'''


def test_two_agents_on_one_backend_run_each_of_100_runs_exactly_once(tmp_path, start_agent, backend):
    flow = register_file(backend, write_flow_file(tmp_path, QUICK_FLOW))
    first = start_agent("--concurrency", "4")
    second = start_agent("--concurrency", "4")

    runs = [backend.create_flow_run(flow_id=flow["id"]) for _ in range(100)]

    finals = [wait_for_state(backend, r["id"], timeout=240) for r in runs]
    assert [f["state"] for f in finals] == ["Success"] * 100
    for run in runs:
        assert log_messages(backend, run["id"]).count(f"ran {run['id']}") == 1
        task_runs = backend.get_task_runs(run["id"])
        assert [(t["task_name"], t["state"]) for t in task_runs] == [("once", "Success")]
        history = [s["state"] for s in backend.get_flow_run(run["id"])["states"]]
        assert history.count("Submitted") == 1 and history.count("Running") == 1
    assert all(str(first.pid) in f["agent_id"] or str(second.pid) in f["agent_id"] for f in finals)


def test_cancelling_a_run_executed_without_an_agent_stops_it(tmp_path, backend, slow_flow):
    pid_file = tmp_path / "pid"
    process = subprocess.Popen([*jupyter_flows_command(), "run", "--name", "slow-flow", "--execute",
                                "--param", f"pid_file={pid_file}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        pid_from(pid_file)
        run_id = backend.list_flow_runs()[0]["id"]
        wait_for_state(backend, run_id, states=("Running",))

        assert run_cli("cancel", run_id).returncode == 0

        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1, out + err
    assert backend.get_flow_run(run_id)["state"] == "Cancelled"
    assert "ended Cancelled" in out
