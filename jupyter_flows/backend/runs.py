"""Flow runs: creation, the state machine, claims, heartbeats and the stale-run sweep.

Functions over a connection, called by :class:`Backend` inside its
transactions. A run goes Scheduled -> Submitted (an agent claimed it) ->
Running -> one of the finished states, which never change again.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ..exceptions import (FlowArchivedError, FlowRunActiveError, FlowRunFinishedError, NotFoundError,
                          ParameterError)
from ..run_configs.base import validate_labels
from .clock import db_now
from .projects import flow_query, flow_row, new_id
from .schema import (flow_run_states, flow_runs, flows, limit_slots, logs, projects, task_run_results,
                     task_runs)

FLOW_RUN_STATES = ("Scheduled", "Submitted", "Running", "Paused", "Success", "Failed", "Cancelled")
FINISHED_STATES = ("Success", "Failed", "Cancelled")
#: A run whose tasks wait for approval (``manual_only``): no process runs it, nothing is lost, it is not
#: finished; ``resume_flow_run`` schedules it again (see backend/restarts.py).
PAUSED_STATE = "Paused"
#: States in which nothing happens to a run until a person acts: finished, or paused for approval.
RESTING_STATES = (*FINISHED_STATES, PAUSED_STATE)
LIVE_STATES = ("Submitted", "Running")
#: How many Scheduled runs a claim looks at per attempt before matching labels in Python.
_CLAIM_WINDOW = 100
#: The PostgreSQL channel on which a run that may be claimed now is announced (agent/wakeup.py listens).
RUNS_CHANNEL = "jupyter_flows_runs"


def check_state(state: str) -> None:
    if state not in FLOW_RUN_STATES:
        raise ValueError(f"unknown flow run state {state!r}; known: {', '.join(FLOW_RUN_STATES)}")


def create_flow_run(conn: Connection, flow_id: str | None, version_group_id: str | None, parameters: dict | None,
                    run_config: dict | None, labels: Iterable[str] | None, run_name: str | None,
                    flow_run_id: str | None, state: str, scheduled_start_time: float | None = None) -> dict:
    flow = _run_target(conn, flow_id, version_group_id)
    # A run already executing in-process (Running) was given its values by the engine: record them as they are.
    checked = _check_run_parameters(flow, parameters or {}, typed=state != "Running")
    if labels is not None:
        run_labels = validate_labels(labels)  # an empty label would make a run no agent can claim
    elif run_config is not None:
        storage_labels = (flow["storage"] or {}).get("labels") or []
        run_labels = sorted(set(run_config.get("labels") or []) | set(storage_labels))
    else:
        run_labels = list(flow["labels"] or [])
    now = time.time()
    run_id = flow_run_id or new_id()
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
        # "now" by the database's clock, the one the claim compares with
        "scheduled_start_time": scheduled_start_time if scheduled_start_time is not None else db_now(),
        "version_group_id": flow["version_group_id"],
    }
    conn.execute(insert(flow_runs).values(**row))
    conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state=state, message=None, timestamp=now))
    if state == "Scheduled" and (scheduled_start_time is None or scheduled_start_time <= now):
        announce_runnable(conn)
    return flow_run(conn, run_id)


def announce_runnable(conn: Connection) -> None:
    """Wake the agents waiting for work: a run may be claimed now (they need not wait for their poll).

    PostgreSQL delivers the NOTIFY when the transaction commits. On SQLite the
    wake-up file's time is set (agents ``stat`` it); an agent woken before the
    commit still sees the run, as its claim (``BEGIN IMMEDIATE``) waits for this
    transaction's write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {RUNS_CHANNEL}")
        return
    path = wakeup_file(conn.engine.url.database)
    if path is None:
        return
    try:
        if not os.path.exists(path):
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        stamp = time.time_ns()  # explicit times keep full precision (the file system's clock is coarse)
        os.utime(path, ns=(stamp, stamp))
    except OSError:
        pass  # agents still find the run at their next poll


