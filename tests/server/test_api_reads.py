"""Reading projects, flows, runs, task runs and logs through the REST API of a real Jupyter server."""

from __future__ import annotations

import pytest

from server_helpers import register_hello_flow, wait_for

pytestmark = pytest.mark.slow


async def test_projects_list_each_project_with_its_flow_count(api, backend):
    register_hello_flow("tutorial")
    backend.create_project("empty")

    status, body = await api("GET", "projects")

    assert status == 200
    assert [(p["name"], p["flow_count"]) for p in body["projects"]] == [("empty", 0), ("tutorial", 1)]


async def test_flows_show_parameters_with_defaults_storage_kind_and_versions(api):
    first = register_hello_flow(greeting="Hello")
    second = register_hello_flow(greeting="Howdy")  # a changed run config makes version 2

    status, body = await api("GET", "flows", params={"project": "tutorial"})

    assert status == 200
    [flow] = body["flows"]
    assert flow["id"] == second and flow["name"] == "hello-flow" and flow["version"] == 2
    assert flow["parameters"] == [{"name": "people", "default": ["Arthur", "Ford", "Marvin"], "required": False}]
    assert (flow["storage_kind"], flow["run_config_kind"], flow["executor_kind"]) == ("Local", "LocalRun",
                                                                                       "LocalDaskExecutor")
    assert [(v["id"], v["version"], v["archived"]) for v in flow["versions"]] == [(second, 2, False),
                                                                                  (first, 1, True)]


async def test_archived_flow_versions_are_listed_when_asked_for(api):
    register_hello_flow(greeting="Hello")
    register_hello_flow(greeting="Howdy")

    _, body = await api("GET", "flows", params={"archived": "true"})

    assert sorted(f["version"] for f in body["flows"]) == [1, 2]


async def test_flows_of_an_unknown_project_are_a_404_naming_the_existing_ones(api):
    register_hello_flow("tutorial")

    status, body = await api("GET", "flows", params={"project": "nope"})

    assert status == 404
    assert "'nope'" in body["message"] and "tutorial" in body["message"]


async def test_flow_runs_are_paginated_newest_first(api, backend):
    flow_id = register_hello_flow()
    created = [backend.create_flow_run(flow_id, run_name=f"run-{i}")["name"] for i in range(5)]

    _, first = await api("GET", "flow-runs", params={"flow_id": flow_id, "limit": "2"})
    _, last = await api("GET", "flow-runs", params={"flow_id": flow_id, "limit": "2", "offset": "4"})

    assert [r["name"] for r in first["flow_runs"]] == created[::-1][:2]
    assert first["has_more"] is True and first["limit"] == 2 and first["offset"] == 0
    assert [r["name"] for r in last["flow_runs"]] == [created[0]]
    assert last["has_more"] is False


async def test_flow_runs_are_filtered_by_state_and_project(api, backend):
    flow_id = register_hello_flow("tutorial")
    other = register_hello_flow("other")
    keep = backend.create_flow_run(flow_id)
    backend.cancel_flow_run(backend.create_flow_run(flow_id)["id"])
    backend.create_flow_run(other)

    _, scheduled = await api("GET", "flow-runs", params={"state": "Scheduled", "project": "tutorial"})
    _, either = await api("GET", "flow-runs", params={"state": "Scheduled,Cancelled"})

    assert [r["id"] for r in scheduled["flow_runs"]] == [keep["id"]]
    assert len(either["flow_runs"]) == 3


async def test_a_run_started_through_the_api_runs_on_an_agent_with_its_task_runs_and_log(api, agent):
    flow_id = register_hello_flow()

    status, run = await api("POST", "flow-runs", body={"flow_id": flow_id, "parameters": {"people": ["Zaphod", "Trillian"]}})
    assert status == 201 and run["state"] == "Scheduled" and run["parameters"] == {"people": ["Zaphod", "Trillian"]}

    async def finished():
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail if detail["finished"] else None

    detail = await wait_for(finished, timeout=90, what="the flow run to finish")
    assert detail["state"] == "Success", detail["state_message"]
    assert [s["state"] for s in detail["states"]][:3] == ["Scheduled", "Submitted", "Running"]
    children = sorted((t["map_index"], t["state"]) for t in detail["task_runs"] if t["task_name"] == "say_hello")
    assert children == [(-1, "Mapped"), (0, "Success"), (1, "Success")]
    assert detail["output_notebook"] is None

    _, page = await api("GET", "flow-runs", run["id"], "logs")
    messages = [line["message"] for line in page["logs"]]
    assert "Hello, Zaphod!" in messages and "Hello, Trillian!" in messages
    assert page["last_id"] == page["logs"][-1]["id"]

    middle = page["logs"][len(page["logs"]) // 2]["id"]
    _, newer = await api("GET", "flow-runs", run["id"], "logs", params={"after": str(middle)})
    assert [line["id"] for line in newer["logs"]] == [line["id"] for line in page["logs"] if line["id"] > middle]
    _, nothing = await api("GET", "flow-runs", run["id"], "logs", params={"after": str(page["last_id"])})
    assert nothing == {"logs": [], "last_id": page["last_id"], "has_more": False}


async def test_cancelling_a_scheduled_run_marks_it_cancelled(api, backend):
    run = backend.create_flow_run(register_hello_flow())

    status, cancelled = await api("POST", "flow-runs", run["id"], "cancel")

    assert status == 200 and cancelled["state"] == "Cancelled"
    assert backend.get_flow_run(run["id"])["state"] == "Cancelled"


async def test_ids_and_names_from_requests_are_data_not_sql(api, backend):
    run = backend.create_flow_run(register_hello_flow())
    injected = "x' OR '1'='1"

    _, runs = await api("GET", "flow-runs", params={"flow_id": injected})
    status, _ = await api("GET", "flow-runs", injected)
    project_status, body = await api("GET", "flows", params={"project": "tutorial'; DROP TABLE flows; --"})

    assert runs["flow_runs"] == []
    assert status == 404 and project_status == 404
    assert backend.get_flow_run(run["id"])["id"] == run["id"]
    assert len(backend.list_flows()) == 1
