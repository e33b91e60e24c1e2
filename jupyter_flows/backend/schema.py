"""The backend's tables (SQLAlchemy Core) and the ordered list of schema migrations.

Why a small list of numbered migrations instead of Alembic: the backend is
created on first use by whatever process touches it first (a notebook, an
agent, a flow run subprocess, the Jupyter server), often several at once. Each
migration here runs inside the same write transaction (``BEGIN IMMEDIATE`` on
SQLite) that reads and bumps ``schema_version``, so two processes starting
together cannot both apply one. Alembic would need its ``env.py`` and script
directory shipped as package data, a separate configuration object and its
import on every CLI call and flow run start, to run what is today a handful of
``CREATE TABLE`` statements. A migration is a function of a connection, so a
future one may still use Alembic's operations (``alembic.operations.Operations``
with batch mode for SQLite's limited ``ALTER TABLE``) where that helps.

Timestamps are seconds since the epoch (floats), as in the engine's log entries.
Columns holding structured values use the ``JSON`` type (text on SQLite,
``json`` on PostgreSQL).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import (
    JSON, Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text,
    UniqueConstraint, text,
)
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

metadata = MetaData()

ID = String(36)  # uuid4 as text: portable across SQLite and PostgreSQL

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied", Float, nullable=False),
)

projects = Table(
    "projects", metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text),
    Column("created", Float, nullable=False),
)

flows = Table(
    "flows", metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("version_group_id", ID, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("storage", JSON),
    Column("location", Text),
    Column("run_config", JSON),
    Column("executor", JSON),
    Column("parameters", JSON),
    Column("graph", JSON),
    Column("labels", JSON),
    Column("content_hash", String(64), nullable=False),
    Column("idempotency_key", Text),
    Column("created", Float, nullable=False),
    UniqueConstraint("version_group_id", "version", name="uq_flows_group_version"),
    Index("ix_flows_project_name", "project_id", "name"),
)

flow_runs = Table(
    "flow_runs", metadata,
    Column("id", ID, primary_key=True),
    Column("flow_id", ID, ForeignKey("flows.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parameters", JSON),
    Column("labels", JSON),
    Column("run_config", JSON),
    Column("state", String(20), nullable=False),
    Column("state_message", Text),
    Column("agent_id", String(200)),
    Column("heartbeat", Float),
    Column("created", Float, nullable=False),
    Column("start_time", Float),
    Column("end_time", Float),
    Column("output_path", Text),
    # schedules (migration 3): when the run may start (the claim waits for it), the flow's version
    # group and, for a run a schedule created, the clock's key; together they are unique, so that
    # any number of schedulers create each scheduled time exactly once
    Column("scheduled_start_time", Float),
    Column("version_group_id", ID),
    Column("clock_key", String(40)),
    # flows of flows (migration 4): the run whose task started this one, if any
    Column("parent_flow_run_id", ID),
    # containers (migration 7): the Docker container or Kubernetes Job that runs it, named by its agent
    Column("infrastructure", Text),
    # the agents' poll: oldest Scheduled runs first; the stale-run sweep reads state too
    Index("ix_flow_runs_state_created", "state", "created"),
    Index("ix_flow_runs_flow_created", "flow_id", "created"),
    Index("ix_flow_runs_created", "created"),
)

flow_run_states = Table(
    "flow_run_states", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow_run_id", ID, ForeignKey("flow_runs.id"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("message", Text),
    Column("timestamp", Float, nullable=False),
    Index("ix_flow_run_states_run", "flow_run_id", "id"),
)

task_runs = Table(
    "task_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow_run_id", ID, ForeignKey("flow_runs.id"), nullable=False),
    Column("task_slug", String(200), nullable=False),
    Column("task_name", String(200), nullable=False),
    Column("map_index", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("message", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("start_time", Float),
    Column("end_time", Float),
    # results (migration 5): where the task run's result was checkpointed, for a restart to read
    Column("result_location", Text),
    # also the index of "all task runs of a run": its first column is flow_run_id
    UniqueConstraint("flow_run_id", "task_slug", "map_index", name="uq_task_runs_run_slug_index"),
)

logs = Table(
    "logs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow_run_id", ID, ForeignKey("flow_runs.id"), nullable=False),
    Column("level", String(10), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("task_name", String(200)),
    Column("task_slug", String(200)),
    Column("map_index", Integer),
    # "logs of run R after id N": the live views' tail query
    Index("ix_logs_run_id", "flow_run_id", "id"),
)


agents = Table(
    "agents", metadata,
    Column("id", String(200), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("labels", JSON),
    Column("kind", String(50), nullable=False),
    # started, last_seen and stopped are by the database's clock (see clock.py): liveness compares them
    Column("started", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("runs_in_flight", Integer, nullable=False, default=0),
    Column("managed_by", Text),
    Column("stopped", Float),
)


#: One row per flow (version group) with a schedule; see :mod:`.schedules`.
schedules = Table(
    "schedules", metadata,
    Column("version_group_id", ID, primary_key=True),
    Column("flow_id", ID, ForeignKey("flows.id"), nullable=False),  # the version whose schedule it is
    Column("schedule", JSON, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("missed_runs", String(10), nullable=False, default="latest"),
    Column("scheduled_until", Float),  # runs exist up to this time; NULL: plan from now
    Column("updated", Float, nullable=False),
)

#: Secrets set with ``jupyter-flows secret set``: values encrypted with a key kept outside the database.
secrets = Table(
    "secrets", metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),  # a Fernet token
    Column("updated", Float, nullable=False),
)

#: Notifications of a flow (all its versions): who is told, and on which final states.
notifications = Table(
    "notifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_group_id", ID, nullable=False),
    Column("kind", String(20), nullable=False),  # webhook, slack, email
    Column("options", JSON, nullable=False),
    Column("on_states", JSON),  # null: every final state
    Column("created", Float, nullable=False),
    Index("ix_notifications_group", "version_group_id"),
)

#: Final task results of a child flow run (one started by ``create_flow_run``), for its parent to read.
task_run_results = Table(
    "task_run_results", metadata,
    Column("flow_run_id", ID, primary_key=True),
    Column("task_slug", String(200), primary_key=True),
    Column("map_index", Integer, primary_key=True, autoincrement=False),
    Column("value", LargeBinary, nullable=False),  # cloudpickle
)

#: Concurrency limits (migration 6): ``kind`` "tag" bounds task runs of tasks with that tag, "label"
#: bounds flow runs with that label; see :mod:`.limits`.
concurrency_limits = Table(
    "concurrency_limits", metadata,
    Column("kind", String(10), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("slots", Integer, nullable=False),  # at most this many at a time
    Column("updated", Float, nullable=False),
)

#: One row per slot a task run holds of a tag's limit; a slot counts only while its flow run is live.
limit_slots = Table(
    "limit_slots", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tag", String(200), nullable=False),
    Column("flow_run_id", ID, nullable=False),
    Column("task_slug", String(200), nullable=False),
    Column("map_index", Integer, nullable=False),
    Column("acquired", Float, nullable=False),
    UniqueConstraint("tag", "flow_run_id", "task_slug", "map_index", name="uq_limit_slots_holder"),
    Index("ix_limit_slots_run", "flow_run_id"),
)

#: Created by migration 4: "the children of run R".
PARENT_INDEX = Index("ix_flow_runs_parent", flow_runs.c.parent_flow_run_id)

#: Created by migration 3, also on a database that migration 1 created with the columns already.
SCHEDULE_INDEXES = (
    Index("uq_flow_runs_schedule_slot", flow_runs.c.version_group_id, flow_runs.c.scheduled_start_time,
          flow_runs.c.clock_key, unique=True),
    Index("ix_flow_runs_state_due", flow_runs.c.state, flow_runs.c.scheduled_start_time),
)


def _create_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[projects, flows, flow_runs, flow_run_states, task_runs, logs])


def _add_agents(conn: Connection) -> None:
    metadata.create_all(conn, tables=[agents])
    # Two registrations racing must not both store "version 1" of one flow: the register path
    # serialises them, and this index turns any that slips through into a conflict it retries.
    conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS uq_flows_project_name_version "
                      "ON flows (project_id, name, version)"))


def _add_schedules(conn: Connection) -> None:
    metadata.create_all(conn, tables=[schedules])
    present = {column["name"] for column in inspect(conn).get_columns("flow_runs")}
    for column in (flow_runs.c.scheduled_start_time, flow_runs.c.version_group_id, flow_runs.c.clock_key):
        if column.name not in present:  # a database older than these columns
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE flow_runs ADD COLUMN {column.name} {kind}"))
    conn.execute(text("UPDATE flow_runs SET scheduled_start_time = created WHERE scheduled_start_time IS NULL"))
    conn.execute(text("UPDATE flow_runs SET version_group_id = (SELECT flows.version_group_id FROM flows "
                      "WHERE flows.id = flow_runs.flow_id) WHERE version_group_id IS NULL"))
    for index in SCHEDULE_INDEXES:
        index.create(conn, checkfirst=True)


def _add_automations(conn: Connection) -> None:
    metadata.create_all(conn, tables=[secrets, notifications, task_run_results])
    present = {column["name"] for column in inspect(conn).get_columns("flow_runs")}
    if "parent_flow_run_id" not in present:  # a database older than the column
        conn.execute(text(f"ALTER TABLE flow_runs ADD COLUMN parent_flow_run_id {ID.compile(dialect=conn.dialect)}"))
    PARENT_INDEX.create(conn, checkfirst=True)


def _add_result_locations(conn: Connection) -> None:
    present = {column["name"] for column in inspect(conn).get_columns("task_runs")}
    if "result_location" not in present:  # a database older than the column
        conn.execute(text("ALTER TABLE task_runs ADD COLUMN result_location TEXT"))


def _add_limits(conn: Connection) -> None:
    metadata.create_all(conn, tables=[concurrency_limits, limit_slots])


def _add_infrastructure(conn: Connection) -> None:
    present = {column["name"] for column in inspect(conn).get_columns("flow_runs")}
    if "infrastructure" not in present:  # a database older than the column
        conn.execute(text("ALTER TABLE flow_runs ADD COLUMN infrastructure TEXT"))


#: Migration 8, PostgreSQL only: a task run takes its tag slots in one call (see ``limits.acquire_slots``).
#: PL/pgSQL gives each statement of a (volatile) function a fresh snapshot in READ COMMITTED, so the count
#: after the lock sees the slot of an acquirer whose commit the lock waited for: the lock and the count
#: still take two statements, but no longer two round trips. Returns no row when the slots are taken (or
#: already held, or no tag is limited), else the fullest limit: the one that blocks.
TAKE_SLOTS_FUNCTION = """
CREATE OR REPLACE FUNCTION jupyter_flows_take_slots(
    p_tags text[], p_run_id text, p_task_slug text, p_map_index integer, p_acquired double precision,
    p_live_states text[])
