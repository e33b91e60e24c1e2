"""Concurrency limits: at most N task runs of a tag, or N flow runs of a label, at a time.

Functions over a connection, called by :class:`Backend` inside its write
transactions. A limit row is the lock its users take: on PostgreSQL the
acquirer reads the limit rows it needs ``FOR UPDATE`` (in name order, so two
acquirers never wait on each other crosswise) and only then counts the
holders; on SQLite the write transaction (``BEGIN IMMEDIATE``) already
admits one writer at a time. Either way, counting and taking a slot is one
atomic step, across processes and hosts.

A task run's slot is a row of ``limit_slots``; it counts only while its flow
run is Submitted or Running, so a run that ends, or that the lost-run sweep
fails, stops holding anything at once (the sweep also deletes its rows). A
label's slots are the live flow runs carrying the label, counted by the claim.
"""

from __future__ import annotations

import time
from typing import Iterable

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ..exceptions import ConcurrencyLimitError, NotFoundError
from .runs import LIVE_STATES
from .schema import concurrency_limits, flow_runs, limit_slots

LIMIT_KINDS = ("tag", "label")


def check_limit(name: str, slots, kind: str) -> int:
    """The number of slots as an int >= 0, or a :class:`ConcurrencyLimitError` naming the bad value."""
    if kind not in LIMIT_KINDS:
        raise ConcurrencyLimitError(f"unknown concurrency limit kind {kind!r}; known: {', '.join(LIMIT_KINDS)}")
    if not isinstance(name, str) or not name.strip():
        raise ConcurrencyLimitError(f"a concurrency limit needs a {kind} name (a non-empty string), got {name!r}")
    given = slots
    if isinstance(slots, str) and slots.strip().lstrip("-").isdigit():  # from the command line or REST
        slots = int(slots)
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 0:
        raise ConcurrencyLimitError(f"the limit of {kind} {name!r} must be a whole number >= 0 (the most "
                                    f"that may run at a time), got {given!r}")
    return slots


def set_limit(conn: Connection, kind: str, name: str, slots: int) -> dict:
    values = {"slots": slots, "updated": time.time()}
    where = and_(concurrency_limits.c.kind == kind, concurrency_limits.c.name == name)
    if conn.execute(update(concurrency_limits).where(where).values(**values)).rowcount == 0:
        conn.execute(insert(concurrency_limits).values(kind=kind, name=name, **values))
    return get_limit(conn, kind, name)


def get_limit(conn: Connection, kind: str, name: str) -> dict:
    found = [limit for limit in list_limits(conn, kind) if limit["name"] == name]
    if not found:
        known = ", ".join(limit["name"] for limit in list_limits(conn, kind)) or "none"
        raise NotFoundError(f"no concurrency limit on {kind} {name!r}; limited {kind}s: {known}")
    return found[0]


def list_limits(conn: Connection, kind: str | None = None) -> list[dict]:
    """Every limit (of ``kind``) with how many of its slots are in use now."""
    query = select(concurrency_limits).order_by(concurrency_limits.c.kind, concurrency_limits.c.name)
    if kind is not None:
        query = query.where(concurrency_limits.c.kind == kind)
    rows = conn.execute(query).mappings().all()
    tag_use = _tag_holders(conn, [r["name"] for r in rows if r["kind"] == "tag"], exclude=None)
    label_use = _label_holders(conn, [r["name"] for r in rows if r["kind"] == "label"])
    return [{"kind": r["kind"], "name": r["name"], "limit": r["slots"], "updated": r["updated"],
             "in_use": (tag_use if r["kind"] == "tag" else label_use).get(r["name"], 0)} for r in rows]


def delete_limit(conn: Connection, kind: str, name: str) -> None:
    if conn.execute(delete(concurrency_limits).where(concurrency_limits.c.kind == kind,
                                                     concurrency_limits.c.name == name)).rowcount == 0:
        raise NotFoundError(f"no concurrency limit on {kind} {name!r}")
    if kind == "tag":
        conn.execute(delete(limit_slots).where(limit_slots.c.tag == name))


def limited_tags(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(concurrency_limits.c.name, concurrency_limits.c.slots)
                        .where(concurrency_limits.c.kind == "tag")).all()
    return dict(rows)


