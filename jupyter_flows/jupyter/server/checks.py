"""Reading and checking what a request sends, before anything reaches the backend.

Each function takes the raw value (a query string argument, a JSON body, a
path) and returns it typed, or raises :class:`BadRequest` with a message that
names the value (shortened) and what would be accepted; the handlers turn that
into a 400 (a 403 for a path outside the server's root, a 413 for a body too
large). Every value is bounded here: numbers to what every backend database
column holds, text to the lengths the schema stores, JSON bodies in size and
depth, so that no request reaches the backend or the file system with a value
that would make it fail with a 500.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ...backend import FLOW_RUN_STATES

MAX_PAGE = 500
DEFAULT_LOG_PAGE = 1_000
MAX_LOG_PAGE = 10_000
MAX_ROW_NUMBER = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL (offsets and log ids)
MAX_NAME = 200  # ids, names and labels: the length the schema stores
MAX_PATH = 1024
MAX_PATH_PART = 255  # a file name on the common file systems
MAX_LABELS = 100
MAX_BODY = 1_000_000
MAX_DEPTH = 32  # levels of JSON objects and lists, counting the body itself
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


class BadRequest(Exception):
    """A request value that cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def integer(name: str, raw: str | None, *, default: int | None, minimum: int,
            maximum: int = MAX_ROW_NUMBER) -> int | None:
    """``?limit=20`` -> 20; a value that is not a whole number in range is refused, naming it."""
    if raw is None or raw == "":
        return default
    problem = f"{name} must be a whole number between {minimum} and {maximum}, got {_clip(repr(raw))}"
    if len(raw) > len(str(maximum)) + 1:  # refused before int() reads thousands of digits
        raise BadRequest(problem)
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(problem) from None
    if not minimum <= value <= maximum:
        raise BadRequest(problem)
    return value


def flag(name: str, raw: str | None) -> bool:
    """``?archived=true`` -> True; absent is False; anything but true/false (1/0, yes/no) is refused."""
    value = (raw or "false").strip().lower()
    if value not in _TRUE + _FALSE:
        raise BadRequest(f"{name} must be true or false (1/0, yes/no), got {_clip(repr(raw))}")
    return value in _TRUE


def identifier(what: str, raw: str | None) -> str | None:
    """An id or name from a query string or the URL path (``flow_id``, ``project``, a run id); empty is None."""
    if raw is None or raw == "":
        return None
    return _bounded(what, raw, MAX_NAME)


def states(raws: list[str]) -> list[str] | None:
    """``?state=Running&state=Scheduled`` or ``?state=Running,Scheduled`` -> the states, checked."""
    wanted = [s.strip() for raw in raws for s in raw.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in FLOW_RUN_STATES]
    if unknown:
        raise BadRequest(f"unknown flow run state {_clip(repr(unknown[0]))}; "
                         f"known states: {', '.join(FLOW_RUN_STATES)}")
    return wanted or None


def json_object(body: bytes, accepted: tuple[str, ...]) -> dict:
    """The request body as a JSON object of bounded size and depth, with only ``accepted`` fields.

    An unknown field is refused rather than ignored: a misspelt ``parameter``
    would otherwise start a run with the defaults.
    """
    if len(body) > MAX_BODY:
        raise BadRequest(f"the request body may have at most {MAX_BODY} bytes, got {len(body)}", status=413)
    try:
        data = json.loads(body or b"{}")
    except RecursionError:
        data = None  # deeper than the parser goes: certainly deeper than MAX_DEPTH
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body must be a JSON object; it is not valid JSON: {_clip(str(exc))}") from None
    if data is None or not _within_depth(data, MAX_DEPTH):
        raise BadRequest(f"the request body is nested too deeply: JSON may have at most {MAX_DEPTH} levels "
                         "of objects and lists")
    if not isinstance(data, dict):
        raise BadRequest(f"the request body must be a JSON object, got {type(data).__name__}: {_short(data)}")
    unknown = sorted(set(data) - set(accepted))
    if unknown:
        raise BadRequest(f"unknown field {_clip(repr(unknown[0]))} in the request body; "
                         f"accepted fields: {', '.join(accepted)}")
    return data


def text(data: dict, key: str, *, required: bool, max_length: int = MAX_NAME) -> str | None:
    """A non-empty string field of a JSON body, at most ``max_length`` characters, without control characters."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key!r} must be a non-empty string, got {_short(value)}")
    return _bounded(repr(key), value, max_length).strip()


def mapping(data: dict, key: str) -> dict:
    """An optional JSON object field (``parameters``); absent means ``{}``."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{key!r} must be a JSON object of name: value, got {_short(value)}")
    for name_ in value:
        if len(name_) > MAX_NAME:
            raise BadRequest(f"parameter names may have at most {MAX_NAME} characters, got {len(name_)}: "
                             f"{_clip(repr(name_))}")
    return value


