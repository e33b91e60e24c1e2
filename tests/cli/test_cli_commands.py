"""``get task-runs``, ``delete flow-run``, ``archive flow``, and the bad input ``register`` and ``run`` refuse.

Every command runs the installed ``jupyter-flows`` script in a subprocess
against the test's own SQLite backend.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from cli_helpers import assert_one_line_error, jf, write_flow_file

from jupyter_flows.exceptions import ConfigurationError, FlowRunActiveError

MAPPED_FLOW = '''
from jupyter_flows import Flow, Parameter, task


@task
def double(x):
    return 2 * x


with Flow("mapped-flow") as flow:
    numbers = Parameter("numbers", default=[1, 2, 3])
    double.map(numbers)
'''

EXITING_FLOW = '''
import sys

from jupyter_flows import Flow, task


@task
def one():
    return 1


with Flow("exiting-flow") as flow:
    one()

sys.exit(3)
'''

SAME_NAME_TWICE = '''
from jupyter_flows import Flow, task


@task
def one():
    return 1


with Flow("report") as daily:
    one()

with Flow("report") as weekly:
    one()
    one()
'''


@pytest.fixture
def project(backend):
    backend.create_project("tests")
    return "tests"


def register(tmp_path, code: str, project: str = "tests", name: str = "flows.py", *options: str):
    return jf("register", "--project", project, "-p", write_flow_file(tmp_path, code, name), *options)


def executed_run(tmp_path, backend) -> dict:
    assert register(tmp_path, MAPPED_FLOW).returncode == 0
    assert jf("run", "--name", "mapped-flow", "--execute").returncode == 0
    return backend.list_flow_runs()[0]


# -- get task-runs -------------------------------------------------------------------------------


def test_get_task_runs_lists_each_mapped_child_with_its_state_and_times(tmp_path, project, backend):
    run = executed_run(tmp_path, backend)

    table = jf("get", "task-runs", run["id"])
    rows = json.loads(jf("get", "task-runs", run["id"], "--json").stdout)

    assert table.returncode == 0
    for child in ("double[0]", "double[1]", "double[2]"):
        assert child in table.stdout
    children = sorted((r["map_index"], r["state"]) for r in rows if r["task_name"] == "double" and r["map_index"] >= 0)
    assert children == [(0, "Success"), (1, "Success"), (2, "Success")]
    assert all(r["start_time"] <= r["end_time"] for r in rows if r["start_time"])


def test_get_task_runs_of_an_unknown_run_names_it(project):
    assert_one_line_error(jf("get", "task-runs", "no-such-run"), 1, "'no-such-run'")


# -- delete flow-run -----------------------------------------------------------------------------


def test_delete_flow_run_removes_a_finished_run_with_its_logs(tmp_path, project, backend):
    run = executed_run(tmp_path, backend)

    deleted = jf("delete", "flow-run", run["id"])

    assert deleted.returncode == 0 and run["id"] in deleted.stdout
    assert backend.list_flow_runs() == []
    assert_one_line_error(jf("get", "logs", run["id"]), 1, repr(run["id"]))


def test_delete_flow_run_refuses_a_running_run_and_says_to_cancel_it(tmp_path, project, backend):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0
    flow = backend.get_flow_by_name("mapped-flow")
    run = backend.create_flow_run(flow["id"])
    backend.set_flow_run_state(run["id"], "Running")

    refused = jf("delete", "flow-run", run["id"])

    assert_one_line_error(refused, 1, "is Running", f"jupyter-flows cancel {run['id']}")
    assert backend.get_flow_run(run["id"])["state"] == "Running"


def test_delete_flow_run_of_an_unknown_id_names_it(project):
    assert_one_line_error(jf("delete", "flow-run", "no-such-run"), 1, "'no-such-run'")


# -- archive flow ------------------------------------------------------------------------------------


def test_archive_flow_archives_every_version_and_new_runs_are_refused(tmp_path, project, backend):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0
    assert register(tmp_path, MAPPED_FLOW.replace("[1, 2, 3]", "[4]")).returncode == 0

    archived = jf("archive", "flow", "mapped-flow", "--project", "tests")

    assert archived.returncode == 0 and "every version" in archived.stdout
    assert json.loads(jf("get", "flows", "--json").stdout) == []
    assert all(f["archived"] for f in backend.list_flows(include_archived=True))
    assert_one_line_error(jf("run", "--name", "mapped-flow"), 2, "'mapped-flow'", "archived")


def test_archive_flow_version_archives_that_version_and_an_unknown_version_lists_the_versions(tmp_path, project,
                                                                                              backend):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0

    archived = jf("archive", "flow", "mapped-flow", "--version", "1")

    assert archived.returncode == 0 and "version 1" in archived.stdout and "(1 newly archived)" in archived.stdout
    assert [f["archived"] for f in backend.list_flows(include_archived=True)] == [True]
    assert_one_line_error(jf("archive", "flow", "mapped-flow", "--version", "3"), 1, "no version 3", "versions: 1")


def test_archive_of_an_unknown_flow_lists_the_registered_ones(tmp_path, project):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0

    assert_one_line_error(jf("archive", "flow", "no-such-flow"), 1, "'no-such-flow'", "'mapped-flow'")


# -- labels ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["", "   "])
def test_run_with_an_empty_label_is_refused_and_creates_no_run(tmp_path, project, backend, label):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0

    refused = jf("run", "--name", "mapped-flow", "--label", "gpu", "--label", label)

    assert_one_line_error(refused, 2, "label", repr(label), "non-empty")
    assert backend.list_flow_runs() == []


def test_register_with_an_empty_label_is_refused_before_anything_is_stored(tmp_path, project, backend):
    refused = register(tmp_path, MAPPED_FLOW, "tests", "flows.py", "--label", "")

    assert_one_line_error(refused, 2, "label", "''")
    assert backend.list_flows(include_archived=True) == []


def test_create_flow_run_in_python_refuses_empty_labels_and_a_bare_string(tmp_path, project, backend):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0
    flow_id = backend.get_flow_by_name("mapped-flow")["id"]

    with pytest.raises(ConfigurationError, match="non-empty string, got ''"):
        backend.create_flow_run(flow_id, labels=["gpu", ""])
    with pytest.raises(ConfigurationError, match="got the string 'gpu'"):
        backend.create_flow_run(flow_id, labels="gpu")
    assert backend.create_flow_run(flow_id, labels=[" gpu "])["labels"] == ["gpu"]


# -- scripts that exit, flows that share a name -------------------------------------------------------


def test_register_of_a_script_that_calls_sys_exit_names_the_script_and_the_code(tmp_path, project, backend):
    refused = register(tmp_path, EXITING_FLOW, "tests", "exits.py")

    assert_one_line_error(refused, 1, "exits.py", "sys.exit(3)")
    assert backend.list_flows(include_archived=True) == []


def test_register_refuses_a_script_with_two_flows_of_one_name(tmp_path, project, backend):
    refused = register(tmp_path, SAME_NAME_TWICE)

    assert_one_line_error(refused, 1, "'report'", "two")
    assert backend.list_flows(include_archived=True) == []


def test_register_refuses_two_files_defining_flows_of_one_name(tmp_path, project, backend):
    first = write_flow_file(tmp_path, MAPPED_FLOW, "first.py")
    second = write_flow_file(tmp_path, MAPPED_FLOW.replace("[1, 2, 3]", "[4]"), "second.py")

    refused = jf("register", "--project", "tests", "-p", first, "-p", second)

    assert_one_line_error(refused, 1, "'mapped-flow'", "share")
    assert backend.list_flows(include_archived=True) == []


# -- notebooks whose kernel is not installed -------------------------------------------------------------


@pytest.fixture
def gpu_kernel_notebook(tmp_path):
    """A notebook saved with a kernel that only the GPU hosts have."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "gpu-env", "display_name": "Python (gpu-env)", "language": "python"}
    parameters = nbformat.v4.new_code_cell("n = 3")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell("print(n)")]
    path = tmp_path / "report.ipynb"
    nbformat.write(nb, str(path))
    return str(path)


