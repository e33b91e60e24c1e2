"""Schedules in the backend: one per flow (version group), and the runs they create ahead of time.

Functions over a connection, called by :class:`Backend` inside its
transactions. The ``schedules`` row holds the schedule of a flow's current
version (a new version replaces it, archiving stops it), whether it is paused,
its missed-run policy, and ``scheduled_until``: the latest time runs were
created for.

A scheduler pass (:func:`create_scheduled_runs`) creates the runs of every
active schedule up to a horizon. Any number of schedulers may run passes at
once: a run's ``(version_group_id, scheduled_start_time, clock_key)`` is
unique in ``flow_runs`` and the inserts skip conflicts (``ON CONFLICT DO
NOTHING`` on SQLite and PostgreSQL), so each scheduled time becomes exactly one
run whatever the timing.

Missed runs: times between ``scheduled_until`` and now were never created
(no scheduler was running). With the policy ``"latest"`` (the default) only
the latest of them runs, its state message saying how late it is and how many
earlier times were skipped; with ``"all"`` every one of them runs, each marked
late.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import bindparam, delete, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..exceptions import FlowArchivedError, ScheduleError
from ..schedules import Schedule, schedule_from_dict
from .clock import db_now
from .projects import flow_row, new_id
from .schema import flow_run_states, flow_runs, flows, schedules

MISSED_RUN_POLICIES = ("latest", "all")


def check_policy(missed_runs: str) -> str:
    if missed_runs not in MISSED_RUN_POLICIES:
        raise ScheduleError(f"unknown missed-run policy {missed_runs!r}; known: {', '.join(MISSED_RUN_POLICIES)}")
    return missed_runs


def set_schedule(conn: Connection, flow_id: str, schedule: dict | None, missed_runs: str | None) -> dict | None:
    """Make ``schedule`` (a :meth:`Schedule.to_dict`, or None to remove it) the schedule of flow ``flow_id``.

    A different schedule than the stored one removes the runs the old one
    created that have not started, and counts anew from now.
    """
    flow = flow_row(conn, flow_id)
    if flow["archived"]:
        raise FlowArchivedError(f"flow {flow['name']!r} version {flow['version']} (id {flow_id}) is archived; "
                                "a schedule goes on the current version")
    group = flow["version_group_id"]
    current = _schedule_row(conn, group, lock=True)
    if schedule is None:
        if current is not None:
            remove_future_runs(conn, group)
            conn.execute(delete(schedules).where(schedules.c.version_group_id == group))
        return None
    _check_clock_parameters(schedule, flow)
    now = time.time()
    if current is None:
        conn.execute(insert(schedules).values(
            version_group_id=group, flow_id=flow_id, schedule=schedule, paused=False,
            missed_runs=check_policy(missed_runs or "latest"), scheduled_until=None, updated=now))
    else:
        values = {"flow_id": flow_id, "updated": now}
        if missed_runs is not None:
            values["missed_runs"] = check_policy(missed_runs)
        if current["schedule"] != schedule or current["flow_id"] != flow_id:
            remove_future_runs(conn, group)
            values.update(schedule=schedule, scheduled_until=None)
        conn.execute(update(schedules).where(schedules.c.version_group_id == group).values(**values))
    return schedule_info(conn, group)


def _check_clock_parameters(schedule: dict, flow) -> None:
    names = [p["name"] for p in flow["parameters"] or []]
    schedule_from_dict(schedule).check_parameters(flow["name"], names)


def set_paused(conn: Connection, flow_id: str, paused: bool) -> dict:
    """Pause (removing the runs it created that have not started) or resume a flow's schedule."""
    flow = flow_row(conn, flow_id)
    group = flow["version_group_id"]
    current = _schedule_row(conn, group, lock=True)
    if current is None:
        action = "pause" if paused else "resume"
        raise ScheduleError(f"flow {flow['name']!r} has no schedule to {action}; give it one with "
                            f"Flow(..., schedule=...) and register it, or `%flow schedule {flow['name']} --cron ...`")
    values = {"paused": paused, "updated": time.time()}
    if paused:
        remove_future_runs(conn, group)
    else:
        values["scheduled_until"] = None  # times passed while paused are not missed runs
    conn.execute(update(schedules).where(schedules.c.version_group_id == group).values(**values))
    return schedule_info(conn, group)


