"""Migration 4 upgrades a backend made before it: the new tables, and the parent column on old flow runs."""

from __future__ import annotations

from sqlalchemy import inspect, text

from jupyter_flows import Flow, task
from jupyter_flows.backend import Backend, schema


@task
def noop():
    pass


def test_migration_4_upgrades_a_backend_made_before_it_and_keeps_its_runs(backend):
    backend.create_project("p")
    flow_id = Flow("old", tasks=[noop]).register(project_name="p")
    old_run = backend.create_flow_run(flow_id=flow_id)
    with backend.engine.begin() as conn:  # back to what the backend had before migration 4
        conn.execute(text("DROP INDEX ix_flow_runs_parent"))
        conn.execute(text("ALTER TABLE flow_runs DROP COLUMN parent_flow_run_id"))
        for table in ("secrets", "notifications", "task_run_results"):
            conn.execute(text(f"DROP TABLE {table}"))
    migration = dict((version, apply) for version, _, apply in schema.MIGRATIONS)[4]
    with backend.engine.begin() as conn:
        migration(conn)
    backend.close()

    upgraded = Backend()

    assert upgraded.get_flow_run(old_run["id"])["parent_flow_run_id"] is None
    child = upgraded.create_flow_run(flow_id=flow_id, parent_flow_run_id=old_run["id"])
    assert [c["id"] for c in upgraded.child_flow_runs(old_run["id"])] == [child["id"]]
    assert {"secrets", "notifications", "task_run_results"} <= set(inspect(upgraded.engine).get_table_names())
    upgraded.close()
