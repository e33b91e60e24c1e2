"""A running task's log lines reach the backend while it runs, on every executor, and survive a crash."""

from __future__ import annotations

import collections
import os
import signal

import pytest

from agent_helpers import log_messages, pid_from, register_file, wait_for, wait_for_state, write_flow_file

pytestmark = pytest.mark.slow

#: A task that notes its process id, then logs "tick <i>" every 0.2 s for ~3 s.
TICKING_FLOW = '''
import os
import time

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


@task
def tick(pid_file, ticks):
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    logger = jupyter_flows.context.get("logger")
    for i in range(ticks):
        logger.info(f"tick {i}")
        time.sleep(0.2)
    return ticks


with Flow("ticking-flow") as flow:
    tick(Parameter("pid_file"), Parameter("ticks", default=15))

flow.executor = EXECUTOR
'''

EXECUTORS = {
    "LocalExecutor": "LocalExecutor()",
    "threads": "LocalDaskExecutor(num_workers=2)",
    "processes": "LocalDaskExecutor('processes', num_workers=2)",
    "dask.distributed": "DaskExecutor(cluster_kwargs={'n_workers': 1, 'threads_per_worker': 1})",
}


def register_ticking_flow(backend, tmp_path, executor: str) -> dict:
    code = TICKING_FLOW.replace("EXECUTOR", EXECUTORS[executor])
    return register_file(backend, write_flow_file(tmp_path, code, "ticking_flow.py"))


def ticks(backend, run_id: str) -> list[str]:
    return [m for m in log_messages(backend, run_id) if m.startswith("tick ")]


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_task_log_lines_are_visible_while_the_task_runs(tmp_path, start_agent, backend, executor):
    flow = register_ticking_flow(backend, tmp_path, executor)
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow_id=flow["id"], parameters={"pid_file": str(pid_file), "ticks": 25})
    start_agent()
    pid_from(pid_file, timeout=60)

    # Five of twenty-five lines (5 s of them), while the task (and so the run) is still going.
    seen = wait_for(lambda: len(ticks(backend, run["id"])) >= 5 and backend.get_flow_run(run["id"]),
                    timeout=20, what="five tick lines in the backend")
    tick_run = [t for t in backend.get_task_runs(run["id"]) if t["task_name"] == "tick"]
    assert seen["state"] == "Running"
    assert not tick_run or tick_run[0]["state"] == "Running"

    assert wait_for_state(backend, run["id"])["state"] == "Success"
    lines = ticks(backend, run["id"])
    assert lines == [f"tick {i}" for i in range(25)], "each line once, in order"


@pytest.mark.parametrize("executor", ["LocalExecutor", "processes"])
def test_lines_logged_before_the_run_process_is_killed_are_kept(tmp_path, start_agent, backend, executor):
    flow = register_ticking_flow(backend, tmp_path, executor)
    pid_file = tmp_path / "pid"
    run = backend.create_flow_run(flow_id=flow["id"], parameters={"pid_file": str(pid_file), "ticks": 100})
    start_agent()
    pid_from(pid_file, timeout=60)
    wait_for(lambda: len(ticks(backend, run["id"])) >= 5, timeout=20, what="five tick lines in the backend")
    before_kill = ticks(backend, run["id"])

    os.killpg(_run_process_group(pid_file), signal.SIGKILL)

    final = wait_for_state(backend, run["id"], timeout=30)
    assert final["state"] == "Failed"
    assert "SIGKILL" in final["state_message"]
    kept = ticks(backend, run["id"])
    assert kept[:len(before_kill)] == before_kill
    assert len(kept) >= 5
    assert max(collections.Counter(kept).values()) == 1


def _run_process_group(pid_file) -> int:
    """The process group of the task's process: the run process leads it (agents start runs in a session)."""
    return os.getpgid(int(pid_file.read_text()))
