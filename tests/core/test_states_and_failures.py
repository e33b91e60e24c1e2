"""What happens when tasks fail, retry, time out, skip, or have other triggers."""

import time
from datetime import timedelta

import jupyter_flows
from jupyter_flows import Flow, signals, task, triggers
from jupyter_flows.engine.events import RunListener
from jupyter_flows.engine.state import (
    Cancelled, Failed, Mapped, Pending, Retrying, Running, Skipped, Success, TimedOut, TriggerFailed,
    state_from_dict,
)


class Recorder(RunListener):
    def __init__(self):
        self.finished = []
        self.logs = []

    def task_run_finished(self, run):
        self.finished.append(run)

    def log(self, entry):
        self.logs.append(entry)


@task
def boom():
    raise ValueError("it broke")


@task
def after(x):
    return x


def test_a_failing_task_fails_downstream_and_the_flow():
    with Flow("failure") as flow:
        broken = boom()
        downstream = after(broken)
    state = flow.run()
    assert state.is_failed() and state.message == "Some reference tasks failed."
    assert isinstance(state.result[broken], Failed)
    assert state.result[broken].message == "ValueError: it broke"
    assert isinstance(state.result[broken].result, ValueError)
    assert isinstance(state.result[downstream], TriggerFailed)


def test_the_traceback_of_a_failure_is_logged():
    recorder = Recorder()
    with Flow("failure") as flow:
        boom()
    flow.run(listeners=[recorder])
    error = next(e for e in recorder.logs if e.level_name == "ERROR" and e.task_name == "boom")
    assert "Traceback" in error.message and "ValueError: it broke" in error.message


def test_a_task_retries_then_succeeds_and_counts_its_attempts():
    attempts = []

    @task(max_retries=2, retry_delay=timedelta(seconds=0.01))
    def flaky():
        attempts.append(jupyter_flows.context.task_run_count)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return "ok"

    recorder = Recorder()
    with Flow("retry") as flow:
        result = flaky()
    state = flow.run(listeners=[recorder])
    assert state.result[result].result == "ok"
    assert attempts == [1, 2, 3]
    run = recorder.finished[0]
    assert run.attempts == 3
    assert [h[0] for h in run.history] == ["Retrying", "Retrying"]
    assert any("retrying in 0.01 s" in e.message for e in recorder.logs)


def test_a_task_that_keeps_failing_ends_failed_after_its_retries():
    @task(max_retries=1, retry_delay=0)
    def always():
        raise RuntimeError("never")

    recorder = Recorder()
    with Flow("retry fails") as flow:
        always()
    assert flow.run(listeners=[recorder]).is_failed()
    assert recorder.finished[0].attempts == 2


def test_mapped_children_retry_individually():
    seen = []

    @task(max_retries=1, retry_delay=timedelta(0))
    def flaky(x):
        seen.append(x)
        if x == 2 and seen.count(2) == 1:
            raise RuntimeError("first try of 2 fails")
        return x

    with Flow("child retries") as flow:
        values = flaky.map([1, 2, 3])
    assert flow.run().result[values].result == [1, 2, 3]
    assert sorted(seen) == [1, 2, 2, 3]


def test_a_task_that_runs_too_long_is_timed_out():
    @task(timeout=0.2)
    def slow():
        time.sleep(5)

    with Flow("timeout") as flow:
        result = slow()
    started = time.perf_counter()
    state = flow.run()
    assert time.perf_counter() - started < 2
    assert isinstance(state.result[result], TimedOut)
    assert "timed out after 0.2 seconds" in state.result[result].message


def test_a_task_with_a_timeout_still_logs_and_returns():
    @task(timeout=5)
    def quick():
        jupyter_flows.context.get("logger").info("inside the timeout thread")
        return 7

    recorder = Recorder()
    with Flow("timeout ok") as flow:
        result = quick()
    assert flow.run(listeners=[recorder]).result[result].result == 7
    assert any(e.message == "inside the timeout thread" for e in recorder.logs)


