"""Parsing --param, --env and --executor values, shared by the CLI and the magics."""

import pytest

from jupyter_flows.exceptions import ConfigurationError, ExecutorError, ParameterError
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor
from jupyter_flows.params import executor_from_spec, parse_env, parse_params, parse_value


def test_parameter_values_are_json_when_valid_json_else_text():
    assert parse_params(["n=[4,5]", "x=3", "ok=true", "name=Arthur", "eq=a=b", "empty="]) == {
        "n": [4, 5], "x": 3, "ok": True, "name": "Arthur", "eq": "a=b", "empty": ""}
    assert parse_value('"quoted"') == "quoted"


def test_a_parameter_without_equals_sign_is_a_parameter_error():
    with pytest.raises(ParameterError, match="parameter 'people' must look like NAME=VALUE"):
        parse_params(["people"])


def test_env_names_are_checked_like_a_run_configs():
    assert parse_env(["GREETING=Hello, world", "EMPTY="]) == {"GREETING": "Hello, world", "EMPTY": ""}
    with pytest.raises(ConfigurationError, match="invalid environment variable name 'MY-VAR'"):
        parse_env(["MY-VAR=1"])


@pytest.mark.parametrize("spec, workers, expected", [
    ("local", None, LocalExecutor()),
    ("threads", None, LocalDaskExecutor("threads")),
    ("processes", 3, LocalDaskExecutor("processes", num_workers=3)),
    ("dask", None, DaskExecutor()),
    ("dask", 2, DaskExecutor(cluster_kwargs={"n_workers": 2})),
    ("dask:tcp://10.0.0.5:8786", None, DaskExecutor(address="tcp://10.0.0.5:8786")),
    (None, None, None),
])
def test_executor_specs(spec, workers, expected):
    assert executor_from_spec(spec, workers) == expected


def test_unknown_executor_spec_lists_the_known_ones():
    with pytest.raises(ExecutorError, match="unknown executor 'local:x'; use one of local, threads"):
        executor_from_spec("local:x")
    with pytest.raises(ExecutorError, match="workers must be a whole number >= 1, got 0"):
        executor_from_spec("threads", 0)