def wakeup_file(database: str | None) -> str | None:
    """The file whose time announces new runs of the SQLite database ``database`` (``None``: in memory)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.fspath(Path(database).expanduser().resolve()) + "-wakeup"


def claim_flow_run(conn: Connection, agent_id: str, offered: set,
                   run_config_types: Iterable[str] | None = None, blocked=None) -> dict | None:
    """Move the oldest Scheduled run whose labels are all in ``offered`` to Submitted (see ``Backend``).

    With ``run_config_types``, only runs whose run config (the run's own, else
    its flow's; ``UniversalRun`` when neither has one) is of one of those types.
    ``blocked(conn, labels)``, when given, is true for a run that must wait
    (a concurrency limit on one of its labels is full); such runs are passed over.
    """
    kinds = None if run_config_types is None else set(run_config_types)
    last_created = None
    while True:
        query = (select(flow_runs.c.id, flow_runs.c.labels, flow_runs.c.created, flow_runs.c.run_config,
                        flows.c.run_config.label("flow_run_config"))
                 .join(flows, flows.c.id == flow_runs.c.flow_id)
                 .where(flow_runs.c.state == "Scheduled", flow_runs.c.scheduled_start_time <= db_now()))
        if last_created is not None:
            query = query.where(flow_runs.c.created >= last_created)
        rows = conn.execute(query.order_by(flow_runs.c.created, flow_runs.c.id).limit(_CLAIM_WINDOW)).all()
        for run_id, labels, _created, run_config, flow_run_config in rows:
            if not set(labels or ()) <= offered:
                continue
            if kinds is not None and _run_config_type(run_config or flow_run_config) not in kinds:
                continue
            if blocked is not None and labels and blocked(conn, labels):
                continue
            now = time.time()
            claimed = conn.execute(
                update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state == "Scheduled")
                .values(state="Submitted", state_message=f"Submitted by agent {agent_id}",
                        agent_id=agent_id, heartbeat=db_now())
            ).rowcount
            if claimed == 1:
                conn.execute(insert(flow_run_states).values(
                    flow_run_id=run_id, state="Submitted", message=f"Submitted by agent {agent_id}",
                    timestamp=now))
                return flow_run(conn, run_id)
        if len(rows) < _CLAIM_WINDOW or rows[-1][2] == last_created:
            return None
        last_created = rows[-1][2]


def _run_config_type(run_config: dict | None) -> str:
    return (run_config or {}).get("type") or "UniversalRun"


def states_of(conn: Connection, run_ids: list[str]) -> dict[str, str]:
    rows = conn.execute(select(flow_runs.c.id, flow_runs.c.state).where(flow_runs.c.id.in_(run_ids))).all()
    return dict(rows)


def release_claim(conn: Connection, run_id: str, agent_id: str, reason: str) -> bool:
    """Give a run ``agent_id`` claimed but could not start back to the other agents; say whether it was."""
    message = f"released by agent {agent_id}: {reason}"
    released = conn.execute(
        update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state == "Submitted",
                                flow_runs.c.agent_id == agent_id)
        .values(state="Scheduled", state_message=message, agent_id=None, heartbeat=None)).rowcount
    if released:
        conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state="Scheduled", message=message,
                                                    timestamp=time.time()))
        announce_runnable(conn)
    return bool(released)


def change_state(conn: Connection, run_id: str, state: str, message: str | None) -> bool:
    """Move a run to ``state`` unless it is finished already; say whether it moved.

    A compare-and-set: the UPDATE itself requires an unfinished state, so of two
    writers finishing one run at the same moment (PostgreSQL runs them side by
    side; the second waits for the row and then re-checks the condition) only
    the first changes it, and only its change enters the history.
    """
    now = time.time()
    values: dict[str, Any] = {"state": state, "state_message": message}
    if state == "Running":
        values["start_time"] = func.coalesce(flow_runs.c.start_time, now)
    if state in LIVE_STATES:
        values["heartbeat"] = db_now()
    if state in FINISHED_STATES:
        values["end_time"] = now
    if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state.not_in(FINISHED_STATES))
                    .values(**values)).rowcount == 0:
        require_run(conn, run_id)
        return False
    conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state=state, message=message, timestamp=now))
    return True


def heartbeat(conn: Connection, run_id: str) -> dict:
    """Beat for a run that has not ended; say whether it has (then its process should stop)."""
    conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state.not_in(FINISHED_STATES))
                 .values(heartbeat=db_now()))
    row = conn.execute(select(flow_runs.c.state, flow_runs.c.heartbeat).where(flow_runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    return {"id": run_id, "state": row.state, "heartbeat": row.heartbeat, "ended": row.state in FINISHED_STATES}


def set_output_path(conn: Connection, run_id: str, path: str | None) -> dict:
    if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id).values(output_path=path)).rowcount == 0:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    return flow_run(conn, run_id)


def set_infrastructure(conn: Connection, run_id: str, infrastructure: str) -> None:
    if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id)
                    .values(infrastructure=infrastructure)).rowcount == 0:
        raise NotFoundError(f"no flow run with id {run_id!r}")


def list_flow_runs(conn: Connection, flow_id: str | None, project_id: str | None,
                   state: str | Iterable[str] | None, limit: int | None, offset: int) -> list[dict]:
    query = flow_run_query()
    if flow_id is not None:
        query = query.where(flow_runs.c.flow_id == flow_id)
    if project_id is not None:
        query = query.where(flows.c.project_id == project_id)
    if state is not None:
        wanted = [state] if isinstance(state, str) else list(state)
        unknown = sorted(set(wanted) - set(FLOW_RUN_STATES))
        if unknown:
            raise ValueError(f"unknown flow run state(s) {unknown}; known: {', '.join(FLOW_RUN_STATES)}")
        query = query.where(flow_runs.c.state.in_(wanted))
    query = query.order_by(flow_runs.c.created.desc(), flow_runs.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [flow_run_dict(row, states=None) for row in conn.execute(query).mappings()]


def _stale(max_silence_s: float):
    """SQL condition: a Submitted or Running run silent for ``max_silence_s`` by the database's clock."""
    last_sign = func.coalesce(flow_runs.c.heartbeat, flow_runs.c.start_time, flow_runs.c.created)
    return and_(flow_runs.c.state.in_(LIVE_STATES), last_sign < db_now() - max_silence_s)


def find_stale_runs(conn: Connection, max_silence_s: float) -> list[dict]:
    query = flow_run_query().where(_stale(max_silence_s))
    return [flow_run_dict(row, states=None) for row in conn.execute(query.order_by(flow_runs.c.created)).mappings()]


def fail_stale_runs(conn: Connection, max_silence_s: float, agent_gone) -> list[dict]:
    """Fail the silent runs whose agent is gone too (``agent_gone``: an SQL condition); returns them.

    Each change is a compare-and-set: the UPDATE repeats the staleness test, so
    a run that beat (or ended) since it was read is left alone, whoever sweeps.
    """
    stale = and_(_stale(max_silence_s), agent_gone)
    failed = []
    for run_id, agent_id, beat in conn.execute(select(flow_runs.c.id, flow_runs.c.agent_id, flow_runs.c.heartbeat)
                                               .where(stale).order_by(flow_runs.c.created)).all():
        holder = f"agent {agent_id} is gone" if agent_id else "its process is gone"
        message = f"lost: no heartbeat since {format_time(beat)} ({holder})"
        if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, stale)
                        .values(state="Failed", state_message=message, end_time=time.time())).rowcount:
            conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state="Failed", message=message,
                                                        timestamp=time.time()))
            failed.append(flow_run(conn, run_id))
    if failed:  # a lost run's task runs hold no concurrency slots any more
        conn.execute(delete(limit_slots).where(limit_slots.c.flow_run_id.in_([run["id"] for run in failed])))
    return failed


