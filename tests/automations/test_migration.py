"""Migration 4 upgrades a backend made before it: the new tables, and the parent column on old flow runs."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import inspect

from jupyter_flows.backend import Backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))  # backend_helpers: the migration helper
from backend_helpers import migrate_a_backend_made_before  # noqa: E402


def test_migration_4_upgrades_a_backend_made_before_it_and_keeps_its_runs(backend):
    flow_id, old_run = migrate_a_backend_made_before(backend, 4, [
        "DROP INDEX ix_flow_runs_parent",
        "ALTER TABLE flow_runs DROP COLUMN parent_flow_run_id",
        *(f"DROP TABLE {table}" for table in ("secrets", "notifications", "task_run_results")),
    ])

    upgraded = Backend()

    assert upgraded.get_flow_run(old_run["id"])["parent_flow_run_id"] is None
    child = upgraded.create_flow_run(flow_id=flow_id, parent_flow_run_id=old_run["id"])
    assert [c["id"] for c in upgraded.child_flow_runs(old_run["id"])] == [child["id"]]
    assert {"secrets", "notifications", "task_run_results"} <= set(inspect(upgraded.engine).get_table_names())
    upgraded.close()
