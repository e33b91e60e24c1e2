"""Results on their own: templates, serializers, where they may write, a second file system through fsspec."""

from __future__ import annotations

import os

import pytest

from jupyter_flows.exceptions import ResultError
from jupyter_flows.results import FSSpecResult, JSONSerializer, LocalResult


def test_location_template_renders_context_values_and_parameters(tmp_path):
    result = LocalResult(tmp_path, location="{flow_name}/{today}/{task_name}-{map_index}-{city}.pkl")
    location = result.format(flow_name="etl", today="2026-11-30", task_name="load", map_index=3,
                             parameters={"city": "Oslo"})
    assert location == "etl/2026-11-30/load-3-Oslo.pkl"
    result.write({"rows": 12}, location)
    assert (tmp_path / location).is_file()
    assert result.read(location) == {"rows": 12}


def test_a_location_template_with_an_unknown_field_names_it_and_the_known_ones(tmp_path):
    result = LocalResult(tmp_path, location="{flow_name}/{colour}.pkl")
    with pytest.raises(ResultError, match=r"field \{colour\} is unknown; fields available: flow_name, task_name"):
        result.format(flow_name="etl", task_name="load")


@pytest.mark.parametrize("template", ["../outside.pkl", "/etc/results.pkl", "a/../../b.pkl"])
def test_a_location_that_would_escape_the_result_directory_is_refused(tmp_path, template):
    with pytest.raises(ResultError, match="outside the result's directory"):
        LocalResult(tmp_path, location=template)


def test_a_parameter_value_that_would_escape_the_result_directory_is_refused(tmp_path):
    result = LocalResult(tmp_path, location="{name}.pkl")
    with pytest.raises(ResultError, match=r"'\.\./\.\./home/x\.pkl' .* outside the result's directory"):
        result.format(parameters={"name": "../../home/x"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_result_directory_that_is_not_writable_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ResultError, match=f"cannot write the result to {locked}/x.pkl: Permission denied"):
        LocalResult(locked).write(1, "x.pkl")


def test_a_result_directory_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the results directory should be")
    with pytest.raises(ResultError, match=f"cannot write the result to {blocker}/x.pkl"):
        LocalResult(blocker).write(1, "x.pkl")


def test_json_serializer_writes_readable_json_and_refuses_what_json_cannot_hold(tmp_path):
    result = LocalResult(tmp_path, serializer=JSONSerializer())
    result.write({"a": [1, 2]}, "v.json")
    assert (tmp_path / "v.json").read_text() == '{"a": [1, 2]}'
    with pytest.raises(ResultError, match=r"cannot be written as JSON .* use PickleSerializer\(\)"):
        result.write({1, 2}, "set.json")


def test_a_deleted_or_corrupt_result_says_where_and_what(tmp_path):
    result = LocalResult(tmp_path)
    with pytest.raises(ResultError, match=f"no result at {tmp_path}/gone.pkl"):
        result.read("gone.pkl")
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ResultError, match=f"the result at {tmp_path}/bad.pkl is corrupt"):
        result.read("bad.pkl")


def test_fsspec_result_on_a_second_file_system_by_url(tmp_path):
    elsewhere = tmp_path / "mounted" / "results"
    result = FSSpecResult(f"file://{elsewhere}", location="{flow_name}/{map_index}.pkl")
    location = result.format(flow_name="etl", map_index=7)
    result.write([1, 2, 3], location)
    assert (elsewhere / "etl" / "7.pkl").is_file()
    assert result.exists(location) and not result.exists("etl/8.pkl")
    assert result.read(location) == [1, 2, 3]
    assert result.describe(location) == f"file://{elsewhere}/etl/7.pkl"


def test_fsspec_result_travels_to_another_process_as_its_url():
    import cloudpickle

    result = FSSpecResult("memory://results-travel", location="{task_name}.pkl")
    result.write("kept", "t.pkl")
    copy = cloudpickle.loads(cloudpickle.dumps(result))
    assert copy.url == "memory://results-travel" and copy.read("t.pkl") == "kept"


def test_a_result_url_no_file_system_knows_is_refused_naming_it():
    with pytest.raises(ResultError, match="cannot open result URL 'nosuchproto://x'"):
        FSSpecResult("nosuchproto://x")
