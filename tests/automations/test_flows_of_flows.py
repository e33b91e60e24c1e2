"""Flows of flows: a parent flow run starts child runs through the backend, waits for them, reads results."""

from __future__ import annotations

import pytest
from automation_helpers import jf, register_file, wait_for_state

from jupyter_flows import Flow, context, task
from jupyter_flows.exceptions import FlowRunDepthError, NotFoundError
from jupyter_flows.tasks.flows import MAX_DEPTH, create_flow_run, get_task_run_result

FLOWS = '''
from jupyter_flows import Flow, Parameter, context, task
from jupyter_flows.tasks.flows import create_flow_run, get_task_run_result, wait_for_flow_run


@task
def total(x):
    context.get("logger").info("child adds up %s", x)
    return {"x": x, "double": 2 * x}


with Flow("child") as child:
    total(Parameter("x", default=1))


@task
def report(result):
    context.get("logger").info("child said %s", result)
    return result


with Flow("parent") as parent:
    run_id = create_flow_run(flow_name="child", project_name="automations", parameters={"x": 21})
    done = wait_for_flow_run(run_id, stream_logs=True, raise_final_state=True)
    report(get_task_run_result(run_id, "total-1", upstream_tasks=[done]))


with Flow("fan-out") as fan_out:
    runs = create_flow_run.map(flow_name=["child"] * 3, parameters=[{"x": 1}, {"x": 2}, {"x": 3}])
    ended = wait_for_flow_run.map(runs)
    report(get_task_run_result.map(runs, ["total-1"] * 3, upstream_tasks=[ended]))


with Flow("orphan") as orphan:
    create_flow_run(flow_name="no-such-child")
'''

pytestmark = pytest.mark.slow


@pytest.fixture
def registered(tmp_path, backend):
    register_file(tmp_path, FLOWS)


def _start(backend, name: str) -> dict:
    started = jf("run", "--name", name, "--project", "automations")
    assert started.returncode == 0, started.stderr
    run = next(r for r in backend.list_flow_runs() if r["flow_name"] == name)
    return wait_for_state(backend, run["id"], timeout=120)


def test_a_parent_flow_runs_a_child_with_parameters_and_gets_its_task_result(registered, backend, agent):
    parent = _start(backend, "parent")

    assert parent["state"] == "Success", parent["state_message"]
    [child] = backend.child_flow_runs(parent["id"])
    child_run = backend.get_flow_run(child["id"])
    assert child_run["parent_flow_run_id"] == parent["id"] and child_run["parameters"] == {"x": 21}
    messages = [line["message"] for line in backend.get_logs(parent["id"])]
    assert "child said {'x': 21, 'double': 42}" in messages
    assert any(m.endswith("child adds up 21") for m in messages)  # the child's lines, streamed


def test_mapping_create_flow_run_fans_out_to_one_child_run_per_parameter_set(registered, backend, agent):
    parent = _start(backend, "fan-out")

    assert parent["state"] == "Success", parent["state_message"]
    children = [backend.get_flow_run(c["id"]) for c in backend.child_flow_runs(parent["id"])]
    assert sorted(c["parameters"]["x"] for c in children) == [1, 2, 3]
    assert {c["state"] for c in children} == {"Success"}
    messages = [line["message"] for line in backend.get_logs(parent["id"])]
    assert "child said [{'x': 1, 'double': 2}, {'x': 2, 'double': 4}, {'x': 3, 'double': 6}]" in messages


def test_a_child_flow_that_does_not_exist_fails_the_task_naming_it(registered, backend, agent):
    parent = _start(backend, "orphan")

    assert parent["state"] == "Failed"
    [task_run] = backend.get_task_runs(parent["id"])
    assert "no-such-child" in task_run["message"]


def test_a_result_the_child_did_not_keep_is_named_with_those_it_kept(backend):
    @task
    def kept():
        return 1

    backend.create_project("p")
    flow = Flow("in-process-child", tasks=[kept])
    flow_id = flow.register(project_name="p")
    parent = backend.create_flow_run(flow_id=flow_id, state="Running", flow_run_id="parent-run")
    child = backend.create_flow_run(flow_id=flow_id, parent_flow_run_id=parent["id"])
    from jupyter_flows.backend import BackendRecorder

    flow.run(flow_run_id=child["id"], listeners=[BackendRecorder()])

    assert get_task_run_result.run(child["id"], "kept-1") == 1
    with pytest.raises(NotFoundError, match=r"no result of task 'other' \(map index -1\); results it kept: kept-1"):
        get_task_run_result.run(child["id"], "other")


def test_an_ordinary_run_keeps_no_results(backend):
    @task
    def kept():
        return 1

    backend.create_project("p")
    flow = Flow("ordinary", tasks=[kept])
    flow.register(project_name="p")
    from jupyter_flows.backend import BackendRecorder

    recorder = BackendRecorder()
    flow.run(listeners=[recorder])
    with pytest.raises(NotFoundError, match="results it kept: none"):
        get_task_run_result.run(recorder.flow_run_id, "kept-1")


def test_flows_that_start_each_other_stop_at_the_depth_limit(backend):
    @task
    def noop():
        pass

    backend.create_project("p")
    flow_id = Flow("loop", tasks=[noop]).register(project_name="p")
    run = backend.create_flow_run(flow_id=flow_id)
    for _ in range(MAX_DEPTH - 2):
        run = backend.create_flow_run(flow_id=flow_id, parent_flow_run_id=run["id"])
    assert backend.flow_run_depth(run["id"], MAX_DEPTH) == MAX_DEPTH - 2

    with context(flow_run_id=run["id"], logger=_Quiet()):
        deepest = create_flow_run.run(flow_name="loop")
    with context(flow_run_id=deepest, logger=_Quiet()):
        with pytest.raises(FlowRunDepthError, match=f"pass the limit of {MAX_DEPTH}: do flows start each other"):
            create_flow_run.run(flow_name="loop")


class _Quiet:
    """The logger create_flow_run reports to, when it is called outside a flow run."""

    def info(self, *args):
        pass


def test_create_flow_run_needs_one_of_flow_id_or_flow_name():
    with pytest.raises(ValueError, match="needs one of flow_id or flow_name; got flow_id=None, flow_name=None"):
        create_flow_run.run()
