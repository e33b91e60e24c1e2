"""Hostile or absurd request values are a 400 naming the (shortened) value and what is accepted, never a 500."""

from __future__ import annotations

import json

import pytest

from server_helpers import register_hello_flow, write_notebook

pytestmark = pytest.mark.slow

LONG = "x" * 5000
DEEP = b'{"flow_id": "f", "parameters": {"people": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"


def assert_refused(status: int, body: dict, *expected: str, code: int = 400) -> None:
    """A refusal with the expected status whose JSON message names each of ``expected`` and stays short."""
    assert status == code, body
    for text in expected:
        assert text in body["message"], body["message"]
    assert len(body["message"]) < 400, "the bad value must be shortened in the message"


@pytest.mark.parametrize("path,params,expected", [
    (("flow-runs",), {"offset": str(10**20)}, "offset must be a whole number between 0 and 2147483647"),
    (("flow-runs",), {"limit": str(10**30)}, "limit must be a whole number between 1 and 500"),
    (("flow-runs", "RUN", "logs"), {"after": str(10**23)}, "after must be a whole number between 0 and 2147483647"),
    (("flow-runs", "RUN", "logs"), {"limit": "10001"}, "limit must be a whole number between 1 and 10000"),
    (("flow-runs", "RUN", "logs"), {"after": "9" * 5000}, "after must be a whole number"),
    (("flow-runs",), {"flow_id": LONG}, "'flow_id' may have at most 200 characters"),
    (("flow-runs",), {"project": LONG}, "'project' may have at most 200 characters"),
    (("flow-runs",), {"flow_id": "a\nb"}, "'flow_id' must not contain control characters"),  # tornado drops NULs
    (("flow-runs",), {"state": "Running," + LONG}, "unknown flow run state 'xxx"),
    (("flows",), {"project": LONG}, "'project' may have at most 200 characters"),
    (("flows",), {"project": "p\r\nq"}, "'project' must not contain control characters"),
    (("flows",), {"archived": "maybe"}, "archived must be true or false (1/0, yes/no), got 'maybe'"),
])
async def test_out_of_range_numbers_and_oversized_text_in_queries_are_a_400(api, backend, path, params, expected):
    run = backend.create_flow_run(register_hello_flow())
    path = tuple(run["id"] if part == "RUN" else part for part in path)

    status, body = await api("GET", *path, params=params)

    assert_refused(status, body, expected)


@pytest.mark.parametrize("run_id,expected", [
    ("a\x00b", "run id must not contain control characters, got 'a\\x00b'"),
    (LONG, "run id may have at most 200 characters, got 5000: 'xxxx"),
])
@pytest.mark.parametrize("suffix", [(), ("logs",)])
async def test_a_run_id_with_a_nul_byte_or_5000_characters_is_a_400(api, run_id, expected, suffix):
    status, body = await api("GET", "flow-runs", run_id, *suffix)

    assert_refused(status, body, expected)


async def test_cancelling_a_run_id_of_5000_characters_is_a_400(api):
    status, body = await api("POST", "flow-runs", LONG, "cancel")

    assert_refused(status, body, "run id may have at most 200 characters")


@pytest.mark.parametrize("path", [("flow-runs",), ("notebooks", "register")])
async def test_json_nested_100000_deep_is_a_400(api, path):
    status, body = await api("POST", *path, raw_body=DEEP)

    assert_refused(status, body, "nested too deeply", "at most 32 levels")


async def test_a_body_nested_just_beyond_the_limit_is_refused_and_one_within_it_is_accepted(api):
    flow_id = register_hello_flow()
    within = json.loads("[" * 30 + "]" * 30)  # the body, parameters and 30 lists: 32 levels

    too_deep = await api("POST", "flow-runs", body={"flow_id": flow_id, "parameters": {"people": [within]}})
    accepted = await api("POST", "flow-runs", body={"flow_id": flow_id, "parameters": {"people": within}})

    assert_refused(*too_deep, "nested too deeply")
    assert accepted[0] == 201


async def test_a_body_over_one_megabyte_is_refused_with_413(api):
    huge = json.dumps({"flow_id": "f", "parameters": {"people": ["x" * 1000] * 1100}}).encode()

    status, body = await api("POST", "flow-runs", raw_body=huge)

    assert_refused(status, body, "the request body may have at most 1000000 bytes, got 11", code=413)


@pytest.mark.parametrize("field,value,expected", [
    ("flow_id", LONG, "'flow_id' may have at most 200 characters, got 5000"),
    ("flow_id", "f\x00", "'flow_id' must not contain control characters"),
    ("run_name", LONG, "'run_name' may have at most 200 characters"),
    ("run_name", "a\nb", "'run_name' must not contain control characters"),
    ("labels", [LONG], "'labels' must be a list of at most 100 strings of 1 to 200 characters"),
    ("labels", ["gpu"] * 101, "'labels' must be a list of at most 100 strings of 1 to 200 characters"),
    ("parameters", {LONG: 1}, "parameter names may have at most 200 characters"),
])
async def test_oversized_or_binary_fields_of_a_run_request_are_a_400(api, field, value, expected):
    flow_id = register_hello_flow()

    status, body = await api("POST", "flow-runs", body={"flow_id": flow_id, field: value})

    assert_refused(status, body, expected)


@pytest.mark.parametrize("field,value,expected", [
    ("path", "reports/a\x00b.ipynb", "'path' must not contain control characters, got 'reports/a\\x00b.ipynb'"),
    ("path", LONG + ".ipynb", "'path' may have at most 1024 characters, got 5006"),
    ("path", "/".join(["y" * 300] * 3) + ".ipynb", "'path' has a name longer than 255 characters"),
    ("output_dir", "out\x00", "'output_dir' must not contain control characters"),
    ("output_dir", LONG, "'output_dir' may have at most 1024 characters"),
    ("output_dir", "z" * 300, "'output_dir' has a name longer than 255 characters"),
    ("project", LONG, "'project' may have at most 200 characters"),
    ("name", "n\x00", "'name' must not contain control characters"),
])
async def test_nul_bytes_and_5000_character_paths_in_a_register_request_are_a_400(api, jp_root_dir, field, value,
                                                                                  expected):
    write_notebook(jp_root_dir / "reports" / "greet.ipynb", 'name = "World"', "print(name)")
    request = {"path": "reports/greet.ipynb", "project": "reports", field: value}

    status, body = await api("POST", "notebooks", "register", body=request)

    assert_refused(status, body, expected)


@pytest.mark.parametrize("path,body,expected", [
    (("flow-runs",), {"flow_id": "f", "parameter": {"n": 1}},
     "unknown field 'parameter' in the request body; accepted fields: flow_id, parameters, labels, run_name, run_config"),
    (("notebooks", "register"), {"path": "a.ipynb", "project": "p", "output": "runs"},
     "unknown field 'output' in the request body; accepted fields: path, project, name, output_dir"),
])
async def test_a_misspelt_body_field_is_a_400_naming_the_accepted_ones(api, backend, path, body, expected):
    status, answer = await api("POST", *path, body=body)

    assert_refused(status, answer, expected)
    assert backend.list_flow_runs() == []