def remove_future_runs(conn: Connection, group: str) -> int:
    """Delete the runs a schedule created that no agent has claimed yet; returns how many."""
    unstarted = (flow_runs.c.version_group_id == group, flow_runs.c.clock_key.is_not(None),
                 flow_runs.c.state == "Scheduled")
    conn.execute(delete(flow_run_states).where(
        flow_run_states.c.flow_run_id.in_(select(flow_runs.c.id).where(*unstarted))))
    return conn.execute(delete(flow_runs).where(*unstarted), execution_options={"preserve_rowcount": True}).rowcount


def stop_archived(conn: Connection, flow_id: str) -> None:
    """After an archive: a schedule whose flow version is archived creates nothing, and loses its future runs."""
    group = flow_row(conn, flow_id)["version_group_id"]
    current = _schedule_row(conn, group, lock=True)
    if current is not None and flow_row(conn, current["flow_id"])["archived"]:
        remove_future_runs(conn, group)


def _schedule_row(conn: Connection, group: str, lock: bool = False):
    """The group's schedule row; ``lock`` waits for (and then holds off) a scheduler pass using it.

    On PostgreSQL a pass holds its schedules' rows (``FOR UPDATE``) until it
    commits, so a pause, a new schedule or an archive that changes the row
    waits for the pass and then removes the runs it created. SQLite
    serialises the write transactions anyway.
    """
    query = select(schedules).where(schedules.c.version_group_id == group)
    return conn.execute(query.with_for_update() if lock else query).mappings().first()


def schedule_info(conn: Connection, group: str, now: float | None = None) -> dict | None:
    """The schedule of a flow as the CLI, the API and the panel show it, or None."""
    row = _schedule_row(conn, group)
    return None if row is None else info_from_row(row, now)


def info_from_row(row, now: float | None = None, cache: dict | None = None) -> dict:
    """The info of a ``schedules`` row; ``cache`` (by group and update time) spares parsing it again."""
    key = (row["version_group_id"], row["updated"])
    schedule = cache.get(key) if cache is not None else None
    if schedule is None:
        schedule = schedule_from_dict(row["schedule"])
        if cache is not None:
            cache[key] = schedule
    after = datetime.fromtimestamp(now or time.time(), timezone.utc)
    upcoming = [] if row["paused"] else schedule.next(1, after=after)
    return {"schedule": row["schedule"], "description": describe(schedule), "paused": bool(row["paused"]),
            "missed_runs": row["missed_runs"], "flow_id": row["flow_id"],
            "next_run": upcoming[0].timestamp() if upcoming else None}


def schedules_by_group(conn: Connection, groups: Iterable[str], cache: dict | None = None) -> dict[str, dict]:
    """``{version_group_id: schedule info}`` for the groups that have a schedule (a query per 500 groups)."""
    groups = list(groups)
    now = time.time()
    found = {}
    for start in range(0, len(groups), 500):
        query = select(schedules).where(schedules.c.version_group_id.in_(groups[start:start + 500]))
        for row in conn.execute(query).mappings():
            found[row["version_group_id"]] = info_from_row(row, now, cache)
    return found


def describe(schedule: Schedule) -> str:
    from ..schedules.describe import describe_schedule

    return describe_schedule(schedule)


# -- the scheduler's pass -----------------------------------------------------------------------


def create_scheduled_runs(conn: Connection, cache: dict, horizon_s: float, min_runs: int,
                          late_after_s: float = 60.0) -> int:
    """One scheduler pass over every active schedule (see ``Backend.create_scheduled_runs``).

    ``cache`` holds what a pass may reuse: the parsed schedules by ``(version
    group, updated)`` (so a pass reads and parses only schedules that changed)
    and the compiled insert.
    """
    now = conn.execute(select(db_now())).scalar_one()
    active = active_schedules(conn)
    _parse_missing(conn, cache, active)
    rows, until = [], {}
    for row in active:
        planned, until_ts = plan_runs(cache[(row.version_group_id, row.updated)], row.scheduled_until, now,
                                      horizon_s, min_runs, row.missed_runs)
        if planned:
            rows += _run_rows(row, planned, now)
        if until_ts != row.scheduled_until:
            until[row.version_group_id] = until_ts
    created = insert_runs(conn, cache, rows, now)
    advance(conn, until)
    skip_missed_runs(conn, now, late_after_s)
    return created


