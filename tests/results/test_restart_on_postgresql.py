"""Restart through a real PostgreSQL backend: result locations recorded, the run restarted once, refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "backend"))  # postgres_server: the one PostgreSQL harness

from postgres_server import postgres_server, postgresql_backend as pg_backend  # noqa: F401
from test_restart_through_the_backend import _executions, _registered

from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.exceptions import RestartError

pytestmark = pytest.mark.slow


def test_a_failed_run_on_postgresql_restarts_from_its_recorded_result_locations(tmp_path, pg_backend):
    assert pg_backend.engine.dialect.name == "postgresql"
    run_id = pg_backend.create_flow_run(flow_id=_registered(pg_backend, tmp_path)["id"])["id"]
    assert execute_flow_run(run_id, pg_backend) == "Failed"
    children = [t for t in pg_backend.get_task_runs(run_id) if t["task_name"] == "square" and t["map_index"] >= 0]
    assert sum(t["result_location"] is not None for t in children) == 98  # the two failed have none
    (tmp_path / "fixed").touch()
    pg_backend.restart_flow_run(run_id)
    with pytest.raises(RestartError, match="is still Scheduled"):
        pg_backend.restart_flow_run(run_id)
    assert execute_flow_run(run_id, pg_backend) == "Success"
    assert sorted(_executions(tmp_path)[100:]) == ["17", "83", "total"]
    with pytest.raises(RestartError, match="already succeeded"):
        pg_backend.restart_flow_run(run_id)
