"""Notifications of a flow in the backend: one row per notifier, kept for every version of the flow.

Functions over a connection, called by :class:`Backend`. A row holds what
:func:`jupyter_flows.notifications.notifier_from_dict` needs to build the
notifier (its ``kind`` and ``options``, never a password: email credentials
are secrets, read where the run goes) and the final states it is sent on.
Rows are keyed by the flow's version group, so a new version keeps them.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from ..exceptions import NotFoundError
from .projects import flow_row
from .schema import notifications


def add(conn: Connection, flow_id: str, kind: str, options: dict, on_states: list | None) -> dict:
    group = flow_row(conn, flow_id)["version_group_id"]
    row = {"version_group_id": group, "kind": kind, "options": options, "on_states": on_states,
           "created": time.time()}
    row["id"] = conn.execute(insert(notifications).values(**row)).inserted_primary_key[0]
    return _dict(row)


def of_flow(conn: Connection, flow_id: str) -> list[dict]:
    """The notifications of the flow that version ``flow_id`` belongs to, oldest first."""
    group = flow_row(conn, flow_id)["version_group_id"]
    rows = conn.execute(select(notifications).where(notifications.c.version_group_id == group)
                        .order_by(notifications.c.id)).mappings()
    return [_dict(row) for row in rows]


def remove(conn: Connection, flow_id: str, notification_id: int) -> None:
    group = flow_row(conn, flow_id)["version_group_id"]
    removed = conn.execute(delete(notifications).where(notifications.c.version_group_id == group,
                                                       notifications.c.id == notification_id)).rowcount
    if not removed:
        known = [n["id"] for n in of_flow(conn, flow_id)]
        raise NotFoundError(f"flow {flow_id!r} has no notification {notification_id!r}; "
                            f"its notifications: {known or 'none'}")


def _dict(row) -> dict:
    return {"id": row["id"], "kind": row["kind"], "options": row["options"], "on_states": row["on_states"],
            "created": row["created"]}
