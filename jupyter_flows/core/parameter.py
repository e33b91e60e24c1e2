"""Parameters: the named inputs of a flow, given per run."""

from __future__ import annotations

import datetime
import enum
from typing import Any

from ..engine.context import context
from ..exceptions import ParameterError
from .task import Task


class _NoDefault(enum.Enum):
    """Marks a parameter declared without a default (``None`` is a default like any other)."""

    value = "no default"

    def __repr__(self) -> str:
        return "<no default>"


no_default = _NoDefault.value


class Parameter(Task):
    """A flow input: ``Parameter("people", default=["Arthur"])``.

    A parameter declared without a default (or with ``required=True``) must be
    given a value by every run: ``flow.run(people=[...])`` or
    ``flow.run(parameters={"people": [...]})``. ``default=None`` makes it
    optional, with None as its value. Its slug is its name, so a flow has one
    parameter of each name.
    """

    def __init__(self, name: str, default: Any = no_default, required: bool | None = None, tags=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a Parameter's name must be a valid identifier, got {name!r}")
        self.required = default is no_default if required is None else required
        self.default = None if default is no_default else default
        super().__init__(name=name, slug=name, tags=tags)

    def __call__(self, flow=None) -> "Parameter":  # type: ignore[override]
        """Add this parameter to ``flow`` (default: the active flow); a parameter is not copied."""
        return self.bind(flow=flow)

    def copy(self, name: str, **task_args: Any) -> "Parameter":  # type: ignore[override]
        """A new parameter like this one, named (and slugged) ``name``."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a Parameter's name must be a valid identifier, got {name!r}")
        return super().copy(name=name, slug=name, **task_args)

    def run(self) -> Any:
        parameters = context.get("parameters") or {}
        if self.name in parameters:
            return parameters[self.name]
        if self.required:
            raise ValueError(f"parameter {self.name!r} is required and was not given a value")
        return self.default

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"


class DateTimeParameter(Parameter):
    """A parameter whose value is a :class:`~datetime.datetime`; a string is read as ISO 8601.

    ``DateTimeParameter("since")`` is required; ``required=False`` makes
    None (no value) acceptable.
    """

    def __init__(self, name: str, default: Any = no_default, required: bool = True, tags=None):
        super().__init__(name=name, default=default, required=required, tags=tags)

    def run(self) -> datetime.datetime | None:
        value = super().run()
        if value is None or isinstance(value, datetime.datetime):
            return value
        if isinstance(value, datetime.date):
            return datetime.datetime.combine(value, datetime.time())
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value)
            except ValueError:
                pass
        raise ParameterError(
            f"parameter {self.name!r} needs a datetime or an ISO 8601 string such as "
            f"'2026-11-30T12:00:00+00:00', got {value!r}"
        )
