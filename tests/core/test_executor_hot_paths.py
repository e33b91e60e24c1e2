"""The executors' fast paths keep every task run's state, retries and log lines exact."""

import pytest
from dask.tokenize import tokenize

from jupyter_flows import Flow, context, task
from jupyter_flows.engine.events import RunListener
from jupyter_flows.engine.flow_runner import FlowRunner
from jupyter_flows.engine.state import Success
from jupyter_flows.engine.task_runner import TaskRun, TaskRunSpec
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


class CountsPickling:
    """A task's function that counts how often it is pickled."""

    pickled = 0

    def __call__(self, x):
        return x

    def __reduce__(self):
        type(self).pickled += 1
        return (CountsPickling, ())


def test_dask_names_task_runs_without_pickling_their_task():
    work = task(CountsPickling(), name="work")
    first = TaskRunSpec(work, "work-1", 0, (), None, {"flow_run_id": "r"})
    second = TaskRunSpec(work, "work-1", 1, (), None, {"flow_run_id": "r"})
    upstream = TaskRun("work-1", "work", 0, Success(result=list(range(1000))))
    CountsPickling.pickled = 0

    tokens = [tokenize(first), tokenize(second), tokenize(upstream)]

    assert CountsPickling.pickled == 0
    assert len(set(tokens)) == 3
    assert tokenize(first) == tokens[0]  # the same run is named the same each time it is asked


class Recorder(RunListener):
    def __init__(self):
        self.finished, self.lines = [], []

    def task_run_finished(self, run):
        self.finished.append((run.task_name, run.map_index, type(run.state).__name__, run.attempts))

    def log(self, entry):
        self.lines.append(entry.message)


_tries: dict = {}


@task(max_retries=1, retry_delay=0)
def shout(x):
    context.logger.info("child %s", x)
    if x % 50 == 7 and _tries.setdefault(x, 0) == 0:  # fails its first attempt, succeeds on the retry
        _tries[x] = 1
        raise ValueError(f"first try of {x}")
    return x * 2


@task
def total(values):
    return sum(values)


def _run(executor, n: int = 200) -> tuple:
    _tries.clear()  # before the flow is built: a process pool or cluster may get a copy of it
    with Flow("exact") as flow:
        result = total(shout.map(list(range(n))))
    recorder = Recorder()
    state = FlowRunner(flow, executor, listeners=[recorder]).run()
    return state, state.result[result].result, recorder


@pytest.mark.parametrize("executor", [LocalExecutor(), LocalDaskExecutor(num_workers=2)],
                         ids=["local", "threads"])
def test_every_mapped_child_is_reported_once_with_its_retries_and_lines(executor):
    state, value, recorder = _run(executor)

    assert state.is_successful(), state
    assert value == sum(x * 2 for x in range(200))
    children = sorted(r for r in recorder.finished if r[0] == "shout")
    assert [r[1] for r in children] == list(range(200))
    assert all(r[2] == "Success" for r in children)
    assert [r[1] for r in children if r[3] == 2] == [x for x in range(200) if x % 50 == 7]
    assert sorted(line for line in recorder.lines if line.startswith("child")) == \
        sorted([f"child {x}" for x in range(200)] + [f"child {x}" for x in range(200) if x % 50 == 7])


@pytest.mark.slow
def test_dask_executor_reports_every_mapped_child_once_with_its_result_and_lines():
    state, value, recorder = _run(DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1}), 300)

    assert state.is_successful(), state
    assert value == sum(x * 2 for x in range(300))
    children = sorted(r[1] for r in recorder.finished if r[0] == "shout")
    assert children == list(range(300))
    assert sorted(line for line in recorder.lines if line.startswith("child")) == \
        sorted([f"child {x}" for x in range(300)] + [f"child {x}" for x in range(300) if x % 50 == 7])
