"""Fixtures of the schedule tests: a backend on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))  # postgres_server lives there

from postgres_server import PostgresServer  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def any_backend(request, jupyter_flows_home, monkeypatch):
    """The backend of this test's home, once on SQLite and once on PostgreSQL (every process uses it)."""
    from jupyter_flows.backend import Backend

    if request.param == "postgresql":
        monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", request.getfixturevalue("postgres_server").new_database())
    backend = Backend()
    yield backend
    backend.close()
