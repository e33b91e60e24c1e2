"""Reading and checking what a request sends, before anything reaches the backend.

Each function takes the raw value (a query string argument, a JSON body, a
path) and returns it typed, or raises :class:`BadRequest` with a message that
names the value and what would be accepted; the handlers turn that into a
400 (or a 403 for a path outside the server's root).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...backend import FLOW_RUN_STATES

MAX_PAGE = 500


class BadRequest(Exception):
    """A request value that cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def integer(name: str, raw: str | None, *, default: int | None, minimum: int, maximum: int | None = None) -> int | None:
    """``?limit=20`` -> 20; a value that is not a whole number in range is refused, naming it."""
    if raw is None or raw == "":
        return default
    bounds = f"between {minimum} and {maximum}" if maximum is not None else f"of at least {minimum}"
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number {bounds}, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise BadRequest(f"{name} must be a whole number {bounds}, got {raw!r}")
    return value


def states(raws: list[str]) -> list[str] | None:
    """``?state=Running&state=Scheduled`` or ``?state=Running,Scheduled`` -> the states, checked."""
    wanted = [s.strip() for raw in raws for s in raw.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in FLOW_RUN_STATES]
    if unknown:
        raise BadRequest(f"unknown flow run state {unknown[0]!r}; known states: {', '.join(FLOW_RUN_STATES)}")
    return wanted or None


def json_object(body: bytes) -> dict:
    """The request body as a JSON object; anything else is refused."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body must be a JSON object; it is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the request body must be a JSON object, got {type(data).__name__}: {_short(data)}")
    return data


def text(data: dict, key: str, *, required: bool) -> str | None:
    """A non-empty string field of a JSON body."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key!r} must be a non-empty string, got {_short(value)}")
    return value.strip()


def mapping(data: dict, key: str) -> dict:
    """An optional JSON object field (``parameters``); absent means ``{}``."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{key!r} must be a JSON object of name: value, got {_short(value)}")
    return value


def string_list(data: dict, key: str) -> list[str] | None:
    """An optional list of strings (``labels``); absent means ``None`` (the flow's own)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadRequest(f"{key!r} must be a list of non-empty strings, got {_short(value)}")
    return value


def notebook_path(root_dir: str | Path, relative: str) -> Path:
    """The notebook at ``relative`` under the server's root, refusing anything that leaves the root.

    The path is resolved first (``..``, symlinks), then checked to lie under
    the resolved root, so ``../x.ipynb``, ``/etc/x.ipynb`` and a symlink that
    points out of the root are all refused.
    """
    if not relative.lower().endswith(".ipynb"):
        raise BadRequest(f"'path' must name a notebook (.ipynb), got {relative!r}")
    root = Path(root_dir).expanduser().resolve()
    target = (root / relative).resolve()  # an absolute `relative` replaces the root here, and is refused below
    if not target.is_relative_to(root):
        raise BadRequest(f"'path' {relative!r} is outside the server's root directory", status=403)
    if not target.is_file():
        raise BadRequest(f"no notebook at 'path' {relative!r} under the server's root directory", status=404)
    return target


def output_directory(root_dir: str | Path, relative: str) -> Path:
    """A folder under the server's root for executed notebooks (created by the first run if missing)."""
    root = Path(root_dir).expanduser().resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise BadRequest(f"'output_dir' {relative!r} is outside the server's root directory", status=403)
    if target.exists() and not target.is_dir():
        raise BadRequest(f"'output_dir' {relative!r} is a file; give a folder for the executed notebooks")
    return target


def _short(value: Any) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
