"""``cache_for`` with the cache validators: later runs in this process reuse a result while it is valid."""

from __future__ import annotations

import datetime
import time

import pytest

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.engine import cache_validators
from jupyter_flows.engine.state import Cached
from jupyter_flows.exceptions import TaskDefinitionError


@pytest.fixture(autouse=True)
def empty_caches():
    from jupyter_flows import context

    context.caches = {}  # each test starts with none kept in this thread
    yield
    del context.caches


def _flow(validator, calls, seconds=60):
    @task(cache_for=datetime.timedelta(seconds=seconds), cache_validator=validator)
    def fetch(day):
        calls.append(day)
        return f"data of {day}"

    with Flow("cached") as flow:
        day = Parameter("day")
        region = Parameter("region", default="eu")
        fetched = fetch(day, upstream_tasks=[region])
    return flow, fetched


def test_duration_only_reuses_the_result_whatever_the_inputs_until_it_expires():
    calls = []
    flow, fetched = _flow(cache_validators.duration_only, calls, seconds=0.5)
    first = flow.run(day="mon")
    second = flow.run(day="tue")
    assert calls == ["mon"] and second.result[fetched].result == "data of mon"
    assert type(first.result[fetched]) is Cached and "cached until" in first.result[fetched].message
    time.sleep(0.6)
    flow.run(day="tue")
    assert calls == ["mon", "tue"]


def test_all_inputs_reuses_only_a_result_computed_from_the_same_inputs(caplog):
    calls = []
    flow, fetched = _flow(cache_validators.all_inputs, calls)
    flow.run(day="mon")
    flow.run(day="tue")
    again = flow.run(day="mon")
    assert calls == ["mon", "tue"]
    assert again.result[fetched].result == "data of mon"
    assert any("Cached, reusing the result of an earlier run" in r.getMessage() for r in caplog.records)


def test_all_parameters_runs_again_when_any_parameter_changed():
    calls = []
    flow, _ = _flow(cache_validators.all_parameters, calls)
    flow.run(day="mon")
    flow.run(day="mon")
    flow.run(day="mon", region="us")  # the task's inputs are the same; a parameter is not
    assert calls == ["mon", "mon"]


def test_cache_for_must_be_a_positive_timedelta_and_the_validator_a_function():
    with pytest.raises(TaskDefinitionError, match="cache_for must be a positive timedelta, got 60"):
        task(cache_for=60)(lambda: 1)
    with pytest.raises(TaskDefinitionError, match="cache_validator must be one of .* got 'all_inputs'"):
        task(cache_for=datetime.timedelta(1), cache_validator="all_inputs")(lambda: 1)
