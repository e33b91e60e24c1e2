"""Opening the backend database: the engine, its SQLite settings, its transactions, its errors.

SQLite is used by several processes at once (notebook, agent, flow runs, the
Jupyter server), so every connection turns on WAL (readers never block the one
writer) and a busy timeout (a writer waits for another instead of failing).
pysqlite's own transaction handling is switched off and replaced by explicit
``BEGIN`` statements: write transactions start with ``BEGIN IMMEDIATE`` so that
they take the write lock before reading what they are about to change (the
atomic claim of a flow run relies on it), read transactions with a plain
``BEGIN`` so that their reads are one consistent snapshot.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from ..exceptions import BackendError, BackendGoneError
from . import schema

#: How long a writer waits for another process's write to finish before giving up.
BUSY_TIMEOUT_S = 30.0

_WRITE = "jupyter_flows_write"


def display_url(url: str) -> str:
    """The URL as shown in messages: with any password hidden."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def backend_error(url: str, exc: BaseException, doing: str) -> BackendError:
    """A :class:`BackendError` naming the database and the underlying cause."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return BackendError(f"backend {display_url(url)} could not {doing}: {type(cause).__name__}: {cause}")


def open_engine(url: str, create: bool = True) -> Engine:
    """An engine for ``url``; for an SQLite file, its directory is created if needed.

    ``create=False`` is for processes that an agent starts for a run: their
    database exists already, and a missing file means it was deleted, so
    creating a fresh, empty one would only hide that (see :func:`check_database_file`).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BackendError(
            f"backend URL {url!r} is not a database URL; use e.g. sqlite:////path/to/backend.db "
            "or postgresql://user@host/dbname (set JUPYTER_FLOWS_BACKEND_URL)"
        ) from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and create:
        _make_sqlite_directory(url, parsed)
    elif is_sqlite:
        _require_sqlite_file(url, parsed)
    try:
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S} if is_sqlite else {})
    except (NoSuchModuleError, ImportError) as exc:
        raise BackendError(f"backend {display_url(url)} needs a database driver that is not installed: {exc}") from exc
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def database_file(url: str) -> tuple[str, int, int] | None:
    """The SQLite file of ``url`` as ``(path, device, inode)``, to notice later that it was replaced.

    ``None`` for a server database or an in-memory one.
    """
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = str(Path(database).expanduser().resolve())
    stat = os.stat(path)
    return path, stat.st_dev, stat.st_ino


def check_database_file(url: str, watched: tuple[str, int, int]) -> None:
    """Raise :class:`BackendGoneError` when the open database file was deleted or replaced.

    Connections keep using a deleted file (its inode lives on while open),
    so writes would go nowhere anybody reads, while new processes create a
    fresh, empty database at the same path. One ``stat`` per transaction
    notices it.
    """
    path, device, inode = watched
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        stat = None
    if stat is None or (stat.st_dev, stat.st_ino) != (device, inode):
        what = "deleted" if stat is None else "replaced by another file"
        raise BackendGoneError(
            f"backend {display_url(url)}: its database file {path} was {what} while in use; "
            "what is written now would be lost. Restore the file, or restart with the new database")


def _require_sqlite_file(url: str, parsed) -> None:
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:") \
            and not Path(database).expanduser().exists():
        raise BackendGoneError(
            f"backend {display_url(url)}: its database file {Path(database).expanduser()} does not exist "
            "(deleted while in use?); a process started for a run never creates a new one")


def _make_sqlite_directory(url: str, parsed) -> None:
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser().resolve()
    try:
        # Runs' parameters, logs and environments are the user's alone: a home this creates is 0700,
        # a database file 0600 (SQLite gives its -wal and -shm files the database file's mode).
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackendError(f"backend {display_url(url)}: cannot create directory {path.parent}: {exc}") from exc
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise BackendError(f"backend {display_url(url)}: cannot create database file {path}: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves, see the module docstring
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # In WAL mode NORMAL is safe against crashes of any process (a commit is never half
            # applied, nothing committed is lost when a writer is killed); only a power cut may
            # undo the last commits. It spares an fsync per commit, i.e. per recorder batch.
            cursor.execute("PRAGMA synchronous = NORMAL")
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except Exception:
                # A read-only database cannot switch modes; it can still be read as it is.
                pass
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


@contextlib.contextmanager
def transaction(engine: Engine, url: str, doing: str, write: bool) -> Iterator[Connection]:
    """One transaction; any database error becomes a :class:`BackendError` naming URL and cause.

    The transaction is rolled back on any error, so a failed write leaves
    nothing half-written.
    """
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn
    except SQLAlchemyError as exc:
        raise backend_error(url, exc, doing) from exc


@contextlib.contextmanager
def single_write(engine: Engine, url: str, doing: str) -> Iterator[Connection]:
    """A connection for one write statement that is atomic alone (a ``DELETE`` by key), errors as in
    :func:`transaction`.

    On PostgreSQL it runs in autocommit: one round trip instead of three (``BEGIN``, the statement,
    ``COMMIT``). SQLite keeps its write transaction: ``BEGIN IMMEDIATE`` is how its writers queue.
    """
    if engine.dialect.name != "postgresql":
        with transaction(engine, url, doing, write=True) as conn:
            yield conn
        return
    try:
        with engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        raise backend_error(url, exc, doing) from exc


def migrate(engine: Engine, url: str) -> int:
    """Bring the schema to :data:`schema.LATEST_VERSION`; return the version found before.

    The common case (schema current) is one read. Otherwise the migrations run
    in one write transaction that reads the version again, so concurrent first
    users wait for each other and each migration is applied exactly once.
    """
    with transaction(engine, url, "read its schema version", write=False) as conn:
        found = _current_version(conn, url)
    if found == schema.LATEST_VERSION:
        return found
    with transaction(engine, url, "create or upgrade its tables", write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(724110)"))  # serialise first-time creation
        schema.metadata.create_all(conn, tables=[schema.schema_version])
        found = _current_version(conn, url)
        for version, _description, apply in schema.MIGRATIONS:
            if version > found:
                apply(conn)
                conn.execute(insert(schema.schema_version).values(version=version, applied=time.time()))
        return found


def _current_version(conn: Connection, url: str) -> int:
    if not inspect(conn).has_table(schema.schema_version.name):
        return 0
    found = conn.execute(select(func.max(schema.schema_version.c.version))).scalar() or 0
    if found > schema.LATEST_VERSION:
        raise BackendError(
            f"backend {display_url(url)} has schema version {found}, newer than this "
            f"jupyter-flows understands ({schema.LATEST_VERSION}); upgrade jupyter-flows"
        )
    return found
