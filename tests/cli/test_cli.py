"""The ``jupyter-flows`` command: projects, registration, runs, listings and its error messages.

Commands run in-process through click's runner against the real (per-test)
SQLite backend; the tests that need an agent process live in tests/agent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_flows.cli import cli

PARAMS_FLOW = '''
import jupyter_flows
from jupyter_flows import Flow, Parameter, task


@task
def show(x, name):
    jupyter_flows.context.get("logger").info(f"{name}: {x!r}")


with Flow("params-flow") as flow:
    x = Parameter("x", default=1)
    name = Parameter("name", default="n")
    show(x, name)
'''

ANY_X_FLOW = PARAMS_FLOW.replace('Parameter("x", default=1)', 'Parameter("x", default=None)')

TWO_FLOWS = '''
from jupyter_flows import Flow, task


@task
def one():
    return 1


with Flow("first-flow") as first:
    one()

with Flow("second-flow") as second:
    one()

same_first = first
'''

SELF_REGISTERING_FLOW = '''
import os

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.run_configs import LocalRun


@task
def say_hello(name):
    greeting = os.environ.get("GREETING")
    jupyter_flows.context.get("logger").info(f"{greeting}, {name}!")


with Flow("hello-flow") as flow:
    people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
    say_hello.map(people)

flow.run_config = LocalRun(env={"GREETING": "Hello"})

flow.register(project_name="tutorial")
'''

FAILING_FLOW = '''
from jupyter_flows import Flow, task


@task
def broken():
    raise RuntimeError("the towel is missing")


with Flow("failing-flow") as flow:
    broken()
'''


@pytest.fixture
def invoke():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def flow_file(tmp_path, code: str, name: str = "flows.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def registered(invoke, tmp_path, code: str, project: str = "tests") -> str:
    assert invoke("create", "project", project).exit_code == 0
    result = invoke("register", "--project", project, "-p", flow_file(tmp_path, code))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def assert_one_line_error(result, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# -- projects and registration ------------------------------------------------------------------


def test_create_project_then_get_projects_lists_it(invoke):
    created = invoke("create", "project", "tutorial", "--description", "the hello-flow tutorial")
    assert created.exit_code == 0
    assert "'tutorial'" in created.stdout

    listed = invoke("get", "projects", "--json")

    projects = json.loads(listed.stdout)
    assert [(p["name"], p["description"]) for p in projects] == [("tutorial", "the hello-flow tutorial")]
    assert "tutorial" in invoke("get", "projects").stdout


def test_register_file_registers_every_module_level_flow_once_and_prints_id_and_version(invoke, tmp_path, backend):
    output = registered(invoke, tmp_path, TWO_FLOWS)

    lines = output.strip().splitlines()
    assert len(lines) == 2
    assert "'first-flow' version 1" in lines[0] and "'second-flow' version 1" in lines[1]
    flows = {f["name"]: f for f in backend.list_flows(project_name="tests")}
    assert set(flows) == {"first-flow", "second-flow"}
    assert flows["first-flow"]["id"] in lines[0]


def test_registering_an_unchanged_file_keeps_its_version_and_a_change_makes_a_new_one(invoke, tmp_path):
    registered(invoke, tmp_path, PARAMS_FLOW)
    again = invoke("register", "--project", "tests", "-p", flow_file(tmp_path, PARAMS_FLOW))
    assert "'params-flow' version 1" in again.stdout

    changed = invoke("register", "--project", "tests", "-p",
                     flow_file(tmp_path, PARAMS_FLOW.replace('default=1', 'default=2')))

    assert "'params-flow' version 2" in changed.stdout


def test_register_ignores_the_files_own_register_call_and_uses_the_project_option(invoke, tmp_path, backend):
    output = registered(invoke, tmp_path, SELF_REGISTERING_FLOW, project="mine")

    assert "'hello-flow' version 1 in project 'mine'" in output
    assert [p["name"] for p in backend.list_projects()] == ["mine"]


def test_register_module_imports_it_from_the_current_directory(invoke, tmp_path, monkeypatch, backend):
    (tmp_path / "my_params_flows.py").write_text(textwrap.dedent(PARAMS_FLOW))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    invoke("create", "project", "tests")

    result = invoke("register", "--project", "tests", "-m", "my_params_flows")

    assert result.exit_code == 0, result.stderr
    assert backend.get_flow_by_name("params-flow")["version"] == 1


def test_register_into_an_unknown_project_is_a_one_line_error_naming_it(invoke, tmp_path):
    result = invoke("register", "--project", "nowhere", "-p", flow_file(tmp_path, PARAMS_FLOW))

    assert_one_line_error(result, 1, "'nowhere'", "create project")


def test_register_a_file_without_flows_says_so(invoke, tmp_path):
    invoke("create", "project", "tests")
    result = invoke("register", "--project", "tests", "-p", flow_file(tmp_path, "x = 1\n"))

    assert_one_line_error(result, 1, "defines no Flow")


def test_register_a_missing_file_names_it(invoke, tmp_path):
    invoke("create", "project", "tests")
    result = invoke("register", "--project", "tests", "-p", str(tmp_path / "missing.py"))

    assert_one_line_error(result, 1, "missing.py", "does not exist")


# -- run -----------------------------------------------------------------------------------------


def test_run_of_an_unknown_flow_name_lists_the_registered_ones(invoke, tmp_path):
    registered(invoke, tmp_path, PARAMS_FLOW)

    result = invoke("run", "--name", "no-such-flow")

    assert_one_line_error(result, 1, "'no-such-flow'", "'params-flow'")


def test_run_in_an_unknown_project_fails_naming_the_project(invoke, tmp_path):
    registered(invoke, tmp_path, PARAMS_FLOW)

    result = invoke("run", "--name", "params-flow", "--project", "nowhere")

    assert_one_line_error(result, 1, "'nowhere'", "tests")


def test_run_with_an_undeclared_parameter_lists_the_declared_ones(invoke, tmp_path, backend):
    registered(invoke, tmp_path, PARAMS_FLOW)

    result = invoke("run", "--name", "params-flow", "--param", "people=[1]")

    assert_one_line_error(result, 2, "'people'", "name, x")
    assert backend.list_flow_runs() == []


def test_param_that_is_not_key_value_is_a_usage_error(invoke, tmp_path, backend):
    registered(invoke, tmp_path, PARAMS_FLOW)

    result = invoke("run", "--name", "params-flow", "--param", "x")

    assert_one_line_error(result, 2, "'x'", "NAME=VALUE")
    assert backend.list_flow_runs() == []


def test_param_values_are_json_when_valid_json_and_strings_otherwise(invoke, tmp_path, backend):
    registered(invoke, tmp_path, ANY_X_FLOW)  # x takes any JSON value: its default is None

    invoke("run", "--name", "params-flow", "--param", 'x={"a": [1, 2]}', "--param", "name=Ford Prefect")
    invoke("run", "--name", "params-flow", "--param", "x=42", "--param", "name=[not json")

    newest, oldest = backend.list_flow_runs()
    assert oldest["parameters"] == {"x": {"a": [1, 2]}, "name": "Ford Prefect"}
    assert newest["parameters"] == {"x": 42, "name": "[not json"}


def test_param_file_values_are_overridden_by_param_options(invoke, tmp_path, backend):
    registered(invoke, tmp_path, ANY_X_FLOW)
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"x": [1, 2, 3], "name": "from file"}))

    result = invoke("run", "--name", "params-flow", "--param-file", str(values), "--param", "name=option")

    assert result.exit_code == 0, result.stderr
    assert backend.list_flow_runs()[0]["parameters"] == {"x": [1, 2, 3], "name": "option"}


def test_param_file_that_is_not_a_json_object_is_a_usage_error(invoke, tmp_path):
    registered(invoke, tmp_path, PARAMS_FLOW)
    values = tmp_path / "values.json"
    values.write_text("[1, 2]")

    assert_one_line_error(invoke("run", "--name", "params-flow", "--param-file", str(values)), 2, "JSON object")


def test_run_with_labels_and_a_name_records_them(invoke, tmp_path, backend):
    registered(invoke, tmp_path, PARAMS_FLOW)

    result = invoke("run", "--name", "params-flow", "--label", "gpu", "--run-name", "nightly")

    assert result.exit_code == 0
    run = backend.list_flow_runs()[0]
    assert (run["name"], run["labels"], run["state"]) == ("nightly", ["gpu"], "Scheduled")


def test_run_execute_runs_the_flow_here_with_its_run_config_env_and_no_agent(invoke, tmp_path, backend):
    registered(invoke, tmp_path, SELF_REGISTERING_FLOW, project="tutorial")

    result = invoke("run", "--name", "hello-flow", "--execute", "--param", 'people=["Zaphod"]')

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "ended Success" in result.stdout
    run = backend.list_flow_runs()[0]
    assert run["state"] == "Success"
    assert "Hello, Zaphod!" in [e["message"] for e in backend.get_logs(run["id"])]


def test_run_execute_of_a_failing_flow_exits_1_and_says_why(invoke, tmp_path, backend):
    registered(invoke, tmp_path, FAILING_FLOW)

    result = invoke("run", "--name", "failing-flow", "--execute")

    assert result.exit_code == 1
    assert "ended Failed" in result.stdout
    assert backend.list_flow_runs()[0]["state"] == "Failed"
    task_runs = backend.get_task_runs(backend.list_flow_runs()[0]["id"])
    assert any("the towel is missing" in (t["message"] or "") for t in task_runs)


# -- agent options -------------------------------------------------------------------------------


def test_agent_start_rejects_an_invalid_env_name_naming_it(invoke):
    result = invoke("agent", "local", "start", "--env", "GOOD=1", "--env", "1BAD=x")

    assert_one_line_error(result, 2, "'1BAD'")


def test_agent_start_rejects_env_that_is_not_key_value(invoke):
    result = invoke("agent", "local", "start", "--env", "GREETING")

    assert_one_line_error(result, 2, "'GREETING'", "NAME=VALUE")


def test_agent_start_rejects_a_concurrency_below_one(invoke):
    result = invoke("agent", "local", "start", "--concurrency", "0")

    assert result.exit_code == 2
    assert "concurrency" in result.stderr


# -- get and cancel ------------------------------------------------------------------------------


def test_get_flows_lists_latest_versions_and_all_versions_on_request(invoke, tmp_path):
    registered(invoke, tmp_path, PARAMS_FLOW)
    invoke("register", "--project", "tests", "-p", flow_file(tmp_path, PARAMS_FLOW.replace("default=1", "default=5")))

    latest = json.loads(invoke("get", "flows", "--json").stdout)
    every = json.loads(invoke("get", "flows", "--all-versions", "--json").stdout)

    assert [(f["name"], f["version"]) for f in latest] == [("params-flow", 2)]
    assert sorted(f["version"] for f in every) == [1, 2]
    assert "params-flow" in invoke("get", "flows").stdout


def test_get_flow_runs_shows_state_times_and_output_path(invoke, tmp_path, backend):
    registered(invoke, tmp_path, PARAMS_FLOW)
    invoke("run", "--name", "params-flow", "--execute", "--run-name", "executed-run")
    run = backend.list_flow_runs()[0]
    backend.set_flow_run_output_path(run["id"], "/tmp/outputs/executed-run.ipynb")

    table = invoke("get", "flow-runs").stdout
    rows = json.loads(invoke("get", "flow-runs", "--json").stdout)

    assert "executed-run" in table and "Success" in table and "/tmp/outputs/executed-run.ipynb" in table
    assert rows[0]["start_time"] <= rows[0]["end_time"]
    assert rows[0]["output_path"] == "/tmp/outputs/executed-run.ipynb"
    assert json.loads(invoke("get", "flow-runs", "--state", "Failed", "--json").stdout) == []


def test_get_logs_shows_the_runs_log_lines(invoke, tmp_path, backend):
    registered(invoke, tmp_path, PARAMS_FLOW)
    invoke("run", "--name", "params-flow", "--execute", "--param", "name=Trillian")
    run_id = backend.list_flow_runs()[0]["id"]

    table = invoke("get", "logs", run_id).stdout
    entries = json.loads(invoke("get", "logs", run_id, "--json").stdout)

    assert "Trillian: 1" in table
    assert "Trillian: 1" in [e["message"] for e in entries]


def test_get_logs_of_an_unknown_run_is_a_one_line_error(invoke):
    assert_one_line_error(invoke("get", "logs", "no-such-run"), 1, "'no-such-run'")


def test_cancel_of_a_scheduled_run_marks_it_cancelled(invoke, tmp_path, backend):
    registered(invoke, tmp_path, PARAMS_FLOW)
    invoke("run", "--name", "params-flow")
    run_id = backend.list_flow_runs()[0]["id"]

    result = invoke("cancel", run_id)

    assert result.exit_code == 0
    assert backend.get_flow_run(run_id)["state"] == "Cancelled"


def test_jupyter_flows_script_and_the_jupyter_flows_subcommand_are_installed():
    script = Path(sys.executable).parent / "jupyter-flows"
    direct = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert direct.returncode == 0
    for command in ("register", "run", "agent", "get", "cancel", "demo"):
        assert command in direct.stdout
    if shutil.which("jupyter") is None:
        pytest.skip("the jupyter launcher is not installed")
    launched = subprocess.run(["jupyter", "flows", "get", "projects", "--json"], capture_output=True, text=True,
                              timeout=60)
    assert launched.returncode == 0, launched.stderr
    assert json.loads(launched.stdout) == []


def test_an_empty_project_name_is_a_one_line_usage_error(invoke):
    assert_one_line_error(invoke("create", "project", " "), 2, "non-empty name")


def test_get_flow_runs_accepts_only_known_states(invoke):
    result = invoke("get", "flow-runs", "--state", "Finished")

    assert result.exit_code == 2
    assert "'Finished' is not one of" in result.stderr
