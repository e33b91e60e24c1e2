"""The backend's tests again, on a real PostgreSQL server: the SQL is the same for both databases.

The test functions are the SQLite ones, imported; only the ``backend``
fixture differs: each test gets a fresh PostgreSQL database, and
``JUPYTER_FLOWS_BACKEND_URL`` points every process of the test (agents'
claimers included) at it. Tests of SQLite's own machinery (the database
file, WAL, read-only and locked files, BEGIN IMMEDIATE) stay SQLite-only.
"""

from __future__ import annotations

import pytest

from test_backend_agents import *  # noqa: F401,F403
from test_backend_claim import *  # noqa: F401,F403
from test_backend_client import *  # noqa: F401,F403
from test_backend_flow_runs import *  # noqa: F401,F403
from test_backend_flows import *  # noqa: F401,F403
from test_backend_infrastructure import *  # noqa: F401,F403
from test_backend_limits import *  # noqa: F401,F403
from test_backend_names import *  # noqa: F401,F403
from test_backend_races import *  # noqa: F401,F403
from test_backend_recorder import *  # noqa: F401,F403
from test_backend_register import *  # noqa: F401,F403
from test_backend_task_runs_and_logs import *  # noqa: F401,F403

# The one PostgreSQL harness; its backend fixture replaces the SQLite one for every imported test.
from postgres_server import postgres_server, postgresql_backend as backend  # noqa: E402,F401

pytestmark = pytest.mark.slow

# SQLite's own machinery, checked in the SQLite modules: a locked or read-only database file, and
# SQLite's BEGIN IMMEDIATE (PostgreSQL's transactions begin implicitly; the batches are checked below).
del test_a_backend_locked_during_the_run_loses_nothing
del test_a_locked_backend_delays_the_records_not_the_flow
del test_a_backend_that_stays_unwritable_fails_the_end_of_the_run_loudly
del test_a_batch_of_a_thousand_task_runs_is_one_transaction_and_two_executemanys
del test_a_batch_of_log_lines_is_one_transaction_and_two_executemanys


def test_the_backend_really_is_postgresql(backend):
    assert backend.url.startswith("postgresql+psycopg://")
    assert backend.engine.dialect.name == "postgresql"


def test_a_batch_of_task_runs_and_log_lines_is_one_executemany_each(backend, run):
    children = [{"task_slug": "say_hello-1", "task_name": "say_hello", "map_index": i, "state": "Success",
                 "attempts": 1, "start_time": 1.0, "end_time": 2.0} for i in range(1000)]
    with statements(backend) as seen:
        assert backend.write_task_runs(run["id"], children) == 1000
        backend.write_logs(run["id"], [{"message": f"line {i}", "level": "INFO"} for i in range(1000)])
    assert [s for s in seen if s[0].startswith("INSERT")] == [("INSERT INTO task_runs", True),
                                                               ("INSERT INTO logs", True)]
    assert len(backend.get_task_runs(run["id"])) == 1000
    assert len(backend.get_logs(run["id"])) == 1000
