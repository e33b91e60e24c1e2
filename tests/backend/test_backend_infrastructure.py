"""Where a run runs (its container or Kubernetes Job) is a column of the run: migration 7, set and read."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from jupyter_flows import Flow, task
from jupyter_flows.backend import Backend, schema
from jupyter_flows.exceptions import NotFoundError


@task
def noop():
    pass


def test_migration_7_adds_the_infrastructure_of_runs_to_a_backend_made_before_it(backend):
    backend.create_project("p")
    flow_id = Flow("old", tasks=[noop]).register(project_name="p")
    old_run = backend.create_flow_run(flow_id=flow_id)
    with backend.engine.begin() as conn:  # back to what the backend had before migration 7
        conn.execute(text("ALTER TABLE flow_runs DROP COLUMN infrastructure"))
    migration = dict((version, apply) for version, _, apply in schema.MIGRATIONS)[7]
    with backend.engine.begin() as conn:
        migration(conn)
    backend.close()

    upgraded = Backend()
    assert upgraded.get_flow_run(old_run["id"])["infrastructure"] is None
    upgraded.set_flow_run_infrastructure(old_run["id"], "Job default/jupyter-flows-old-1234abcd")
    assert upgraded.get_flow_run(old_run["id"])["infrastructure"] == "Job default/jupyter-flows-old-1234abcd"
    assert [r["infrastructure"] for r in upgraded.list_flow_runs()] == ["Job default/jupyter-flows-old-1234abcd"]
    upgraded.close()


def test_recording_the_infrastructure_of_an_unknown_run_names_it(backend):
    with pytest.raises(NotFoundError, match="no-such-run"):
        backend.set_flow_run_infrastructure("no-such-run", "container c")
