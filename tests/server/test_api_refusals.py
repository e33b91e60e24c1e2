"""What the REST API refuses, and how: no token, no XSRF token, bad values, unknown ids."""

from __future__ import annotations

import json

import pytest

from server_helpers import register_hello_flow

pytestmark = pytest.mark.slow

NO_TOKEN = {"Authorization": ""}


@pytest.mark.parametrize("method,path", [
    ("GET", ("projects",)), ("GET", ("agents",)), ("GET", ("flows",)), ("GET", ("flow-runs",)), ("GET", ("flow-runs", "some-id")),
    ("GET", ("flow-runs", "some-id", "logs")), ("POST", ("flow-runs",)), ("POST", ("flow-runs", "some-id", "cancel")),
    ("POST", ("notebooks", "register")),
])
async def test_requests_without_a_token_are_refused(api, method, path):
    status, _ = await api(method, *path, headers=NO_TOKEN)

    assert status == 403


async def test_a_post_authenticated_by_cookie_needs_the_xsrf_token(http_server_client, jp_base_url, jp_auth_header,
                                                                   backend):
    """A browser's cookie alone cannot start or cancel runs: the XSRF header must match the XSRF cookie."""
    run = backend.create_flow_run(register_hello_flow())
    token = jp_auth_header["Authorization"].split()[-1]
    logged_in = await http_server_client.fetch(f"{jp_base_url}api/me?token={token}")
    login_page = await http_server_client.fetch(f"{jp_base_url}login", raise_error=False)
    set_cookies = logged_in.headers.get_list("Set-Cookie") + login_page.headers.get_list("Set-Cookie")
    cookies = "; ".join(c.split(";")[0] for c in set_cookies)
    xsrf = next(c.split("=", 1)[1] for c in cookies.split("; ") if c.startswith("_xsrf="))
    url = f"{jp_base_url}jupyter-flows/api/flow-runs/{run['id']}"

    refused = await http_server_client.fetch(f"{url}/cancel", method="POST", body="{}", headers={"Cookie": cookies},
                                             raise_error=False)
    reads = await http_server_client.fetch(url, headers={"Cookie": cookies})
    accepted = await http_server_client.fetch(f"{url}/cancel", method="POST", body="{}",
                                              headers={"Cookie": cookies, "X-XSRFToken": xsrf})

    assert refused.code == 403
    assert "_xsrf" in json.loads(refused.body)["message"]
    assert json.loads(reads.body)["state"] == "Scheduled"
    assert json.loads(accepted.body)["state"] == "Cancelled"


@pytest.mark.parametrize("path", [("flow-runs", "no-such-run"), ("flow-runs", "no-such-run", "logs")])
async def test_an_unknown_run_id_is_a_404_naming_it(api, path):
    status, body = await api("GET", *path)

    assert status == 404
    assert "no-such-run" in body["message"]


async def test_cancelling_an_unknown_run_is_a_404(api):
    status, body = await api("POST", "flow-runs", "no-such-run", "cancel")

    assert status == 404 and "no-such-run" in body["message"]


async def test_starting_a_run_of_an_unknown_flow_is_a_404(api):
    status, body = await api("POST", "flow-runs", body={"flow_id": "no-such-flow"})

    assert status == 404 and "no-such-flow" in body["message"]


async def test_starting_a_run_of_an_archived_flow_version_is_a_400_naming_the_current_one(api):
    old_version = register_hello_flow(greeting="Hello")
    new_version = register_hello_flow(greeting="Howdy")

    status, body = await api("POST", "flow-runs", body={"flow_id": old_version})

    assert status == 400
    assert "is archived" in body["message"] and new_version in body["message"]


@pytest.mark.parametrize("raw,expected", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object, got list"),
    (b'{"parameters": {}}', "'flow_id' must be a non-empty string, got null"),
    (b'{"flow_id": 7}', "'flow_id' must be a non-empty string, got 7"),
])
async def test_a_run_request_that_is_not_the_expected_json_is_a_400(api, raw, expected):
    status, body = await api("POST", "flow-runs", raw_body=raw)

    assert status == 400
    assert expected in body["message"]


async def test_parameters_and_labels_of_the_wrong_shape_are_a_400(api):
    flow_id = register_hello_flow()

    bad_parameters = await api("POST", "flow-runs", body={"flow_id": flow_id, "parameters": ["Zaphod"]})
    bad_labels = await api("POST", "flow-runs", body={"flow_id": flow_id, "labels": "gpu"})

    assert bad_parameters == (400, {"message": "'parameters' must be a JSON object of name: value, got [\"Zaphod\"]",
                                    "reason": None})
    assert bad_labels[0] == 400
    assert "'labels' must be a list of at most 100 strings of 1 to 200 characters" in bad_labels[1]["message"]
    assert bad_labels[1]["message"].endswith('got "gpu"')


async def test_a_parameter_the_flow_does_not_declare_is_a_400_naming_it_and_the_declared_ones(api):
    flow_id = register_hello_flow()

    status, body = await api("POST", "flow-runs", body={"flow_id": flow_id, "parameters": {"persons": ["Zaphod"]}})

    assert status == 400
    assert "'persons'" in body["message"] and "people" in body["message"]


@pytest.mark.parametrize("params,expected", [
    ({"limit": "ten"}, "limit must be a whole number between 1 and 500, got 'ten'"),
    ({"limit": "0"}, "limit must be a whole number between 1 and 500, got '0'"),
    ({"limit": "501"}, "limit must be a whole number between 1 and 500, got '501'"),
    ({"offset": "-1"}, "offset must be a whole number between 0 and 2147483647, got '-1'"),
    ({"state": "Done"}, "unknown flow run state 'Done'; known states: Scheduled, Submitted, Running"),
])
async def test_bad_query_values_are_a_400_naming_the_value_and_what_is_accepted(api, params, expected):
    status, body = await api("GET", "flow-runs", params=params)

    assert status == 400
    assert expected in body["message"]


async def test_a_log_cursor_that_is_not_a_number_is_a_400(api, backend):
    run = backend.create_flow_run(register_hello_flow())

    status, body = await api("GET", "flow-runs", run["id"], "logs", params={"after": "last"})

    assert status == 400 and "after must be a whole number between 0 and 2147483647, got 'last'" in body["message"]


async def test_a_parameter_value_of_the_wrong_type_is_a_400_when_the_run_is_created(api, backend):
    flow_id = register_hello_flow()

    status, body = await api("POST", "flow-runs", body={"flow_id": flow_id, "parameters": {"people": "Zaphod"}})

    assert status == 400
    assert "parameter 'people' of flow 'hello-flow' takes a list" in body["message"]
    assert "got str 'Zaphod'" in body["message"]
    assert backend.list_flow_runs() == []