def string_list(data: dict, key: str) -> list[str] | None:
    """An optional list of strings (``labels``); absent means ``None`` (the flow's own)."""
    value = data.get(key)
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) > MAX_LABELS
            or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME and not _CONTROL.search(v) for v in value)):
        raise BadRequest(f"{key!r} must be a list of at most {MAX_LABELS} strings of 1 to {MAX_NAME} characters "
                         f"without control characters, got {_short(value)}")
    return value


def run_config(data: dict, key: str) -> dict | None:
    """An optional run config override (``{"type": "DockerRun", "image": ..., "env": {...}}``), checked whole.

    Absent or null keeps the flow's own. The dict is rebuilt as a run config
    (``run_config_from_dict``, the check every run config gets) and stored as
    that run config writes itself, so the run's agent reads exactly what was
    checked; a bad value is refused naming the option (a memory of ``"12XB"``).
    """
    from ...exceptions import ConfigurationError
    from ...run_configs import run_config_from_dict

    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{key!r} must be a JSON object with a 'type' (UniversalRun, LocalRun, DockerRun, "
                         f"KubernetesRun) and its options, got {_short(value)}")
    try:
        return run_config_from_dict(value).to_dict()
    except (ConfigurationError, TypeError) as exc:
        raise BadRequest(f"{key!r} is not a valid run config: {_clip(str(exc), 300)}") from None


def notebook_path(root_dir: str | Path, relative: str) -> Path:
    """The notebook at ``relative`` under the server's root, refusing anything that leaves the root.

    The path is resolved first (``..``, symlinks), then checked to lie under
    the resolved root, so ``../x.ipynb``, ``/etc/x.ipynb`` and a symlink that
    points out of the root are all refused.
    """
    if not relative.lower().endswith(".ipynb"):
        raise BadRequest(f"'path' must name a notebook (.ipynb), got {_clip(repr(relative))}")
    root, target = _resolve_under(root_dir, "path", relative)
    if not target.is_relative_to(root):
        raise BadRequest(f"'path' {_clip(repr(relative))} is outside the server's root directory", status=403)
    if not target.is_file():
        raise BadRequest(f"no notebook at 'path' {_clip(repr(relative))} under the server's root directory",
                         status=404)
    return target


def output_directory(root_dir: str | Path, relative: str) -> Path:
    """A folder under the server's root for executed notebooks (created by the first run if missing)."""
    root, target = _resolve_under(root_dir, "output_dir", relative)
    if not target.is_relative_to(root):
        raise BadRequest(f"'output_dir' {_clip(repr(relative))} is outside the server's root directory", status=403)
    if target.exists() and not target.is_dir():
        raise BadRequest(f"'output_dir' {_clip(repr(relative))} is a file; give a folder for the executed notebooks")
    return target


def _resolve_under(root_dir: str | Path, key: str, relative: str) -> tuple[Path, Path]:
    """The resolved root and ``root / relative`` resolved; a path the file system cannot take is refused.

    ``relative`` was bounded by :func:`text` (``max_length=MAX_PATH``).
    """
    long_part = next((part for part in Path(relative).parts if len(part) > MAX_PATH_PART), None)
    if long_part is not None:
        raise BadRequest(f"{key!r} has a name longer than {MAX_PATH_PART} characters: {_clip(repr(long_part))}")
    root = Path(root_dir).expanduser().resolve()
    try:
        # An absolute `relative` replaces the root here; the callers refuse it as outside the root.
        return root, (root / relative).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name the file system refuses
        raise BadRequest(f"{key!r} {_clip(repr(relative))} cannot be resolved: {exc}") from None


def _bounded(what: str, value: str, max_length: int) -> str:
    """``value`` if it has at most ``max_length`` characters and no control character (NUL, newline...)."""
    if len(value) > max_length:
        raise BadRequest(f"{what} may have at most {max_length} characters, got {len(value)}: {_clip(repr(value))}")
    if _CONTROL.search(value):
        raise BadRequest(f"{what} must not contain control characters, got {_clip(repr(value))}")
    return value


def _within_depth(data: Any, limit: int) -> bool:
    """Whether JSON ``data`` nests at most ``limit`` levels of objects and lists (walked without recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return False
        pending.extend((child, depth + 1) for child in children)
    return True


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _short(value: Any) -> str:
    return _clip(json.dumps(value) if _jsonable(value) else repr(value))


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
