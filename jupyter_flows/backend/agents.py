"""Agents' records: who polls the backend, with which labels, and whether it is still alive.

Agents register when they start, beat while they poll and mark themselves
stopped when they end. A live agent is one seen within the stale threshold,
by the database's clock (:mod:`.clock`). The records answer "why is my run
still Scheduled?" (:func:`waiting_reason`) and tell the stale-run sweep
whether a run's agent is still there.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import and_, case, exists, insert, select, update
from sqlalchemy.engine import Connection

from .. import config
from ..exceptions import NotFoundError
from . import limits
from .clock import db_now
from .runs import LIVE_STATES
from .schema import agents, flow_runs, flows

#: Missing this many heartbeat intervals makes an agent (or a run) stale.
STALE_AFTER_HEARTBEATS = 2


def stale_after_s() -> float:
    """Seconds of silence after which an agent or a run counts as gone."""
    return STALE_AFTER_HEARTBEATS * config.heartbeat_interval()


def register(conn: Connection, agent_id: str, host: str, labels: Iterable[str], kind: str,
             managed_by: str | None) -> dict:
    values = {"host": host, "labels": sorted(set(labels)), "kind": kind, "managed_by": managed_by,
              "started": db_now(), "last_seen": db_now(), "runs_in_flight": 0, "stopped": None}
    if conn.execute(update(agents).where(agents.c.id == agent_id).values(**values)).rowcount == 0:
        conn.execute(insert(agents).values(id=agent_id, **values))
    return get(conn, agent_id, stale_after_s())


def beat(conn: Connection, agent_id: str, runs_in_flight: int) -> None:
    """The agent is alive, and so are the runs it holds (one statement for all of them)."""
    seen = conn.execute(update(agents).where(agents.c.id == agent_id)
                        .values(last_seen=db_now(), runs_in_flight=runs_in_flight, stopped=None)).rowcount
    if seen == 0:
        raise NotFoundError(f"no agent with id {agent_id!r}; an agent registers itself when it starts")
    conn.execute(update(flow_runs).where(flow_runs.c.agent_id == agent_id, flow_runs.c.state.in_(LIVE_STATES))
                 .values(heartbeat=db_now()))


def stopped(conn: Connection, agent_id: str) -> None:
    if conn.execute(update(agents).where(agents.c.id == agent_id)
                    .values(stopped=db_now(), last_seen=db_now(), runs_in_flight=0)).rowcount == 0:
        raise NotFoundError(f"no agent with id {agent_id!r}")


def is_live(stale_after: float):
    """SQL condition: the agent row is of an agent still polling."""
    return and_(agents.c.stopped.is_(None), agents.c.last_seen >= db_now() - stale_after)


def run_agent_gone(stale_after: float):
    """SQL condition on ``flow_runs``: no live agent holds the run (or none ever did)."""
    return ~exists().where(agents.c.id == flow_runs.c.agent_id, is_live(stale_after))


def list_agents(conn: Connection, live_only: bool, stale_after: float) -> list[dict]:
    live = case((is_live(stale_after), True), else_=False).label("live")
    query = select(agents, live).order_by(agents.c.started, agents.c.id)
    if live_only:
        query = query.where(is_live(stale_after))
    return [_agent_dict(row) for row in conn.execute(query).mappings()]


def get(conn: Connection, agent_id: str, stale_after: float) -> dict:
    live = case((is_live(stale_after), True), else_=False).label("live")
    row = conn.execute(select(agents, live).where(agents.c.id == agent_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no agent with id {agent_id!r}")
    return _agent_dict(row)


def waiting_reason(conn: Connection, run: dict, stale_after: float) -> str | None:
    """Why a Scheduled run is not picked up, or ``None`` when a live agent may take it."""
    return waiting_reasons(conn, [run], stale_after).get(run["id"])


def waiting_reasons(conn: Connection, runs: list[dict], stale_after: float) -> dict[str, str | None]:
    """Why each Scheduled run of ``runs`` waits, by run id: two reads for a whole page of runs."""
    scheduled = [run for run in runs if run.get("state") == "Scheduled"]
    if not scheduled:
        return {}
    now = conn.execute(select(db_now())).scalar_one()
    live = list_agents(conn, live_only=True, stale_after=stale_after)
    by_labels: dict[tuple, str | None] = {}  # a page of runs shares few label sets: one limit read each
    storages: dict[str, dict] = {}  # and few flows: one storage read each, only for a missing label
    reasons = {}
    for run in scheduled:
        reasons[run["id"]] = _why_waiting(conn, run, now, live, storages)
        if reasons[run["id"]] is None and run.get("labels"):
            key = tuple(sorted(run["labels"]))
            if key not in by_labels:
                by_labels[key] = _full_label(conn, key)
            reasons[run["id"]] = by_labels[key]
    return reasons


def _full_label(conn: Connection, labels: Iterable[str]) -> str | None:
    blocking = limits.label_blocking(conn, labels, lock=False)
    if blocking is None:
        return None
    return (f"waiting for a concurrency slot: label {blocking['label']} allows {blocking['limit']} run(s) at once, "
            f"{blocking['in_use']} in flight")


def _why_waiting(conn: Connection, run: dict, now: float, live: list[dict], storages: dict[str, dict]) -> str | None:
    due = run.get("scheduled_start_time")
    if due is not None and due > now:
        when = datetime.fromtimestamp(due, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"waiting for its scheduled time, {when}"
    if not live:
        return "no agent is running"
    needed = set(run.get("labels") or ())
    if any(needed <= set(agent["labels"]) for agent in live):
        return None
    offered = set().union(*(agent["labels"] for agent in live))
    missing = sorted(needed - offered)
    if missing:
        return f"no live agent has the labels it needs: {_named(conn, run, missing, storages)}"
    return f"no live agent has all the labels it needs together: {', '.join(sorted(needed))}"


def _named(conn: Connection, run: dict, labels: list[str], storages: dict[str, dict]) -> str:
    """The labels, each one the flow's storage added saying so (a Local storage adds its host's name)."""
    flow_id = run.get("flow_id")
    if flow_id not in storages:
        storages[flow_id] = conn.execute(select(flows.c.storage).where(flows.c.id == flow_id)).scalar() or {}
    storage = storages[flow_id]
    from_storage = set(storage.get("labels") or ())
    return ", ".join(f"{label} (from its {storage.get('type')} storage)" if label in from_storage else label
                     for label in labels)


def _agent_dict(row) -> dict:
    return {"id": row["id"], "host": row["host"], "labels": row["labels"] or [], "kind": row["kind"],
            "started": row["started"], "last_seen": row["last_seen"], "runs_in_flight": row["runs_in_flight"],
            "managed_by": row["managed_by"], "stopped": row["stopped"], "live": bool(row["live"])}