def format_time(value: float | None) -> str:
    if value is None:
        return "never"
    return datetime.datetime.fromtimestamp(value).isoformat(timespec="seconds")


def delete_flow_run(conn: Connection, run_id: str, refuse_live: bool = False) -> None:
    if refuse_live:
        # Read under a row lock (SQLite's write transaction is exclusive already), so that no agent
        # claims the run between this check and the delete.
        row = conn.execute(select(flow_runs.c.name, flow_runs.c.state).where(flow_runs.c.id == run_id)
                           .with_for_update()).first()
        if row is not None and row.state in LIVE_STATES:
            raise FlowRunActiveError(
                f"flow run {row.name!r} ({run_id}) is {row.state}: a process may be working on it; cancel it "
                f"first (`jupyter-flows cancel {run_id}`) and delete it once it has ended")
    for table in (logs, task_runs, flow_run_states, task_run_results, limit_slots):
        conn.execute(delete(table).where(table.c.flow_run_id == run_id))
    if conn.execute(delete(flow_runs).where(flow_runs.c.id == run_id)).rowcount == 0:
        raise NotFoundError(f"no flow run with id {run_id!r}")


# -- reading rows into dicts --------------------------------------------------------------------


def flow_run_query():
    return (select(flow_runs, flows.c.name.label("flow_name"), flows.c.version.label("flow_version"),
                   projects.c.name.label("project_name"))
            .join(flows, flows.c.id == flow_runs.c.flow_id)
            .join(projects, projects.c.id == flows.c.project_id))


