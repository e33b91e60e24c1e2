"""The API asks the server's authorizer about resource ``jupyter_flows``: a read-only user reads but cannot write."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer

from server_helpers import register_hello_flow

pytestmark = pytest.mark.slow


class ReadOnlyFlows(Authorizer):
    """Allows everything except writing to the jupyter_flows resource."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return not (resource == "jupyter_flows" and action == "write")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flows": True}, "authorizer_class": ReadOnlyFlows},
            "JupyterFlows": {"agent": "off"}}


async def test_a_user_allowed_only_to_read_flows_lists_runs_but_cannot_start_or_cancel_them(api, backend):
    flow_id = register_hello_flow()
    run = backend.create_flow_run(flow_id)

    read_status, runs = await api("GET", "flow-runs")
    start_status, start = await api("POST", "flow-runs", body={"flow_id": flow_id})
    cancel_status, _ = await api("POST", "flow-runs", run["id"], "cancel")

    assert read_status == 200 and [r["id"] for r in runs["flow_runs"]] == [run["id"]]
    assert start_status == 403 and "write on resource: jupyter_flows" in start["message"]
    assert cancel_status == 403
    assert backend.get_flow_run(run["id"])["state"] == "Scheduled"
    assert len(backend.list_flow_runs()) == 1
