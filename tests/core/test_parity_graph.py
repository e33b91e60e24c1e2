"""The graph API of Prefect 1's Flow and Task: reading, wiring, copying and comparing flows."""

import logging
from typing import Tuple

from jupyter_flows import Flow, Parameter, Task, context, tags, task
from jupyter_flows.engine.events import RunListener
from jupyter_flows.tasks.core import FunctionTask


@task
def add(x, y=1):
    return x + y


class Noop(Task):
    pass


def test_upstream_downstream_tasks_and_edges_of_a_task():
    with Flow("shape") as flow:
        a = add(1)
        b = add(a)
        c = add(a, y=b)
    assert flow.upstream_tasks(c) == {a, b}
    assert flow.downstream_tasks(a) == {b, c}
    assert {(e.upstream_task, e.key) for e in flow.edges_to(c)} == {(a, "x"), (b, "y")}
    assert {e.downstream_task for e in flow.edges_from(b)} == {c}
    assert flow.upstream_tasks(a) == set()


def test_iterating_a_flow_yields_its_tasks_upstream_first():
    with Flow("order") as flow:
        a = add(1)
        b = add(a)
        c = add(b)
    assert list(flow) == [a, b, c] == list(flow.sorted_tasks())
    assert flow.sorted_tasks(root_tasks=[b]) == (b, c)


def test_chain_runs_tasks_one_after_the_other():
    calls = []

    class Record(Task):
        def run(self):
            calls.append(self.name)

    flow = Flow("chain")
    steps = [Record(name=n) for n in ("extract", "transform", "load")]
    edges = flow.chain(*steps)
    assert [(e.upstream_task, e.downstream_task) for e in edges] == list(zip(steps, steps[1:]))
    flow.run()
    assert calls == ["extract", "transform", "load"]


def test_update_adds_another_flows_tasks_edges_and_constants():
    with Flow("first") as first:
        a = add(1)
    with Flow("second") as second:
        b = add(2, y=3)
        c = add(b)
    first.update(second)
    assert first.tasks == {a, b, c}
    assert second.edges <= first.edges
    state = first.run()
    assert state.result[c].result == 6 and state.result[a].result == 2


def test_update_can_merge_parameters_of_the_same_name():
    with Flow("mine") as mine:
        add(Parameter("x", default=1))
    with Flow("theirs") as theirs:
        theirs_x = Parameter("x", default=100)
        total = add(theirs_x)
    mine.update(theirs, merge_parameters=True)
    assert mine.parameters() == {theirs_x}
    assert mine.run().result[total].result == 101


def test_replace_puts_a_new_task_in_the_old_ones_place():
    @task
    def ten():
        return 10

    with Flow("replace") as flow:
        start = add(1)
        end = add(start, y=5)
    flow.set_reference_tasks([start])
    new_start = ten.copy()
    flow.replace(start, new_start)
    assert start not in flow.tasks and flow.upstream_tasks(end) == {new_start}
    assert flow.reference_tasks() == {new_start}
    assert {e.tasks == {new_start, end} for e in flow.edges_to(end)} == {True}
    assert flow.run().result[end].result == 15


def test_get_tasks_filters_by_name_slug_tags_and_type():
    with Flow("filter") as flow:
        tagged = add.copy(tags={"db", "slow"})(1)
        plain = add(2)
        noop = Noop(slug="noop")
        flow.add_task(noop)
    assert flow.get_tasks(tags=["db"]) == [tagged]
    assert flow.get_tasks(tags=["db", "fast"]) == []
    assert set(flow.get_tasks(task_type=FunctionTask)) == {tagged, plain}
    assert flow.get_tasks(slug="noop") == [noop]
    assert flow.get_tasks(name="add", tags=["slow"], task_type=FunctionTask) == [tagged]


def test_flows_are_equal_when_name_tasks_edges_and_reference_tasks_are():
    a, b = Noop(), Noop()
    one = Flow("same", tasks=[a, b])
    one.add_edge(a, b)
    other = Flow("same", tasks=[a, b])
    assert one != other  # other lacks the edge
    other.add_edge(a, b)
    assert one == other and one == one.copy()
    assert Flow("renamed", tasks=[a, b]) != Flow("same", tasks=[a, b])
    other.set_reference_tasks([a])
    assert one != other
    with Flow("built twice") as x:
        add(1)
    with Flow("built twice") as y:
        add(1)
    assert x != y  # different task objects, as in Prefect 1


def test_task_set_dependencies_and_set_upstream_return_the_task():
    flow = Flow("explicit")
    a, b, c = Noop(name="a"), Noop(name="b"), add.copy()
    assert b.set_upstream(a, flow=flow) is b
    assert a.set_downstream(c, flow=flow, key="x") is a
    assert c.set_dependencies(flow, upstream_tasks=[b], keyword_tasks={"y": 5}) is c
    assert flow.upstream_tasks(c) == {a, b}
    assert flow.constants[c] == {"y": 5}


def test_set_dependencies_uses_the_active_flow_and_downstream_tasks():
    with Flow("active") as flow:
        a, b, c = Noop(name="a"), Noop(name="b"), Noop(name="c")
        b.set_dependencies(upstream_tasks=[a], downstream_tasks=[c])
    assert [t.name for t in flow] == ["a", "b", "c"]


def test_inputs_and_outputs_describe_the_run_signature():
    @task
    def scale(x: int, factor: float = 2.0) -> float:
        return x * factor

    assert scale.inputs() == {
        "x": {"type": int, "default": None, "required": True},
        "factor": {"type": float, "default": 2.0, "required": False},
    }
    assert scale.outputs() is float
    assert add.outputs() is not float


def test_nout_is_read_from_a_tuple_return_annotation():
    @task
    def split(n: int) -> Tuple[int, int]:
        return n // 2, n - n // 2

    @task
    def three() -> tuple[int, str, float]:
        return 1, "a", 2.0

    @task
    def many() -> Tuple[int, ...]:
        return (1, 2)

    assert (split.nout, three.nout, many.nout) == (2, 3, None)
    with Flow("unpack") as flow:
        low, high = split(5)
    state = flow.run()
    assert (state.result[low].result, state.result[high].result) == (2, 3)


def test_tags_context_manager_and_context_tags_tag_tasks_created_inside():
    with Flow("tagged"):
        with tags("db"):
            outer = add(1)
            with tags("slow"):
                inner = add(2)
            made = Noop()
        with context(tags={"etl"}):
            from_context = add(3)
        untagged = add(4)
    assert outer.tags == {"db"} and inner.tags == {"db", "slow"} and made.tags == {"db"}
    assert from_context.tags == {"etl"} and untagged.tags == set()


def test_a_given_slug_is_kept_and_a_copy_gets_its_own():
    with Flow("slugs") as flow:
        named = Noop(slug="my-step")
        flow.add_task(named)
        called = add(1, task_args={"slug": "adder"})
        copy_of_named = named()
    assert flow.slugs[named] == "my-step"
    assert flow.slugs[called] == "adder"
    assert flow.slugs[copy_of_named] == "my-step-copy"


def test_task_logger_writes_into_the_run_log_while_the_task_runs():
    class Chatty(Task):
        def run(self):
            self.logger.info("working on it")
            return 1

    lines = []

    class Lines(RunListener):
        def log(self, entry):
            lines.append((entry.task_name, entry.message))

    with Flow("logger") as flow:
        Chatty(name="chatty")()
    flow.run(listeners=[Lines()])
    assert ("chatty", "working on it") in lines
    assert isinstance(Chatty().logger, logging.LoggerAdapter)
