"""Edges between tasks, and the annotations that change how an argument is mapped."""

from __future__ import annotations

from typing import Any


class Edge:
    """``upstream_task`` feeds ``downstream_task``: as argument ``key``, or as an ordering-only edge.

    ``mapped`` says the downstream task runs once per element of the upstream
    result; ``flattened`` says that result is a list of lists to be joined first.
    """

    __slots__ = ("upstream_task", "downstream_task", "key", "mapped", "flattened")

    def __init__(self, upstream_task, downstream_task, key: str | None = None,
                 mapped: bool = False, flattened: bool = False):
        self.upstream_task = upstream_task
        self.downstream_task = downstream_task
        self.key = key
        self.mapped = mapped
        self.flattened = flattened

    def _identity(self) -> tuple:
        return (self.upstream_task, self.downstream_task, self.key, self.mapped, self.flattened)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Edge) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        arrow = " (mapped)" if self.mapped else ""
        key = f" as {self.key!r}" if self.key else ""
        return f"<Edge {self.upstream_task.name} -> {self.downstream_task.name}{key}{arrow}>"


class unmapped:
    """Pass this argument whole to every child of a mapped task: ``t.map(xs, unmapped(y))``."""

    def __init__(self, value: Any):
        self.value = value


class flatten:
    """Map over the concatenation of a list of lists: ``t.map(flatten(nested))``."""

    def __init__(self, value: Any):
        self.value = value
