"""Mapping: one child task run per element, with its own index, state, retries and logs."""

import pytest

import jupyter_flows
from jupyter_flows import Flow, Parameter, flatten, task, unmapped
from jupyter_flows.engine.state import Mapped, TriggerFailed


@task
def double(x):
    return 2 * x


@task
def add(x, y):
    return x + y


@task
def total(values):
    return sum(values)


@task
def explode(n):
    return list(range(n))


def test_map_runs_one_child_per_element_in_order():
    with Flow("map") as flow:
        doubled = double.map([1, 2, 3])
    state = flow.run()
    mapped = state.result[doubled]
    assert isinstance(mapped, Mapped)
    assert mapped.result == [2, 4, 6]
    assert [s.is_successful() for s in mapped.map_states] == [True, True, True]


def test_children_know_their_map_index_from_the_context():
    @task
    def where(x):
        return jupyter_flows.context.map_index

    with Flow("indexes") as flow:
        indexes = where.map(["a", "b", "c"])
    assert flow.run().result[indexes].result == [0, 1, 2]


def test_unmapped_arguments_are_passed_whole_to_every_child():
    with Flow("unmapped") as flow:
        sums = add.map([1, 2, 3], unmapped(10))
    assert flow.run().result[sums].result == [11, 12, 13]


def test_mapping_over_a_parameter_and_an_upstream_task_result():
    with Flow("dynamic") as flow:
        n = Parameter("n", default=3)
        numbers = explode(n)
        doubled = double.map(numbers)
    assert flow.run().result[doubled].result == [0, 2, 4]
    assert flow.run(n=5).result[doubled].result == [0, 2, 4, 6, 8]


def test_iterated_mapping_maps_over_a_mapped_result():
    with Flow("iterated") as flow:
        once = double.map([1, 2, 3])
        twice = double.map(once)
    assert flow.run().result[twice].result == [4, 8, 12]


def test_a_mapped_result_is_reduced_by_passing_it_to_a_normal_task():
    with Flow("reduce") as flow:
        doubled = double.map([1, 2, 3])
        summed = total(doubled)
    assert flow.run().result[summed].result == 12


def test_flatten_maps_over_the_concatenation_of_a_list_of_lists():
    with Flow("flatten") as flow:
        nested = explode.map([1, 2, 3])
        doubled = double.map(flatten(nested))
    assert flow.run().result[doubled].result == [0, 0, 2, 0, 2, 4]


def test_flatten_of_a_literal_nested_list():
    with Flow("flatten literal") as flow:
        doubled = double.map(flatten([[1], [2, 3]]))
    assert flow.run().result[doubled].result == [2, 4, 6]


def test_mapping_over_an_empty_list_makes_no_children_and_downstream_still_runs():
    with Flow("empty") as flow:
        doubled = double.map([])
        summed = total(doubled)
    state = flow.run()
    assert state.result[doubled].map_states == []
    assert state.result[summed].result == 0
    assert state.is_successful()


def test_mapping_over_arguments_of_different_lengths_zips_them_to_the_shortest():
    with Flow("mismatch") as flow:
        sums = add.map([1, 2, 3], [10, 20])
    state = flow.run()
    assert state.is_successful()
    assert state.result[sums].result == [11, 22]


def test_mapping_over_something_that_is_not_a_list_fails_clearly():
    with Flow("not a list") as flow:
        doubled = double.map(Parameter("n", default=5))
    state = flow.run()
    assert "int value 5 is not a list" in state.result[doubled].message


def test_a_failed_child_fails_only_its_own_downstream_child():
    @task
    def invert(x):
        return 1 / x

    with Flow("partial failure") as flow:
        inverted = invert.map([1, 0, 2])
        doubled = double.map(inverted)
    state = flow.run()
    children = state.result[doubled].map_states
    assert [type(s).__name__ for s in children] == ["Success", "TriggerFailed", "Success"]
    assert state.result[inverted].map_states[1].message.startswith("ZeroDivisionError")
    assert state.is_failed()


def test_a_reducer_of_a_partly_failed_map_is_trigger_failed():
    @task
    def invert(x):
        return 1 / x

    with Flow("reduce failure") as flow:
        summed = total(invert.map([1, 0]))
    assert isinstance(flow.run().result[summed], TriggerFailed)


def test_mapping_when_the_mapped_over_task_failed_does_not_run_the_children():
    @task
    def broken():
        raise RuntimeError("no list today")

    with Flow("upstream failed") as flow:
        doubled = double.map(broken())
    state = flow.run()
    assert isinstance(state.result[doubled], TriggerFailed)


@pytest.mark.parametrize("n", [1, 1000])
def test_large_maps_keep_every_child(n):
    with Flow("large") as flow:
        doubled = double.map(list(range(n)))
    state = flow.run()
    assert state.result[doubled].result == [2 * i for i in range(n)]
