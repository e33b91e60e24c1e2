"""Parameters as Prefect 1 defines them: optional with a default of None, copies, datetimes."""

import datetime

import pytest

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.core.parameter import DateTimeParameter
from jupyter_flows.exceptions import FlowDefinitionError, ParameterError


@task
def echo(value):
    return value


def test_a_parameter_with_default_none_is_optional_and_runs_with_none():
    with Flow("optional") as flow:
        seen = echo(Parameter("limit", default=None))
    assert not Parameter("limit", default=None).required
    state = flow.run()
    assert state.is_successful()
    assert state.result[seen].result is None
    assert flow.run(limit=5).result[seen].result == 5


def test_a_parameter_without_a_default_or_marked_required_must_be_given():
    assert Parameter("x").required
    assert Parameter("x", default=1, required=True).required
    with Flow("required") as flow:
        echo(Parameter("x", default=None, required=True))
    with pytest.raises(ParameterError, match="required parameter.*x"):
        flow.run()


def test_parameter_copy_makes_a_parameter_of_another_name():
    original = Parameter("start", default=3, tags={"input"})
    copied = original.copy("end")
    assert (copied.name, copied.slug, copied.default, copied.tags) == ("end", "end", 3, {"input"})
    with Flow("two parameters") as flow:
        first, second = echo(original), echo(copied)
    state = flow.run(end=9)
    assert (state.result[first].result, state.result[second].result) == (3, 9)


def test_calling_a_parameter_adds_it_to_the_flow_without_copying_it():
    limit = Parameter("limit", default=1)
    with Flow("called") as flow:
        assert limit() is limit
    assert flow.parameters() == {limit}


def test_a_second_parameter_of_the_same_name_is_rejected():
    with Flow("clash") as flow:
        echo(Parameter("x", default=1))
    with pytest.raises(FlowDefinitionError, match="parameter named 'x'"):
        flow.add_task(Parameter("x", default=2))


def test_datetime_parameter_parses_iso_8601_strings():
    with Flow("since") as flow:
        since = DateTimeParameter("since")
        seen = echo(since)
    assert since.required
    state = flow.run(since="2026-11-30T12:30:00+00:00")
    assert state.result[seen].result == datetime.datetime(2026, 11, 30, 12, 30, tzinfo=datetime.timezone.utc)
    moment = datetime.datetime(2020, 1, 2, 3, 4, 5)
    assert flow.run(since=moment).result[seen].result == moment


def test_datetime_parameter_not_required_may_be_none():
    with Flow("maybe") as flow:
        seen = echo(DateTimeParameter("since", required=False))
    state = flow.run()
    assert state.is_successful() and state.result[seen].result is None


def test_datetime_parameter_rejects_a_string_that_is_not_a_date_naming_it():
    with Flow("bad date") as flow:
        since = DateTimeParameter("since")
        echo(since)
    state = flow.run(since="next tuesday")
    assert state.is_failed()
    assert "'next tuesday'" in state.result[since].message
    assert "ISO 8601" in state.result[since].message
