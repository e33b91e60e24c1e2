"""``Backend``: the facade every other layer calls, returning plain JSON-able dicts.

Everything else (the client, the agent, the Jupyter server, the CLI) goes
through these methods. Each method opens one transaction and calls the
functions of the module for its concern: :mod:`.projects` (projects and flow
registration), :mod:`.runs` (flow runs, their state machine, claims,
heartbeats, the sweep), :mod:`.task_runs` (task runs and logs). Every
statement uses bound parameters. Writes that can come in bulk (task runs, log
lines) take a list and go to the database as one ``executemany`` in one
transaction.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .. import config
from ..exceptions import BackendError
from . import agents, child_runs, limits, names, notifications, projects, restarts, runs, schema, task_runs
from . import secrets as secrets_sql
from . import schedules as schedules_sql
from .connection import (check_database_file, database_file, display_url, migrate, open_engine, single_write,
                         transaction)
from .runs import FINISHED_STATES, FLOW_RUN_STATES, RESTING_STATES
from .task_runs import LOG_COLUMNS, TASK_RUN_COLUMNS

__all__ = ["Backend", "FINISHED_STATES", "FLOW_RUN_STATES", "LOG_COLUMNS", "RESTING_STATES", "TASK_RUN_COLUMNS"]


class Backend:
    """The backend database at ``url`` (default :func:`jupyter_flows.config.backend_url`).

    Created on first use: the first method call creates the SQLite file and
    its tables (or upgrades an older schema). Errors from the database become
    :class:`~jupyter_flows.exceptions.BackendError` naming the URL and the cause.

    >>> backend = Backend()
    >>> backend.create_project("tutorial")["name"]
    'tutorial'
    """

    def __init__(self, url: str | None = None, create: bool = True):
        self.url = url or config.backend_url()
        self._create = create  # False in processes an agent starts: a missing SQLite file is an error
        self._engine: Engine | None = None
        self._file: tuple[str, int, int] | None = None
        self._opening = threading.Lock()  # server handlers and the recorder's writer share a Backend
        self._bulk_sql: dict = {}  # the bulk inserts, compiled once for this backend's dialect
        self._schedules: dict = {}  # parsed schedules by (group, updated): a scheduler pass parses only changes

    def __repr__(self) -> str:
        return f"Backend({display_url(self.url)!r})"

    def __reduce__(self):
        """A backend crosses processes as its URL (a task's result holding a ``FlowRunView``)."""
        return (Backend, (self.url,))

    # -- connection -----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._opening:
                if self._engine is None:
                    engine = open_engine(self.url, self._create)
                    try:
                        migrate(engine, self.url)
                    except BaseException:
                        engine.dispose()
                        raise
                    self._file = database_file(self.url)  # watched: see check_database_file
                    self._engine = engine
        return self._engine

    def _read(self, doing: str):
        return transaction(self._checked_engine(), self.url, doing, write=False)

    def _write(self, doing: str):
        return transaction(self._checked_engine(), self.url, doing, write=True)

    def _checked_engine(self) -> Engine:
        engine = self.engine
        if self._file is not None:
            check_database_file(self.url, self._file)
        return engine

    def _write_retrying(self, doing: str, work, attempts: int = 3):
        """``work(conn)`` in a write transaction, run again when it lost a race on a unique key.

        Two processes creating the same thing at once: the second one's insert
        conflicts; its next attempt reads what the first one stored.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self._write(doing) as conn:
                    return work(conn)
            except BackendError as exc:
                if attempt == attempts or not isinstance(exc.__cause__, IntegrityError):
                    raise

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
        name = names.check_name(name, "project")
        return self._write_retrying(f"create project {name!r}",
                                    lambda conn: projects.create_project(conn, name, description))

    def list_projects(self) -> list[dict]:
        with self._read("list projects") as conn:
            return projects.list_projects(conn)

    def get_project(self, name: str) -> dict:
        with self._read(f"read project {name!r}") as conn:
            return projects.project_dict(projects.project_row(conn, name))

    # -- flows ----------------------------------------------------------------------------------

    def register_flow(self, project_name: str, name: str, *, storage: dict | None, run_config: dict | None,
                      executor: dict | None, parameters: list | None, graph: dict | None,
                      labels: Iterable[str] | None, content_hash: str,
                      idempotency_key: str | None = None, location: str | None = None,
                      schedule: dict | None = None, missed_runs: str | None = None) -> dict:
        """Record a version of flow ``name`` in ``project_name``.

        The latest version is kept (and returned) when ``idempotency_key``
        matches its key, or, without a key, when ``content_hash`` matches its
        hash. Otherwise a new version is added and the older versions of the
        group are archived. Returns ``{"id", "version", "version_group_id",
        "created", "new_version"}``.

        ``schedule`` (a ``Schedule.to_dict()``) becomes the flow's schedule; a new
        version without one removes the old version's schedule, the same
        version registered again keeps it. ``missed_runs`` is the schedule's
        missed-run policy (``"latest"``, the default, or ``"all"``).
        """
        name = names.check_name(name, "flow")

        def register(conn):
            registered = projects.register_flow(
                conn, project_name, name, storage=storage, run_config=run_config, executor=executor,
                parameters=parameters, graph=graph, labels=labels, content_hash=content_hash,
                idempotency_key=idempotency_key, location=location)
            if schedule is not None or registered["new_version"]:
                schedules_sql.set_schedule(conn, registered["id"], schedule, missed_runs)
            return registered

        return self._write_retrying(f"register flow {name!r}", register)

    def list_flows(self, project_name: str | None = None, include_archived: bool = False) -> list[dict]:
        with self._read("list flows") as conn:
            return projects.list_flows(conn, project_name, include_archived)

    def get_flow(self, flow_id: str) -> dict:
        with self._read(f"read flow {flow_id!r}") as conn:
            return projects.flow_dict(projects.flow_row(conn, flow_id))

    def get_flow_by_name(self, name: str, project_name: str | None = None, version: int | None = None) -> dict:
        """The latest version of flow ``name`` (or version ``version``), in ``project_name`` if given.

        Without a project, the name must be unique across projects.
        """
        with self._read(f"read flow {name!r}") as conn:
            return projects.get_flow_by_name(conn, name, project_name, version)

    def archive_flow(self, flow_id: str, all_versions: bool = False) -> int:
        """Archive a flow version (or all versions of its flow): new runs of it are refused, past runs stay.

        Returns how many versions this archived (0 when they already were).
        """
        with self._write(f"archive flow {flow_id!r}") as conn:
            archived = projects.archive_flow(conn, flow_id, all_versions)
            schedules_sql.stop_archived(conn, flow_id)
            return archived

    # -- flow runs ------------------------------------------------------------------------------

    def create_flow_run(self, flow_id: str | None = None, version_group_id: str | None = None,
                        parameters: dict | None = None, run_config: Any = None,
                        labels: Iterable[str] | None = None, run_name: str | None = None,
                        *, flow_run_id: str | None = None, state: str = "Scheduled",
                        scheduled_start_time: float | None = None, parent_flow_run_id: str | None = None) -> dict:
        """Schedule a run of a flow (by ``flow_id``, or the latest version of ``version_group_id``).

        ``parameters`` are checked against the flow's: a name it does not
        declare, or a missing required one, raises
        :class:`~jupyter_flows.exceptions.ParameterError` listing the declared
        names. ``run_config`` (a dict or a run config) overrides the flow's for
        this run; ``labels`` default to the flow's labels (or to the override's
        labels plus the storage's). ``flow_run_id`` and ``state`` are for a run
        that is already executing in-process (see ``BackendRecorder``).
        ``scheduled_start_time`` (seconds since the epoch; default now) is when
        an agent may claim it. ``parent_flow_run_id`` is the run whose task
        started this one (see :mod:`jupyter_flows.tasks.flows`).
        """
        from ..run_configs import run_config_from_dict

        runs.check_state(state)
        if run_name is not None:
            names.check_length(run_name, "flow run")
        if run_config is not None and not isinstance(run_config, dict):
            run_config = run_config.to_dict()
        if run_config is not None:
            run_config_from_dict(run_config)  # a bad override fails here, naming what is wrong
        with self._write("create a flow run") as conn:
            run = runs.create_flow_run(conn, flow_id, version_group_id, parameters, run_config, labels,
                                       run_name, flow_run_id, state, scheduled_start_time)
            if parent_flow_run_id is not None:
                child_runs.set_parent(conn, run["id"], parent_flow_run_id)
                run["parent_flow_run_id"] = parent_flow_run_id
            return run

    def claim_flow_run(self, agent_id: str, agent_labels: Iterable[str] | None = None,
                       run_config_types: Iterable[str] | None = None) -> dict | None:
        """Atomically move the oldest Scheduled run whose labels the agent has to Submitted.

        ``run_config_types`` (e.g. ``["DockerRun"]``) limits the claim to runs
        whose run config is of one of those types, so that each kind of agent
        picks the runs it can run. Returns the claimed run, or ``None`` when there is nothing to do. The
        state change is a conditional ``UPDATE ... WHERE state = 'Scheduled'``
        checked by its row count, inside a write transaction (``BEGIN
        IMMEDIATE`` on SQLite), so two agents never claim the same run.
        """
        with self._write("claim a flow run") as conn:
            return runs.claim_flow_run(conn, agent_id, set(agent_labels or ()), run_config_types,
                                       blocked=limits.label_blocking)

    def release_flow_run(self, run_id: str, agent_id: str, reason: str) -> bool:
        """Put a run that ``agent_id`` claimed but could not start back to Scheduled, for any agent.

        A claim lasts while its agent beats: an agent that cannot start the
        run's process (no process could be forked, the disk is full) releases
        it instead of failing a run that never began. Only the claiming agent
        releases, and only a run still Submitted; returns whether it did.
        """
        with self._write(f"release flow run {run_id!r}") as conn:
            return runs.release_claim(conn, run_id, agent_id, reason)

    def set_flow_run_state(self, run_id: str, state_type: str, message: str | None = None) -> dict:
        """Move a run to ``state_type`` and record it in the run's history; returns the run.

        A finished run (Success, Failed, Cancelled) keeps its state: a late
        report from a process that was cancelled does not overwrite
        "Cancelled". Running sets ``start_time``; a finished state sets ``end_time``.
        """
        runs.check_state(state_type)
        with self._write(f"set the state of flow run {run_id!r}") as conn:
            runs.change_state(conn, run_id, state_type, message)
            return runs.flow_run(conn, run_id)

    def restart_flow_run(self, run_id: str) -> dict:
        """Schedule a Failed or Cancelled run again, same id; its agent reruns only what did not succeed.

        A run still going, one that succeeded, or an unknown id is refused
        (:class:`~jupyter_flows.exceptions.RestartError`, ``NotFoundError``).
        See :mod:`jupyter_flows.backend.restarts`.
        """
        with self._write(f"restart flow run {run_id!r}") as conn:
            return restarts.restart_flow_run(conn, run_id)

    def resume_flow_run(self, run_id: str) -> dict:
        """Approve the paused tasks of a Paused run and schedule it again, same id (a restart that resumes).

        Its agent keeps the task runs that succeeded and lets the approved
        ``manual_only`` tasks run. A run that is not Paused is refused
        (:class:`~jupyter_flows.exceptions.RestartError` naming its state).
        """
        with self._write(f"resume flow run {run_id!r}") as conn:
            return restarts.resume_flow_run(conn, run_id)

    def cancel_flow_run(self, run_id: str, message: str = "Cancelled by user") -> dict:
        """Mark a run Cancelled (its agent then stops its process); a finished run is left as is."""
        return self.set_flow_run_state(run_id, "Cancelled", message)

    def heartbeat(self, run_id: str) -> dict:
        """Record that the run's process is alive; returns ``{"id", "state", "heartbeat", "ended"}``.

        ``ended`` is true once the run is finished (cancelled, failed by a sweep
        that took it for lost, ...): it is no longer the caller's to run, and
        its heartbeat is not recorded.
        """
        with self._write(f"record a heartbeat of flow run {run_id!r}") as conn:
            return runs.heartbeat(conn, run_id)

    def set_flow_run_output_path(self, run_id: str, path: str | None) -> dict:
        with self._write(f"set the output path of flow run {run_id!r}") as conn:
            return runs.set_output_path(conn, run_id, path)

    def set_flow_run_infrastructure(self, run_id: str, infrastructure: str) -> None:
        """Record where the run runs, as its agent names it (``container <name>``, ``Job <namespace>/<name>``).

        A column rather than a log line, so that the CLI, the Client and the Lab
        read it without parsing the log.
        """
        with self._write(f"record the infrastructure of flow run {run_id!r}") as conn:
            runs.set_infrastructure(conn, run_id, infrastructure)

    def flow_run_states(self, run_ids: Iterable[str]) -> dict[str, str]:
        """``{run id: state}`` of several runs in one query (an agent watching its runs each poll)."""
        run_ids = list(run_ids)
        if not run_ids:
            return {}
        with self._read("read flow run states") as conn:
            return runs.states_of(conn, run_ids)

    def get_flow_run(self, run_id: str) -> dict:
        with self._read(f"read flow run {run_id!r}") as conn:
            return runs.flow_run(conn, run_id)

    def list_flow_runs(self, flow_id: str | None = None, project_name: str | None = None,
                       state: str | Iterable[str] | None = None, limit: int | None = 50,
                       offset: int = 0) -> list[dict]:
        """Runs, newest first; ``state`` may be one state name or several."""
        with self._read("list flow runs") as conn:
            project_id = projects.project_row(conn, project_name)["id"] if project_name is not None else None
            return runs.list_flow_runs(conn, flow_id, project_id, state, limit, offset)

    def find_stale_runs(self, max_silence_s: float) -> list[dict]:
        """Submitted or Running runs with no heartbeat for ``max_silence_s`` seconds (their process is gone)."""
        with self._read("look for stale flow runs") as conn:
            return runs.find_stale_runs(conn, max_silence_s)

    def fail_stale_runs(self, max_silence_s: float) -> list[dict]:
        """Fail runs silent for ``max_silence_s`` seconds whose agent is gone too; returns the failed runs.

        Any reader may call it (agents do, each poll): silence is measured by
        the database's clock, a run held by a live agent is left alone, and
        each change is a compare-and-set, so two sweepers never fail a run
        that beat meanwhile, and never fail one twice.
        """
        with self._write("fail stale flow runs") as conn:
            return runs.fail_stale_runs(conn, max_silence_s, agents.run_agent_gone(max_silence_s))

    def delete_flow_run(self, run_id: str, refuse_live: bool = False) -> None:
        """Remove a run with its history, task runs and logs.

        ``refuse_live=True`` raises :class:`FlowRunActiveError` instead for a
        Submitted or Running run, checked and deleted in one transaction.
        """
        with self._write(f"delete flow run {run_id!r}") as conn:
            runs.delete_flow_run(conn, run_id, refuse_live)

    # -- agents -------------------------------------------------------------------------------

    def register_agent(self, agent_id: str, host: str, labels: Iterable[str], kind: str = "local",
                       managed_by: str | None = None) -> dict:
        """Record that agent ``agent_id`` started polling (again, if the id is known); returns its record.

        ``managed_by`` names what started it (e.g. a Jupyter server), ``None`` for an agent a user started.
        """
        with self._write(f"register agent {agent_id!r}") as conn:
            return agents.register(conn, agent_id, host, labels, kind, managed_by)

    def agent_heartbeat(self, agent_id: str, runs_in_flight: int) -> None:
        """The agent is alive and holds ``runs_in_flight`` runs; the runs it holds are alive too."""
        with self._write(f"record a heartbeat of agent {agent_id!r}") as conn:
            agents.beat(conn, agent_id, runs_in_flight)

    def agent_stopped(self, agent_id: str) -> None:
        """The agent ended cleanly: it no longer counts as live."""
        with self._write(f"record that agent {agent_id!r} stopped") as conn:
            agents.stopped(conn, agent_id)

    def list_agents(self, live_only: bool = False) -> list[dict]:
        """Agents in the order they started, each with ``"live"``: seen within the stale threshold."""
        with self._read("list agents") as conn:
            return agents.list_agents(conn, live_only, agents.stale_after_s())

    def waiting_reason(self, run: dict) -> str | None:
        """Why Scheduled ``run`` waits: its scheduled time is ahead, "no agent is running", or the labels no
        live agent has; else None."""
        with self._read("list agents") as conn:
            return agents.waiting_reason(conn, run, agents.stale_after_s())

    def waiting_reasons(self, runs: list[dict]) -> dict[str, str | None]:
        """``waiting_reason`` of each Scheduled run of ``runs``, by run id, in two reads for all of them."""
        with self._read("list agents") as conn:
            return agents.waiting_reasons(conn, runs, agents.stale_after_s())

    # -- concurrency limits ---------------------------------------------------------------------

    def set_concurrency_limit(self, name: str, limit: int, kind: str = "tag") -> dict:
        """At most ``limit`` task runs of tasks tagged ``name`` (``kind="label"``: flow runs with that label).

        Counted across every flow run and host this backend serves; setting it again changes it.
        """
        limit = limits.check_limit(name, limit, kind)
        with self._write(f"set the concurrency limit of {kind} {name!r}") as conn:
            return limits.set_limit(conn, kind, name, limit)

    def get_concurrency_limit(self, name: str, kind: str = "tag") -> dict:
        """The limit with ``in_use``: how many of its slots are taken now."""
        limits.check_limit(name, 0, kind)
        with self._read(f"read the concurrency limit of {kind} {name!r}") as conn:
            return limits.get_limit(conn, kind, name)

    def list_concurrency_limits(self, kind: str | None = None) -> list[dict]:
        with self._read("list concurrency limits") as conn:
            return limits.list_limits(conn, kind)

    def delete_concurrency_limit(self, name: str, kind: str = "tag") -> None:
        limits.check_limit(name, 0, kind)
        with self._write(f"delete the concurrency limit of {kind} {name!r}") as conn:
            limits.delete_limit(conn, kind, name)

    def limited_tags(self) -> dict[str, int]:
        """``{tag: limit}`` of every tag limit (a run caches it and reads it again now and then)."""
        with self._read("read the limited tags") as conn:
            return limits.limited_tags(conn)

    def acquire_task_slots(self, run_id: str, tags: Iterable[str], task_slug: str,
                           map_index: int | None) -> dict | None:
        """Atomically take a slot of every limited tag for one task run; ``None`` when taken, else what blocks.

        One call, in autocommit on PostgreSQL (see ``limits.acquire_slots``)."""
        with single_write(self._checked_engine(), self.url,
                          f"take concurrency slots for a task run of flow run {run_id!r}") as conn:
            return limits.acquire_slots(conn, tags, run_id, task_slug, -1 if map_index is None else map_index)

    def release_task_slots(self, run_id: str, task_slug: str, map_index: int | None) -> None:
        """Free the slots a task run holds: one statement, outside any transaction on PostgreSQL."""
        with single_write(self._checked_engine(), self.url,
                          f"release the concurrency slots of a task run of flow run {run_id!r}") as conn:
            limits.release_slots(conn, run_id, task_slug, -1 if map_index is None else map_index)

    # -- task runs and logs ---------------------------------------------------------------------

    def write_task_runs(self, run_id: str, runs: list[dict]) -> int:
        """Insert or update task runs of ``run_id`` (keyed by slug and map index), in one transaction.

        Each dict has ``task_slug``, ``task_name`` and ``state``, and may have
        ``map_index`` (``None`` or -1 for a task that is not mapped),
        ``message``, ``attempts``, ``start_time``, ``end_time``, ``result_location``
        (where its result was checkpointed, for a restart to read).
        """
        rows = [task_runs.task_run_row(run_id, run) for run in runs]
        self.record_rows(run_id, rows, (), f"write {len(rows)} task run(s) of flow run {run_id!r}")
        return len(rows)

    def write_logs(self, run_id: str, entries: list[dict]) -> int:
        """Append log lines of ``run_id`` in one transaction.

        Each dict has ``message``, and may have ``level`` (a name like
        ``"INFO"`` or a number), ``timestamp``, ``task_name``, ``task_slug``,
        ``map_index`` (as :meth:`LogEntry.to_dict` gives).
        """
        rows = [task_runs.log_row(run_id, entry) for entry in entries]
        self.record_rows(run_id, (), rows, f"write {len(rows)} log line(s) of flow run {run_id!r}")
        return len(rows)

    def record(self, run_id: str, runs: list[dict], entries: list[dict]) -> None:
        """Write task runs and log lines together, in one transaction."""
        self.record_rows(run_id, [task_runs.task_run_row(run_id, run) for run in runs],
                         [task_runs.log_row(run_id, entry) for entry in entries])

    def record_rows(self, run_id: str, task_rows, log_rows, doing: str | None = None) -> None:
        """The bulk write under :meth:`record`, for callers that already hold rows as tuples.

        ``task_rows`` are tuples in :data:`TASK_RUN_COLUMNS` order, ``log_rows``
        in :data:`LOG_COLUMNS` order, each starting with ``run_id``; the
        recorder builds them on its hot path so that a flush converts nothing.
        Task runs of a run that already ended Success or Failed are refused with
        :class:`~jupyter_flows.exceptions.FlowRunFinishedError` (nothing is written).
        """
        if not task_rows and not log_rows:
            return
        with self._write(doing or f"record task runs and logs of flow run {run_id!r}") as conn:
            if task_rows:
                runs.require_still_running(conn, run_id)  # and beats for it
            else:
                runs.require_run(conn, run_id)
            task_runs.write_rows(conn, self._bulk_sql, task_rows, log_rows)

    def get_task_runs(self, run_id: str) -> list[dict]:
        with self._read(f"read task runs of flow run {run_id!r}") as conn:
            runs.require_run(conn, run_id)
            return task_runs.get_task_runs(conn, run_id)

    def get_logs(self, run_id: str, after: int | None = None, limit: int | None = None) -> list[dict]:
        """Log lines of a run in order; ``after`` (a log ``id``) gives only newer lines."""
        with self._read(f"read logs of flow run {run_id!r}") as conn:
            runs.require_run(conn, run_id)
            return task_runs.get_logs(conn, run_id, after, limit)

    # -- schedules ------------------------------------------------------------------------------

    def set_schedule(self, flow_id: str, schedule: dict | None, missed_runs: str | None = None) -> dict | None:
        """Give flow version ``flow_id`` a schedule (a ``Schedule.to_dict()``; None removes it).

        Returns the schedule as :meth:`get_schedule` does. An archived version
        is refused (:class:`~jupyter_flows.exceptions.FlowArchivedError`); a
        clock setting a parameter the flow does not declare is a
        :class:`~jupyter_flows.exceptions.ScheduleError`.
        """
        with self._write(f"set the schedule of flow {flow_id!r}") as conn:
            return schedules_sql.set_schedule(conn, flow_id, schedule, missed_runs)

    def get_schedule(self, flow_id: str) -> dict | None:
        """``{"schedule", "description", "paused", "missed_runs", "flow_id", "next_run"}`` or None."""
        with self._read(f"read the schedule of flow {flow_id!r}") as conn:
            group = projects.flow_row(conn, flow_id)["version_group_id"]
            return schedules_sql.schedule_info(conn, group)

    def get_schedules(self, version_group_ids: Iterable[str]) -> dict[str, dict]:
        """The schedules of several flows at once: ``{version_group_id: schedule}`` for those that have one."""
        with self._read("read schedules") as conn:
            return schedules_sql.schedules_by_group(conn, version_group_ids, self._schedules)

    def pause_schedule(self, flow_id: str) -> dict:
        """Stop a flow's schedule creating runs, and remove the runs it created that have not started."""
        with self._write(f"pause the schedule of flow {flow_id!r}") as conn:
            return schedules_sql.set_paused(conn, flow_id, True)

    def resume_schedule(self, flow_id: str) -> dict:
        """Let a paused schedule create runs again, from now on (times passed while paused are not run)."""
        with self._write(f"resume the schedule of flow {flow_id!r}") as conn:
            return schedules_sql.set_paused(conn, flow_id, False)

    def create_scheduled_runs(self, horizon_s: float = 3600.0, min_runs: int = 10, late_after_s: float = 60.0) -> int:
        """One scheduler pass: create the runs of every active schedule ahead of time; returns how many.

        Each schedule gets its runs up to ``horizon_s`` seconds ahead, or its
        next ``min_runs`` runs, whichever reaches further. Runs no agent took
        within ``late_after_s`` of their time follow the schedule's missed-run
        policy. Safe to call from any number of processes at once: see
        :mod:`jupyter_flows.backend.schedules`.
        """
        with self._write("create scheduled flow runs") as conn:
            return schedules_sql.create_scheduled_runs(conn, self._schedules, horizon_s, min_runs, late_after_s)

    # -- secrets, notifications, flows of flows (see jupyter_flows.secrets, .notifications, .tasks.flows) ----

    def set_secret_token(self, name: str, token: str) -> None:
        """Store an encrypted secret value (:func:`jupyter_flows.secrets.set_secret` encrypts it)."""
        with self._write(f"set secret {name!r}") as conn:
            secrets_sql.set_token(conn, name, token)

    def get_secret_token(self, name: str) -> str | None:
        with self._read(f"read secret {name!r}") as conn:
            return secrets_sql.get_token(conn, name)

    def delete_secret(self, name: str) -> bool:
        with self._write(f"delete secret {name!r}") as conn:
            return secrets_sql.delete_secret(conn, name)

    def list_secrets(self) -> list[dict]:
        """``[{"name", "updated"}]``: the names of the secrets stored here, never their values."""
        with self._read("list secrets") as conn:
            return secrets_sql.list_secrets(conn)

    def add_notification(self, flow_id: str, kind: str, options: dict, on_states: list | None = None) -> dict:
        """Tell someone when runs of the flow of version ``flow_id`` (any version) end in ``on_states``."""
        with self._write(f"add a notification to flow {flow_id!r}") as conn:
            return notifications.add(conn, flow_id, kind, options, on_states)

    def get_notifications(self, flow_id: str) -> list[dict]:
        with self._read(f"read the notifications of flow {flow_id!r}") as conn:
            return notifications.of_flow(conn, flow_id)

    def remove_notification(self, flow_id: str, notification_id: int) -> None:
        with self._write(f"remove notification {notification_id!r} of flow {flow_id!r}") as conn:
            notifications.remove(conn, flow_id, notification_id)

    def flow_run_depth(self, run_id: str, limit: int) -> int:
        """How many parent runs run ``run_id`` has (counting stops past ``limit``)."""
        with self._read(f"read the parents of flow run {run_id!r}") as conn:
            return child_runs.depth(conn, run_id, limit)

    def child_flow_runs(self, run_id: str) -> list[dict]:
        """``[{"id", "name", "state"}]`` of the runs that run ``run_id`` started, oldest first."""
        with self._read(f"read the child runs of flow run {run_id!r}") as conn:
            return child_runs.children(conn, run_id)

    def write_task_results(self, run_id: str, rows: list[tuple[str, int, bytes]]) -> None:
        """Keep a child run's final task results: ``(slug, map index, pickled value)`` rows."""
        with self._write(f"write task results of flow run {run_id!r}") as conn:
            child_runs.write_results(conn, run_id, rows)

    def get_task_result(self, run_id: str, task_slug: str, map_index: int = -1) -> bytes:
        """The pickled result a child run kept for ``task_slug`` (``NotFoundError`` listing those it kept)."""
        with self._read(f"read a task result of flow run {run_id!r}") as conn:
            runs.require_run(conn, run_id)
            return child_runs.read_result(conn, run_id, task_slug, map_index)
