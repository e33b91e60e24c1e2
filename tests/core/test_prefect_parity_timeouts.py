"""What a task timeout stops: its process on process and distributed executors, nothing on threads."""

import os
import subprocess
import sys
import time

import cloudpickle
import pytest

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.engine.events import RunListener
from jupyter_flows.engine.state import TimedOut
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@task(timeout=1)
def overstays(folder):
    """Starts a child process, then works past its timeout; writes a marker if it is not stopped."""
    child = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(folder, "child.pid"), "w") as f:
        f.write(str(child.pid))
    time.sleep(3)
    with open(os.path.join(folder, "finished"), "w") as f:
        f.write("the task went on after its timeout")
    return "late"


@task(timeout=60, log_stdout=True)
def in_time(x):
    jupyter_flows.context.logger.info("logged inside the child")
    print("printed inside the child")
    return {"doubled": 2 * x, "pid": os.getpid()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().split()[2] != "Z"


class Logs(RunListener):
    def __init__(self):
        self.messages = []

    def log(self, entry):
        self.messages.append(entry.message)


KILLING = {
    "processes": lambda: LocalDaskExecutor(scheduler="processes", num_workers=1),
    "dask": lambda: DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 1}),
}


@pytest.mark.parametrize("executor", KILLING.values(), ids=KILLING.keys())
def test_a_timed_out_task_on_a_process_executor_is_killed_with_what_it_started(executor, tmp_path):
    with Flow("killed") as flow:
        late = overstays(str(tmp_path))
    started = time.monotonic()
    state = flow.run(executor=executor())
    timed_out = state.result[late]
    assert isinstance(timed_out, TimedOut)
    assert "timed out after 1 seconds" in timed_out.message
    assert "process group were killed" in timed_out.message
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    time.sleep(max(0.0, started + 4 - time.monotonic()))  # past the moment the task would have finished
    assert not (tmp_path / "finished").exists()


@pytest.mark.parametrize("executor", KILLING.values(), ids=KILLING.keys())
def test_a_task_within_its_timeout_on_a_process_executor_returns_its_result_logs_and_prints(executor):
    logs = Logs()
    with Flow("in time") as flow:
        result = in_time(21)
    state = flow.run(executor=executor(), listeners=[logs])
    value = state.result[result].result
    assert value["doubled"] == 42
    assert value["pid"] != os.getpid()
    assert "logged inside the child" in logs.messages
    assert "printed inside the child" in logs.messages


def test_a_timed_out_task_on_threads_is_abandoned_its_result_discarded(tmp_path):
    with Flow("abandoned") as flow:
        late = overstays(str(tmp_path))
    state = flow.run(executor=LocalExecutor())
    timed_out = state.result[late]
    assert isinstance(timed_out, TimedOut)
    assert "it ran in a thread, which cannot be stopped" in timed_out.message
    assert timed_out.result is None
    deadline = time.monotonic() + 10
    while not (tmp_path / "finished").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "finished").exists()  # its code went on: a thread cannot be stopped
    subprocess.run(["kill", (tmp_path / "child.pid").read_text()], check=False)