RETURNS TABLE (blocking_tag text, blocking_limit integer, blocking_in_use bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_missing text[];
    v_taken integer;
BEGIN
    -- The limit rows, locked in name order (two acquirers never wait on each other crosswise),
    -- and the tags among them whose slot this task run does not hold yet.
    SELECT coalesce(array_agg(locked.name), '{}') INTO v_missing
    FROM (SELECT c.name,
                 EXISTS (SELECT 1 FROM limit_slots s WHERE s.tag = c.name AND s.flow_run_id = p_run_id
                         AND s.task_slug = p_task_slug AND s.map_index = p_map_index) AS held
          FROM concurrency_limits c
          WHERE c.kind = 'tag' AND c.name = ANY (p_tags)
          ORDER BY c.name
          FOR UPDATE OF c) AS locked
    WHERE NOT locked.held;
    IF cardinality(v_missing) = 0 THEN
        RETURN;
    END IF;
    -- A new statement, a new snapshot: the count includes every slot committed before the lock was granted.
    INSERT INTO limit_slots (tag, flow_run_id, task_slug, map_index, acquired)
    SELECT m.name, p_run_id, p_task_slug, p_map_index, p_acquired
    FROM unnest(v_missing) AS m(name)
    WHERE NOT EXISTS (
        SELECT 1 FROM concurrency_limits f
        WHERE f.kind = 'tag' AND f.name = ANY (p_tags)
          AND f.slots <= (SELECT count(*) FROM limit_slots s JOIN flow_runs r ON r.id = s.flow_run_id
                          WHERE s.tag = f.name AND r.state = ANY (p_live_states)
                            AND NOT (s.flow_run_id = p_run_id AND s.task_slug = p_task_slug
                                     AND s.map_index = p_map_index)));
    GET DIAGNOSTICS v_taken = ROW_COUNT;
    IF v_taken > 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT f.name::text, f.slots, used.n
    FROM concurrency_limits f,
         LATERAL (SELECT count(*) AS n FROM limit_slots s JOIN flow_runs r ON r.id = s.flow_run_id
                  WHERE s.tag = f.name AND r.state = ANY (p_live_states)
                    AND NOT (s.flow_run_id = p_run_id AND s.task_slug = p_task_slug
                             AND s.map_index = p_map_index)) AS used
    WHERE f.kind = 'tag' AND f.name = ANY (p_tags)
    ORDER BY used.n - f.slots DESC, f.name
    LIMIT 1;
END
$$
"""


def _add_take_slots_function(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # SQLite's one writer at a time needs no function (and has none)
        conn.exec_driver_sql(TAKE_SLOTS_FUNCTION)


#: ``(version, description, apply)`` in order; append, never edit a released one.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "projects, flows, flow runs and their states, task runs, logs", _create_tables),
    (2, "agents; one version number per flow name in a project", _add_agents),
    (3, "schedules; flow runs' scheduled start time, version group and clock key", _add_schedules),
    (4, "secrets, notifications, child flow runs' parent and task results", _add_automations),
    (5, "task runs' result location (checkpoints, restarts)", _add_result_locations),
    (6, "concurrency limits and the slots task runs hold", _add_limits),
    (7, "flow runs' infrastructure (the container or Kubernetes Job running them)", _add_infrastructure),
    (8, "PostgreSQL: taking a task run's concurrency slots in one call", _add_take_slots_function),
]

LATEST_VERSION = MIGRATIONS[-1][0]