def test_skip_signal_skips_the_task_and_its_downstream():
    @task
    def maybe():
        raise signals.SKIP("nothing to do")

    with Flow("skip") as flow:
        skipped = maybe()
        downstream = after(skipped)
    state = flow.run()
    assert isinstance(state.result[skipped], Skipped)
    assert state.result[skipped].message == "nothing to do"
    assert isinstance(state.result[downstream], Skipped)
    assert state.is_successful()


def test_skip_on_upstream_skip_false_runs_anyway():
    @task
    def maybe():
        raise signals.SKIP()

    @task(skip_on_upstream_skip=False)
    def tolerant(x):
        return "ran"

    with Flow("no skip") as flow:
        result = tolerant(maybe())
    assert flow.run().result[result].result == "ran"


def test_fail_signal_fails_with_its_message():
    @task
    def refuse():
        raise signals.FAIL("bad input file")

    with Flow("fail") as flow:
        result = refuse()
    assert flow.run().result[result].message == "bad input file"


def test_other_triggers_decide_from_upstream_states():
    @task(trigger=triggers.any_failed)
    def alert(x):
        return "alerted"

    @task(trigger=triggers.all_finished)
    def cleanup(x):
        return "cleaned"

    @task(trigger=triggers.always_run)
    def always(x):
        return "always"

    @task(trigger=triggers.all_failed)
    def only_if_all_failed(x):
        return "all failed"

    with Flow("triggers") as flow:
        broken = boom()
        results = [alert(broken), cleanup(broken), always(broken), only_if_all_failed(broken)]
        fine = after(1)
        not_alerted = alert(fine)
    state = flow.run()
    assert [state.result[r].result for r in results] == ["alerted", "cleaned", "always", "all failed"]
    assert isinstance(state.result[not_alerted], TriggerFailed)


def test_a_trigger_that_raises_fails_its_task_with_the_reason():
    def broken_trigger(states):
        raise KeyError("oops")

    @task(trigger=broken_trigger)
    def guarded():
        return 1

    with Flow("broken trigger") as flow:
        result = guarded()
    state = flow.run()
    assert isinstance(state.result[result], TriggerFailed)
    assert "broken_trigger" in state.result[result].message


def test_reference_tasks_decide_the_flow_state():
    with Flow("reference") as flow:
        broken = boom()
        fine = after(1)
    flow.set_reference_tasks([fine])
    assert flow.run().is_successful()


def test_state_questions_and_round_trip_follow_the_hierarchy():
    assert Mapped().is_successful() and Mapped().is_mapped()
    assert Skipped().is_successful() and Skipped().is_skipped()
    assert TriggerFailed().is_failed() and TimedOut().is_failed()
    assert Retrying().is_pending() and Retrying().is_retrying()
    assert Running().is_running() and not Running().is_finished()
    assert Cancelled().is_finished() and Cancelled().is_cancelled()
    assert Pending().is_pending()
    assert isinstance(state_from_dict(Success("done").to_dict()), Success)
    assert state_from_dict({"type": "Failed", "message": "m"}).message == "m"


def test_log_stdout_turns_prints_into_log_lines():
    @task(log_stdout=True)
    def chatty():
        print("printed inside the task")

    recorder = Recorder()
    with Flow("stdout") as flow:
        chatty()
    flow.run(listeners=[recorder])
    assert any(e.message == "printed inside the task" and e.task_name == "chatty" for e in recorder.logs)


def test_a_keyboard_interrupt_cancels_the_run_and_tells_the_listeners():
    class Finished(RunListener):
        state = None

        def flow_run_finished(self, state):
            self.state = state

    @task
    def interrupted():
        raise KeyboardInterrupt

    listener = Finished()
    with Flow("interrupt") as flow:
        interrupted()
    try:
        flow.run(listeners=[listener])
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt must reach the caller")
    assert isinstance(listener.state, Cancelled)
