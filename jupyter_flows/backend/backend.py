"""``Backend``: the one class that talks SQL, returning plain JSON-able dicts.

Everything else (the client, the agent, the Jupyter server, the CLI) goes
through these methods, so the SQL stays in one file. Every statement uses
bound parameters. Writes that can come in bulk (task runs, log lines) take a
list and go to the database as one ``executemany`` in one transaction.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from .. import config
from ..exceptions import BackendError, FlowArchivedError, NotFoundError, ParameterError
from . import schema
from .connection import display_url, migrate, open_engine, transaction
from .schema import flow_run_states, flow_runs, flows, logs, projects, task_runs

FLOW_RUN_STATES = ("Scheduled", "Submitted", "Running", "Success", "Failed", "Cancelled")
FINISHED_STATES = ("Success", "Failed", "Cancelled")
_LIVE_STATES = ("Submitted", "Running")
#: Column order of the rows :meth:`Backend.record_rows` takes.
TASK_RUN_COLUMNS = ("flow_run_id", "task_slug", "task_name", "map_index", "state", "message", "attempts",
                    "start_time", "end_time")
LOG_COLUMNS = ("flow_run_id", "level", "timestamp", "message", "task_name", "task_slug", "map_index")
#: How many Scheduled runs a claim looks at per attempt before matching labels in Python.
_CLAIM_WINDOW = 100


class Backend:
    """The backend database at ``url`` (default :func:`jupyter_flows.config.backend_url`).

    Created on first use: the first method call creates the SQLite file and
    its tables (or upgrades an older schema). Errors from the database become
    :class:`~jupyter_flows.exceptions.BackendError` naming the URL and the cause.

    >>> backend = Backend()
    >>> backend.create_project("tutorial")["name"]
    'tutorial'
    """

    def __init__(self, url: str | None = None):
        self.url = url or config.backend_url()
        self._engine: Engine | None = None
        self._opening = threading.Lock()  # server handlers and the recorder's writer share a Backend
        self._bulk_sql: dict = {}  # the bulk inserts, compiled once for this backend's dialect

    def __repr__(self) -> str:
        return f"Backend({display_url(self.url)!r})"

    # -- connection -----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._opening:
                if self._engine is None:
                    engine = open_engine(self.url)
                    try:
                        migrate(engine, self.url)
                    except BaseException:
                        engine.dispose()
                        raise
                    self._engine = engine
        return self._engine

    def _read(self, doing: str):
        return transaction(self.engine, self.url, doing, write=False)

    def _write(self, doing: str):
        return transaction(self.engine, self.url, doing, write=True)

    def close(self) -> None:
        """Close pooled connections (a new call reopens them)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def schema_version(self) -> int:
        with self._read("read its schema version") as conn:
            return conn.execute(select(func.max(schema.schema_version.c.version))).scalar() or 0

    # -- projects -------------------------------------------------------------------------------

    def create_project(self, name: str, description: str | None = None) -> dict:
        """Create project ``name``, or return it if it exists (idempotent)."""
        name = _check_name(name, "project")
        with self._write(f"create project {name!r}") as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).mappings().first()
            if row is None:
                values = {"id": _new_id(), "name": name, "description": description, "created": time.time()}
                conn.execute(insert(projects).values(**values))
                row = values
        return _project_dict(row)

    def list_projects(self) -> list[dict]:
        counts = (select(flows.c.project_id, func.count().label("flow_count"))
                  .where(flows.c.archived.is_(False)).group_by(flows.c.project_id).subquery())
        query = (select(projects, func.coalesce(counts.c.flow_count, 0).label("flow_count"))
                 .outerjoin(counts, counts.c.project_id == projects.c.id).order_by(projects.c.name))
        with self._read("list projects") as conn:
            return [_project_dict(row) for row in conn.execute(query).mappings()]

    def get_project(self, name: str) -> dict:
        with self._read(f"read project {name!r}") as conn:
            return _project_dict(_project_row(conn, name))

    # -- flows ----------------------------------------------------------------------------------

    def register_flow(self, project_name: str, name: str, *, storage: dict | None, run_config: dict | None,
                      executor: dict | None, parameters: list | None, graph: dict | None,
                      labels: Iterable[str] | None, content_hash: str,
                      idempotency_key: str | None = None, location: str | None = None) -> dict:
        """Record a version of flow ``name`` in ``project_name``.

        The latest version is kept (and returned) when ``idempotency_key``
        matches its key, or, without a key, when ``content_hash`` matches its
        hash. Otherwise a new version is added and the older versions of the
        group are archived. Returns ``{"id", "version", "version_group_id",
        "created", "new_version"}``.
        """
        name = _check_name(name, "flow")
        with self._write(f"register flow {name!r}") as conn:
            project = _project_row(conn, project_name)
            latest = conn.execute(
                select(flows).where(flows.c.project_id == project["id"], flows.c.name == name)
                .order_by(flows.c.version.desc()).limit(1)
            ).mappings().first()
            if latest is not None:
                same = (latest["idempotency_key"] == idempotency_key if idempotency_key is not None
                        else latest["content_hash"] == content_hash)
                if same:
                    if latest["archived"]:
                        conn.execute(update(flows).where(flows.c.id == latest["id"]).values(archived=False))
                    return _registration(latest, new_version=False)
            row = {
                "id": _new_id(),
                "project_id": project["id"],
                "name": name,
                "version": latest["version"] + 1 if latest is not None else 1,
                "version_group_id": latest["version_group_id"] if latest is not None else _new_id(),
                "archived": False,
                "storage": storage,
                "location": location,
                "run_config": run_config,
                "executor": executor,
                "parameters": list(parameters or []),
                "graph": graph or {"tasks": [], "edges": []},
                "labels": sorted(set(labels or ())),
                "content_hash": content_hash,
                "idempotency_key": idempotency_key,
                "created": time.time(),
            }
            conn.execute(insert(flows).values(**row))
            conn.execute(update(flows).where(flows.c.version_group_id == row["version_group_id"],
                                             flows.c.id != row["id"]).values(archived=True))
        return _registration(row, new_version=True)

    def list_flows(self, project_name: str | None = None, include_archived: bool = False) -> list[dict]:
        query = _flow_query().order_by(projects.c.name, flows.c.name, flows.c.version.desc())
        if not include_archived:
            query = query.where(flows.c.archived.is_(False))
        with self._read("list flows") as conn:
            if project_name is not None:
                query = query.where(flows.c.project_id == _project_row(conn, project_name)["id"])
            return [_flow_dict(row) for row in conn.execute(query).mappings()]

    def get_flow(self, flow_id: str) -> dict:
        with self._read(f"read flow {flow_id!r}") as conn:
            return _flow_dict(_flow_row(conn, flow_id))

    def get_flow_by_name(self, name: str, project_name: str | None = None, version: int | None = None) -> dict:
        """The latest version of flow ``name`` (or version ``version``), in ``project_name`` if given.

        Without a project, the name must be unique across projects.
        """
        with self._read(f"read flow {name!r}") as conn:
            query = _flow_query().where(flows.c.name == name)
            if project_name is not None:
                query = query.where(flows.c.project_id == _project_row(conn, project_name)["id"])
            if version is not None:
                query = query.where(flows.c.version == version)
            rows = conn.execute(query.order_by(flows.c.version.desc())).mappings().all()
            if not rows:
                raise NotFoundError(_missing_flow_message(conn, name, project_name, version))
            in_projects = sorted({row["project_name"] for row in rows})
            if len(in_projects) > 1:
                raise NotFoundError(
                    f"flow {name!r} exists in several projects ({', '.join(in_projects)}); "
                    "give project_name to say which"
                )
            return _flow_dict(rows[0])

    # -- flow runs ------------------------------------------------------------------------------

    def create_flow_run(self, flow_id: str | None = None, version_group_id: str | None = None,
                        parameters: dict | None = None, run_config: Any = None,
                        labels: Iterable[str] | None = None, run_name: str | None = None,
                        *, flow_run_id: str | None = None, state: str = "Scheduled") -> dict:
        """Schedule a run of a flow (by ``flow_id``, or the latest version of ``version_group_id``).

        ``parameters`` are checked against the flow's: a name it does not
        declare, or a missing required one, raises
        :class:`~jupyter_flows.exceptions.ParameterError` listing the declared
        names. ``run_config`` (a dict or a run config) overrides the flow's for
        this run; ``labels`` default to the flow's labels (or to the override's
        labels plus the storage's). ``flow_run_id`` and ``state`` are for a run
        that is already executing in-process (see ``BackendRecorder``).
        """
        from ..run_configs import run_config_from_dict

        if state not in FLOW_RUN_STATES:
            raise ValueError(f"unknown flow run state {state!r}; known: {', '.join(FLOW_RUN_STATES)}")
        if run_config is not None and not isinstance(run_config, dict):
            run_config = run_config.to_dict()
        if run_config is not None:
            run_config_from_dict(run_config)  # a bad override fails here, naming what is wrong
        with self._write("create a flow run") as conn:
            flow = _run_target(conn, flow_id, version_group_id)
            checked = _check_run_parameters(flow, parameters or {})
            if labels is not None:
                run_labels = sorted(set(labels))
            elif run_config is not None:
                storage_labels = (flow["storage"] or {}).get("labels") or []
                run_labels = sorted(set(run_config.get("labels") or []) | set(storage_labels))
            else:
                run_labels = list(flow["labels"] or [])
            now = time.time()
            run_id = flow_run_id or _new_id()
            row = {
                "id": run_id,
                "flow_id": flow["id"],
                "name": run_name or f"{flow['name']}-{run_id[:8]}",
                "parameters": checked,
                "labels": run_labels,
                "run_config": run_config,
                "state": state,
                "state_message": None,
                "created": now,
                "start_time": now if state == "Running" else None,
                "heartbeat": now if state == "Running" else None,
            }
            conn.execute(insert(flow_runs).values(**row))
            conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state=state, message=None, timestamp=now))
            return _flow_run(conn, run_id)

    def claim_flow_run(self, agent_id: str, agent_labels: Iterable[str] | None = None) -> dict | None:
        """Atomically move the oldest Scheduled run whose labels the agent has to Submitted.

        Returns the claimed run, or ``None`` when there is nothing to do. The
        state change is a conditional ``UPDATE ... WHERE state = 'Scheduled'``
        checked by its row count, inside a write transaction (``BEGIN
        IMMEDIATE`` on SQLite), so two agents never claim the same run.
        """
        offered = set(agent_labels or ())
        with self._write("claim a flow run") as conn:
            last_created = None
            while True:
                query = select(flow_runs.c.id, flow_runs.c.labels, flow_runs.c.created).where(
                    flow_runs.c.state == "Scheduled")
                if last_created is not None:
                    query = query.where(flow_runs.c.created >= last_created)
                rows = conn.execute(query.order_by(flow_runs.c.created, flow_runs.c.id).limit(_CLAIM_WINDOW)).all()
                for run_id, labels, created in rows:
                    if not set(labels or ()) <= offered:
                        continue
                    now = time.time()
                    claimed = conn.execute(
                        update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state == "Scheduled")
                        .values(state="Submitted", state_message=f"Submitted by agent {agent_id}",
                                agent_id=agent_id, heartbeat=now)
                    ).rowcount
                    if claimed == 1:
                        conn.execute(insert(flow_run_states).values(
                            flow_run_id=run_id, state="Submitted", message=f"Submitted by agent {agent_id}",
                            timestamp=now))
                        return _flow_run(conn, run_id)
                if len(rows) < _CLAIM_WINDOW or rows[-1][2] == last_created:
                    return None
                last_created = rows[-1][2]

    def set_flow_run_state(self, run_id: str, state_type: str, message: str | None = None) -> dict:
        """Move a run to ``state_type`` and record it in the run's history; returns the run.

        A finished run (Success, Failed, Cancelled) keeps its state: a late
        report from a process that was cancelled does not overwrite
        "Cancelled". Running sets ``start_time``; a finished state sets ``end_time``.
        """
        if state_type not in FLOW_RUN_STATES:
            raise ValueError(f"unknown flow run state {state_type!r}; known: {', '.join(FLOW_RUN_STATES)}")
        with self._write(f"set the state of flow run {run_id!r}") as conn:
            _change_state(conn, run_id, state_type, message)
            return _flow_run(conn, run_id)

    def cancel_flow_run(self, run_id: str, message: str = "Cancelled by user") -> dict:
        """Mark a run Cancelled (its agent then stops its process); a finished run is left as is."""
        return self.set_flow_run_state(run_id, "Cancelled", message)

    def heartbeat(self, run_id: str) -> dict:
        """Record that the run's process is alive; returns ``{"id", "state", "heartbeat"}``.

        The state tells the caller whether the run was cancelled meanwhile.
        """
        now = time.time()
        with self._write(f"record a heartbeat of flow run {run_id!r}") as conn:
            if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id).values(heartbeat=now)).rowcount == 0:
                raise NotFoundError(f"no flow run with id {run_id!r}")
            state = conn.execute(select(flow_runs.c.state).where(flow_runs.c.id == run_id)).scalar_one()
        return {"id": run_id, "state": state, "heartbeat": now}

    def set_flow_run_output_path(self, run_id: str, path: str | None) -> dict:
        with self._write(f"set the output path of flow run {run_id!r}") as conn:
            if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id)
                            .values(output_path=path)).rowcount == 0:
                raise NotFoundError(f"no flow run with id {run_id!r}")
            return _flow_run(conn, run_id)

    def get_flow_run(self, run_id: str) -> dict:
        with self._read(f"read flow run {run_id!r}") as conn:
            return _flow_run(conn, run_id)

    def list_flow_runs(self, flow_id: str | None = None, project_name: str | None = None,
                       state: str | Iterable[str] | None = None, limit: int | None = 50,
                       offset: int = 0) -> list[dict]:
        """Runs, newest first; ``state`` may be one state name or several."""
        query = _flow_run_query()
        if flow_id is not None:
            query = query.where(flow_runs.c.flow_id == flow_id)
        if state is not None:
            wanted = [state] if isinstance(state, str) else list(state)
            unknown = sorted(set(wanted) - set(FLOW_RUN_STATES))
            if unknown:
                raise ValueError(f"unknown flow run state(s) {unknown}; known: {', '.join(FLOW_RUN_STATES)}")
            query = query.where(flow_runs.c.state.in_(wanted))
        query = query.order_by(flow_runs.c.created.desc(), flow_runs.c.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self._read("list flow runs") as conn:
            if project_name is not None:
                query = query.where(flows.c.project_id == _project_row(conn, project_name)["id"])
            rows = conn.execute(query).mappings().all()
            return [_flow_run_dict(row, states=None) for row in rows]

    def find_stale_runs(self, max_silence_s: float) -> list[dict]:
        """Submitted or Running runs with no heartbeat for ``max_silence_s`` seconds (their process is gone)."""
        cutoff = time.time() - max_silence_s
        last_sign = func.coalesce(flow_runs.c.heartbeat, flow_runs.c.start_time, flow_runs.c.created)
        query = _flow_run_query().where(flow_runs.c.state.in_(_LIVE_STATES), last_sign < cutoff)
        with self._read("look for stale flow runs") as conn:
            return [_flow_run_dict(row, states=None) for row in conn.execute(query.order_by(flow_runs.c.created))
                    .mappings()]

    def delete_flow_run(self, run_id: str) -> None:
        """Remove a run with its history, task runs and logs."""
        with self._write(f"delete flow run {run_id!r}") as conn:
            for table in (logs, task_runs, flow_run_states):
                conn.execute(delete(table).where(table.c.flow_run_id == run_id))
            if conn.execute(delete(flow_runs).where(flow_runs.c.id == run_id)).rowcount == 0:
                raise NotFoundError(f"no flow run with id {run_id!r}")

    # -- task runs and logs ---------------------------------------------------------------------

    def write_task_runs(self, run_id: str, runs: list[dict]) -> int:
        """Insert or update task runs of ``run_id`` (keyed by slug and map index), in one transaction.

        Each dict has ``task_slug``, ``task_name`` and ``state``, and may have
        ``map_index`` (``None`` or -1 for a task that is not mapped),
        ``message``, ``attempts``, ``start_time``, ``end_time``.
        """
        rows = [_task_run_row(run_id, run) for run in runs]
        self.record_rows(run_id, rows, (), f"write {len(rows)} task run(s) of flow run {run_id!r}")
        return len(rows)

    def write_logs(self, run_id: str, entries: list[dict]) -> int:
        """Append log lines of ``run_id`` in one transaction.

        Each dict has ``message``, and may have ``level`` (a name like
        ``"INFO"`` or a number), ``timestamp``, ``task_name``, ``task_slug``,
        ``map_index`` (as :meth:`LogEntry.to_dict` gives).
        """
        rows = [_log_row(run_id, entry) for entry in entries]
        self.record_rows(run_id, (), rows, f"write {len(rows)} log line(s) of flow run {run_id!r}")
        return len(rows)

    def record(self, run_id: str, runs: list[dict], entries: list[dict]) -> None:
        """Write task runs and log lines together, in one transaction."""
        self.record_rows(run_id, [_task_run_row(run_id, run) for run in runs],
                         [_log_row(run_id, entry) for entry in entries])

    def record_rows(self, run_id: str, task_rows, log_rows, doing: str | None = None) -> None:
        """The bulk write under :meth:`record`, for callers that already hold rows as tuples.

        ``task_rows`` are tuples in :data:`TASK_RUN_COLUMNS` order, ``log_rows``
        in :data:`LOG_COLUMNS` order, each starting with ``run_id``; the
        recorder builds them on its hot path so that a flush converts nothing.
        """
        if not task_rows and not log_rows:
            return
        with self._write(doing or f"record task runs and logs of flow run {run_id!r}") as conn:
            _require_run(conn, run_id)
            if task_rows:
                _execute_many(conn, self._bulk_sql, _upsert_task_runs, TASK_RUN_COLUMNS, task_rows)
            if log_rows:
                _execute_many(conn, self._bulk_sql, _insert_logs, LOG_COLUMNS, log_rows)

    def get_task_runs(self, run_id: str) -> list[dict]:
        query = (select(task_runs).where(task_runs.c.flow_run_id == run_id)
                 .order_by(task_runs.c.id))
        with self._read(f"read task runs of flow run {run_id!r}") as conn:
            _require_run(conn, run_id)
            return [_task_run_dict(row) for row in conn.execute(query).mappings()]

    def get_logs(self, run_id: str, after: int | None = None, limit: int | None = None) -> list[dict]:
        """Log lines of a run in order; ``after`` (a log ``id``) gives only newer lines."""
        query = select(logs).where(logs.c.flow_run_id == run_id)
        if after is not None:
            query = query.where(logs.c.id > after)
        query = query.order_by(logs.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._read(f"read logs of flow run {run_id!r}") as conn:
            _require_run(conn, run_id)
            return [_log_dict(row) for row in conn.execute(query).mappings()]


# -- helpers: reading rows into dicts -----------------------------------------------------------


def _new_id() -> str:
    return str(uuid.uuid4())


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {what} needs a non-empty name, got {name!r}")
    if len(name) > 200:
        raise ValueError(f"a {what} name may have at most 200 characters, got {len(name)}: {name[:40]!r}...")
    return name.strip()


def _project_dict(row) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"], "created": row["created"],
            **({"flow_count": row["flow_count"]} if "flow_count" in row else {})}


def _project_row(conn: Connection, name: str | None):
    row = conn.execute(select(projects).where(projects.c.name == name)).mappings().first() if name else None
    if row is not None:
        return row
    existing = conn.execute(select(projects.c.name).order_by(projects.c.name)).scalars().all()
    shown = ", ".join(existing) if existing else "none yet"
    hint = (f"create it with Client().create_project({name!r}) or `jupyter-flows create project {name}`"
            if name else "give project_name=... (create one with Client().create_project(NAME) "
            "or `jupyter-flows create project NAME`)")
    what = f"project {name!r} does not exist" if name else "no project given"
    raise NotFoundError(f"{what}; existing projects: {shown}; {hint}")


def _flow_query():
    return select(flows, projects.c.name.label("project_name")).join(projects, projects.c.id == flows.c.project_id)


def _flow_row(conn: Connection, flow_id: str):
    row = conn.execute(_flow_query().where(flows.c.id == flow_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no flow with id {flow_id!r}")
    return row


def _flow_dict(row) -> dict:
    return {
        "id": row["id"],
        "name": row["name"],
        "version": row["version"],
        "version_group_id": row["version_group_id"],
        "archived": bool(row["archived"]),
        "project_id": row["project_id"],
        "project_name": row["project_name"],
        "storage": row["storage"],
        "location": row["location"],
        "run_config": row["run_config"],
        "executor": row["executor"],
        "parameters": row["parameters"] or [],
        "graph": row["graph"] or {"tasks": [], "edges": []},
        "labels": row["labels"] or [],
        "content_hash": row["content_hash"],
        "idempotency_key": row["idempotency_key"],
        "created": row["created"],
    }


def _registration(row, new_version: bool) -> dict:
    return {"id": row["id"], "version": row["version"], "version_group_id": row["version_group_id"],
            "created": row["created"], "new_version": new_version}


def _missing_flow_message(conn: Connection, name: str, project_name: str | None, version: int | None) -> str:
    query = _flow_query().with_only_columns(flows.c.name).distinct().order_by(flows.c.name)
    where = f" in project {project_name!r}" if project_name else ""
    if project_name is not None:
        query = query.where(projects.c.name == project_name)
    names = conn.execute(query).scalars().all()
    if version is not None and name in names:
        versions = conn.execute(_flow_query().with_only_columns(flows.c.version).where(
            flows.c.name == name).order_by(flows.c.version)).scalars().all()
        return f"flow {name!r}{where} has no version {version}; its versions: {', '.join(map(str, versions))}"
    shown = ", ".join(repr(n) for n in names) if names else "none yet (register one with flow.register(...))"
    return f"no flow named {name!r}{where}; registered flows: {shown}"


def _run_target(conn: Connection, flow_id: str | None, version_group_id: str | None):
    if flow_id is not None:
        row = _flow_row(conn, flow_id)
        if row["archived"]:
            latest = conn.execute(select(flows.c.id, flows.c.version).where(
                flows.c.version_group_id == row["version_group_id"], flows.c.archived.is_(False))
                .order_by(flows.c.version.desc()).limit(1)).first()
            newer = f"; run the current version {latest.version} (id {latest.id})" if latest else ""
            raise FlowArchivedError(f"flow {row['name']!r} version {row['version']} (id {flow_id}) is archived{newer}")
        return row
    if version_group_id is not None:
        row = conn.execute(_flow_query().where(flows.c.version_group_id == version_group_id,
                                               flows.c.archived.is_(False))
                           .order_by(flows.c.version.desc()).limit(1)).mappings().first()
        if row is None:
            raise NotFoundError(f"no flow with version group id {version_group_id!r}")
        return row
    raise ValueError("create_flow_run needs flow_id or version_group_id")


def _check_run_parameters(flow, given: dict) -> dict:
    """The same checks as ``engine.flow_runner.check_parameters``, on the registered parameter list."""
    if not isinstance(given, dict):
        raise ParameterError(f"parameters must be a dict of name: value, got {type(given).__name__} {given!r:.60}")
    declared = {p["name"]: p for p in flow["parameters"] or []}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise ParameterError(
            f"flow {flow['name']!r} has no parameter named {', '.join(map(repr, unknown))}; its parameters are: {known}"
        )
    missing = sorted(name for name, p in declared.items() if p.get("required") and name not in given)
    if missing:
        raise ParameterError(f"flow {flow['name']!r} needs a value for required parameter(s): {', '.join(missing)}")
    for name, value in given.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"parameter {name!r} of flow {flow['name']!r} must be JSON-able to be stored with the run "
                f"(numbers, strings, lists, dicts); got {type(value).__name__} {value!r:.60}: {exc}"
            ) from None
    return dict(given)


def _flow_run_query():
    return (select(flow_runs, flows.c.name.label("flow_name"), flows.c.version.label("flow_version"),
                   projects.c.name.label("project_name"))
            .join(flows, flows.c.id == flow_runs.c.flow_id)
            .join(projects, projects.c.id == flows.c.project_id))


def _flow_run(conn: Connection, run_id: str) -> dict:
    row = conn.execute(_flow_run_query().where(flow_runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    states = conn.execute(
        select(flow_run_states.c.state, flow_run_states.c.message, flow_run_states.c.timestamp)
        .where(flow_run_states.c.flow_run_id == run_id).order_by(flow_run_states.c.id)
    ).mappings().all()
    return _flow_run_dict(row, [dict(s) for s in states])


def _flow_run_dict(row, states: list | None) -> dict:
    run = {
        "id": row["id"],
        "name": row["name"],
        "flow_id": row["flow_id"],
        "flow_name": row["flow_name"],
        "flow_version": row["flow_version"],
        "project_name": row["project_name"],
        "parameters": row["parameters"] or {},
        "labels": row["labels"] or [],
        "run_config": row["run_config"],
        "state": row["state"],
        "state_message": row["state_message"],
        "agent_id": row["agent_id"],
        "heartbeat": row["heartbeat"],
        "created": row["created"],
        "start_time": row["start_time"],
        "end_time": row["end_time"],
        "output_path": row["output_path"],
    }
    if states is not None:
        run["states"] = states
    return run


def _require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(select(flow_runs.c.id).where(flow_runs.c.id == run_id)).first() is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")


def _change_state(conn: Connection, run_id: str, state: str, message: str | None) -> None:
    current = conn.execute(select(flow_runs.c.state, flow_runs.c.start_time)
                           .where(flow_runs.c.id == run_id)).first()
    if current is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    if current.state in FINISHED_STATES:
        return
    now = time.time()
    values: dict[str, Any] = {"state": state, "state_message": message}
    if state == "Running" and current.start_time is None:
        values["start_time"] = now
    if state in ("Running", "Submitted"):
        values["heartbeat"] = now
    if state in FINISHED_STATES:
        values["end_time"] = now
    conn.execute(update(flow_runs).where(flow_runs.c.id == run_id).values(**values))
    conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state=state, message=message, timestamp=now))


def _upsert_task_runs(dialect_name: str):
    """``INSERT ... ON CONFLICT (run, slug, map index) DO UPDATE``, in the dialect's spelling."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise BackendError(f"task run upserts are written for SQLite and PostgreSQL, not {dialect_name}")
    statement = dialect_insert(task_runs).values({name: bindparam(name) for name in TASK_RUN_COLUMNS})
    changed = ("task_name", "state", "message", "attempts", "start_time", "end_time")
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
    need no conversion on the way in.
    """
    if build not in compiled_cache:
        compiled = build(conn.dialect.name).compile(dialect=conn.dialect)
        compiled_cache[build] = (str(compiled), tuple(compiled.positiontup) if compiled.positional else None)
    sql, order = compiled_cache[build]
    if order is None:
        rows = [dict(zip(columns, row)) for row in rows]
    elif order != columns:
        index = [columns.index(name) for name in order]
        rows = [tuple(row[i] for i in index) for row in rows]
    conn.exec_driver_sql(sql, rows if isinstance(rows, list) else list(rows))


def _task_run_row(run_id: str, run: dict) -> tuple:
    map_index = run.get("map_index")
    return (run_id, run["task_slug"], run.get("task_name") or run["task_slug"], -1 if map_index is None else map_index,
            run["state"], run.get("message"), run.get("attempts") or 0, run.get("start_time"), run.get("end_time"))


def _task_run_dict(row) -> dict:
    return {name: row[name] for name in
            ("task_slug", "task_name", "map_index", "state", "message", "attempts", "start_time", "end_time")}


def _log_row(run_id: str, entry: dict) -> tuple:
    level = entry.get("level", "INFO")
    if isinstance(level, int):
        level = logging.getLevelName(level)
    return (run_id, str(level), entry.get("timestamp") or time.time(), str(entry["message"]),
            entry.get("task_name"), entry.get("task_slug"), entry.get("map_index"))


def _log_dict(row) -> dict:
    return {name: row[name] for name in
            ("id", "level", "timestamp", "message", "task_name", "task_slug", "map_index")}