def test_register_of_a_notebook_whose_kernel_is_not_installed_is_refused(gpu_kernel_notebook, project, backend):
    refused = jf("register", "--project", "tests", "--notebook", gpu_kernel_notebook)

    assert_one_line_error(refused, 1, "'gpu-env'", "not installed", "--allow-missing-kernel")
    assert backend.list_flows(include_archived=True) == []


def test_allow_missing_kernel_registers_it_with_a_warning_about_the_agents_hosts(gpu_kernel_notebook, project, backend):
    registered = jf("register", "--project", "tests", "--notebook", gpu_kernel_notebook, "--allow-missing-kernel")

    assert registered.returncode == 0, registered.stderr
    assert "'report' version 1" in registered.stdout
    warning = registered.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("Warning: ") and "'gpu-env'" in warning[0]
    assert "agent" in warning[0]
    assert backend.get_flow_by_name("report")["storage"]["type"] == "Notebook"


def test_backend_delete_refuses_a_claimed_run_when_asked_to_keep_live_runs(tmp_path, project, backend):
    assert register(tmp_path, MAPPED_FLOW).returncode == 0
    run = backend.create_flow_run(backend.get_flow_by_name("mapped-flow")["id"])
    assert backend.claim_flow_run("agent-1", backend.get_flow(run["flow_id"])["labels"])["id"] == run["id"]

    with pytest.raises(FlowRunActiveError, match="is Submitted"):
        backend.delete_flow_run(run["id"], refuse_live=True)
    assert backend.get_flow_run(run["id"])["state"] == "Submitted"
