"""The SQLite file under faults: deleted while in use, or full. Each is a clear BackendError, never silence."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import event

from jupyter_flows.backend import Backend
from jupyter_flows.exceptions import BackendError, BackendGoneError

from backend_helpers import register_plain_flow


def _database_files(backend) -> list[str]:
    path = backend.engine.url.database
    return [p for p in (path, f"{path}-wal", f"{path}-shm") if os.path.exists(p)]


def test_a_database_file_deleted_while_in_use_is_an_error_naming_it(backend):
    backend.create_project("tutorial")
    path = os.path.realpath(backend.engine.url.database)
    for file in _database_files(backend):
        os.remove(file)
    with pytest.raises(BackendGoneError, match=rf"its database file {path} was deleted while in use"):
        backend.list_projects()
    with pytest.raises(BackendGoneError):
        backend.create_project("another")


def test_a_database_file_replaced_while_in_use_is_an_error_too(backend, tmp_path):
    backend.create_project("tutorial")
    path = backend.engine.url.database
    os.replace(_copy(path, tmp_path / "copy.db"), path)
    with pytest.raises(BackendGoneError, match="was replaced by another file while in use"):
        backend.list_projects()


def _copy(source: str, target) -> str:
    target.write_bytes(open(source, "rb").read())
    return str(target)


def test_a_full_database_is_a_backend_error_naming_the_cause_and_writes_nothing(backend):
    flow = register_plain_flow(backend)
    backend.engine.dispose()

    @event.listens_for(backend.engine, "connect")
    def _no_more_pages(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    big = {"people": ["x" * 1000] * 200, "greeting": "hi"}
    with pytest.raises(BackendError, match=r"could not create a flow run: OperationalError: database or disk is full"):
        backend.create_flow_run(flow["id"], parameters=big)
    assert backend.list_flow_runs() == []


def test_a_new_home_is_private_to_its_user_and_so_are_the_database_files(tmp_path, monkeypatch):
    home = tmp_path / "new-home"
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(home))
    previous = os.umask(0o022)  # the common default, which would give 0755 and 0644
    try:
        backend = Backend()
        backend.create_project("tutorial")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [home, *home.iterdir()]}
    backend.close()
    assert modes == {"new-home": 0o700, "backend.db": 0o600, "backend.db-wal": 0o600, "backend.db-shm": 0o600}


def test_a_process_started_for_a_run_never_creates_a_fresh_database_in_place_of_a_deleted_one(backend):
    backend.create_project("tutorial")
    path = os.path.realpath(backend.engine.url.database)
    for file in _database_files(backend):
        os.remove(file)
    run_process_backend = Backend(backend.url, create=False)  # as a warm or run process opens it
    with pytest.raises(BackendGoneError, match=rf"its database file {path} does not exist"):
        run_process_backend.list_projects()
    assert not os.path.exists(path)
    with pytest.raises(BackendGoneError, match="was deleted while in use"):
        backend.list_projects()  # the agent still names what happened, not "replaced by another file"
