"""Parameters: the named inputs of a flow, given per run."""

from __future__ import annotations

from typing import Any

from ..engine.context import context
from .task import Task


class Parameter(Task):
    """A flow input: ``Parameter("people", default=["Arthur"])``.

    A parameter without a default (or with ``required=True``) must be given a
    value by every run: ``flow.run(people=[...])`` or
    ``flow.run(parameters={"people": [...]})``.
    """

    def __init__(self, name: str, default: Any = None, required: bool | None = None, tags=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a Parameter's name must be a valid identifier, got {name!r}")
        self.default = default
        self.required = default is None if required is None else required
        super().__init__(name=name, slug=name, tags=tags)

    def copy(self, **overrides: Any) -> "Parameter":
        new = super().copy(**overrides)
        new.slug = new.name
        return new

    def run(self) -> Any:
        parameters = context.get("parameters") or {}
        if self.name in parameters:
            return parameters[self.name]
        if self.required:
            raise ValueError(f"parameter {self.name!r} is required and was not given a value")
        return self.default

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"