def skip_missed_runs(conn: Connection, now: float, late_after_s: float) -> int:
    """Apply the "latest" policy to runs created ahead of time that no agent took (all agents were down).

    Of a schedule's runs still Scheduled ``late_after_s`` after their time,
    only the latest stays, marked late; the earlier ones are Cancelled saying
    why. Each change is conditional on the run still being Scheduled, so an
    agent claiming one meanwhile keeps it. Returns how many were skipped.
    """
    overdue = conn.execute(
        select(flow_runs.c.id, flow_runs.c.version_group_id, flow_runs.c.scheduled_start_time)
        .join(schedules, schedules.c.version_group_id == flow_runs.c.version_group_id)
        .where(flow_runs.c.state == "Scheduled", flow_runs.c.scheduled_start_time < now - late_after_s,
               flow_runs.c.clock_key.is_not(None), schedules.c.missed_runs == "latest")
        .order_by(flow_runs.c.version_group_id, flow_runs.c.scheduled_start_time)).all()
    by_group: dict[str, list] = {}
    for row in overdue:
        by_group.setdefault(row.version_group_id, []).append(row)
    skipped = 0
    for runs in by_group.values():
        if len(runs) < 2:
            continue
        latest = runs[-1]
        late = datetime.fromtimestamp(latest.scheduled_start_time, timezone.utc).isoformat()
        message = (f"Late: scheduled for {late}, {now - latest.scheduled_start_time:.0f} s ago; "
                   f"{len(runs) - 1} earlier missed time(s) skipped (missed-run policy 'latest')")
        _set_scheduled_message(conn, latest.id, message, now)
        for run in runs[:-1]:
            skipped += _cancel_scheduled(conn, run.id, "Skipped: missed while no agent ran; a later time of its "
                                                        "schedule runs instead (missed-run policy 'latest')", now)
    return skipped


def _set_scheduled_message(conn: Connection, run_id: str, message: str, now: float) -> None:
    changed = conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state == "Scheduled")
                           .values(state_message=message)).rowcount
    if changed:
        conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state="Scheduled", message=message,
                                                    timestamp=now))


def _cancel_scheduled(conn: Connection, run_id: str, message: str, now: float) -> int:
    changed = conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state == "Scheduled")
                           .values(state="Cancelled", state_message=message, end_time=now)).rowcount
    if changed:
        conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state="Cancelled", message=message,
                                                    timestamp=now))
    return changed


def active_schedules(conn: Connection) -> list:
    """The schedules that create runs (not paused, on a flow version not archived), without their JSON."""
    query = (select(schedules.c.version_group_id, schedules.c.flow_id, schedules.c.updated,
                    schedules.c.scheduled_until, schedules.c.missed_runs, flows.c.name,
                    flows.c.labels.label("flow_labels"))
             .join(flows, flows.c.id == schedules.c.flow_id)
             .where(schedules.c.paused.is_(False), flows.c.archived.is_(False))
             .order_by(schedules.c.version_group_id)  # one lock order for every pass
             .with_for_update(of=schedules))  # see _schedule_row
    return conn.execute(query).all()


def _parse_missing(conn: Connection, cache: dict, active: list) -> None:
    missing = [row.version_group_id for row in active if (row.version_group_id, row.updated) not in cache]
    for start in range(0, len(missing), 500):
        chunk = missing[start:start + 500]
        query = select(schedules.c.version_group_id, schedules.c.updated, schedules.c.schedule).where(
            schedules.c.version_group_id.in_(chunk))
        for group, updated, data in conn.execute(query):
            cache[(group, updated)] = schedule_from_dict(data)


#: The columns of a scheduled run, in the order :func:`_run_rows` builds them (the table's order, which
#: is the compiled insert's: sqlite3 then takes the tuples as they are).
RUN_COLUMNS = ("id", "flow_id", "name", "parameters", "labels", "state", "state_message", "created",
               "scheduled_start_time", "version_group_id", "clock_key")


