"""Building flows: calling tasks in a flow context, explicit wiring, parameters, validation."""

import pytest

from jupyter_flows import Flow, Parameter, Task, task
from jupyter_flows.exceptions import FlowDefinitionError, ParameterError


@task
def add(x, y=1):
    return x + y


@task
def pair():
    return {"left": 1, "right": 2}


class Multiply(Task):
    def run(self, x, factor=2):
        return x * factor


def test_calling_tasks_in_a_flow_adds_copies_wired_by_their_arguments():
    with Flow("arith") as flow:
        a = add(1, 2)
        b = add(a, y=10)
    assert len(flow.tasks) == 2
    assert {(e.upstream_task, e.downstream_task, e.key) for e in flow.edges} == {(a, b, "x")}
    assert flow.constants[b] == {"y": 10}
    state = flow.run()
    assert state.result[b].result == 13


def test_subclassing_task_with_a_run_method_works():
    with Flow("multiply") as flow:
        product = Multiply(name="times three")(4, factor=3)
    assert product.name == "times three"
    assert flow.run().result[product].result == 12


def test_indexing_a_task_result_picks_the_element_at_run_time():
    with Flow("index") as flow:
        result = pair()
        left = result["left"]
        total = add(left, result["right"])
    state = flow.run()
    assert state.result[left].result == 1
    assert state.result[total].result == 3


def test_nout_lets_a_task_result_be_unpacked():
    @task(nout=2)
    def split(n):
        return n // 2, n - n // 2

    with Flow("unpack") as flow:
        low, high = split(5)
    state = flow.run()
    assert (state.result[low].result, state.result[high].result) == (2, 3)


def test_unpacking_without_nout_says_how_to_fix_it():
    with Flow("unpack"):
        with pytest.raises(TypeError, match="nout"):
            a, b = pair()


def test_upstream_tasks_and_set_dependencies_order_tasks_without_passing_data():
    calls = []

    @task
    def record(name):
        calls.append(name)

    with Flow("ordering") as flow:
        first = record("first")
        second = record("second", upstream_tasks=[first])
    third = record.copy()
    flow.set_dependencies(third, upstream_tasks=[second], keyword_tasks={"name": "third"})
    flow.add_edge(first, third)

    assert flow.run().is_successful()
    assert calls == ["first", "second", "third"]


def test_a_cycle_is_rejected_naming_the_tasks():
    with Flow("loop") as flow:
        a = add(1)
        b = add(a)
    flow.add_edge(b, a)
    with pytest.raises(FlowDefinitionError, match="cycle"):
        flow.validate()
    with pytest.raises(FlowDefinitionError, match="add"):
        flow.run()


def test_unknown_parameter_names_are_an_error_listing_the_known_ones():
    with Flow("params") as flow:
        add(Parameter("x", default=1), Parameter("y", default=2))
    with pytest.raises(ParameterError) as error:
        flow.run(z=3)
    assert "'z'" in str(error.value) and "x, y" in str(error.value)


def test_a_required_parameter_without_a_value_is_rejected():
    with Flow("params") as flow:
        add(Parameter("x"))
    with pytest.raises(ParameterError, match="required parameter.*x"):
        flow.run()
    assert flow.run(x=41).is_successful()


def test_parameters_are_listed_and_unique_by_name():
    with Flow("params") as flow:
        x = Parameter("x", default=1)
        add(x)
    assert flow.parameters() == {x}
    with pytest.raises(FlowDefinitionError, match="already has a parameter named 'x'"):
        with flow:
            add(Parameter("x", default=2))


def test_calling_a_task_outside_a_flow_explains_what_to_do():
    with pytest.raises(FlowDefinitionError, match="outside a flow"):
        add(1)


def test_wrong_arguments_name_the_task_and_what_it_accepts():
    with Flow("bad"):
        with pytest.raises(TypeError, match=r"task 'add'.*accepts: x, y"):
            add(1, 2, 3)


def test_invalid_task_options_are_rejected_with_the_bad_value():
    with pytest.raises(ValueError, match="max_retries.*-1"):
        task(max_retries=-1)(lambda: None)
    with pytest.raises(ValueError, match="timeout.*'soon'"):
        task(timeout="soon")(lambda: None)


def test_flow_listing_helpers_describe_the_graph():
    with Flow("shape") as flow:
        a = add(1)
        b = add(a)
        c = add(a)
    assert flow.root_tasks() == {a}
    assert flow.terminal_tasks() == {b, c}
    assert flow.sorted_tasks()[0] is a
    assert len(flow.get_tasks(name="add")) == 3


def test_an_empty_flow_is_valid_and_runs_to_success():
    flow = Flow("empty")
    flow.validate()
    assert flow.run().is_successful()
