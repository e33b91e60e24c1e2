"""Concurrency limits through the REST API of a real Jupyter server: set, list, refuse, delete."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


async def test_a_limit_set_through_the_api_is_listed_with_its_slots_in_use_and_deleted(api):
    status, body = await api("POST", "concurrency-limits", body={"name": "db", "limit": 2})
    assert status == 200 and (body["kind"], body["name"], body["limit"], body["in_use"]) == ("tag", "db", 2, 0)
    await api("POST", "concurrency-limits", body={"name": "prod", "limit": 1, "kind": "label"})
    _, listed = await api("GET", "concurrency-limits")
    assert [(x["kind"], x["name"]) for x in listed["limits"]] == [("label", "prod"), ("tag", "db")]
    status, body = await api("DELETE", "concurrency-limits", "tag", "db")
    assert status == 200 and body == {"deleted": {"kind": "tag", "name": "db"}}
    status, body = await api("DELETE", "concurrency-limits", "tag", "db")
    assert status == 404 and "no concurrency limit on tag 'db'" in body["message"]


@pytest.mark.parametrize("limit", [-1, 1.5, "two", None])
async def test_a_negative_or_non_integer_limit_is_a_400_naming_it(api, limit):
    status, body = await api("POST", "concurrency-limits", body={"name": "db", "limit": limit})
    assert status == 400 and f"got {limit!r}" in body["message"]
    _, listed = await api("GET", "concurrency-limits")
    assert listed["limits"] == []
