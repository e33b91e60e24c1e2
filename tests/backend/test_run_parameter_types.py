"""A parameter value of the wrong type is refused when the run is created, from Python, the CLI and the API.

A parameter's type is its default's JSON type; the REST side of this is in
tests/server/test_api_refusals.py.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.backend import Client
from jupyter_flows.cli import cli
from jupyter_flows.exceptions import ParameterError


@task
def use(n, rate, verbose, name, items, options, anything):
    return n, rate, verbose, name, items, options, anything


@pytest.fixture
def typed_flow(tutorial) -> str:
    """A registered flow with a parameter of each JSON type, and one without a default."""
    with Flow("typed-flow") as flow:
        use(n=Parameter("n", default=3), rate=Parameter("rate", default=0.5),
            verbose=Parameter("verbose", default=False), name=Parameter("name", default="Arthur"),
            items=Parameter("items", default=[1, 2]), options=Parameter("options", default={"a": 1}),
            anything=Parameter("anything", default=None))
    return flow.register(project_name="tutorial")


@pytest.mark.parametrize("name,value,expected", [
    ("n", "x", "parameter 'n' of flow 'typed-flow' takes a whole number (its default is 3), got str 'x'"),
    ("n", 2.5, "takes a whole number (its default is 3), got float 2.5"),
    ("n", True, "takes a whole number (its default is 3), got bool True"),
    ("rate", "fast", "parameter 'rate' of flow 'typed-flow' takes a number (its default is 0.5), got str 'fast'"),
    ("verbose", 1, "takes true or false (its default is False), got int 1"),
    ("name", 42, "takes a string (its default is 'Arthur'), got int 42"),
    ("items", {"a": 1}, "takes a list (its default is [1, 2]), got dict {'a': 1}"),
    ("options", [1], "takes an object of name: value (its default is {'a': 1}), got list [1]"),
    ("n", None, "takes a whole number (its default is 3), got NoneType None"),
])
def test_a_value_of_the_wrong_type_is_refused_when_the_run_is_created(backend, typed_flow, name, value, expected):
    with pytest.raises(ParameterError) as raised:
        Client().create_flow_run(typed_flow, parameters={name: value})

    assert expected in str(raised.value)
    assert backend.list_flow_runs() == []


def test_values_of_the_parameters_types_are_accepted_and_ints_pass_for_floats(backend, typed_flow):
    values = {"n": 4, "rate": 2, "verbose": True, "name": "Ford", "items": [], "options": {}, "anything": [{"x": 1}]}

    run_id = Client().create_flow_run(typed_flow, parameters=values)

    assert backend.get_flow_run(run_id)["parameters"] == values


def test_the_cli_refuses_a_value_of_the_wrong_type_with_exit_code_2(backend, typed_flow):
    result = CliRunner().invoke(cli, ["run", "--name", "typed-flow", "--param", "n=x"])

    assert result.exit_code == 2
    assert "parameter 'n' of flow 'typed-flow' takes a whole number (its default is 3), got str 'x'" in result.output
    assert backend.list_flow_runs() == []


def test_the_cli_parses_a_number_before_checking_it(backend, typed_flow):
    result = CliRunner().invoke(cli, ["run", "--name", "typed-flow", "--param", "n=7", "--param", "rate=1.5"])

    assert result.exit_code == 0, result.output
    assert backend.list_flow_runs()[0]["parameters"] == {"n": 7, "rate": 1.5}


def test_a_run_already_executing_in_process_is_recorded_with_the_values_it_was_given(backend, typed_flow):
    """The engine accepted these values already; recording them must not fail the run."""
    run = backend.create_flow_run(typed_flow, parameters={"n": "x"}, flow_run_id="in-process", state="Running")

    assert run["parameters"] == {"n": "x"}
