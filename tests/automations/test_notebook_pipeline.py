"""Pipelines of notebooks built in Python: one ExecuteNotebook task per notebook, in dependency order."""

from __future__ import annotations

import nbformat
import pytest

from jupyter_flows.exceptions import FlowDefinitionError, ParameterError
from jupyter_flows.tasks.pipeline import notebook_pipeline


def write_notebook(path, parameters: str, body: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks(tmp_path):
    write_notebook(tmp_path / "a.ipynb", "n = 1", 'open("order.txt", "a").write(f"a{n} ")')
    write_notebook(tmp_path / "b.ipynb", "", 'open("order.txt", "a").write("b ")')
    write_notebook(tmp_path / "broken.ipynb", "", 'raise ValueError("no data for today")')
    return tmp_path


def test_a_list_of_notebooks_is_a_chain_with_each_ones_parameters(notebooks):
    flow = notebook_pipeline("chain", [{"path": notebooks / "a.ipynb", "parameters": {"n": 5}},
                                       {"path": notebooks / "b.ipynb"}])

    state = flow.run()

    assert state.is_successful()
    assert (notebooks / "order.txt").read_text() == "a5 b "
    [a] = flow.get_tasks(name="a")
    [b] = flow.get_tasks(name="b")
    assert flow.upstream_tasks(b) == {a}


def test_a_failing_notebook_is_named_and_what_follows_it_does_not_run(notebooks):
    flow = notebook_pipeline("fails", [{"path": notebooks / "broken.ipynb"}, {"path": notebooks / "b.ipynb"}])

    state = flow.run()

    assert state.is_failed()
    by_name = {task.name: task_state for task, task_state in state.result.items()}
    assert by_name["broken"].is_failed() and "no data for today" in by_name["broken"].message
    assert by_name["b"].is_failed() and "upstream" in by_name["b"].message.lower()
    assert not (notebooks / "order.txt").exists()


def test_after_makes_steps_that_start_together(notebooks):
    flow = notebook_pipeline("fan", [{"path": notebooks / "a.ipynb"}, {"path": notebooks / "b.ipynb", "after": []},
                                     {"path": notebooks / "b.ipynb", "after": [0, 1]}])

    names = sorted(task.name for task in flow.tasks)
    [last] = flow.get_tasks(name="b-2")
    assert names == ["a", "b", "b-2"]
    assert {t.name for t in flow.upstream_tasks(last)} == {"a", "b"}
    assert not flow.upstream_tasks(flow.get_tasks(name="b")[0])


@pytest.mark.parametrize("steps, error, message", [
    ([], FlowDefinitionError, "needs at least one notebook step"),
    ([{"notebook": "a.ipynb"}], FlowDefinitionError, "step 0 must be a dict with a notebook 'path'"),
    ([{"path": "A", "after": [0]}], FlowDefinitionError,
     r"step 0 \(.*a.ipynb\) cannot run after 0; 'after' takes indexes of other steps"),
    ([{"path": "A", "after": 1}], FlowDefinitionError, "'after' must be a list of step indexes, got 1"),
    ([{"path": "A", "parameters": [1]}], ParameterError, r"parameters must be a dict of name: value, got \[1\]"),
    ([{"path": "A", "when": "now"}], FlowDefinitionError, r"unknown keys \['when'\]; a step takes: path, parameters"),
])
def test_bad_steps_are_refused_naming_the_step(notebooks, steps, error, message):
    steps = [{**s, "path": notebooks / "a.ipynb"} if s.get("path") == "A" else s for s in steps]
    with pytest.raises(error, match=message):
        notebook_pipeline("bad", steps)
