"""The same flow gives the same results on every executor, with real pools and real clusters."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import cloudpickle
import pytest

from jupyter_flows import Flow, Parameter, flatten, task, unmapped
from jupyter_flows.exceptions import ExecutorError, NotPicklableError
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor, executor_from_dict

# Workers in other processes receive these tasks by value, as they would from a notebook.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@task
def double(x):
    return 2 * x


@task
def add(x, y):
    return x + y


@task
def explode(n):
    return [[i] * i for i in range(n)]


@task
def total(values):
    return sum(values)


@task(max_retries=1, retry_delay=0)
def fails_on_three(x):
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def build_flow() -> Flow:
    with Flow("equivalence") as flow:
        n = Parameter("n", default=4)
        doubled = double.map(flatten(explode(n)))
        shifted = add.map(doubled, unmapped(100))
        total(shifted)
        fails_on_three.map([1, 2, 3])
    return flow


def summarise(state):
    """Task name -> (state, result), exceptions shown by their message, inputs left out."""
    def shown(value):
        if isinstance(value, list):
            return [shown(v) for v in value]
        return f"{type(value).__name__}: {value}" if isinstance(value, Exception) else value

    return {task.name: (type(s).__name__, shown(s.result))
            for task, s in state.result.items() if task.name in EXPECTED}


EXPECTED = {
    "explode": ("Success", [[], [1], [2, 2], [3, 3, 3]]),
    "double": ("Mapped", [2, 4, 4, 6, 6, 6]),
    "add": ("Mapped", [102, 104, 104, 106, 106, 106]),
    "total": ("Success", 628),
    "fails_on_three": ("Mapped", [1, 2, "ValueError: three is not allowed"]),
}


def check(state):
    assert summarise(state) == EXPECTED
    third = state.result[next(t for t in state.result if t.name == "fails_on_three")].map_states[2]
    assert third.is_failed() and third.message == "ValueError: three is not allowed"
    assert state.is_failed()


def test_local_executor_runs_the_reference_flow():
    check(build_flow().run(executor=LocalExecutor()))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_local_dask_executor_gives_the_same_results(scheduler):
    check(build_flow().run(executor=LocalDaskExecutor(scheduler=scheduler, num_workers=2)))


@pytest.mark.slow
def test_dask_executor_on_a_temporary_local_cluster_gives_the_same_results():
    executor = DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})
    check(build_flow().run(executor=executor))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_scheduler_and_worker(tmp_path):
    """A `dask scheduler` and a `dask worker`, each its own process, as on a real cluster."""
    dask_cli = shutil.which("dask") or pytest.fail("the `dask` command is missing (pip install distributed)")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "w")
    scheduler = subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([dask_cli, "worker", address, "--nworkers", "1", "--nthreads", "2",
                               "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT)
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(20)
        log.close()


@pytest.mark.slow
def test_dask_executor_connects_to_a_separate_scheduler_and_worker(dask_scheduler_and_worker):
    check(build_flow().run(executor=DaskExecutor(address=dask_scheduler_and_worker)))


@pytest.mark.slow
def test_dask_executor_workers_see_the_environment_of_the_flow_run(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_TEST_GREETING", "Howdy")

    @task
    def read_env():
        return os.environ.get("JUPYTER_FLOWS_TEST_GREETING")

    with Flow("env") as flow:
        greeting = read_env()
    state = flow.run(executor=DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 1}))
    assert state.result[greeting].result == "Howdy"


def test_an_unreachable_dask_scheduler_is_a_clear_error():
    port = _free_port()
    executor = DaskExecutor(address=f"tcp://127.0.0.1:{port}", client_kwargs={"timeout": "1s"})
    with Flow("unreachable") as flow:
        double(1)
    with pytest.raises(ExecutorError, match=f"cannot reach the dask scheduler at 'tcp://127.0.0.1:{port}'"):
        flow.run(executor=executor)


def test_an_unpicklable_task_fails_the_flow_run_naming_it_before_a_process_pool_starts():
    lock = threading.Lock()

    @task
    def holds_a_lock():
        with lock:
            return 1

    with Flow("unpicklable") as flow:
        held = holds_a_lock()
    state = flow.run(executor=LocalDaskExecutor(scheduler="processes"))
    assert state.is_failed()
    assert "task 'holds_a_lock' cannot be pickled" in state.message
    assert isinstance(state.result[held].result, NotPicklableError)
    assert flow.run(executor=LocalDaskExecutor(scheduler="threads")).is_successful()


def test_thread_pool_runs_tasks_in_parallel():
    @task
    def nap(x):
        time.sleep(0.3)
        return x

    with Flow("parallel") as flow:
        nap.map([1, 2, 3, 4])
    started = time.perf_counter()
    assert flow.run(executor=LocalDaskExecutor(num_workers=4)).is_successful()
    assert time.perf_counter() - started < 1.0


def test_flow_executor_is_the_default_and_run_executor_overrides_it():
    @task
    def thread_name():
        return threading.current_thread().name

    with Flow("which executor", executor=LocalDaskExecutor()) as flow:
        name = thread_name()
    assert flow.run().result[name].result.startswith("jupyter-flows")
    assert flow.run(executor=LocalExecutor()).result[name].result == threading.current_thread().name


def test_bad_executor_options_name_the_value_and_the_choices():
    with pytest.raises(ExecutorError, match="'fibers'.*threads.*processes"):
        LocalDaskExecutor(scheduler="fibers")
    with pytest.raises(ExecutorError, match="num_workers.*0"):
        LocalDaskExecutor(num_workers=0)
    with pytest.raises(ExecutorError, match="address.*'nowhere'"):
        DaskExecutor(address="nowhere")
    with pytest.raises(ExecutorError, match="unknown executor type 'Spark'"):
        executor_from_dict({"type": "Spark"})


@pytest.mark.parametrize("executor", [
    LocalExecutor(),
    LocalDaskExecutor(scheduler="processes", num_workers=3),
    DaskExecutor(address="tcp://10.0.0.1:8786"),
    DaskExecutor(cluster_class="distributed.LocalCluster", cluster_kwargs={"n_workers": 2},
                 adapt_kwargs={"maximum": 4}),
])
def test_executors_round_trip_through_their_stored_form(executor):
    assert executor_from_dict(executor.to_dict()) == executor


@task
def read_greeting():
    return os.environ.get("JUPYTER_FLOWS_TEST_GREETING")


def test_process_pool_workers_see_the_environment_of_each_run(monkeypatch):
    with Flow("env per run") as flow:
        greeting = read_greeting()
    for value in ("One", "Two"):
        monkeypatch.setenv("JUPYTER_FLOWS_TEST_GREETING", value)
        state = flow.run(executor=LocalDaskExecutor(scheduler="processes", num_workers=1))
        assert state.result[greeting].result == value
