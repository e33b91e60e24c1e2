"""A notebook as a flow: parameters from its parameters cell, one papermill run per flow run."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from jupyter_flows import Flow, config
from jupyter_flows.exceptions import FlowDefinitionError, NotebookError, ParameterError, StorageError
from jupyter_flows.storage import Notebook, storage_from_dict

pytestmark = pytest.mark.slow  # starts real kernels


def outputs_text(path) -> str:
    """Everything the cells of an executed notebook printed or returned, as one text."""
    nb = nbformat.read(os.fspath(path), as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type == "execute_result":
                parts.append(output.data.get("text/plain", ""))
            elif output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}")
    return "\n".join(parts)


def process_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


# -- the flow a notebook is ------------------------------------------------------------------------


def test_flow_parameters_are_the_variables_of_the_parameters_cell(notebook):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))

    parameters = {p.name: p for p in flow.parameters()}
    assert sorted(parameters) == ["alpha", "count", "label", "name"]
    assert parameters["alpha"].default == 0.5 and not parameters["alpha"].required
    assert parameters["label"].default is None and not parameters["label"].required
    described = {p["name"]: p for p in flow.storage.parameters}
    assert described["alpha"] == {"name": "alpha", "type": "float", "default": 0.5, "required": False,
                                  "help": "how fast it learns"}
    assert described["name"]["type"] == "str" and described["count"]["type"] == "int"
    assert [t.name for t in flow.tasks if t not in flow.parameters()] == ["params.ipynb"]


def test_a_default_that_is_not_a_literal_makes_its_parameter_required_with_a_warning(notebook):
    with pytest.warns(UserWarning, match=r"parameter 'day' .* not a Python literal .* required"):
        flow = Flow("daily", storage=Notebook(notebook("nonliteral.ipynb")))

    day = next(p for p in flow.parameters() if p.name == "day")
    assert day.required
    with pytest.raises(ParameterError, match="required parameter.*day"):
        flow.run()
    state = flow.run(day="2024-01-31")
    assert state.is_successful()
    assert "day 2024-01-31 limit 10" in outputs_text(state.result[flow.storage.task].result)


def test_flow_run_executes_the_notebook_with_the_given_parameters(notebook):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))

    state = flow.run(parameters={"alpha": 2.0, "name": "Ford"}, flow_run_id="run-1")

    assert state.is_successful(), state.result
    output = state.result[flow.storage.task].result
    assert output == str(config.runs_dir() / "run-1" / "output.ipynb") == flow.storage.output_path("run-1")
    text = outputs_text(output)
    assert "hello Ford alpha=2.0 count=3" in text
    assert "6.0" in text  # result = alpha * count


def test_notebook_without_parameters_cell_runs_with_no_parameters(notebook):
    flow = Flow("plain", storage=Notebook(notebook("no_params.ipynb")))

    assert flow.parameters() == set()
    state = flow.run()
    assert state.is_successful()
    assert "no parameters here" in outputs_text(state.result[flow.storage.task].result)


def test_a_parameter_the_notebook_does_not_declare_is_an_error_listing_the_declared_ones(notebook):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))

    with pytest.raises(ParameterError, match="no parameter named 'beta'.*alpha, count, label, name"):
        flow.run(beta=1)


def test_a_value_of_another_type_fails_the_run_before_the_kernel_starts(notebook, logs):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))

    state = flow.run(alpha="fast", flow_run_id="typed", listeners=[logs])

    assert state.is_failed()
    task_state = state.result[flow.storage.task]
    assert "ParameterError" in task_state.message
    assert "'alpha'" in task_state.message and "float" in task_state.message and "'fast'" in task_state.message
    assert not os.path.exists(flow.storage.output_path("typed"))
    assert not any(m.startswith("cell ") for m in logs.messages())


def test_an_int_is_a_fine_float_but_a_bool_is_not_an_int(notebook):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))

    assert flow.run(alpha=2).is_successful()
    refused = flow.run(count=True)
    assert "count" in refused.result[flow.storage.task].message


def test_cell_progress_and_printed_lines_become_log_lines_of_the_run(notebook, logs):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))

    state = flow.run(name="Arthur", listeners=[logs])

    assert state.is_successful()
    task_lines = [e for e in logs.entries if e.task_name == "params.ipynb"]
    progress = [e.message for e in task_lines if re.fullmatch(r"cell \d+/\d+", e.message)]
    # 6 cells plus papermill's injected-parameters cell; the markdown cell has no progress line
    assert progress == ["cell 2/7", "cell 3/7", "cell 4/7", "cell 5/7", "cell 6/7", "cell 7/7"]
    infos = [e.message for e in task_lines if e.level_name == "INFO"]
    assert "hello Arthur alpha=0.5 count=3" in infos
    assert infos.index("cell 5/7") < infos.index("hello Arthur alpha=0.5 count=3") < infos.index("cell 6/7")
    assert "careful" in [e.message for e in task_lines if e.level_name == "WARNING"]


def test_kernel_runs_in_the_cwd_given_to_the_storage_else_in_the_run_processs_cwd(notebook, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = notebook("params.ipynb")
    flow = Flow("analysis", storage=Notebook(path, cwd=elsewhere))
    assert f"cwd {elsewhere}" in outputs_text(flow.run().result[flow.storage.task].result)

    monkeypatch.chdir(tmp_path)
    flow = Flow("analysis", storage=Notebook(path))
    assert f"cwd {tmp_path}\n" in outputs_text(flow.run().result[flow.storage.task].result)


def test_output_dir_keeps_each_run_as_its_run_id_dot_ipynb(notebook, tmp_path):
    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb"), output_dir=tmp_path / "outputs"))

    state = flow.run(flow_run_id="nightly-7")

    assert state.result[flow.storage.task].result == str(tmp_path / "outputs" / "nightly-7.ipynb")
    assert (tmp_path / "outputs" / "nightly-7.ipynb").is_file()


# -- failures --------------------------------------------------------------------------------------


def test_a_failing_cell_fails_the_run_naming_the_cell_and_exception_and_keeps_the_output(notebook, logs):
    flow = Flow("divide", storage=Notebook(notebook("raises.ipynb")))

    state = flow.run(flow_run_id="bad-division", listeners=[logs])

    assert state.is_failed()
    message = state.result[flow.storage.task].message
    assert "NotebookError" in message
    assert "cell 4/5 (index 3, In [4])" in message  # index 1 is papermill's injected-parameters cell
    assert "ZeroDivisionError: division by zero" in message
    output = flow.storage.output_path("bad-division")
    assert output in message
    text = outputs_text(output)
    assert "ZeroDivisionError: division by zero" in text and "never printed" not in text
    assert any("raised ZeroDivisionError" in m for m in logs.messages("ERROR"))


def test_a_cell_that_never_ends_is_stopped_by_the_task_timeout(notebook, logs):
    flow = Flow("forever", storage=Notebook(notebook("never_ends.ipynb"), timeout=6))

    started = time.monotonic()
    state = flow.run(flow_run_id="forever", listeners=[logs])
    elapsed = time.monotonic() - started

    task_state = state.result[flow.storage.task]
    assert state.is_failed() and type(task_state).__name__ == "TimedOut"
    assert "timed out after 6 seconds" in task_state.message
    assert elapsed < 6 + 12  # the timeout plus the interrupt and kill grace periods at most
    pid = int(next(m for m in logs.messages() if m.startswith("kernel pid")).split()[-1])
    assert not process_alive(pid)
    text = outputs_text(flow.storage.output_path("forever"))
    assert "KeyboardInterrupt" in text and "never printed" not in text


# -- bad input -------------------------------------------------------------------------------------


def test_a_path_that_does_not_exist_is_refused_at_construction(tmp_path):
    with pytest.raises(NotebookError, match=r"notebook '.*missing\.ipynb' does not exist.*existing \.ipynb"):
        Notebook(tmp_path / "missing.ipynb")


def test_a_file_that_is_not_json_is_refused_as_not_a_notebook(notebook):
    with pytest.raises(NotebookError, match=r"corrupt\.ipynb' is not a notebook: its content is not valid JSON"):
        Notebook(notebook("corrupt.ipynb"))


def test_json_that_is_not_a_notebook_is_refused(notebook):
    with pytest.raises(NotebookError, match=r"not_a_notebook\.ipynb' is JSON but not a notebook"):
        Notebook(notebook("not_a_notebook.ipynb"))


def test_an_nbformat_3_notebook_is_refused_with_how_to_convert_it(notebook):
    with pytest.raises(NotebookError, match=r"is in nbformat 3; jupyter-flows runs nbformat 4 .*nbconvert"):
        Notebook(notebook("nbformat3.ipynb"))


def test_an_unknown_kernel_name_is_refused_listing_the_installed_kernels(notebook):
    with pytest.raises(NotebookError, match=r"no kernel named 'cobol-99' .*installed kernels: .*python3"):
        Notebook(notebook("params.ipynb"), kernel_name="cobol-99")


def test_a_flow_run_id_with_path_separators_is_refused_for_output_paths(notebook, tmp_path):
    storage = Notebook(notebook("params.ipynb"), output_dir=tmp_path / "out")
    for bad in ("../escape", "a/b", "..", "/etc/passwd", ""):
        with pytest.raises(NotebookError, match="cannot be used in a file path"):
            storage.output_path(bad)

    flow = Flow("analysis", storage=storage)
    state = flow.run(flow_run_id="../../escape")
    assert state.is_failed()
    assert "cannot be used in a file path" in state.result[flow.storage.task].message
    assert not (tmp_path / "escape.ipynb").exists()


def test_a_notebook_edited_after_its_flow_was_built_is_not_run_with_stale_parameters(notebook):
    path = notebook("params.ipynb")
    flow = Flow("analysis", storage=Notebook(path))
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "extra = 1\n"
    nbformat.write(nb, path)

    state = flow.run()

    assert "changed since its flow was built" in state.result[flow.storage.task].message


def test_a_flow_that_already_has_tasks_cannot_take_notebook_storage(notebook):
    from jupyter_flows import task

    @task
    def other():
        return 1

    with Flow("mixed") as flow:
        other()
    with pytest.raises(FlowDefinitionError, match="already has tasks"):
        flow.storage = Notebook(notebook("params.ipynb"))


# -- serialised form -------------------------------------------------------------------------------


def test_to_dict_round_trips_without_reading_the_working_copy(notebook, tmp_path):
    path = notebook("params.ipynb")
    storage = Notebook(path, kernel_name="python3", output_dir=tmp_path / "o", cwd=tmp_path, timeout=30)
    data = storage.to_dict()
    json.dumps(data)
    path.unlink()

    rebuilt = storage_from_dict(data)

    assert type(rebuilt) is Notebook
    assert rebuilt.to_dict() == data
    assert data["path"] == str(path) and data["timeout"] == 30 and data["type"] == "Notebook"
    assert rebuilt.output_path("r1") == str(tmp_path / "o" / "r1.ipynb")


def test_add_flow_refuses_a_flow_with_tasks_besides_the_notebook(notebook):
    from jupyter_flows import task

    @task
    def summarize(path):
        return path

    flow = Flow("analysis", storage=Notebook(notebook("params.ipynb")))
    with flow:
        summarize(flow.storage.task)
    with pytest.raises(StorageError, match="also has tasks summarize"):
        flow.storage.add_flow(flow)
