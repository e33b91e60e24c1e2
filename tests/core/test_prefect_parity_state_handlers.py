"""State handlers on tasks and flows, called on every transition as in Prefect 1."""

import os
import sys

import cloudpickle
import pytest

from jupyter_flows import Flow, context, task
from jupyter_flows.engine import signals
from jupyter_flows.engine.state import Failed, Success

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def recorder(calls):
    def handler(obj, old, new):
        calls.append((obj.name, context.get("map_index"), type(old).__name__, type(new).__name__))
    return handler


def test_a_task_handler_sees_every_transition_including_retries_and_trigger_failures():
    calls = []
    handler = recorder(calls)

    @task(state_handlers=[handler], max_retries=1, retry_delay=0)
    def flaky():
        if context.task_run_count < 2:
            raise ValueError("first time")
        return 1

    @task(state_handlers=[handler])
    def broken():
        raise ValueError("no")

    @task(state_handlers=[handler])
    def downstream(x):
        return x

    with Flow("transitions") as flow:
        flaky()
        downstream(broken())
    flow.run()
    assert [c for c in calls if c[0] == "flaky"] == [
        ("flaky", None, "Pending", "Running"), ("flaky", None, "Running", "Failed"),
        ("flaky", None, "Failed", "Retrying"), ("flaky", None, "Retrying", "Running"),
        ("flaky", None, "Running", "Success"),
    ]
    assert [c for c in calls if c[0] == "downstream"] == [("downstream", None, "Pending", "TriggerFailed")]


def test_a_mapped_task_hears_pending_to_mapped_and_its_children_their_own_transitions():
    calls = []

    @task(state_handlers=[recorder(calls)])
    def child(x):
        return x

    with Flow("mapped handlers") as flow:
        child.map([10, 20])
    flow.run()
    assert sorted(calls, key=str) == sorted([
        ("child", None, "Pending", "Mapped"),
        ("child", 0, "Pending", "Running"), ("child", 0, "Running", "Success"),
        ("child", 1, "Pending", "Running"), ("child", 1, "Running", "Success"),
    ], key=str)


def test_a_handler_returns_the_state_to_use_and_none_keeps_the_new_state():
    def rewrite(task, old, new):
        if new.is_successful():
            return Success("rewritten", result=99)
        return None

    @task(state_handlers=[rewrite])
    def answer():
        return 42

    with Flow("rewrite") as flow:
        result = answer()
    state = flow.run().result[result]
    assert (state.message, state.result) == ("rewritten", 99)


def test_a_handler_that_raises_fails_the_task_run_with_its_error_and_it_does_not_run():
    ran = []

    def broken_handler(task, old, new):
        if new.is_running():
            raise ValueError("handler broke")

    @task(state_handlers=[broken_handler], max_retries=2, retry_delay=0)
    def guarded():
        ran.append(1)

    with Flow("broken handler") as flow:
        result = guarded()
    state = flow.run().result[result]
    assert isinstance(state, Failed)
    assert state.message == "Unexpected error while calling state handlers: ValueError('handler broke')"
    assert isinstance(state.result, ValueError)
    assert ran == []


def test_on_failure_is_called_with_each_failed_state():
    failures = []

    @task(on_failure=lambda task, state: failures.append((task.name, state.message)), max_retries=1,
          retry_delay=0)
    def always_fails():
        raise signals.FAIL(f"attempt {context.task_run_count}")

    with Flow("on failure") as flow:
        always_fails()
    flow.run()
    assert failures == [("always_fails", "attempt 1"), ("always_fails", "attempt 2")]


def test_flow_handlers_see_the_run_start_and_end_and_on_failure_the_failed_run():
    calls = []
    failures = []

    with Flow("flow handlers", state_handlers=[recorder(calls)],
              on_failure=lambda flow, state: failures.append(state.message)) as flow:
        ok = task(lambda: 1, name="ok")()
        task(lambda: 1 / 0, name="divide")(upstream_tasks=[ok])
    state = flow.run()
    assert state.is_failed()
    assert calls == [("flow handlers", None, "Scheduled", "Running"), ("flow handlers", None, "Running", "Failed")]
    assert failures == ["Some reference tasks failed."]


def test_a_flow_handler_that_raises_fails_the_flow_run_instead_of_raising():
    def broken_handler(flow, old, new):
        if new.is_running():
            raise RuntimeError("flow handler broke")

    ran = []
    with Flow("broken flow handler", state_handlers=[broken_handler]) as flow:
        task(lambda: ran.append(1), name="work")()
    state = flow.run()
    assert state.is_failed()
    assert state.message == "Unexpected error while calling state handlers: RuntimeError('flow handler broke')"
    assert ran == []


def test_a_flow_handler_can_replace_the_final_state():
    def forgive(flow, old, new):
        if new.is_failed():
            return Success("failures were expected")

    with Flow("forgiving", state_handlers=[forgive]) as flow:
        task(lambda: 1 / 0, name="divide")()
    state = flow.run()
    assert state.is_successful() and state.message == "failures were expected"


def test_handlers_that_are_not_functions_are_refused_naming_them():
    with pytest.raises(TypeError, match="task 'f': state_handlers must be functions"):
        task(lambda: 1, name="f", state_handlers=["not a function"])
    with pytest.raises(TypeError, match=r"state_handlers must be a list of functions.*state_handlers=\[handler\]"):
        task(lambda: 1, name="g", state_handlers=print)
    with pytest.raises(TypeError, match="flow 'x': on_failure must be a function"):
        Flow("x", on_failure=3)


def _mark_handled(task, old, new):
    if new.is_successful():
        return Success(f"handled in pid {os.getpid()}", result=new.result)


@task(state_handlers=[_mark_handled])
def in_a_worker():
    return os.getpid()


def test_task_handlers_run_in_the_worker_process_of_a_process_executor():
    from jupyter_flows.executors import LocalDaskExecutor

    with Flow("handled in a worker") as flow:
        result = in_a_worker()
    state = flow.run(executor=LocalDaskExecutor(scheduler="processes", num_workers=1)).result[result]
    assert state.result != os.getpid()
    assert state.message == f"handled in pid {state.result}"
