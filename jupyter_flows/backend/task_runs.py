"""Task runs and log lines of a flow run: bulk writes and reads over a connection.

Writes come in bulk (a recorder batch) and go to the database as one
``executemany`` of a statement compiled once per dialect.
"""

from __future__ import annotations

import logging
import time
from itertools import chain

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from ..exceptions import BackendError
from .schema import logs, task_runs

#: Column order of the rows :meth:`Backend.record_rows` takes.
TASK_RUN_COLUMNS = ("flow_run_id", "task_slug", "task_name", "map_index", "state", "message", "attempts",
                    "start_time", "end_time", "result_location")
LOG_COLUMNS = ("flow_run_id", "level", "timestamp", "message", "task_name", "task_slug", "map_index")


def write_rows(conn: Connection, compiled_cache: dict, task_rows, log_rows) -> None:
    """Upsert ``task_rows`` and append ``log_rows`` (tuples in the column orders above)."""
    if task_rows:
        _execute_many(conn, compiled_cache, _upsert_task_runs, TASK_RUN_COLUMNS, task_rows)
    if log_rows:
        _execute_many(conn, compiled_cache, _insert_logs, LOG_COLUMNS, log_rows)


def get_task_runs(conn: Connection, run_id: str) -> list[dict]:
    # plain tuples zipped with the names: a restarted 10,000-child map reads 10,000 rows here
    query = (select(*(task_runs.c[name] for name in TASK_RUN_FIELDS)).where(task_runs.c.flow_run_id == run_id)
             .order_by(task_runs.c.id))
    return [dict(zip(TASK_RUN_FIELDS, row)) for row in conn.execute(query)]


def get_logs(conn: Connection, run_id: str, after: int | None, limit: int | None) -> list[dict]:
    query = select(logs).where(logs.c.flow_run_id == run_id)
    if after is not None:
        query = query.where(logs.c.id > after)
    query = query.order_by(logs.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [_log_dict(row) for row in conn.execute(query).mappings()]


def task_run_row(run_id: str, run: dict) -> tuple:
    map_index = run.get("map_index")
    return (run_id, run["task_slug"], run.get("task_name") or run["task_slug"], -1 if map_index is None else map_index,
            run["state"], run.get("message"), run.get("attempts") or 0, run.get("start_time"), run.get("end_time"),
            run.get("result_location"))


def log_row(run_id: str, entry: dict) -> tuple:
    level = entry.get("level", "INFO")
    if isinstance(level, int):
        level = logging.getLevelName(level)
    return (run_id, str(level), entry.get("timestamp") or time.time(), str(entry["message"]),
            entry.get("task_name"), entry.get("task_slug"), entry.get("map_index"))


def _upsert_task_runs(dialect_name: str):
    """``INSERT ... ON CONFLICT (run, slug, map index) DO UPDATE``, in the dialect's spelling."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise BackendError(f"task run upserts are written for SQLite and PostgreSQL, not {dialect_name}")
    statement = dialect_insert(task_runs).values({name: bindparam(name) for name in TASK_RUN_COLUMNS})
    changed = ("task_name", "state", "message", "attempts", "start_time", "end_time", "result_location")
    return statement.on_conflict_do_update(
        index_elements=["flow_run_id", "task_slug", "map_index"],
        set_={name: statement.excluded[name] for name in changed},
    )


def _insert_logs(dialect_name: str):
    return insert(logs).values({name: bindparam(name) for name in LOG_COLUMNS})


def _execute_many(conn: Connection, compiled_cache: dict, build, columns: tuple, rows) -> None:
    """One ``executemany`` of a bulk statement, compiled once per dialect.

    Rows go to the driver as the tuples they are when it takes positional
    parameters (sqlite3 does), as dicts otherwise, skipping SQLAlchemy's
    per-row parameter processing, which costs more than the insert itself for
    thousands of small rows. The columns are plain numbers and text, which
    need no conversion on the way in. On SQLite the rows go
    :data:`ROWS_PER_STATEMENT` to a statement (see :func:`_multi_row`).
    """
    if build not in compiled_cache:
        compiled = build(conn.dialect.name).compile(dialect=conn.dialect)
        sql, order = str(compiled), tuple(compiled.positiontup) if compiled.positional else None
        multi_sql = _multi_row(sql, len(columns)) if conn.dialect.name == "sqlite" else None
        compiled_cache[build] = (sql, order, multi_sql)
    sql, order, multi_sql = compiled_cache[build]
    if order is None:
        rows = [dict(zip(columns, row)) for row in rows]
    elif order != columns:
        index = [columns.index(name) for name in order]
        rows = [tuple(row[i] for i in index) for row in rows]
    rows = rows if isinstance(rows, list) else list(rows)
    whole = len(rows) - len(rows) % ROWS_PER_STATEMENT if multi_sql is not None else 0
    if whole:
        values = chain.from_iterable(rows[:whole])
        conn.exec_driver_sql(multi_sql, list(zip(*[values] * (ROWS_PER_STATEMENT * len(columns)))))  # tuples of rows
    if whole < len(rows):
        conn.exec_driver_sql(sql, rows[whole:])


#: Rows per statement of a bulk write on SQLite (7 to 10 columns: well under its 32,766 parameters).
ROWS_PER_STATEMENT = 64


def _multi_row(sql: str, n_columns: int) -> str | None:
    """``sql`` (``INSERT ... VALUES (?, ...) [ON CONFLICT ...]``) taking :data:`ROWS_PER_STATEMENT` rows.

    sqlite3's ``executemany`` steps the statement once per row and lets go of
    the GIL around every step; while the flow's thread runs, each row then
    waits for the GIL to come back. A statement of many rows is one step for
    all of them (and SQLite applies an upsert to each row in order, as if they
    came one by one), which is what makes the recorder's writer thread cheap
    beside a busy flow.
    """
    one = "(" + ", ".join("?" * n_columns) + ")"
    if sql.count(one) != 1:  # not the one-row statement this expects: rows go one by one
        return None
    head, tail = sql.split(one)
    return head + ", ".join([one] * ROWS_PER_STATEMENT) + tail


#: What :func:`get_task_runs` returns of each task run.
TASK_RUN_FIELDS = ("task_slug", "task_name", "map_index", "state", "message", "attempts", "start_time", "end_time",
                   "result_location")


def _log_dict(row) -> dict:
    return {name: row[name] for name in
            ("id", "level", "timestamp", "message", "task_name", "task_slug", "map_index")}
