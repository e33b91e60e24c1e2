"""A local agent process picks up registered flow runs and runs them as the user configured."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from agent_helpers import (
    TUTORIAL_FLOW, jupyter_flows_command, log_messages, register_file, run_cli, wait_for, wait_for_state,
    write_flow_file,
)

pytestmark = pytest.mark.slow

GREETING_FLOW = '''
import os

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.run_configs import {run_config_class}


@task
def greet():
    jupyter_flows.context.get("logger").info(f"{{os.environ.get('GREETING')}}, Arthur!")


with Flow("{name}") as flow:
    greet()

flow.run_config = {run_config}
'''


def test_tutorial_flow_runs_on_an_agent_and_logs_greetings_from_the_run_config_env(tmp_path, start_agent, backend):
    assert run_cli("create", "project", "tutorial").returncode == 0
    path = write_flow_file(tmp_path, TUTORIAL_FLOW, "hello_flow.py")
    registered = run_cli("register", "--project", "tutorial", "-p", str(path))
    assert registered.returncode == 0, registered.stderr
    assert "Registered flow 'hello-flow' version 1" in registered.stdout
    start_agent()

    watched = run_cli("run", "--name", "hello-flow", "--project", "tutorial", "--watch")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    for name in ("Arthur", "Ford", "Marvin"):
        assert f"Hello, {name}!" in watched.stdout
    assert "ended Success" in watched.stdout
    run_id = backend.list_flow_runs(project_name="tutorial")[0]["id"]
    logs = run_cli("get", "logs", run_id)
    assert logs.returncode == 0, logs.stderr
    for name in ("Arthur", "Ford", "Marvin"):
        assert f"Hello, {name}!" in logs.stdout


def test_agent_env_is_used_when_the_run_config_has_none(tmp_path, start_agent, backend):
    flow = register_file(backend, write_flow_file(tmp_path, GREETING_FLOW.format(
        name="universal-greeting", run_config_class="UniversalRun", run_config="UniversalRun()")))
    start_agent("--env", "GREETING=Howdy")

    run = backend.create_flow_run(flow_id=flow["id"])

    assert wait_for_state(backend, run["id"])["state"] == "Success"
    assert "Howdy, Arthur!" in log_messages(backend, run["id"])


def test_agent_env_is_overridden_by_the_run_config_env(tmp_path, start_agent, backend):
    flow = register_file(backend, write_flow_file(tmp_path, GREETING_FLOW.format(
        name="local-greeting", run_config_class="LocalRun", run_config='LocalRun(env={"GREETING": "Hello"})')))
    start_agent("--env", "GREETING=Howdy")

    run = backend.create_flow_run(flow_id=flow["id"])

    assert wait_for_state(backend, run["id"])["state"] == "Success"
    messages = log_messages(backend, run["id"])
    assert "Hello, Arthur!" in messages
    assert "Howdy, Arthur!" not in messages


def test_parallel_tutorial_flow_runs_its_greetings_at_the_same_time(start_agent, backend):
    from jupyter_flows.examples import hello_flow

    backend.create_project("tutorial")
    flow = backend.get_flow(hello_flow.flow.register(project_name="tutorial"))
    start_agent()

    run = backend.create_flow_run(flow_id=flow["id"])

    assert wait_for_state(backend, run["id"])["state"] == "Success"
    greetings = sorted((t for t in backend.get_task_runs(run["id"]) if t["map_index"] >= 0),
                       key=lambda t: t["start_time"])
    assert len(greetings) == 3
    assert all(t["end_time"] - t["start_time"] >= hello_flow.SLEEP_SECONDS for t in greetings)
    # The second greeting starts before the first ends: the executor ran them side by side.
    assert greetings[1]["start_time"] < greetings[0]["end_time"]
    assert {f"Hello, {name}!" for name in hello_flow.PEOPLE} <= set(log_messages(backend, run["id"]))


WORKING_DIR_FLOW = '''
import os

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.run_configs import LocalRun


@task
def where():
    jupyter_flows.context.get("logger").info(f"cwd={{os.getcwd()}}")


with Flow("where-flow") as flow:
    where()

flow.run_config = LocalRun(working_dir={working_dir!r})
'''


def test_run_config_working_dir_is_the_runs_current_directory(tmp_path, start_agent, backend):
    working_dir = tmp_path / "work here"
    working_dir.mkdir()
    flow = register_file(backend, write_flow_file(tmp_path, WORKING_DIR_FLOW.format(working_dir=str(working_dir))))
    start_agent()

    run = backend.create_flow_run(flow_id=flow["id"])

    assert wait_for_state(backend, run["id"])["state"] == "Success"
    assert f"cwd={working_dir}" in log_messages(backend, run["id"])


def test_missing_working_dir_fails_the_run_naming_it(tmp_path, start_agent, backend):
    missing = tmp_path / "not there"
    flow = register_file(backend, write_flow_file(tmp_path, WORKING_DIR_FLOW.format(working_dir=str(missing))))
    start_agent()

    run = backend.create_flow_run(flow_id=flow["id"])

    final = wait_for_state(backend, run["id"])
    assert final["state"] == "Failed"
    assert str(missing) in final["state_message"]
    assert "does not exist" in final["state_message"]


def test_agent_without_the_runs_label_leaves_it_and_an_agent_with_it_runs_it(tmp_path, start_agent, backend):
    flow = register_file(backend, write_flow_file(tmp_path, GREETING_FLOW.format(
        name="gpu-greeting", run_config_class="UniversalRun", run_config='UniversalRun(labels=["gpu"])')))
    plain = start_agent()
    run = backend.create_flow_run(flow_id=flow["id"])
    assert "gpu" in run["labels"]
    wait_for(lambda: "started with labels" in plain.output(), what="the label-less agent to poll")
    time.sleep(1.0)  # 20 polls of the label-less agent
    assert backend.get_flow_run(run["id"])["state"] == "Scheduled"

    gpu = start_agent("--label", "gpu")

    final = wait_for_state(backend, run["id"])
    assert final["state"] == "Success"
    assert final["agent_id"] and str(gpu.pid) in final["agent_id"]


def test_import_path_lets_runs_import_the_users_modules(tmp_path, start_agent, backend):
    package_dir = tmp_path / "lib"
    package_dir.mkdir()
    (package_dir / "greetings_lib.py").write_text("def greeting():\n    return 'Salut'\n")
    code = '''
import jupyter_flows
from jupyter_flows import Flow, task


@task
def greet():
    import greetings_lib

    jupyter_flows.context.get("logger").info(greetings_lib.greeting() + ", Arthur!")


with Flow("import-flow") as flow:
    greet()
'''
    flow = register_file(backend, write_flow_file(tmp_path, code))
    start_agent("--import-path", str(package_dir))

    run = backend.create_flow_run(flow_id=flow["id"])

    assert wait_for_state(backend, run["id"])["state"] == "Success"
    assert "Salut, Arthur!" in log_messages(backend, run["id"])


def test_deleted_storage_file_fails_the_run_naming_the_file(tmp_path, start_agent, backend):
    flow = register_file(backend, write_flow_file(tmp_path, TUTORIAL_FLOW), project="tutorial")
    stored = flow["location"]
    assert os.path.exists(stored)
    os.remove(stored)
    start_agent()

    run = backend.create_flow_run(flow_id=flow["id"])

    final = wait_for_state(backend, run["id"])
    assert final["state"] == "Failed"
    assert stored in final["state_message"]


def test_concurrency_caps_the_runs_an_agent_runs_at_once(tmp_path, start_agent, backend, slow_flow):
    runs = [backend.create_flow_run(flow_id=slow_flow["id"], parameters={
        "pid_file": str(tmp_path / f"pid{i}"), "seconds": 6}) for i in range(3)]
    # long enough that a run started warm cannot end before a run started cold is Running
    start_agent("--concurrency", "2")

    wait_for(lambda: sum(backend.get_flow_run(r["id"])["state"] == "Running" for r in runs) == 2,
             what="two runs running")
    assert sum(backend.get_flow_run(r["id"])["state"] == "Scheduled" for r in runs) == 1

    finals = [wait_for_state(backend, r["id"]) for r in runs]
    assert [f["state"] for f in finals] == ["Success"] * 3
    third_start = max(f["start_time"] for f in finals)
    assert third_start >= min(f["end_time"] for f in finals)


STEPS_FLOW = '''
import time

import jupyter_flows
from jupyter_flows import Flow, task


@task
def first():
    jupyter_flows.context.get("logger").info("first step done")


@task
def second(_):
    time.sleep(3)
    jupyter_flows.context.get("logger").info("second step done")


with Flow("steps-flow") as flow:
    second(first())
'''


def test_run_watch_prints_log_lines_as_they_arrive(tmp_path, start_agent, backend):
    register_file(backend, write_flow_file(tmp_path, STEPS_FLOW))
    start_agent()

    watch = subprocess.Popen([*jupyter_flows_command(), "run", "--name", "steps-flow", "--watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in watch.stdout:
            if "first step done" in line:
                break
        run = backend.list_flow_runs()[0]
        assert run["state"] == "Running", "the first line is shown while the run still runs"
        rest = watch.stdout.read()
        assert watch.wait(timeout=60) == 0
    finally:
        watch.kill()
    assert "second step done" in rest
    assert "ended Success" in rest


def test_run_watch_exits_1_when_the_run_fails(tmp_path, start_agent, backend):
    code = '''
from jupyter_flows import Flow, task


@task
def broken():
    raise ValueError("no tea")


with Flow("broken-flow") as flow:
    broken()
'''
    register_file(backend, write_flow_file(tmp_path, code))
    start_agent()

    watched = run_cli("run", "--name", "broken-flow", "--watch")

    assert watched.returncode == 1
    assert "ended Failed" in watched.stdout
    assert "no tea" in watched.stdout