def acquire_slots(conn: Connection, tags: Iterable[str], run_id: str, task_slug: str,
                  map_index: int) -> dict | None:
    """Take a slot of every limited tag in ``tags`` for one task run, or none of them.

    Returns ``None`` when taken (or when no tag is limited), else what blocks:
    ``{"tag", "limit", "in_use"}``. Taking again what this task run holds is a no-op.
    """
    limits = _locked_limits(conn, "tag", tags)
    if not limits:
        return None
    holder = (run_id, task_slug, map_index)
    in_use = _tag_holders(conn, list(limits), exclude=holder)
    for tag, slots in limits.items():
        if in_use.get(tag, 0) >= slots:
            return {"tag": tag, "limit": slots, "in_use": in_use.get(tag, 0)}
    release_slots(conn, run_id, task_slug, map_index)
    now = time.time()
    conn.execute(insert(limit_slots), [{"tag": tag, "flow_run_id": run_id, "task_slug": task_slug,
                                        "map_index": map_index, "acquired": now} for tag in limits])
    return None


def release_slots(conn: Connection, run_id: str, task_slug: str, map_index: int) -> None:
    conn.execute(delete(limit_slots).where(limit_slots.c.flow_run_id == run_id, limit_slots.c.task_slug == task_slug,
                                           limit_slots.c.map_index == map_index))


def free_runs(conn: Connection, run_ids: Iterable[str]) -> None:
    """Drop every slot the task runs of these flow runs hold (the run ended, or was lost)."""
    run_ids = list(run_ids)
    if run_ids:
        conn.execute(delete(limit_slots).where(limit_slots.c.flow_run_id.in_(run_ids)))


def label_blocking(conn: Connection, labels: Iterable[str], lock: bool = True) -> dict | None:
    """For a claim: the label limit a new run with ``labels`` would exceed, else ``None``.

    Locks the label limits it reads (PostgreSQL), so that two agents claiming at
    once count each other's claims; ``lock=False`` for a reader that only says
    why a run waits.
    """
    limits = _locked_limits(conn, "label", labels, lock)
    if not limits:
        return None
    in_use = _label_holders(conn, list(limits))
    for label, slots in limits.items():
        if in_use.get(label, 0) >= slots:
            return {"label": label, "limit": slots, "in_use": in_use.get(label, 0)}
    return None


def _locked_limits(conn: Connection, kind: str, names: Iterable[str], lock: bool = True) -> dict[str, int]:
    names = sorted(set(names))
    if not names:
        return {}
    query = (select(concurrency_limits.c.name, concurrency_limits.c.slots)
             .where(concurrency_limits.c.kind == kind, concurrency_limits.c.name.in_(names))
             .order_by(concurrency_limits.c.name))
    return dict(conn.execute(query.with_for_update() if lock else query).all())


def _tag_holders(conn: Connection, tags: list[str], exclude: tuple | None) -> dict[str, int]:
    """Slots in use per tag: rows whose flow run is still live (a finished run holds nothing)."""
    if not tags:
        return {}
    query = (select(limit_slots.c.tag, func.count())
             .join(flow_runs, flow_runs.c.id == limit_slots.c.flow_run_id)
             .where(limit_slots.c.tag.in_(tags), flow_runs.c.state.in_(LIVE_STATES)))
    if exclude is not None:
        run_id, task_slug, map_index = exclude
        query = query.where(~and_(limit_slots.c.flow_run_id == run_id, limit_slots.c.task_slug == task_slug,
                                  limit_slots.c.map_index == map_index))
    return dict(conn.execute(query.group_by(limit_slots.c.tag)).all())


def _label_holders(conn: Connection, labels: list[str]) -> dict[str, int]:
    """Live flow runs per label (labels are a JSON list: counted here, over the few live runs)."""
    if not labels:
        return {}
    wanted = set(labels)
    counts: dict[str, int] = {}
    for (run_labels,) in conn.execute(select(flow_runs.c.labels).where(flow_runs.c.state.in_(LIVE_STATES))):
        for label in wanted.intersection(run_labels or ()):
            counts[label] = counts.get(label, 0) + 1
    return counts
