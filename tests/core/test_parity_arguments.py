"""Arguments as Prefect 1 reads them: collections of tasks, and operators that build tasks."""

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.tasks.core import Dict, List, Set, Tuple
from jupyter_flows.tasks.core.operators import Add, Equal


@task
def one():
    return 1


@task
def two():
    return 2


@task
def total(values):
    return sum(values)


@task
def show(value):
    return value


def test_a_list_of_tasks_is_passed_as_the_list_of_their_results():
    with Flow("list") as flow:
        summed = total([one(), two(), 3])
    assert flow.run().result[summed].result == 6
    assert len(flow.get_tasks(task_type=List)) == 1


def test_a_dict_of_tasks_is_passed_as_the_dict_of_their_results():
    with Flow("dict") as flow:
        report = show({"a": one(), "b": two(), "c": "literal"})
    assert flow.run().result[report].result == {"a": 1, "b": 2, "c": "literal"}
    assert len(flow.get_tasks(task_type=Dict)) == 1


def test_tuples_and_sets_of_tasks_keep_their_type():
    with Flow("tuple and set") as flow:
        pair = show((one(), two()))
        unique = show({one(), 2})
    state = flow.run()
    assert state.result[pair].result == (1, 2)
    assert state.result[unique].result == {1, 2}
    assert {type(t) for t in flow.tasks} >= {Tuple, Set}


def test_parameters_inside_a_collection_are_resolved_per_run():
    with Flow("parameters in a list") as flow:
        summed = total([Parameter("a", default=1), Parameter("b", default=10), one()])
    assert flow.run().result[summed].result == 12
    assert flow.run(a=100).result[summed].result == 111


def test_nested_collections_of_tasks_are_resolved_at_every_depth():
    with Flow("nested") as flow:
        nested = show({"numbers": [one(), two()], "pair": (one(), "x")})
    assert flow.run().result[nested].result == {"numbers": [1, 2], "pair": (1, "x")}


def test_a_collection_of_plain_values_stays_a_constant_not_a_task():
    with Flow("constant") as flow:
        summed = total([1, 2, 3])
    assert flow.tasks == {summed}
    assert flow.constants[summed] == {"values": [1, 2, 3]}


def test_arithmetic_operators_on_tasks_build_tasks_including_reflected_forms():
    with Flow("arithmetic") as flow:
        p = Parameter("p", default=7)
        expressions = {
            "p + 1": p + 1, "1 + p": 1 + p, "p - 2": p - 2, "10 - p": 10 - p, "p * 3": p * 3, "2 * p": 2 * p,
            "p / 2": p / 2, "14 / p": 14 / p, "p // 2": p // 2, "15 // p": 15 // p, "p % 4": p % 4,
            "15 % p": 15 % p, "p ** 2": p ** 2, "2 ** p": 2 ** p,
        }
    state = flow.run()
    results = {text: state.result[t].result for text, t in expressions.items()}
    assert results == {text: eval(text, {"p": 7}) for text in expressions}
    assert isinstance(expressions["p + 1"], Add)


def test_comparisons_and_logic_on_tasks_build_tasks():
    with Flow("comparisons") as flow:
        p = Parameter("p", default=4)
        checks = [p > 3, p < 3, p >= 4, p <= 3, 5 > p, p & 0, 1 & p, p.or_(0), p.not_()]
    state = flow.run()
    assert [state.result[t].result for t in checks] == [True, False, True, False, True, 0, 4, 4, False]


def test_tasks_compare_by_identity_so_is_equal_builds_the_comparison():
    with Flow("equality") as flow:
        p = Parameter("p", default=4)
        same = p.is_equal(4)
        different = p.is_not_equal(4)
    assert p == p and not (p == Parameter("p"))
    assert hash(p) == hash(p) and len({p, p}) == 1
    assert isinstance(same, Equal)
    state = flow.run()
    assert (state.result[same].result, state.result[different].result) == (True, False)


def test_pipe_operator_orders_tasks_without_passing_data_as_in_prefect_1():
    calls = []

    @task
    def record(name):
        calls.append(name)

    with Flow("pipe") as flow:
        first, second, third = record("first"), record("second"), record("third")
        assert (first | second | third) is third
    assert flow.upstream_tasks(third) == {second} and flow.upstream_tasks(second) == {first}
    flow.run()
    assert calls == ["first", "second", "third"]


def test_xor_and_the_alias_names_build_tasks_too():
    with Flow("xor and aliases") as flow:
        p = Parameter("p", default=6)
        built = [p ^ 3, 3 ^ p, p.not_equal(6), p.is_not()]
    state = flow.run()
    assert [state.result[t].result for t in built] == [5, 5, False, False]


def test_indexing_a_task_by_a_task_builds_the_lookup():
    @task
    def table():
        return {"a": 1, "b": 2}

    with Flow("lookup") as flow:
        key = Parameter("key", default="b")
        value = table()[key]
    assert value.name == "table[key]"
    assert flow.run().result[value].result == 2
