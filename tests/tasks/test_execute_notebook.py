"""ExecuteNotebook: one papermill run per task run, mapped over parameter sets."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from jupyter_flows import Flow, config
from jupyter_flows.exceptions import NotebookError, ParameterError
from jupyter_flows.executors import LocalDaskExecutor, LocalExecutor
from jupyter_flows.tasks import ExecuteNotebook

pytestmark = pytest.mark.slow  # starts real kernels

FILES = Path(__file__).parent.parent / "notebooks" / "files"


@pytest.fixture
def nb_path(tmp_path):
    def copy(name: str) -> str:
        target = tmp_path / name
        shutil.copyfile(FILES / name, target)
        return str(target)

    return copy


def printed(path) -> str:
    nb = nbformat.read(os.fspath(path), as_version=4)
    return "".join(o.text for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")


def test_execute_notebook_injects_parameters_and_returns_the_output_path(nb_path, tmp_path):
    with Flow("one") as flow:
        executed = ExecuteNotebook(path=nb_path("params.ipynb"), parameters={"name": "Marvin"})(
            parameters={"count": 4}, output_path=str(tmp_path / "out" / "done.ipynb"))

    state = flow.run()

    assert state.is_successful(), state.result
    assert state.result[executed].result == str(tmp_path / "out" / "done.ipynb")
    assert "hello Marvin alpha=0.5 count=4" in printed(tmp_path / "out" / "done.ipynb")


def test_mapped_execute_notebook_gives_every_child_its_own_output_notebook(nb_path):
    with Flow("sweep") as flow:
        executed = ExecuteNotebook(path=nb_path("params.ipynb")).map(
            parameters=[{"name": "Arthur"}, {"name": "Ford"}, {"name": "Marvin"}])

    state = flow.run(flow_run_id="sweep-1")

    outputs = state.result[executed].result
    slug = flow.slugs[executed]
    assert outputs == [str(config.runs_dir() / "sweep-1" / f"{slug.lower()}-{i}.ipynb") for i in range(3)]
    for output, name in zip(outputs, ["Arthur", "Ford", "Marvin"]):
        assert f"hello {name} alpha=0.5" in printed(output)


def test_mapped_execute_notebook_runs_children_at_the_same_time_on_local_dask_executor(nb_path):
    with Flow("parallel", executor=LocalDaskExecutor(num_workers=2)) as flow:
        executed = ExecuteNotebook(path=nb_path("sleeps.ipynb")).map(
            parameters=[{"seconds": 3.0, "tag": "a"}, {"seconds": 3.0, "tag": "b"}])

    state = flow.run()

    assert state.is_successful(), state.result
    intervals = []
    for output in state.result[executed].result:
        start, end = map(float, re.search(r"slept \w ([\d.]+) ([\d.]+)", printed(output)).groups())
        intervals.append((start, end))
    (start_a, end_a), (start_b, end_b) = intervals
    assert start_a < end_b and start_b < end_a, f"the two notebooks did not overlap: {intervals}"


def test_execute_notebook_logs_each_childs_cells_under_its_map_index(nb_path):
    from jupyter_flows.engine.events import RunListener

    class Keep(RunListener):
        def __init__(self):
            self.entries = []

        def log(self, entry):
            self.entries.append(entry)

    keep = Keep()
    with Flow("sweep", executor=LocalDaskExecutor(num_workers=2)) as flow:
        ExecuteNotebook(path=nb_path("params.ipynb")).map(parameters=[{"name": "Arthur"}, {"name": "Ford"}])

    flow.run(listeners=[keep])

    by_child = {(e.map_index, e.message) for e in keep.entries}
    assert (0, "hello Arthur alpha=0.5 count=3") in by_child
    assert (1, "hello Ford alpha=0.5 count=3") in by_child
    assert (0, "cell 4/7") in by_child and (1, "cell 4/7") in by_child


def test_execute_notebook_outside_a_flow_writes_a_fresh_output(nb_path):
    output = ExecuteNotebook(path=nb_path("no_params.ipynb")).run()

    assert Path(output).parent.parent == config.runs_dir()
    assert "no parameters here" in printed(output)


def test_execute_notebook_refuses_a_parameter_the_notebook_does_not_declare(nb_path):
    task = ExecuteNotebook(path=nb_path("params.ipynb"))

    with pytest.raises(ParameterError, match="has no parameter named 'speed'; its parameters are: alpha, count"):
        task.run(parameters={"speed": 3})
    with pytest.raises(ParameterError, match=r"no parameter named 'x'; its parameters are: none"):
        ExecuteNotebook(path=nb_path("no_params.ipynb")).run(parameters={"x": 1})


def test_execute_notebook_refuses_a_value_of_another_type(nb_path):
    with pytest.raises(ParameterError, match=r"parameter 'count' of params\.ipynb expects int .*got str 'three'"):
        ExecuteNotebook(path=nb_path("params.ipynb")).run(parameters={"count": "three"})


def test_execute_notebook_fails_with_the_failing_cell_and_keeps_the_output(nb_path, tmp_path):
    output = tmp_path / "failed.ipynb"
    with pytest.raises(NotebookError, match=r"cell 3/4 \(index 2, In \[3\]\) raised ZeroDivisionError"):
        ExecuteNotebook(path=nb_path("raises.ipynb"), output_path=output).run()
    nb = nbformat.read(output, as_version=4)
    assert any(o.get("ename") == "ZeroDivisionError" for c in nb.cells for o in c.get("outputs", []))


def test_execute_notebook_timeout_stops_the_kernel_and_the_task_times_out(nb_path):
    with Flow("forever") as flow:
        executed = ExecuteNotebook(path=nb_path("never_ends.ipynb"), timeout=6)()

    state = flow.run(flow_run_id="forever-task")

    assert type(state.result[executed]).__name__ == "TimedOut"
    output = config.runs_dir() / "forever-task" / f"{flow.slugs[executed].lower()}.ipynb"
    nb = nbformat.read(output, as_version=4)
    assert any(o.get("ename") == "KeyboardInterrupt" for c in nb.cells for o in c.get("outputs", []))


def test_execute_notebook_cell_timeout_without_a_flow_is_a_notebook_error(nb_path, tmp_path):
    task = ExecuteNotebook(path=nb_path("never_ends.ipynb"), timeout=3)

    with pytest.raises(NotebookError, match="CellTimeoutError: the cell did not finish within 3 s"):
        task.run(output_path=str(tmp_path / "stopped.ipynb"))


def test_execute_notebook_refuses_a_missing_notebook_when_built(tmp_path):
    with pytest.raises(NotebookError, match="does not exist"):
        ExecuteNotebook(path=tmp_path / "nowhere.ipynb")


def test_execute_notebook_refuses_an_unknown_kernel_when_built(nb_path):
    with pytest.raises(NotebookError, match=r"no kernel named 'nope'.*installed kernels: .*python3"):
        ExecuteNotebook(path=nb_path("params.ipynb"), kernel_name="nope")


def test_execute_notebook_refuses_an_unsafe_flow_run_id_for_its_default_output(nb_path, tmp_path):
    with Flow("escape") as flow:
        executed = ExecuteNotebook(path=nb_path("no_params.ipynb"))()

    state = flow.run(flow_run_id="../../outside")

    assert "cannot be used in a file path" in state.result[executed].message
    assert not list(config.home().parent.glob("outside*"))


def test_execute_notebook_without_a_path_says_how_to_give_one():
    with pytest.raises(NotebookError, match="has no notebook to run: give path="):
        ExecuteNotebook().run()


def test_serial_and_parallel_map_give_the_same_outputs(nb_path):
    results = []
    for executor in (LocalExecutor(), LocalDaskExecutor(num_workers=2)):
        with Flow("same", executor=executor) as flow:
            executed = ExecuteNotebook(path=nb_path("params.ipynb")).map(
                parameters=[{"count": n} for n in (1, 2)])
        outputs = flow.run().result[executed].result
        results.append([printed(o).splitlines()[0] for o in outputs])
    assert results[0] == results[1] == ["hello world alpha=0.5 count=1", "hello world alpha=0.5 count=2"]