def _run_rows(row, planned: list, now: float) -> list[tuple]:
    """Rows (tuples in :data:`RUN_COLUMNS` order) of a schedule's planned events.

    JSON values are encoded once per clock, not per run: a pass may create
    tens of thousands of runs.
    """
    encoded: dict = {}
    rows = []
    for event, message in planned:
        values = encoded.get(event.clock_key)
        if values is None:
            labels = sorted(set(row.flow_labels or ()) | set(event.labels))
            values = encoded[event.clock_key] = (json.dumps(event.parameter_defaults), json.dumps(labels))
        run_id = new_id()
        rows.append((run_id, row.flow_id, f"{row.name}-{run_id[:8]}", values[0], values[1], "Scheduled", message,
                     now, event.timestamp, row.version_group_id, event.clock_key))
    return rows


def insert_runs(conn: Connection, cache: dict, rows: list[tuple], now: float) -> int:
    """Insert scheduled runs, skipping any whose (group, time, clock) exists; return how many were new.

    One ``executemany`` straight to the driver (SQLAlchemy's per-row parameter
    handling costs more than the insert). The runs this pass inserted are
    those it stamped ``created = now`` (by the database's clock): their
    "Scheduled" history rows are copied from them in one statement.
    """
    if not rows:
        return 0
    if "insert_runs" not in cache:
        cache["insert_runs"] = _compile_insert(conn)
    sql, order = cache["insert_runs"]
    if order is None:  # a driver taking named parameters (psycopg)
        rows = [dict(zip(RUN_COLUMNS, row)) for row in rows]
    elif order != RUN_COLUMNS:
        index = [RUN_COLUMNS.index(name) for name in order]
        rows = [tuple(row[i] for i in index) for row in rows]
    conn.exec_driver_sql(sql, rows)
    mine = select(flow_runs.c.id, literal("Scheduled"), flow_runs.c.state_message, flow_runs.c.created).where(
        flow_runs.c.created == now, flow_runs.c.clock_key.is_not(None))
    added = conn.execute(insert(flow_run_states).from_select(["flow_run_id", "state", "message", "timestamp"], mine),
                         execution_options={"preserve_rowcount": True})
    return added.rowcount


def _compile_insert(conn: Connection) -> tuple[str, tuple | None]:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(flow_runs).values({name: bindparam(name) for name in RUN_COLUMNS})
    compiled = statement.on_conflict_do_nothing().compile(dialect=conn.dialect)
    return str(compiled), (tuple(compiled.positiontup) if compiled.positional else None)


def advance(conn: Connection, until: dict[str, float]) -> None:
    """Record how far each schedule's runs were created (one executemany for all schedules)."""
    if until:
        statement = (update(schedules).where(schedules.c.version_group_id == bindparam("b_group"))
                     .values(scheduled_until=bindparam("b_until")))
        conn.execute(statement, [{"b_group": group, "b_until": until} for group, until in until.items()])


def plan_runs(schedule: Schedule, since: float | None, now: float, horizon_s: float, min_runs: int,
              missed_runs: str) -> tuple[list, float | None]:
    """The clock events to create as runs, each with its state message, and the new ``scheduled_until``.

    Runs exist up to ``since`` (None: none yet, plan from now). The plan reaches
    ``now + horizon_s`` or the ``min_runs`` th time after now, whichever is
    later. Events before now were missed; ``missed_runs`` says which of them run.
    """
    horizon = now + horizon_s
    if since is not None and since >= horizon:
        return [], since  # the common case: this schedule's next hour exists already
    upcoming = schedule.next(min_runs, after=_utc(now), return_events=True)
    if len(upcoming) == min_runs:
        horizon = max(horizon, upcoming[-1].timestamp)
    missed, future = [], []
    for event in schedule.events(after=_utc(since if since is not None else now)):
        if event.timestamp > horizon:
            break
        (missed if event.timestamp < now else future).append(event)
    skipped = len(missed) - 1 if missed_runs == "latest" and missed else 0
    planned = [(event, _late_message(event, now, skipped)) for event in missed[skipped:]]
    planned += [(event, None) for event in future]
    return planned, (planned[-1][0].timestamp if planned else since)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


def _late_message(event, now: float, skipped: int) -> str:
    late = f"Late: scheduled for {event.start_time.isoformat()}, created {now - event.timestamp:.0f} s after it"
    return late + (f"; {skipped} earlier missed time(s) skipped (missed-run policy 'latest')" if skipped else "")
