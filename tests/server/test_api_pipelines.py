"""Several notebooks under the server's root registered as one flow (the Lab's "Create flow from notebooks")."""

from __future__ import annotations

import os

import pytest

from server_helpers import wait_for, write_notebook

pytestmark = pytest.mark.slow


@pytest.fixture
def two_notebooks(jp_root_dir):
    write_notebook(jp_root_dir / "etl" / "extract.ipynb", 'rows = 3',
                   'open("extracted.txt", "w").write(str(rows))')
    write_notebook(jp_root_dir / "etl" / "report.ipynb", 'title = "Report"',
                   'print(title, open("extracted.txt").read())')


async def test_a_two_notebook_pipeline_registers_and_runs_in_order_keeping_each_executed_copy(
        api, two_notebooks, agent, jp_root_dir, backend):
    status, flow = await api("POST", "notebooks", "pipeline", body={
        "project": "etl", "name": "daily-etl",
        "steps": [{"path": "etl/extract.ipynb", "parameters": {"rows": 7}}, {"path": "etl/report.ipynb"}]})
    assert status == 201, flow
    assert flow["name"] == "daily-etl" and flow["storage_kind"] == "Local"

    _, run = await api("POST", "flow-runs", body={"flow_id": flow["id"]})

    async def finished():
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail if detail["finished"] else None

    detail = await wait_for(finished, timeout=180, what="the pipeline run to finish")
    assert detail["state"] == "Success", detail["state_message"]
    tasks = sorted(detail["task_runs"], key=lambda t: t["start_time"])
    assert [t["task_name"] for t in tasks] == ["extract", "report"]
    assert (jp_root_dir / "etl" / "extracted.txt").read_text() == "7"
    executed = os.listdir(os.path.join(os.environ["JUPYTER_FLOWS_HOME"], "runs", run["id"]))
    assert sorted(name for name in executed if name.endswith(".ipynb")) == ["extract-1.ipynb", "report-1.ipynb"]


async def test_a_pipeline_step_outside_the_root_or_in_a_cycle_is_refused(api, two_notebooks):
    outside, body = await api("POST", "notebooks", "pipeline", body={
        "project": "etl", "name": "bad", "steps": [{"path": "../x.ipynb"}]})
    assert outside == 403 and "outside the server's root directory" in body["message"]

    cycle, body = await api("POST", "notebooks", "pipeline", body={
        "project": "etl", "name": "bad", "steps": [{"path": "etl/extract.ipynb", "after": [1]},
                                                   {"path": "etl/report.ipynb"}]})
    assert cycle == 400 and "cycle" in body["message"].lower()

    empty, body = await api("POST", "notebooks", "pipeline", body={"project": "etl", "name": "bad", "steps": []})
    assert empty == 400 and "'steps' must be a list of 1 to 100 notebooks" in body["message"]


async def test_a_run_lists_the_child_runs_it_started(api, backend):
    from server_helpers import register_hello_flow

    flow_id = register_hello_flow()
    parent = backend.create_flow_run(flow_id=flow_id)
    child = backend.create_flow_run(flow_id=flow_id, parent_flow_run_id=parent["id"])

    _, listed = await api("GET", "flow-runs", parent["id"], "children")
    _, detail = await api("GET", "flow-runs", child["id"])

    assert [c["id"] for c in listed["child_flow_runs"]] == [child["id"]]
    assert detail["parent_flow_run_id"] == parent["id"]
