"""``POST flow-runs/<id>/restart`` on a real Jupyter server: a failed run is scheduled again; refusals say why."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "agent"))  # agent_helpers: registering a flow file

from agent_helpers import register_file, write_flow_file

from jupyter_flows.agent.execute import execute_flow_run

FLOW = '''
from pathlib import Path
from jupyter_flows import Flow, task


@task
def once():
    if not Path({marker!r}).exists():
        raise RuntimeError("not fixed yet")
    return 1


with Flow("fixable") as flow:
    once()
'''


def _failed_run(backend, tmp_path) -> str:
    flow = register_file(backend, write_flow_file(tmp_path, FLOW.format(marker=str(tmp_path / "fixed")), "f.py"))
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Failed"
    return run_id


async def test_restart_schedules_a_failed_run_again_under_the_same_id(api, backend, tmp_path):
    run_id = _failed_run(backend, tmp_path)
    status, body = await api("POST", "flow-runs", run_id, "restart")
    assert status == 200 and body["id"] == run_id and body["state"] == "Scheduled"
    (tmp_path / "fixed").touch()
    assert execute_flow_run(run_id, backend) == "Success"
    status, body = await api("POST", "flow-runs", run_id, "restart")
    assert status == 409 and "already succeeded: there is nothing to restart" in body["message"]


async def test_restart_of_a_run_still_scheduled_is_a_conflict_and_of_an_unknown_id_a_404(api, backend, tmp_path):
    run_id = _failed_run(backend, tmp_path)
    await api("POST", "flow-runs", run_id, "restart")
    status, body = await api("POST", "flow-runs", run_id, "restart")
    assert status == 409 and "is still Scheduled" in body["message"]
    status, body = await api("POST", "flow-runs", "no-such-run", "restart")
    assert status == 404 and "no flow run with id 'no-such-run'" in body["message"]
