"""The database itself: created on first use, WAL and busy timeout, versioned schema, clear errors."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import insert

from jupyter_flows import config
from jupyter_flows.backend import Backend, connection, schema
from jupyter_flows.exceptions import BackendError

from backend_helpers import register_plain_flow, run_python


def test_backend_file_is_created_on_first_use_under_jupyter_flows_home(jupyter_flows_home):
    database = jupyter_flows_home / "backend.db"
    backend = Backend()
    assert backend.url == config.backend_url() == f"sqlite:///{database}"
    assert not database.exists()
    assert backend.list_projects() == []
    assert database.exists()
    assert backend.schema_version() == schema.LATEST_VERSION


def test_backend_creates_missing_directories_for_its_file(tmp_path):
    database = tmp_path / "deep" / "er" / "backend.db"
    backend = Backend(f"sqlite:///{database}")
    backend.create_project("tutorial")
    assert database.exists()


def test_every_connection_uses_wal_and_a_busy_timeout(backend):
    with backend.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == int(connection.BUSY_TIMEOUT_S * 1000)
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_schema_has_the_documented_tables_and_indexes(backend):
    backend.list_projects()
    db = sqlite3.connect(backend.engine.url.database)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "projects", "flows", "flow_runs", "flow_run_states", "task_runs", "logs"} <= tables
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"ix_flow_runs_state_created", "ix_logs_run_id", "ix_flows_project_name"} <= indexes
    plan = " ".join(str(row) for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM logs WHERE flow_run_id = ? AND id > ? ORDER BY id", ("x", 0)))
    assert "ix_logs_run_id" in plan
    plan = " ".join(str(row) for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM flow_runs WHERE state = 'Scheduled' ORDER BY created"))
    assert "ix_flow_runs_state_created" in plan


def test_opening_an_existing_backend_keeps_its_records(backend):
    register_plain_flow(backend)
    backend.close()
    again = Backend()
    assert [f["name"] for f in again.list_flows()] == ["plain"]
    assert again.schema_version() == schema.LATEST_VERSION


def test_pending_migrations_are_applied_once_in_order(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    Backend(url).create_project("before the upgrade")
    applied = []

    def add_project_notes(conn):
        applied.append("notes")
        conn.exec_driver_sql("ALTER TABLE projects ADD COLUMN notes TEXT")

    next_version = schema.LATEST_VERSION + 1
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, (next_version, "project notes", add_project_notes)])
    monkeypatch.setattr(schema, "LATEST_VERSION", next_version)
    upgraded = Backend(url)
    assert upgraded.schema_version() == next_version
    assert [p["name"] for p in upgraded.list_projects()] == ["before the upgrade"]
    Backend(url).list_projects()
    assert applied == ["notes"]


def test_a_backend_newer_than_this_package_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    backend = Backend(url)
    with backend.engine.begin() as conn:
        conn.execute(insert(schema.schema_version).values(version=schema.LATEST_VERSION + 5, applied=time.time()))
    with pytest.raises(BackendError, match=rf"schema version {schema.LATEST_VERSION + 5}, newer than this jupyter-flows understands"):
        Backend(url).list_projects()


def test_processes_starting_together_create_the_schema_once(jupyter_flows_home):
    code = ("from jupyter_flows.backend import Backend\n"
            "b = Backend()\nb.create_project('shared')\nprint(b.schema_version())")
    processes = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=os.environ.copy()) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    assert {out.strip() for out, _ in outputs} == {str(schema.LATEST_VERSION)}
    backend = Backend()
    assert [p["name"] for p in backend.list_projects()] == ["shared"]
    with backend.engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version FROM schema_version").scalars().all()
    assert versions == [v for v, _, _ in schema.MIGRATIONS]


# -- errors -----------------------------------------------------------------------------------------


def test_a_url_that_is_not_a_database_url_is_named_in_the_error():
    with pytest.raises(BackendError, match=r"backend URL 'not a url' is not a database URL.*sqlite:////"):
        Backend("not a url").list_projects()


@pytest.mark.parametrize("scheme", ["nosuchdb", "postgresql+pg8000"])
def test_a_database_without_an_installed_driver_names_the_url_and_hides_the_password(monkeypatch, scheme):
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", f"{scheme}://user:secret@dbhost/flows")
    with pytest.raises(BackendError, match="needs a database driver that is not installed") as error:
        Backend().list_projects()
    assert f"{scheme}://user:***@dbhost/flows" in str(error.value)
    assert "secret" not in str(error.value)


def test_an_unreachable_database_server_names_the_url_and_hides_the_password(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", f"postgresql+psycopg://user:secret@127.0.0.1:{port}/flows")
    with pytest.raises(BackendError) as error:
        Backend().list_projects()
    assert f"postgresql+psycopg://user:***@127.0.0.1:{port}/flows" in str(error.value)
    assert "secret" not in str(error.value)
    assert "Connection refused" in str(error.value) or "connection failed" in str(error.value)


def test_an_unreachable_database_file_names_the_url_and_the_cause(tmp_path):
    missing = tmp_path / "no such dir"
    # A directory that cannot be created: its parent is a file.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(BackendError, match=r"backend sqlite:///.*a-file/backend.db: cannot create directory"):
        Backend(f"sqlite:///{blocker / 'backend.db'}").list_projects()
    url = f"sqlite:///file:{missing / 'backend.db'}?mode=ro&uri=true"
    with pytest.raises(BackendError, match=r"could not read its schema version: OperationalError: "
                                           r"unable to open database file") as error:
        Backend(url).list_projects()
    assert "no such dir" in str(error.value)


def test_a_read_only_database_can_be_read_and_refuses_writes_without_losing_records(backend):
    flow = register_plain_flow(backend)
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.write_logs(run["id"], [{"message": "kept"}])
    backend.close()
    read_only = Backend(f"sqlite:///file:{config.home() / 'backend.db'}?mode=ro&uri=true")
    assert read_only.get_flow_run(run["id"])["state"] == "Scheduled"
    with pytest.raises(BackendError, match=r"backend sqlite:///file:.*backend.db\?mode=ro.* could not write 1 log "
                                           r"line\(s\) of flow run .*: OperationalError: attempt to write a "
                                           r"readonly database"):
        read_only.write_logs(run["id"], [{"message": "refused"}])
    with pytest.raises(BackendError, match="could not set the state of flow run"):
        read_only.set_flow_run_state(run["id"], "Running")
    assert [log["message"] for log in Backend().get_logs(run["id"])] == ["kept"]
    assert Backend().get_flow_run(run["id"])["state"] == "Scheduled"


def test_a_locked_database_fails_after_the_busy_timeout_naming_the_lock(backend, monkeypatch):
    flow = register_plain_flow(backend)
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_S", 0.2)
    impatient = Backend()
    holder = sqlite3.connect(backend.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"backend sqlite:///.* could not claim a flow run: "
                                               r"OperationalError: database is locked"):
            impatient.claim_flow_run("agent-1", [])
        assert time.monotonic() - started >= 0.2
        assert impatient.get_flow_run(run["id"])["state"] == "Scheduled"  # readers are not blocked (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert impatient.claim_flow_run("agent-1", [])["id"] == run["id"]


def test_a_writer_killed_mid_transaction_leaves_only_whole_batches(backend):
    flow = register_plain_flow(backend)
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom jupyter_flows.backend import Backend\n"
        "b = Backend()\nbatch = [{'message': 'x' * 200, 'task_slug': 't'}] * 20000\n"
        "while True:\n    b.write_logs(sys.argv[1], batch)\n    print('batch', flush=True)\n"
    ), run["id"]], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        for _ in range(3):
            assert writer.stdout.readline().strip() == "batch"
        time.sleep(0.05)  # well inside the next batch's transaction
    finally:
        writer.kill()
        writer.wait()
    db = sqlite3.connect(backend.engine.url.database)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    count, low, high = db.execute("SELECT count(*), min(id), max(id) FROM logs").fetchone()
    assert count >= 60000 and count % 20000 == 0
    assert high - low + 1 == count
    backend.write_logs(run["id"], [{"message": "after the crash"}])
    assert backend.get_logs(run["id"], after=high)[0]["message"] == "after the crash"


def test_backend_error_from_another_process_names_the_database(tmp_path):
    url = f"sqlite:///file:{tmp_path / 'missing.db'}?mode=ro&uri=true"
    result = run_python(
        "import sys\nfrom jupyter_flows.backend import Backend\nfrom jupyter_flows.exceptions import BackendError\n"
        "try:\n    Backend(sys.argv[1]).list_projects()\nexcept BackendError as e:\n    print(e)\n", url)
    assert "missing.db" in result.stdout and "unable to open database file" in result.stdout
