"""Mapping as Prefect 1 does it: mapped upstream tasks, mapped(), zipping, flatten."""

from jupyter_flows import Flow, Parameter, flatten, mapped, task, unmapped
from jupyter_flows.utilities.edges import flatten as flatten_alias
from jupyter_flows.utilities.edges import mapped as mapped_alias
from jupyter_flows.utilities.edges import unmapped as unmapped_alias


@task
def numbers():
    return [1, 2, 3]


@task
def add(x, y):
    return x + y


@task
def echo(x=None):
    return x


@task
def nested():
    return [[1, 2], [3]]


def test_map_maps_over_upstream_tasks_given_without_arguments():
    with Flow("mapped upstream") as flow:
        children = echo.map(upstream_tasks=[numbers()])
    state = flow.run()
    assert state.result[children].result == [None, None, None]
    assert all(e.mapped for e in flow.edges_to(children))


def test_an_unmapped_upstream_task_is_only_waited_for():
    with Flow("unmapped upstream") as flow:
        first = numbers()
        children = echo.map([10, 20], upstream_tasks=[unmapped(first)])
    state = flow.run()
    assert state.result[children].result == [10, 20]
    assert {e.mapped for e in flow.edges_to(children) if e.upstream_task is first} == {False}


def test_mapped_annotation_maps_an_argument_in_a_plain_call():
    with Flow("mapped()") as flow:
        sums = add(mapped(numbers()), 5)
    assert flow.run().result[sums].result == [6, 7, 8]


def test_calling_with_mapped_true_maps_like_map():
    with Flow("mapped=True") as flow:
        sums = add(numbers(), unmapped(10), mapped=True)
    assert flow.run().result[sums].result == [11, 12, 13]


def test_mapping_over_iterables_of_unequal_length_zips_to_the_shortest():
    with Flow("zip") as flow:
        sums = add.map(numbers(), [10, 20])
        none = add.map([], [1, 2])
    state = flow.run()
    assert state.result[sums].result == [11, 22]
    assert state.result[none].result == []


def test_flatten_of_an_already_flat_list_is_that_list():
    with Flow("flat") as flow:
        children = echo.map(flatten(numbers()))
        literal = echo.map(flatten([4, 5]))
    state = flow.run()
    assert state.result[children].result == [1, 2, 3]
    assert state.result[literal].result == [4, 5]


def test_flatten_of_mapped_children_with_lists_and_single_values():
    @task
    def maybe_list(n):
        return list(range(n)) if n > 1 else n

    with Flow("mixed") as flow:
        children = echo.map(flatten(maybe_list.map([1, 3])))
    assert flow.run().result[children].result == [1, 0, 1, 2]


def test_unmapped_flatten_passes_the_whole_flattened_list_to_every_child():
    with Flow("unmapped flatten") as flow:
        pairs = add.map(x=[[0], [10]], y=unmapped(flatten(nested())))
    assert flow.run().result[pairs].result == [[0, 1, 2, 3], [10, 1, 2, 3]]


def test_mapping_over_a_list_of_tasks_maps_over_their_results():
    @task
    def double(x):
        return 2 * x

    with Flow("list of tasks") as flow:
        sums = add.map([numbers()[0], Parameter("p", default=3)], unmapped(10))
        reduced = echo([double.map([1, 2]), 5])
    state = flow.run()
    assert state.result[sums].result == [11, 13]
    assert state.result[reduced].result == [[2, 4], 5]


def test_mapping_over_two_parameters_zips_them():
    with Flow("parameters") as flow:
        xs = Parameter("xs", default=[1, 2])
        ys = Parameter("ys", default=[100, 200, 300])
        sums = add.map(xs, ys)
    assert flow.run().result[sums].result == [101, 202]
    assert flow.run(xs=[1, 2, 3]).result[sums].result == [101, 202, 303]


def test_edge_annotations_are_importable_where_prefect_1_keeps_them():
    assert (flatten_alias, mapped_alias, unmapped_alias) == (flatten, mapped, unmapped)
