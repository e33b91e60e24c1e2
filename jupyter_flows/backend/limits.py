"""Concurrency limits: at most N task runs of a tag, or N flow runs of a label, at a time.

Functions over a connection, called by :class:`Backend` inside its write
transactions (or alone, in autocommit, where one statement is atomic). A limit row is the lock its users take: on PostgreSQL the
acquirer reads the limit rows it needs ``FOR UPDATE`` (in name order, so two
acquirers never wait on each other crosswise) and only then, in its next
statement, counts the holders and takes its slots; on SQLite the write
transaction (``BEGIN IMMEDIATE``) already admits one writer at a time. Either
way, counting and taking a slot is one atomic step, across processes and
hosts. Releasing is one ``DELETE`` and needs no lock.

On PostgreSQL the two statements run inside the server, in the function
``jupyter_flows_take_slots`` (schema migration 8), called in autocommit: a
limited task run costs one round trip to take its slots and one to release
them (``benchmarks/limits.py`` measures both, and the two-statement
transaction of the SQLite path on the same server for comparison).

A task run's slot is a row of ``limit_slots``; it counts only while its flow
run is Submitted or Running, so a run that ends, or that the lost-run sweep
fails, stops holding anything at once (the sweep also deletes its rows). A
label's slots are the live flow runs carrying the label, counted by the claim.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import (
    Float,
    Integer,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
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

    On PostgreSQL one call of the server-side function, atomic alone (``conn``
    may be in autocommit); elsewhere :func:`acquire_slots_in_statements`, in
    the caller's write transaction.
    """
    names = sorted(set(tags))
    if not names:
        return None
    if conn.dialect.name != "postgresql":
        return acquire_slots_in_statements(conn, names, run_id, task_slug, map_index)
    row = conn.execute(_TAKE_SLOTS_CALL, {"tags": names, "run_id": run_id, "task_slug": task_slug,
                                          "map_index": map_index, "acquired": time.time(),
                                          "live": list(LIVE_STATES)}).first()
    return None if row is None else {"tag": row[0], "limit": row[1], "in_use": row[2]}


def acquire_slots_in_statements(conn: Connection, tags: Iterable[str], run_id: str, task_slug: str,
                                map_index: int) -> dict | None:
    """:func:`acquire_slots` as statements sent one by one, in the caller's write transaction.

    Two statements when the slots are free: the limit rows are locked (and what
    this task run already holds read with them), then one ``INSERT ... SELECT``
    takes the missing slots only if no limit is full, counted in SQL. The count
    must be a statement of its own: on PostgreSQL a statement sees the rows
    committed before it began, so a count in the locking statement would miss
    the slot of the acquirer whose commit it waited for. Only a blocked task
    run reads the counts again, to say why it waits.
    """
    names = sorted(set(tags))
    if not names:
        return None
    holder = {"run_id": run_id, "task_slug": task_slug, "map_index": map_index}
    limits = {name: (slots, held) for name, slots, held in conn.execute(_LOCK_TAG_LIMITS, {**holder, "names": names})}
    missing = [tag for tag, (_slots, held) in limits.items() if not held]
    if not missing:
        return None
    taking = {**holder, "limited": list(limits), "missing": missing, "acquired": time.time()}
    if conn.execute(_TAKE_IF_FREE, taking).all():
        return None
    in_use = _tag_holders(conn, list(limits), exclude=(run_id, task_slug, map_index))
    tag = max(limits, key=lambda name: in_use.get(name, 0) - limits[name][0])  # the fullest is the one that blocks
    return {"tag": tag, "limit": limits[tag][0], "in_use": in_use.get(tag, 0)}


def release_slots(conn: Connection, run_id: str, task_slug: str, map_index: int) -> None:
    """Drop the slots one task run holds: one ``DELETE``, atomic alone, so it needs no transaction around it."""
    conn.execute(_RELEASE, {"run_id": run_id, "task_slug": task_slug, "map_index": map_index})


# The statements of a limited task run, built once: each run only binds its values (no per-call
# statement building and cache-key hashing on this path). Parameters: run_id, task_slug, map_index.
_HOLDER = and_(limit_slots.c.flow_run_id == bindparam("run_id"), limit_slots.c.task_slug == bindparam("task_slug"),
               limit_slots.c.map_index == bindparam("map_index"))

#: The limit rows of ``names`` (tags), locked in name order, each with whether this task run holds a slot.
_LOCK_TAG_LIMITS = (
    select(concurrency_limits.c.name, concurrency_limits.c.slots,
           exists().where(limit_slots.c.tag == concurrency_limits.c.name, _HOLDER).label("held"))
    .where(concurrency_limits.c.kind == "tag", concurrency_limits.c.name.in_(bindparam("names", expanding=True)))
    .order_by(concurrency_limits.c.name)
    .with_for_update(of=concurrency_limits))


def _take_if_free_statement():
    """A slot of each ``missing`` tag, only if no tag of ``limited`` is full: full when the live holders
    other than this task run fill its slots (a finished run holds nothing)."""
    full = concurrency_limits.alias("full_limit")
    in_use = (select(func.count()).select_from(limit_slots.join(flow_runs, flow_runs.c.id == limit_slots.c.flow_run_id))
              .where(limit_slots.c.tag == full.c.name, flow_runs.c.state.in_(LIVE_STATES), ~_HOLDER)
              .scalar_subquery())
    any_full = exists().where(full.c.kind == "tag", full.c.name.in_(bindparam("limited", expanding=True)),
                              in_use >= full.c.slots)
    # Typed casts: in a SELECT list PostgreSQL would read an untyped parameter as text.
    rows = (select(concurrency_limits.c.name, cast(bindparam("run_id"), limit_slots.c.flow_run_id.type),
                   cast(bindparam("task_slug"), limit_slots.c.task_slug.type),
                   cast(bindparam("map_index"), Integer), cast(bindparam("acquired"), Float))
            .where(concurrency_limits.c.kind == "tag", concurrency_limits.c.name.in_(bindparam("missing", expanding=True)),
                   ~any_full))
    columns = ["tag", "flow_run_id", "task_slug", "map_index", "acquired"]
    return insert(limit_slots).from_select(columns, rows).returning(limit_slots.c.tag)  # a row count may be -1


_TAKE_IF_FREE = _take_if_free_statement()
_RELEASE = delete(limit_slots).where(_HOLDER)
#: PostgreSQL: the server-side function of schema migration 8 (``schema.TAKE_SLOTS_FUNCTION``).
_TAKE_SLOTS_CALL = text("SELECT * FROM jupyter_flows_take_slots(CAST(:tags AS text[]), CAST(:run_id AS text), "
                        "CAST(:task_slug AS text), CAST(:map_index AS integer), "
                        "CAST(:acquired AS double precision), CAST(:live AS text[]))")


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
