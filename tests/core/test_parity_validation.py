"""Mistakes in a flow's definition are refused when they are made, as strictly as Prefect 1 does."""

from datetime import timedelta

import pytest

from jupyter_flows import Flow, Parameter, Task, task
from jupyter_flows.core.edge import Edge
from jupyter_flows.exceptions import FlowDefinitionError, TaskDefinitionError


@task
def add(x, y=1):
    return x + y


class Noop(Task):
    pass


def test_an_edge_from_a_task_to_itself_is_refused():
    step = Noop(name="step")
    with pytest.raises(FlowDefinitionError, match="'step' to itself"):
        Edge(step, step)
    with pytest.raises(ValueError, match="itself"):
        Flow("loop").add_edge(step, step)


def test_an_edge_into_a_parameter_is_refused():
    flow = Flow("into a parameter")
    with pytest.raises(FlowDefinitionError, match="parameter 'x' cannot depend on 'step'"):
        flow.add_edge(Noop(name="step"), Parameter("x"))


def test_an_edge_key_that_is_not_an_argument_of_the_task_is_refused():
    flow = Flow("bad key")
    with pytest.raises(FlowDefinitionError, match=r"no argument 'z'.*accepts: x, y"):
        flow.add_edge(Noop(name="source"), add.copy(), key="z")
    with pytest.raises(FlowDefinitionError, match="identifier"):
        Edge(Noop(), Noop(), key="not a name")


def test_reference_tasks_must_be_in_the_flow():
    with Flow("references") as flow:
        add(1)
    stranger = Noop(name="stranger")
    with pytest.raises(FlowDefinitionError, match="stranger"):
        flow.set_reference_tasks([stranger])
    with pytest.raises(FlowDefinitionError, match="stranger"):
        Flow("given at once", tasks=[Noop()], reference_tasks=[stranger])
    known = Noop(name="known")
    assert Flow("known", tasks=[known], reference_tasks=[known]).reference_tasks() == {known}


def test_run_with_star_args_is_refused_when_the_task_is_defined():
    with pytest.raises(TaskDefinitionError, match=r"\*args"):
        @task
        def spread(*values):
            return values

    class Spread(Task):
        def run(self, *values):
            return values

    with pytest.raises(ValueError, match=r"\*args"):
        Spread()


def test_run_arguments_with_reserved_names_are_refused():
    with pytest.raises(TaskDefinitionError, match="upstream_tasks"):
        @task
        def wait(upstream_tasks):
            return upstream_tasks


def test_a_string_as_tags_is_refused_rather_than_split_into_letters():
    with pytest.raises(TypeError, match="'slow'.*tags=\\{'slow'\\}"):
        Noop(tags="slow")
    with pytest.raises(TaskDefinitionError):
        task(tags="io")(lambda: None)


def test_max_retries_without_retry_delay_and_the_reverse_are_refused():
    with pytest.raises(ValueError, match="max_retries=2 needs a retry_delay"):
        Noop(max_retries=2)
    with pytest.raises(ValueError, match="needs max_retries > 0"):
        Noop(retry_delay=timedelta(seconds=5))
    with pytest.raises(TaskDefinitionError, match="retry_delay must be a timedelta"):
        Noop(max_retries=1, retry_delay="soon")


def test_retry_delay_is_kept_as_a_timedelta_and_timeout_accepts_one():
    retried = Noop(max_retries=2, retry_delay=timedelta(seconds=3))
    assert retried.retry_delay == timedelta(seconds=3)
    assert Noop(max_retries=1, retry_delay=1.5).retry_delay == timedelta(seconds=1.5)
    assert Noop().retry_delay is None
    assert Noop(timeout=timedelta(minutes=2)).timeout == 120
    with pytest.raises(TaskDefinitionError, match="timeout.*-1"):
        Noop(timeout=-1)


def test_retries_with_a_timedelta_delay_run_again_after_the_delay():
    attempts = []

    @task(max_retries=1, retry_delay=timedelta(milliseconds=50))
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return "ok"

    with Flow("retry") as flow:
        result = flaky()
    state = flow.run()
    assert state.result[result].result == "ok" and len(attempts) == 2


def test_two_tasks_with_one_slug_are_refused():
    flow = Flow("slugs")
    flow.add_task(Noop(slug="step"))
    with pytest.raises(FlowDefinitionError, match="slug 'step'"):
        flow.add_task(Noop(slug="step"))


def test_an_argument_given_twice_is_refused():
    with Flow("twice") as flow:
        total = add(1)
    with pytest.raises(FlowDefinitionError, match="already receives argument 'x'"):
        flow.add_edge(Noop(name="other"), total, key="x")
