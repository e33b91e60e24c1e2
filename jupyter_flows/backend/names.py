"""How long each kind of name may be: one limit per kind, checked before anything reaches the database.

The name columns are ``VARCHAR(200)``: PostgreSQL refuses a longer value
(failing whatever was being recorded, a run midway included) while SQLite
stores it, so the same input would work on one backend and not the other.
Names are checked where they enter: a project or flow name when it is
created, a flow's task names and slugs when the flow is registered, a run
name when the run is created.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import NameTooLongError

#: Longest name of each kind, in characters (the width of its column).
NAME_LIMITS = {
    "project": 200,
    "flow": 200,
    "flow run": 200,
    "task": 200,
    "task slug": 200,
    "agent id": 200,
}


def check_name(name: Any, kind: str) -> str:
    """``name`` without surrounding blanks; a ``ValueError`` if it is empty or longer than its kind allows."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {kind} needs a non-empty name, got {name!r}")
    return check_length(name.strip(), kind)


def check_length(name: str, kind: str) -> str:
    """``name`` itself, or a :class:`NameTooLongError` naming its length and the limit of its kind."""
    limit = NAME_LIMITS[kind]
    if len(name) > limit:
        raise NameTooLongError(
            f"a {kind} name may have at most {limit} characters, got {len(name)}: {name[:40]!r}..."
        )
    return name


def check_graph_names(flow_name: str, graph: dict | None) -> None:
    """Every task name and slug of a flow's graph fits its column (a slug is the name plus ``-N``)."""
    for task in (graph or {}).get("tasks", ()):
        try:
            check_length(task["name"], "task")
            check_length(task["slug"], "task slug")
        except NameTooLongError as exc:
            raise NameTooLongError(f"flow {flow_name!r} cannot be registered: {exc}; give the task a shorter "
                                   "name (a slug is its name plus '-1', '-2'...)") from None
