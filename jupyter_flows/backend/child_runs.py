"""Flows of flows in the backend: a child run's parent, its depth, and the task results it leaves.

Functions over a connection, called by :class:`Backend`. A run started by a
``create_flow_run`` task records its parent in ``flow_runs.parent_flow_run_id``.
Only such child runs keep their final task results (``task_run_results``,
cloudpickled, keyed by slug and map index), written once as the run ends, so
that the parent's ``get_task_run_result`` can read them; ordinary runs write
nothing there.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ..exceptions import NotFoundError
from .schema import flow_runs, task_run_results


def set_parent(conn: Connection, run_id: str, parent_id: str) -> None:
    conn.execute(update(flow_runs).where(flow_runs.c.id == run_id).values(parent_flow_run_id=parent_id))


def depth(conn: Connection, run_id: str, limit: int) -> int:
    """How many ancestors run ``run_id`` has (counting stops past ``limit``)."""
    count = 0
    current = run_id
    while count <= limit:
        current = conn.execute(select(flow_runs.c.parent_flow_run_id).where(flow_runs.c.id == current)).scalar()
        if current is None:
            return count
        count += 1
    return count


def children(conn: Connection, run_id: str) -> list[dict]:
    rows = conn.execute(select(flow_runs.c.id, flow_runs.c.name, flow_runs.c.state)
                        .where(flow_runs.c.parent_flow_run_id == run_id).order_by(flow_runs.c.created))
    return [dict(row._mapping) for row in rows]


def write_results(conn: Connection, run_id: str, rows: list[tuple[str, int, bytes]]) -> None:
    """Store ``(slug, map index, pickled value)`` rows as the run's results (replacing any of a retry)."""
    conn.execute(delete(task_run_results).where(task_run_results.c.flow_run_id == run_id))
    if rows:
        conn.execute(insert(task_run_results), [
            {"flow_run_id": run_id, "task_slug": slug, "map_index": index, "value": value}
            for slug, index, value in rows])


def read_result(conn: Connection, run_id: str, task_slug: str, map_index: int) -> bytes:
    value = conn.execute(select(task_run_results.c.value).where(
        task_run_results.c.flow_run_id == run_id, task_run_results.c.task_slug == task_slug,
        task_run_results.c.map_index == map_index)).scalar()
    if value is None:
        known = conn.execute(select(task_run_results.c.task_slug, task_run_results.c.map_index)
                             .where(task_run_results.c.flow_run_id == run_id)).all()
        shown = ", ".join(sorted({slug if index == -1 else f"{slug}[{index}]" for slug, index in known}))
        raise NotFoundError(f"flow run {run_id!r} kept no result of task {task_slug!r} (map index {map_index}); "
                            f"results it kept: {shown or 'none'} (only runs started by create_flow_run keep "
                            "results, and only results that pickle)")
    return value


def delete_results(conn: Connection, run_id: str) -> None:
    conn.execute(delete(task_run_results).where(task_run_results.c.flow_run_id == run_id))
