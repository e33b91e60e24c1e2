"""Loading flows from scripts and notebooks fails clearly at registration, not later or silently."""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from jupyter_flows import Flow
from jupyter_flows.exceptions import ConfigurationError, NotebookError, StorageError
from jupyter_flows.storage import Local, Notebook, Script
from jupyter_flows.storage.script import find_flow, load_flow_script, run_flow_script

ONE_FLOW = '''
from jupyter_flows import Flow, task


@task
def one():
    return 1


with Flow("one-flow") as flow:
    one()

alias = flow
'''


def script(tmp_path, code: str, name: str = "flows.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


@pytest.mark.parametrize("call, shown", [("sys.exit(3)", "sys.exit(3)"), ("sys.exit()", "sys.exit(None)"),
                                         ("sys.exit('bye')", "sys.exit('bye')")])
def test_a_script_that_exits_is_a_storage_error_naming_it_and_the_exit_code(tmp_path, call, shown):
    path = script(tmp_path, ONE_FLOW + f"\nimport sys\n{call}\n", "exits.py")

    with pytest.raises(StorageError) as refused:
        load_flow_script(path)

    assert "exits.py" in str(refused.value) and shown in str(refused.value)


def test_script_storage_loading_a_script_that_exits_does_not_end_the_process(tmp_path):
    path = script(tmp_path, ONE_FLOW)
    storage = Script(path)
    storage.add_flow(Flow("one-flow"))
    with open(path, "a") as handle:
        handle.write("\nraise SystemExit(4)\n")

    with pytest.raises(StorageError, match=r"sys\.exit\(4\)"):
        storage.get_flow()


def test_a_flow_bound_to_two_names_is_one_flow(tmp_path):
    namespace = run_flow_script(script(tmp_path, ONE_FLOW))

    assert find_flow(namespace, None, "flows.py").name == "one-flow"


def test_two_different_flows_with_one_name_are_refused_naming_it(tmp_path):
    code = ONE_FLOW + '\nwith Flow("one-flow") as other:\n    one()\n    one()\n'

    with pytest.raises(StorageError, match="two different flows named 'one-flow'"):
        load_flow_script(script(tmp_path, code))


def notebook_with_kernel(tmp_path, kernel: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("print('hello')")]
    path = tmp_path / "hello.ipynb"
    nbformat.write(nb, str(path))
    return str(path)


def test_registering_a_notebook_whose_kernel_is_not_installed_is_a_notebook_error(tmp_path, backend):
    backend.create_project("tests")
    flow = Flow("hello", storage=Notebook(notebook_with_kernel(tmp_path, "gpu-env")))

    with pytest.raises(NotebookError) as refused:
        flow.register(project_name="tests")

    message = str(refused.value)
    assert "'gpu-env'" in message and "python3" in message and "allow_missing_kernel=True" in message
    assert backend.list_flows(include_archived=True) == []


def test_allow_missing_kernel_registers_with_a_warning_and_is_not_stored(tmp_path, backend):
    backend.create_project("tests")
    flow = Flow("hello", storage=Notebook(notebook_with_kernel(tmp_path, "gpu-env"), allow_missing_kernel=True))

    with pytest.warns(UserWarning, match="'gpu-env'.*agent"):
        flow_id = flow.register(project_name="tests")

    stored = backend.get_flow(flow_id)["storage"]
    assert stored["type"] == "Notebook" and "allow_missing_kernel" not in stored


def test_an_explicit_kernel_name_that_is_missing_is_allowed_only_when_asked(tmp_path):
    path = notebook_with_kernel(tmp_path, "python3")

    with pytest.raises(NotebookError, match="no kernel named 'gpu-env'"):
        Notebook(path, kernel_name="gpu-env")
    assert Notebook(path, kernel_name="gpu-env", allow_missing_kernel=True).kernel == "gpu-env"


def test_registering_with_an_empty_storage_label_is_refused_before_anything_is_stored(tmp_path, backend):
    backend.create_project("tests")
    flow = load_flow_script(script(tmp_path, ONE_FLOW))
    flow.storage = Local(directory=str(tmp_path / "stored"), labels=["gpu", " "])

    with pytest.raises(ConfigurationError, match="non-empty string, got ' '"):
        flow.register(project_name="tests")

    assert backend.list_flows(include_archived=True) == [] and not (tmp_path / "stored").exists()
