"""Names the code accepts are names both backends store: one limit per kind, checked before the database."""

from __future__ import annotations

import pytest

from jupyter_flows import Flow, task
from jupyter_flows.backend.names import NAME_LIMITS
from jupyter_flows.exceptions import NameTooLongError

from backend_helpers import register_plain_flow


def _flow_with_task_named(name: str) -> Flow:
    @task(name=name)
    def work():
        return 1

    with Flow("long-names") as flow:
        work()
    return flow


def test_a_project_name_at_the_limit_is_stored_and_one_longer_is_refused_naming_both_lengths(backend):
    limit = NAME_LIMITS["project"]
    assert backend.create_project("p" * limit)["name"] == "p" * limit
    with pytest.raises(NameTooLongError, match=rf"a project name may have at most {limit} characters, got {limit + 1}"):
        backend.create_project("p" * (limit + 1))


def test_a_run_name_at_the_limit_is_stored_and_one_longer_is_refused(backend):
    flow = register_plain_flow(backend)
    limit = NAME_LIMITS["flow run"]
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "hi"}, run_name="r" * limit)
    assert backend.get_flow_run(run["id"])["name"] == "r" * limit
    with pytest.raises(NameTooLongError, match=rf"a flow run name may have at most {limit} characters, got 250"):
        backend.create_flow_run(flow["id"], parameters={"greeting": "hi"}, run_name="r" * 250)


def test_a_flow_with_a_300_character_task_name_is_refused_at_registration(backend, tutorial):
    with pytest.raises(NameTooLongError, match=r"flow 'long-names' cannot be registered: a task name may have at "
                                               r"most 200 characters, got 300"):
        _flow_with_task_named("t" * 300).register(project_name="tutorial")
    assert backend.list_flows("tutorial") == []


def test_a_task_name_whose_slug_would_not_fit_is_refused_naming_the_slug(backend, tutorial):
    with pytest.raises(NameTooLongError, match=r"a task slug name may have at most 200 characters, got 202"):
        _flow_with_task_named("t" * 200).register(project_name="tutorial")


def test_the_longest_task_name_that_registers_is_recorded_by_its_runs(backend, tutorial):
    name = "t" * (NAME_LIMITS["task slug"] - 2)
    flow_id = _flow_with_task_named(name).register(project_name="tutorial")
    [described] = backend.get_flow(flow_id)["graph"]["tasks"]
    run = backend.create_flow_run(flow_id)
    backend.write_task_runs(run["id"], [{"task_slug": described["slug"], "task_name": name, "state": "Success"}])
    assert [t["task_name"] for t in backend.get_task_runs(run["id"])] == [name]
