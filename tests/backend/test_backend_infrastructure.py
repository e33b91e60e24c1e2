"""Where a run runs (its container or Kubernetes Job) is a column of the run: migration 7, set and read."""

from __future__ import annotations

import pytest

from jupyter_flows.backend import Backend
from jupyter_flows.exceptions import NotFoundError

from backend_helpers import migrate_a_backend_made_before


def test_migration_7_adds_the_infrastructure_of_runs_to_a_backend_made_before_it(backend):
    _, old_run = migrate_a_backend_made_before(backend, 7, ["ALTER TABLE flow_runs DROP COLUMN infrastructure"])

    upgraded = Backend()
    assert upgraded.get_flow_run(old_run["id"])["infrastructure"] is None
    upgraded.set_flow_run_infrastructure(old_run["id"], "Job default/jupyter-flows-old-1234abcd")
    assert upgraded.get_flow_run(old_run["id"])["infrastructure"] == "Job default/jupyter-flows-old-1234abcd"
    assert [r["infrastructure"] for r in upgraded.list_flow_runs()] == ["Job default/jupyter-flows-old-1234abcd"]
    upgraded.close()


def test_recording_the_infrastructure_of_an_unknown_run_names_it(backend):
    with pytest.raises(NotFoundError, match="no-such-run"):
        backend.set_flow_run_infrastructure("no-such-run", "container c")
