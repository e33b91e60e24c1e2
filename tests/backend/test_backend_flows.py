"""Projects and flow versions, through the Backend API."""

from __future__ import annotations

import pytest

from jupyter_flows.exceptions import NotFoundError

from backend_helpers import register_plain_flow


def test_create_project_is_idempotent_and_lists_flow_counts(backend):
    first = backend.create_project("tutorial", "Getting started")
    again = backend.create_project("tutorial")
    assert again["id"] == first["id"] and again["description"] == "Getting started"
    register_plain_flow(backend, "a")
    register_plain_flow(backend, "b")
    backend.create_project("empty")
    assert [(p["name"], p["flow_count"]) for p in backend.list_projects()] == [("empty", 0), ("tutorial", 2)]
    assert backend.get_project("tutorial")["id"] == first["id"]


@pytest.mark.parametrize("bad", ["", "   ", None, 7, "x" * 201])
def test_a_project_needs_a_reasonable_name(backend, bad):
    with pytest.raises(ValueError, match="project"):
        backend.create_project(bad)


def test_unknown_project_error_lists_existing_projects_and_how_to_create_one(backend):
    backend.create_project("tutorial")
    backend.create_project("etl")
    with pytest.raises(NotFoundError) as error:
        backend.get_project("tutorail")
    message = str(error.value)
    assert "project 'tutorail' does not exist; existing projects: etl, tutorial" in message
    assert "Client().create_project('tutorail')" in message
    assert "jupyter-flows create project tutorail" in message


def test_registering_the_same_content_keeps_the_version(backend):
    first = register_plain_flow(backend)
    again = register_plain_flow(backend)
    assert first["new_version"] and not again["new_version"]
    assert (again["id"], again["version"]) == (first["id"], 1)
    assert len(backend.list_flows(include_archived=True)) == 1


def test_changed_content_is_a_new_version_and_archives_the_older_ones(backend):
    v1 = register_plain_flow(backend, content_hash="one")
    v2 = register_plain_flow(backend, content_hash="two")
    v3 = register_plain_flow(backend, content_hash="three")
    assert [v["version"] for v in (v1, v2, v3)] == [1, 2, 3]
    assert len({v["id"] for v in (v1, v2, v3)}) == 3
    assert {v["version_group_id"] for v in (v1, v2, v3)} == {v1["version_group_id"]}
    assert [f["version"] for f in backend.list_flows()] == [3]
    everything = backend.list_flows(include_archived=True)
    assert [(f["version"], f["archived"]) for f in everything] == [(3, False), (2, True), (1, True)]
    assert backend.get_flow(v1["id"])["archived"] is True


def test_a_matching_idempotency_key_keeps_the_version_even_if_content_changed(backend):
    first = register_plain_flow(backend, content_hash="one", idempotency_key="release-1")
    same = register_plain_flow(backend, content_hash="two", idempotency_key="release-1")
    assert same["id"] == first["id"] and not same["new_version"]
    newer = register_plain_flow(backend, content_hash="two", idempotency_key="release-2")
    assert newer["version"] == 2


def test_flows_of_the_same_name_in_two_projects_are_separate_groups(backend):
    a = register_plain_flow(backend, "etl", project="team-a")
    b = register_plain_flow(backend, "etl", project="team-b")
    assert a["version_group_id"] != b["version_group_id"]
    assert a["version"] == b["version"] == 1
    with pytest.raises(NotFoundError, match=r"flow 'etl' exists in several projects \(team-a, team-b\); "
                                            "give project_name"):
        backend.get_flow_by_name("etl")
    assert backend.get_flow_by_name("etl", project_name="team-b")["id"] == b["id"]
    assert [f["project_name"] for f in backend.list_flows(project_name="team-a")] == ["team-a"]


def test_get_flow_by_name_returns_the_latest_or_a_given_version(backend):
    register_plain_flow(backend, content_hash="one")
    v2 = register_plain_flow(backend, content_hash="two")
    assert backend.get_flow_by_name("plain")["id"] == v2["id"]
    assert backend.get_flow_by_name("plain", version=1)["version"] == 1
    with pytest.raises(NotFoundError, match="flow 'plain' has no version 9; its versions: 1, 2"):
        backend.get_flow_by_name("plain", version=9)


def test_unknown_flow_name_lists_registered_flows(backend):
    register_plain_flow(backend, "hello-flow")
    register_plain_flow(backend, "etl")
    with pytest.raises(NotFoundError, match="no flow named 'helo-flow'; registered flows: 'etl', 'hello-flow'"):
        backend.get_flow_by_name("helo-flow")
    with pytest.raises(NotFoundError, match="no flow named 'x' in project 'tutorial'"):
        backend.get_flow_by_name("x", project_name="tutorial")
    with pytest.raises(NotFoundError, match="no flow with id 'nope'"):
        backend.get_flow("nope")


def test_registering_into_a_missing_project_fails_and_records_nothing(backend):
    with pytest.raises(NotFoundError, match="project 'nowhere' does not exist; existing projects: none yet"):
        backend.register_flow("nowhere", "f", storage=None, run_config=None, executor=None, parameters=[],
                              graph=None, labels=[], content_hash="h")
    assert backend.list_flows(include_archived=True) == []


def test_flow_dicts_hold_what_was_registered(backend):
    storage = {"type": "Local", "labels": ["host"], "flows": {"plain": "/x.flow"}}
    flow = register_plain_flow(backend, storage=storage, location="/x.flow", labels=["b", "a", "a"],
                               run_config={"type": "UniversalRun", "env": {}, "labels": []},
                               executor={"type": "LocalExecutor"})
    stored = backend.get_flow(flow["id"])
    assert stored["storage"] == storage and stored["location"] == "/x.flow"
    assert stored["labels"] == ["a", "b"]
    assert stored["executor"] == {"type": "LocalExecutor"}
    assert stored["parameters"][1] == {"name": "greeting", "default": None, "required": True}
    assert stored["project_name"] == "tutorial"