def flow_run(conn: Connection, run_id: str) -> dict:
    """The run with its state history, or a :class:`NotFoundError`."""
    row = conn.execute(flow_run_query().where(flow_runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    states = conn.execute(
        select(flow_run_states.c.state, flow_run_states.c.message, flow_run_states.c.timestamp)
        .where(flow_run_states.c.flow_run_id == run_id).order_by(flow_run_states.c.id)
    ).mappings().all()
    return flow_run_dict(row, [dict(s) for s in states])


def flow_run_dict(row, states: list | None) -> dict:
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
        "scheduled_start_time": row["scheduled_start_time"],
        "parent_flow_run_id": row.get("parent_flow_run_id"),
        "infrastructure": row.get("infrastructure"),
    }
    if states is not None:
        run["states"] = states
    return run


def require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(select(flow_runs.c.id).where(flow_runs.c.id == run_id)).first() is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")


def require_still_running(conn: Connection, run_id: str) -> None:
    """Beat for a run whose records arrive; refuse its task runs once it ended Success or Failed.

    A batch of records proves its writer alive, so it counts as a heartbeat
    (one UPDATE per batch, which is also the common path's only check). A
    process paused past the heartbeat timeout is taken for lost and its run
    failed; when it wakes up, what it finishes is not recorded as if the run had
    gone on. A Cancelled run still takes the records of its process winding
    down (the cancel is a request that process honours).
    """
    if conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state.in_(LIVE_STATES))
                    .values(heartbeat=db_now())).rowcount:
        return
    state = conn.execute(select(flow_runs.c.state).where(flow_runs.c.id == run_id)).scalar()
    if state is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    if state in ("Success", "Failed"):
        raise FlowRunFinishedError(
            f"flow run {run_id!r} already ended {state}: its task runs are no longer recorded "
            "(the run was taken for lost, or ended elsewhere)")


def _run_target(conn: Connection, flow_id: str | None, version_group_id: str | None):
    if flow_id is not None:
        row = flow_row(conn, flow_id)
        if row["archived"]:
            latest = conn.execute(select(flows.c.id, flows.c.version).where(
                flows.c.version_group_id == row["version_group_id"], flows.c.archived.is_(False))
                .order_by(flows.c.version.desc()).limit(1)).first()
            newer = f"; run the current version {latest.version} (id {latest.id})" if latest else ""
            raise FlowArchivedError(f"flow {row['name']!r} version {row['version']} (id {flow_id}) is archived{newer}")
        return row
    if version_group_id is not None:
        row = conn.execute(flow_query().where(flows.c.version_group_id == version_group_id,
                                              flows.c.archived.is_(False))
                           .order_by(flows.c.version.desc()).limit(1)).mappings().first()
        if row is None:
            raise NotFoundError(f"no flow with version group id {version_group_id!r}")
        return row
    raise ValueError("create_flow_run needs flow_id or version_group_id")


def _check_run_parameters(flow, given: dict, typed: bool = True) -> dict:
    """The same checks as ``engine.flow_runner.check_parameters``, on the registered parameter list.

    ``typed`` also checks each value against its parameter's type (:func:`_check_value_type`), so
    that a bad value is refused when the run is created, not when it executes.
    """
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
        if typed:
            _check_value_type(flow["name"], name, declared[name]["default"], value)
    return dict(given)


# A parameter's type is the JSON type of its default (the widgets offer the matching input); one
# without a default takes any value. bool comes before int: a bool is an int in Python.
_VALUE_TYPES = (
    (bool, (bool,), "true or false"),
    (int, (int,), "a whole number"),
    (float, (int, float), "a number"),
    (str, (str,), "a string"),
    (list, (list,), "a list"),
    (dict, (dict,), "an object of name: value"),
)


def _check_value_type(flow_name: str, name: str, default: Any, value: Any) -> None:
    """Refuse, when the run is created, a value the parameter's default says it cannot take."""
    for kind, accepted, described in _VALUE_TYPES:
        if isinstance(default, kind):
            if isinstance(value, accepted) and (kind is bool or not isinstance(value, bool)):
                return
            raise ParameterError(
                f"parameter {name!r} of flow {flow_name!r} takes {described} (its default is {default!r:.40}), "
                f"got {type(value).__name__} {value!r:.60}"
            )
