"""``Result``: where a task's return value is kept beyond the process that computed it.

A result has a ``location`` template (``"{flow_name}/{task_name}/{map_index}.pkl"``)
rendered with the task run's context values (``flow_name``, ``flow_run_id``,
``task_name``, ``task_slug``, ``map_index``, ``today`` and the other dates,
``parameters``; ``map_index`` is ``None`` for a task that is not mapped) and, at the top level, the run's parameters. A rendered
location is a relative path under the result's root: an absolute path or a
``..`` part would write outside it and is refused, as is a field the context
does not have. Subclasses say where the bytes go (:class:`LocalResult`,
:class:`FSSpecResult`); the serializer says how a value becomes bytes.
"""

from __future__ import annotations

import posixpath
import string
from typing import Any

from ..exceptions import ResultError
from .packs import PACK_MARK, is_packed, packed_value, read_packs, split_location
from .serializers import PickleSerializer, Serializer

#: Used when neither the task nor the flow gives a location.
DEFAULT_LOCATION = "{flow_name}/{flow_run_id}/{task_slug}/{map_index}.pkl"

_FORMATTER = string.Formatter()


class Result:
    """Base of the results: ``write`` a value, ``read`` it back, ask whether a location ``exists``."""

    def __init__(self, location: str | None = None, serializer: Serializer | None = None):
        if location is not None:
            check_template(location)
        if serializer is not None and not isinstance(serializer, Serializer):
            raise ResultError(f"serializer must be a Serializer such as PickleSerializer() or JSONSerializer(), "
                              f"got {serializer!r}")
        self.location = location
        self.serializer = serializer or PickleSerializer()

    # -- what subclasses implement ---------------------------------------------------------------

    def write_bytes(self, location: str, data: bytes) -> None:
        raise NotImplementedError

    def read_bytes(self, location: str) -> bytes:
        raise NotImplementedError

    def exists(self, location: str) -> bool:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------

    def format(self, template: str | None = None, **values: Any) -> str:
        """The location ``template`` (default: this result's) rendered with ``values``, checked to stay inside."""
        return self.render(template, values)

    def render(self, template: str | None, values: dict) -> str:
        """:meth:`format` with the values as one dict (the task runner's path: no copy of the keywords)."""
        template = template or self.location or DEFAULT_LOCATION
        fields = _Fields(values.get("parameters") or ())
        fields.update(values)
        try:
            rendered = template.format_map(fields)
        except ResultError:
            raise
        except (IndexError, ValueError, AttributeError) as exc:
            raise ResultError(f"result location {template!r} cannot be rendered: {exc}") from None
        return safe_location(rendered, template)

    def write(self, value: Any, location: str) -> str:
        """Serialize ``value`` to ``location`` (already rendered); returns the location."""
        self.write_bytes(location, self.serializer.serialize(value))
        return location

    def check_writable(self, directory: str) -> bool:
        """Make ``directory`` and say whether results can be written there, known without writing one.

        False (the default) when only a write can tell: the first result of a
        pack is then written at once. A directory known to be unwritable is a
        :class:`ResultError` saying why.
        """
        return False

    def write_pack(self, path: str, data: bytes) -> None:
        """Write a whole pack file (see :mod:`.packs`); subclasses that can make it appear at once do."""
        self.write_bytes(path, data)

    def read(self, location: str) -> Any:
        """The value stored at ``location``; a missing or unreadable one is a :class:`ResultError` saying which.

        ``location`` may name a record in a pack (``".../pack-....jfpack#7"``), as a mapped child's does.
        """
        if is_packed(location):
            return packed_value(self, location, read_packs(self, [split_location(location)[0]]))
        try:
            data = self.read_bytes(location)
        except FileNotFoundError:
            raise ResultError(f"no result at {self.describe(location)} (deleted?)") from None
        except OSError as exc:
            raise ResultError(f"cannot read the result at {self.describe(location)}: {exc}") from None
        return self.deserialize(data, location)

    def read_many(self, locations: list[str]) -> list[Any]:
        """The values at ``locations``, each or the :class:`ResultError` saying why not; each pack read once.

        Flat on purpose: a restart of a 10,000-child map reads its children here.
        """
        split = [location.rpartition("#") if PACK_MARK in location else None for location in locations]
        packs = read_packs(self, {parts[0] for parts in split if parts is not None})
        deserialize = self.serializer.deserialize
        values: list[Any] = []
        for location, parts in zip(locations, split):
            try:
                if parts is None:
                    values.append(self.read(location))
                    continue
                records = packs[parts[0]]
                data = records.get(parts[2]) if type(records) is dict else None
                if data is None:
                    values.append(packed_value(self, location, packs))  # raises, saying why
                    continue
                values.append(deserialize(data))
            except ResultError as exc:
                values.append(exc)
            except Exception as exc:  # noqa: BLE001 - unpickling raises anything; each means "corrupt"
                values.append(self.corrupt(location, exc))
        return values

    def deserialize(self, data: bytes, location: str) -> Any:
        """``data`` read from ``location`` as a value; bytes that do not deserialize are a :class:`ResultError`."""
        try:
            return self.serializer.deserialize(data)
        except Exception as exc:  # noqa: BLE001 - unpickling raises anything; each means "corrupt"
            raise self.corrupt(location, exc) from None

    def corrupt(self, location: str, exc: Exception) -> ResultError:
        """The error for bytes at ``location`` that did not deserialize."""
        return ResultError(f"the result at {self.describe(location)} is corrupt or was written by another "
                           f"serializer: {type(exc).__name__}: {exc}")

    def describe(self, location: str) -> str:
        """A readable full address of ``location``, for messages."""
        return location

    def to_dict(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"


class _Fields(dict):
    """The values a template may use; an unknown field names itself and the known ones."""

    def __missing__(self, key: str) -> Any:
        known = ", ".join(sorted(k for k in self if isinstance(k, str) and not k.startswith("_")))
        raise ResultError(f"result location field {{{key}}} is unknown; fields available: {known}")


def check_template(template: Any) -> None:
    """A clear error for a location that is not a template string or cannot parse."""
    if not isinstance(template, str) or not template.strip():
        raise ResultError(f"a result location is a non-empty string template such as "
                          f"'{{flow_name}}/{{task_name}}.pkl', got {template!r}")
    try:
        list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ResultError(f"result location {template!r} is not a valid template: {exc}") from None
    safe_location(template, template)


def safe_location(rendered: str, template: str) -> str:
    """``rendered`` as a normalised relative path; one that would leave the result's root is refused."""
    path = rendered.replace("\\", "/")
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or (parts and parts[0].endswith(":")):
        raise ResultError(f"result location {rendered!r} (from {template!r}) would be outside the result's "
                          "directory; use a relative path without '..' parts")
    normal = posixpath.normpath(path)
    if normal in (".", ""):
        raise ResultError(f"result location {template!r} renders to an empty path")
    return normal
