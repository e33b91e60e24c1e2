"""The REST API's bounds hold on a real PostgreSQL backend, whose columns and strings are stricter than SQLite's.

PostgreSQL's INTEGER stops at 2,147,483,647 and its text refuses NUL
characters: the values at the API's bounds must reach it and work, the ones
past them must be a 400 before they reach it (never the 500 of a database error).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from server_helpers import register_hello_flow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))  # the one PostgreSQL harness
from postgres_server import postgres_server  # noqa: E402,F401

pytestmark = pytest.mark.slow

LARGEST = "2147483647"


@pytest.fixture(autouse=True)
def postgres_backend(postgres_server, monkeypatch):
    """Every process of the test, the Jupyter server's extension included, on a fresh PostgreSQL database."""
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", postgres_server.new_database())


async def test_the_largest_offset_and_log_cursor_work_on_postgresql(api, backend):
    run = backend.create_flow_run(register_hello_flow())
    backend.write_logs(run["id"], [{"message": "hello", "level": "INFO"}])

    runs = await api("GET", "flow-runs", params={"offset": LARGEST})
    logs = await api("GET", "flow-runs", run["id"], "logs", params={"after": LARGEST, "limit": "10000"})

    assert backend.engine.dialect.name == "postgresql"
    assert runs == (200, {"flow_runs": [], "limit": 50, "offset": 2147483647, "has_more": False})
    assert logs == (200, {"logs": [], "last_id": 2147483647, "has_more": False})


@pytest.mark.parametrize("path,params", [
    (("flow-runs",), {"offset": "2147483648"}),
    (("flow-runs", "RUN", "logs"), {"after": "2147483648"}),
    (("flow-runs", "a\x00b"), {}),
])
async def test_values_past_the_bounds_are_a_400_on_postgresql(api, backend, path, params):
    run = backend.create_flow_run(register_hello_flow())

    status, body = await api("GET", *(run["id"] if part == "RUN" else part for part in path), params=params)

    assert status == 400, body


async def test_a_run_name_of_200_characters_is_stored_and_201_is_refused(api, backend):
    flow_id = register_hello_flow()

    stored = await api("POST", "flow-runs", body={"flow_id": flow_id, "run_name": "r" * 200})
    refused = await api("POST", "flow-runs", body={"flow_id": flow_id, "run_name": "r" * 201})

    assert stored[0] == 201 and stored[1]["name"] == "r" * 200
    assert refused[0] == 400 and "'run_name' may have at most 200 characters" in refused[1]["message"]
