"""Projects and registered flows: functions over a connection, called by :class:`Backend`.

A flow's versions form a version group: registering a changed flow adds a
version and archives the older ones; registering an unchanged one returns the
latest version.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterable

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from ..exceptions import NotFoundError
from .names import check_graph_names
from .schema import flows, projects


def new_id() -> str:
    return str(uuid.uuid4())


def create_project(conn: Connection, name: str, description: str | None) -> dict:
    row = conn.execute(select(projects).where(projects.c.name == name)).mappings().first()
    if row is None:
        row = {"id": new_id(), "name": name, "description": description, "created": time.time()}
        conn.execute(insert(projects).values(**row))
    return project_dict(row)


def list_projects(conn: Connection) -> list[dict]:
    counts = (select(flows.c.project_id, func.count().label("flow_count"))
              .where(flows.c.archived.is_(False)).group_by(flows.c.project_id).subquery())
    query = (select(projects, func.coalesce(counts.c.flow_count, 0).label("flow_count"))
             .outerjoin(counts, counts.c.project_id == projects.c.id).order_by(projects.c.name))
    return [project_dict(row) for row in conn.execute(query).mappings()]


def project_dict(row) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"], "created": row["created"],
            **({"flow_count": row["flow_count"]} if "flow_count" in row else {})}


def project_row(conn: Connection, name: str | None):
    """The project named ``name``, or a :class:`NotFoundError` listing the existing ones."""
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


# -- flows --------------------------------------------------------------------------------------


def register_flow(conn: Connection, project_name: str, name: str, *, storage: dict | None,
                  run_config: dict | None, executor: dict | None, parameters: list | None, graph: dict | None,
                  labels: Iterable[str] | None, content_hash: str, idempotency_key: str | None,
                  location: str | None) -> dict:
    """Keep the latest version of ``name`` if unchanged, else add a version; see ``Backend.register_flow``."""
    check_graph_names(name, graph)
    project = project_row(conn, project_name)
    _lock_flow_name(conn, project["id"], name)
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
            return registration(latest, new_version=False)
    row = {
        "id": new_id(),
        "project_id": project["id"],
        "name": name,
        "version": latest["version"] + 1 if latest is not None else 1,
        "version_group_id": latest["version_group_id"] if latest is not None else new_id(),
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
    return registration(row, new_version=True)


def _lock_flow_name(conn: Connection, project_id: str, name: str) -> None:
    """Registrations of one flow name wait for each other until the end of the transaction.

    Otherwise two of them read the same latest version and both add the next
    one (or both start a version group). SQLite's ``BEGIN IMMEDIATE`` already
    serialises every write; PostgreSQL takes a lock on the name's hash.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"flow {project_id} {name}"})


def list_flows(conn: Connection, project_name: str | None, include_archived: bool) -> list[dict]:
    query = flow_query().order_by(projects.c.name, flows.c.name, flows.c.version.desc())
    if not include_archived:
        query = query.where(flows.c.archived.is_(False))
    if project_name is not None:
        query = query.where(flows.c.project_id == project_row(conn, project_name)["id"])
    return [flow_dict(row) for row in conn.execute(query).mappings()]


def get_flow_by_name(conn: Connection, name: str, project_name: str | None, version: int | None) -> dict:
    query = flow_query().where(flows.c.name == name)
    if project_name is not None:
        query = query.where(flows.c.project_id == project_row(conn, project_name)["id"])
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
    return flow_dict(rows[0])


def archive_flow(conn: Connection, flow_id: str, all_versions: bool) -> int:
    """Archive flow version ``flow_id`` (or every version of its group); return how many were not yet archived."""
    row = flow_row(conn, flow_id)
    which = flows.c.version_group_id == row["version_group_id"] if all_versions else flows.c.id == flow_id
    return conn.execute(update(flows).where(which, flows.c.archived.is_(False)).values(archived=True)).rowcount


def flow_query():
    return select(flows, projects.c.name.label("project_name")).join(projects, projects.c.id == flows.c.project_id)


def flow_row(conn: Connection, flow_id: str):
    row = conn.execute(flow_query().where(flows.c.id == flow_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no flow with id {flow_id!r}")
    return row


def flow_dict(row) -> dict:
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


def registration(row, new_version: bool) -> dict:
    return {"id": row["id"], "version": row["version"], "version_group_id": row["version_group_id"],
            "created": row["created"], "new_version": new_version}


def _missing_flow_message(conn: Connection, name: str, project_name: str | None, version: int | None) -> str:
    query = flow_query().with_only_columns(flows.c.name).distinct().order_by(flows.c.name)
    where = f" in project {project_name!r}" if project_name else ""
    if project_name is not None:
        query = query.where(projects.c.name == project_name)
    names = conn.execute(query).scalars().all()
    if version is not None and name in names:
        versions = conn.execute(flow_query().with_only_columns(flows.c.version).where(
            flows.c.name == name).order_by(flows.c.version)).scalars().all()
        return f"flow {name!r}{where} has no version {version}; its versions: {', '.join(map(str, versions))}"
    shown = ", ".join(repr(n) for n in names) if names else "none yet (register one with flow.register(...))"
    return f"no flow named {name!r}{where}; registered flows: {shown}"
