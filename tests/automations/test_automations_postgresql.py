"""The automation tests that touch the backend, again on a real PostgreSQL server (same SQL, other database).

Only the ``backend`` fixture differs: each test gets a fresh database and
``JUPYTER_FLOWS_BACKEND_URL`` points every process of the test (agents, the
CLI) at it. Tests that read the SQLite file itself stay SQLite-only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))  # the PostgreSQL fixture's module

# The one PostgreSQL harness; its backend fixture replaces the SQLite one for every imported test.
from postgres_server import postgres_server, postgresql_backend as backend  # noqa: E402,F401
from test_flows_of_flows import (  # noqa: E402,F401
    registered, test_a_parent_flow_runs_a_child_with_parameters_and_gets_its_task_result,
    test_a_result_the_child_did_not_keep_is_named_with_those_it_kept, test_an_ordinary_run_keeps_no_results,
    test_flows_that_start_each_other_stop_at_the_depth_limit,
)
from test_secrets import (  # noqa: E402,F401
    test_a_backend_secret_needs_its_key, test_secret_delete_removes_it_and_an_unknown_one_is_named,
)
from test_stored_notifications import (  # noqa: E402,F401
    test_a_webhook_that_fails_leaves_the_recorded_state_and_warns_in_the_run_log,
    test_stored_notifications_go_only_on_their_states_and_survive_a_new_version,
)

pytestmark = pytest.mark.slow


def test_the_backend_really_is_postgresql(backend):
    assert backend.engine.dialect.name == "postgresql"
