"""``jupyter-flows concurrency-limit set|get|delete`` and ``jupyter-flows get agents``, as a user types them."""

from __future__ import annotations

import json

import pytest
from cli_helpers import assert_one_line_error, jf

from jupyter_flows.backend import Backend


def test_a_tag_limit_is_set_shown_as_json_and_deleted():
    done = jf("concurrency-limit", "set", "db", "2")
    assert done.stdout == "Concurrency limit of tag 'db' set to 2 (0 in use now).\n"
    jf("concurrency-limit", "set", "prod", "1", "--label")
    shown = json.loads(jf("concurrency-limit", "get", "--json").stdout)
    assert [(x["kind"], x["name"], x["limit"], x["in_use"]) for x in shown] == [("label", "prod", 1, 0),
                                                                             ("tag", "db", 2, 0)]
    assert json.loads(jf("concurrency-limit", "get", "prod", "--label", "--json").stdout)[0]["limit"] == 1
    assert jf("concurrency-limit", "delete", "db").returncode == 0
    assert_one_line_error(jf("concurrency-limit", "get", "db"), 1, "no concurrency limit on tag 'db'")


@pytest.mark.parametrize("bad", ["-1", "1.5", "many"])
def test_a_negative_or_non_integer_limit_is_a_one_line_error_naming_it(bad):
    assert_one_line_error(jf("concurrency-limit", "set", "db", bad), 1, f"got {bad!r}", "whole number >= 0")
    assert Backend().list_concurrency_limits() == []


def test_get_agents_shows_each_agents_host_labels_and_runs_in_flight():
    backend = Backend()
    backend.register_agent("agent-a", "host-a", ["gpu", "host-a"])
    backend.register_agent("agent-b", "host-b", ["host-b"])
    backend.agent_heartbeat("agent-a", 3)
    backend.agent_stopped("agent-b")
    live = json.loads(jf("get", "agents", "--json").stdout)
    assert [(a["id"], a["host"], a["labels"], a["runs_in_flight"]) for a in live] == [
        ("agent-a", "host-a", ["gpu", "host-a"], 3)]
    everyone = jf("get", "agents", "--all").stdout
    assert "host-a" in everyone and "host-b" in everyone and "gpu, host-a" in everyone
