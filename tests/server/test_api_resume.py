"""``POST flow-runs/<id>/resume`` on a real Jupyter server: a Paused run is approved and scheduled again."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "agent"))  # agent_helpers: registering a flow file

from agent_helpers import register_file, write_flow_file

from jupyter_flows.agent.execute import execute_flow_run

FLOW = '''
from jupyter_flows import Flow, task, triggers


@task
def prepare():
    return 1


@task(trigger=triggers.manual_only)
def publish(value):
    return value + 1


with Flow("needs approval") as flow:
    publish(prepare())
'''


def _paused_run(backend, tmp_path) -> str:
    flow = register_file(backend, write_flow_file(tmp_path, FLOW, "approval.py"))
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Paused"
    return run_id


async def test_resume_approves_a_paused_run_and_it_then_succeeds(api, backend, tmp_path):
    run_id = _paused_run(backend, tmp_path)
    status, body = await api("GET", "flow-runs", run_id)
    assert status == 200 and body["state"] == "Paused" and "'publish'" in body["state_message"]

    status, body = await api("POST", "flow-runs", run_id, "resume")
    assert status == 200 and body["id"] == run_id and body["state"] == "Scheduled"
    assert execute_flow_run(run_id, backend) == "Success"
    assert {t["task_name"]: t["state"] for t in backend.get_task_runs(run_id)} == {
        "prepare": "Success", "publish": "Success"}


async def test_resume_of_a_run_that_is_not_paused_is_refused_naming_its_state(api, backend, tmp_path):
    run_id = _paused_run(backend, tmp_path)
    await api("POST", "flow-runs", run_id, "resume")
    status, body = await api("POST", "flow-runs", run_id, "resume")
    assert status == 409 and "is Scheduled, not Paused" in body["message"]
    status, body = await api("POST", "flow-runs", "no-such-run", "resume")
    assert status == 404 and "no flow run with id 'no-such-run'" in body["message"]
