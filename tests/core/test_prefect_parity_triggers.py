"""Triggers, skips and manual approval as Prefect 1 documents them."""

import pytest

from jupyter_flows import Flow, task, triggers
from jupyter_flows.core.edges import Edge
from jupyter_flows.engine import signals
from jupyter_flows.engine.state import Mapped, Paused, Pending, Resume, Skipped, Success, TriggerFailed


@task
def ok():
    return 1


@task
def broken():
    raise ValueError("broken")


@task
def skipped():
    raise signals.SKIP("nothing to do")


@task
def numbers():
    return [1, 2, 3]


def test_mapping_over_a_skipped_upstream_skips_the_mapped_task_and_the_flow_succeeds():
    @task
    def double(x):
        return 2 * x

    with Flow("skip map") as flow:
        doubled = double.map(skipped())
    state = flow.run()
    assert state.is_successful()
    assert isinstance(state.result[doubled], Skipped)


def test_not_all_skipped_runs_unless_every_upstream_was_skipped():
    @task(trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
    def report(a, b):
        return "reported"

    with Flow("not all skipped") as flow:
        some = report(skipped(), ok())
        none = report(skipped(), skipped())
        failed = report(broken(), ok())
    state = flow.run()
    assert state.result[some].result == "reported"
    assert isinstance(state.result[none], Skipped)
    assert isinstance(state.result[failed], TriggerFailed)


def test_some_failed_counts_failures_against_absolute_and_fractional_bounds():
    @task(trigger=triggers.some_failed(at_least=1, at_most=1))
    def exactly_one(a, b):
        return "ran"

    @task(trigger=triggers.some_failed(at_least=0.75))
    def most(a, b):
        return "ran"

    with Flow("some failed") as flow:
        one = exactly_one(ok(), broken())
        two = exactly_one(broken(), broken())
        half = most(ok(), broken())
    state = flow.run()
    assert state.result[one].result == "ran"
    assert isinstance(state.result[two], TriggerFailed)
    assert state.result[two].message == 'Trigger was "some_failed" but thresholds were not met.'
    assert isinstance(state.result[half], TriggerFailed)


def test_some_successful_counts_the_children_of_a_mapped_upstream():
    @task
    def fails_on_two(x):
        if x == 2:
            raise ValueError("two")
        return x

    @task(trigger=triggers.some_successful(at_least=0.5))
    def collect(values):
        return "collected"

    @task(trigger=triggers.some_successful(at_most=1))
    def at_most_one(values):
        return "collected"

    with Flow("some successful") as flow:
        children = fails_on_two.map(numbers())
        enough = collect(children)
        too_many = at_most_one(children)
    state = flow.run()
    assert state.result[enough].result == "collected"
    assert isinstance(state.result[too_many], TriggerFailed)


def test_bad_trigger_bounds_are_refused():
    with pytest.raises(ValueError, match="some_failed\\(at_least=...\\) must be a count or a fraction >= 0, got -1"):
        triggers.some_failed(at_least=-1)


def test_a_custom_trigger_gets_edges_and_states_and_fails_with_triggerfail():
    seen = {}

    def only_small_inputs(upstream_states):
        seen.update(upstream_states)
        if any(state.result > 10 for state in upstream_states.values() if not isinstance(state, Mapped)):
            raise signals.TRIGGERFAIL("an input is too big")
        return True

    @task
    def big():
        return 100

    @task(trigger=only_small_inputs)
    def add(x, y):
        return x + y

    with Flow("custom trigger") as flow:
        one = ok()
        large = big()
        refused = add(one, large)
    state = flow.run()
    assert isinstance(state.result[refused], TriggerFailed)
    assert state.result[refused].message == "an input is too big"
    by_key = {edge.key: (edge, upstream) for edge, upstream in seen.items()}
    assert all(isinstance(edge, Edge) for edge, _ in by_key.values())
    assert by_key["x"][0].upstream_task is one and by_key["y"][0].upstream_task is large
    assert by_key["x"][0].downstream_task is refused
    assert by_key["y"][1].result == 100


def test_a_custom_trigger_returning_false_fails_the_task():
    @task(trigger=lambda upstream_states: False)
    def never():
        return 1

    with Flow("false trigger") as flow:
        result = never(upstream_tasks=[ok])
    assert isinstance(flow.run().result[result], TriggerFailed)


def test_manual_only_pauses_the_task_until_it_is_resumed_with_task_states():
    calls = []

    @task
    def prepare():
        calls.append("prepare")
        return "draft"

    @task(trigger=triggers.manual_only)
    def approve(draft):
        calls.append("approve")
        return f"approved {draft}"

    @task
    def publish(text):
        return text.upper()

    with Flow("approval") as flow:
        draft = prepare()
        approved = approve(draft)
        published = publish(approved)
    first = flow.run()
    assert first.is_running()
    assert isinstance(first.result[approved], Paused)
    assert isinstance(first.result[published], Pending)
    assert "approve" in first.message
    assert calls == ["prepare"]

    second = flow.run(task_states={**first.result, approved: Resume()})
    assert second.is_successful()
    assert second.result[published].result == "APPROVED DRAFT"
    assert calls == ["prepare", "approve"]  # the finished task kept its state and did not run again


def test_a_finished_mapped_task_given_back_feeds_its_children_results_downstream():
    @task
    def double(x):
        return 2 * x

    @task
    def total(values):
        return sum(values)

    with Flow("given map") as flow:
        doubled = double.map(numbers())
        summed = total(doubled)
    given = Mapped(map_states=[Success(result=10), Success(result=20)])
    state = flow.run(task_states={doubled: given})
    assert state.result[summed].result == 30


@task(trigger=triggers.manual_only)
def needs_approval():
    return "approved"


def test_a_paused_run_of_the_backend_ends_paused_naming_the_paused_task(backend):
    from jupyter_flows.agent.execute import execute_flow_run

    with Flow("approval in the backend") as flow:
        needs_approval(upstream_tasks=[ok])
    backend.create_project("parity")
    run = backend.create_flow_run(flow_id=flow.register(project_name="parity"))
    assert execute_flow_run(run["id"], backend=backend) == "Paused"
    recorded = backend.get_flow_run(run["id"])
    assert recorded["state"] == "Paused"
    assert "Waiting for approval of 'needs_approval'" in recorded["state_message"]
    assert "resume" in recorded["state_message"]
    assert {t["task_name"]: t["state"] for t in backend.get_task_runs(run["id"])}["needs_approval"] == "Paused"


def test_mapping_over_a_skipped_upstream_without_skipping_fails_as_unmappable():
    @task(skip_on_upstream_skip=False)
    def double(x):
        return 2 * x

    with Flow("skip map anyway") as flow:
        doubled = double.map(skipped())
    state = flow.run()
    assert state.is_failed()
    assert state.result[doubled].is_failed()
    assert "Cannot map 'double' over 'skipped'" in state.result[doubled].message
