"""Signals as Prefect 1 documents them: raised in a task, each sets the task run's state."""

import pytest

from jupyter_flows import Flow, Task, context, task
from jupyter_flows.engine import signals
from jupyter_flows.engine.state import (
    Failed, Looped, Paused, Retrying, Skipped, Success, TriggerFailed, state_from_dict,
)


@pytest.mark.parametrize("signal, state_class", [
    (signals.SUCCESS, Success), (signals.FAIL, Failed), (signals.SKIP, Skipped), (signals.RETRY, Retrying),
    (signals.LOOP, Looped), (signals.PAUSE, Paused), (signals.TRIGGERFAIL, TriggerFailed),
])
def test_each_signal_carries_its_state_whose_result_is_the_signal(signal, state_class):
    raised = signal("a message")
    assert not isinstance(raised, Exception)
    assert isinstance(raised, signals.PrefectStateSignal) and isinstance(raised, signals.PrefectSignal)
    assert type(raised.state) is state_class
    assert raised.state.message == "a message"
    assert raised.state.result is raised


def test_except_exception_in_a_task_does_not_swallow_a_signal():
    @task
    def careful():
        try:
            raise signals.SUCCESS("done early", result=3)
        except Exception:
            return "swallowed"

    with Flow("not swallowed") as flow:
        result = careful()
    state = flow.run().result[result]
    assert (type(state), state.message, state.result) == (Success, "done early", 3)


def test_fail_keeps_the_signal_as_result_and_is_retried_like_any_failure():
    @task(max_retries=1, retry_delay=0)
    def refuses():
        raise signals.FAIL(f"attempt {context.task_run_count}")

    with Flow("fail") as flow:
        result = refuses()
    state = flow.run().result[result]
    assert isinstance(state, Failed)
    assert state.message == "attempt 2"
    assert isinstance(state.result, signals.FAIL)


def test_retry_runs_the_task_again_without_max_retries():
    @task
    def eventually():
        if context.task_run_count < 3:
            raise signals.RETRY("not yet")
        return context.task_run_count

    with Flow("retry") as flow:
        result = eventually()
    assert flow.run().result[result].result == 3


def test_loop_passes_its_result_and_count_to_the_next_iteration():
    @task
    def fibonacci(limit):
        a, b = context.get("task_loop_result", (0, 1))
        if b > limit:
            return {"value": a, "iterations": context.get("task_loop_count", 1)}
        raise signals.LOOP(message=f"at {b}", result=(b, a + b))

    with Flow("loop") as flow:
        result = fibonacci(30)
    state = flow.run().result[result]
    assert isinstance(state, Success)
    assert state.result == {"value": 21, "iterations": 9}


def test_a_task_that_raises_trigger_fail_is_trigger_failed_and_not_retried():
    calls = []

    @task(max_retries=2, retry_delay=0)
    def not_for_me():
        calls.append(1)
        raise signals.TRIGGERFAIL("upstream data is stale")

    with Flow("triggerfail") as flow:
        result = not_for_me()
    state = flow.run()
    assert isinstance(state.result[result], TriggerFailed)
    assert len(calls) == 1
    assert state.is_failed()


def test_endrun_ends_the_task_run_in_exactly_its_state():
    @task(max_retries=2, retry_delay=0)
    def stop_here():
        raise signals.ENDRUN(Skipped("nothing to do today"))

    with Flow("endrun") as flow:
        result = stop_here()
    state = flow.run().result[result]
    assert (type(state), state.message) == (Skipped, "nothing to do today")


def test_pause_leaves_the_task_paused_its_downstream_pending_and_the_run_running():
    @task
    def wait_for_review():
        raise signals.PAUSE("a person must look first")

    @task
    def publish(x):
        return "published"

    with Flow("pause") as flow:
        review = wait_for_review()
        published = publish(review)
    state = flow.run()
    assert state.is_running()
    assert isinstance(state.result[review], Paused)
    assert state.result[published].is_pending()


def test_a_plain_task_runs_and_returns_none():
    with Flow("bare") as flow:
        bare = Task()()
    state = flow.run()
    assert state.is_successful()
    assert state.result[bare].result is None


def test_new_states_round_trip_through_their_stored_form():
    for state in (Looped("again"), Paused("wait")):
        assert type(state_from_dict(state.to_dict())) is type(state)
    assert Paused().is_scheduled() and Paused().is_pending() and Paused().is_paused()
    assert Looped().is_finished() and Looped().is_looped() and not Looped().is_successful()
