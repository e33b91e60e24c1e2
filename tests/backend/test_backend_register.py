"""``flow.register()``: defaults, labels, versions, and the tutorial's hello-flow."""

from __future__ import annotations

import socket

import pytest

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.backend import Backend, BackendRecorder, Client, FlowRunView, FlowView
from jupyter_flows.executors import LocalDaskExecutor, LocalExecutor
from jupyter_flows.exceptions import NotFoundError, StorageError
from jupyter_flows.run_configs import LocalRun, UniversalRun
from jupyter_flows.storage import Local, Script

from backend_helpers import build_hello_flow

HOST = socket.gethostname()


def test_the_tutorial_hello_flow_registers_under_project_tutorial(tutorial):
    flow = build_hello_flow()
    flow_id = flow.register(project_name="tutorial")
    view = FlowView.from_flow_name("hello-flow")
    assert view.flow_id == flow_id and view.project_name == "tutorial" and view.version == 1
    assert view.run_config == LocalRun(env={"GREETING": "Hello"})
    assert view.executor == LocalExecutor()
    assert isinstance(view.storage, Local) and view.labels == [HOST]
    assert view.parameters == [{"name": "people", "default": ["Arthur", "Ford", "Marvin"], "required": False}]
    loaded = view.load_flow()
    assert loaded.name == "hello-flow" and {t.name for t in loaded.tasks} == {"people", "say_hello"}


def test_the_tutorial_flow_run_in_process_is_recorded_with_its_greetings(tutorial, monkeypatch):
    monkeypatch.setenv("GREETING", "Hello")
    flow = build_hello_flow()
    flow_id = flow.register(project_name="tutorial")
    recorder = BackendRecorder()
    state = flow.run(listeners=[recorder])
    assert state.is_successful()
    run = FlowRunView.from_flow_run_id(recorder.flow_run_id)
    assert run.flow_id == flow_id and run.state.is_successful()
    assert run.parameters == {"people": ["Arthur", "Ford", "Marvin"]}
    children = [t for t in run.get_all_task_runs() if t.task_name == "say_hello" and t.map_index >= 0]
    assert [(t.map_index, t.state.name) for t in children] == [(0, "Success"), (1, "Success"), (2, "Success")]
    messages = [line["message"] for line in run.get_logs()]
    for greeting in ("Hello, Arthur!", "Hello, Ford!", "Hello, Marvin!"):
        assert greeting in messages


def test_register_fills_in_local_storage_universal_run_and_local_executor(tutorial):
    @task
    def one():
        return 1

    with Flow("defaults") as flow:
        one()
    flow.register(project_name="tutorial")
    assert isinstance(flow.storage, Local)
    assert flow.run_config == UniversalRun() and flow.executor == LocalExecutor()
    stored = Backend().get_flow_by_name("defaults")
    assert stored["run_config"] == {"type": "UniversalRun", "env": {}, "labels": []}
    assert stored["executor"] == {"type": "LocalExecutor"}
    assert stored["storage"]["type"] == "Local" and stored["location"].endswith(".flow")


def test_labels_merge_run_config_storage_and_given_labels(tutorial):
    flow = build_hello_flow()
    flow.run_config = LocalRun(env={"GREETING": "Hello"}, labels=["gpu"])
    flow.storage = Local(labels=["shared-disk"])
    flow.register(project_name="tutorial", labels=["team-a", "gpu"])
    assert FlowView.from_flow_name("hello-flow").labels == sorted(["gpu", "shared-disk", HOST, "team-a"])


def test_reregistering_an_unchanged_flow_keeps_its_version(tutorial):
    first = build_hello_flow().register(project_name="tutorial")
    again = build_hello_flow().register(project_name="tutorial")
    assert again == first
    assert FlowView.from_flow_id(first).version == 1


def test_a_changed_task_body_registers_a_new_version_and_archives_the_old(tutorial):
    first = build_hello_flow().register(project_name="tutorial")

    @task
    def say_goodbye(name):
        return f"Goodbye, {name}"

    with Flow("hello-flow") as changed:
        say_goodbye.map(Parameter("people", default=["Arthur", "Ford", "Marvin"]))
    second = changed.register(project_name="tutorial")
    assert second != first
    assert FlowView.from_flow_id(second).version == 2
    assert FlowView.from_flow_id(first).archived
    assert FlowView.from_flow_name("hello-flow").flow_id == second


def test_a_changed_run_config_or_executor_is_a_new_version(tutorial):
    flow = build_hello_flow()
    first = flow.register(project_name="tutorial")
    flow.executor = LocalDaskExecutor()
    second = flow.register(project_name="tutorial")
    flow.run_config = LocalRun(env={"GREETING": "Howdy"})
    third = flow.register(project_name="tutorial")
    assert len({first, second, third}) == 3
    assert FlowView.from_flow_id(third).run_config.env == {"GREETING": "Howdy"}


def test_a_matching_idempotency_key_keeps_the_version(tutorial):
    flow = build_hello_flow()
    first = flow.register(project_name="tutorial", idempotency_key="v1")
    flow.run_config = LocalRun(env={"GREETING": "Howdy"})
    assert flow.register(project_name="tutorial", idempotency_key="v1") == first
    assert flow.register(project_name="tutorial", idempotency_key="v2") != first


def test_registering_under_a_missing_project_says_how_to_create_it_and_stores_nothing(backend, jupyter_flows_home):
    backend.create_project("etl")
    with pytest.raises(NotFoundError) as error:
        build_hello_flow().register(project_name="tutorial")
    message = str(error.value)
    assert "project 'tutorial' does not exist; existing projects: etl" in message
    assert "Client().create_project('tutorial')" in message and "jupyter-flows create project tutorial" in message
    assert not (jupyter_flows_home / "flows").exists()


def test_registering_without_a_project_name_lists_the_projects(tutorial):
    with pytest.raises(NotFoundError, match="no project given; existing projects: tutorial; give project_name"):
        build_hello_flow().register()


def test_client_register_and_create_flow_run(tutorial):
    client = Client()
    flow_id = client.register(build_hello_flow(), project_name="tutorial")
    run_id = client.create_flow_run(flow_id, parameters={"people": ["Zaphod"]}, run_name="zaphod")
    run = FlowRunView.from_flow_run_id(run_id)
    assert run.name == "zaphod" and run.parameters == {"people": ["Zaphod"]}
    assert run.state.is_pending() and run.state.name == "Scheduled"
    assert run.labels == [HOST]


def test_register_without_build_uses_the_storage_as_it_is(tutorial, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("from jupyter_flows import Flow, Parameter\n"
                      "flow = Flow('from-script', tasks=[Parameter('x', default=1)])\n")
    flow = Flow("from-script", tasks=[Parameter("x", default=1)], storage=Script(script))
    with pytest.raises(StorageError, match="register\\(build=False\\) needs a storage that already holds flow"):
        flow.register(project_name="tutorial", build=False)
    flow.storage.add_flow(flow)
    flow_id = flow.register(project_name="tutorial", build=False)
    assert FlowView.from_flow_id(flow_id).location == str(script)
