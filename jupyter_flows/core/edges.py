"""Edges between tasks, and the annotations that change how an argument is mapped."""

from __future__ import annotations

from typing import Any

from ..exceptions import FlowDefinitionError


class Edge:
    """``upstream_task`` feeds ``downstream_task``: as argument ``key``, or as an ordering-only edge.

    ``mapped`` says the downstream task runs once per element of the upstream
    result; ``flattened`` says that result is a list of lists to be joined first.
    """

    __slots__ = ("upstream_task", "downstream_task", "key", "mapped", "flattened")

    def __init__(self, upstream_task, downstream_task, key: str | None = None,
                 mapped: bool = False, flattened: bool = False):
        if upstream_task is downstream_task:
            raise FlowDefinitionError(f"an edge cannot connect task {upstream_task.name!r} to itself")
        if key is not None and not (isinstance(key, str) and key.isidentifier()):
            raise FlowDefinitionError(
                f"an edge's key must be an argument name of the downstream task (an identifier), got {key!r}"
            )
        self.upstream_task = upstream_task
        self.downstream_task = downstream_task
        self.key = key
        self.mapped = mapped
        self.flattened = flattened

    @property
    def tasks(self) -> set:
        """Both ends of the edge."""
        return {self.upstream_task, self.downstream_task}

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


class EdgeAnnotation:
    """Wraps an argument to say how its edge behaves; wrappers combine: ``unmapped(flatten(x))``.

    ``annotations`` holds what the wrapper sets (``mapped``, ``flattened``);
    an inner wrapper's settings win over an outer one's.
    """

    annotations: dict = {}

    def __init__(self, value: Any):
        self.annotations = dict(type(self).annotations)
        if isinstance(value, EdgeAnnotation):
            self.annotations.update(value.annotations)
            value = value.value
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class mapped(EdgeAnnotation):
    """Map over this argument even in a plain call: ``add(x=mapped(numbers), y=5)``."""

    annotations = {"mapped": True}


class unmapped(EdgeAnnotation):
    """Pass this argument whole to every child of a mapped task: ``t.map(xs, unmapped(y))``."""

    annotations = {"mapped": False}


class flatten(EdgeAnnotation):
    """Map over the concatenation of a list of lists: ``t.map(flatten(nested))``.

    Elements that are not lists themselves are kept as they are, so the
    flatten of an already flat list is that list.
    """

    annotations = {"flattened": True}


def unwrap(value: Any, mapped: bool, flattened: bool = False) -> tuple[Any, bool, bool]:
    """``(value, mapped, flattened)``: what a wrapper around ``value`` says, else the defaults given.

    ``mapped`` is True for the arguments of ``.map()`` and False for a plain call.
    """
    if not isinstance(value, EdgeAnnotation):
        return value, mapped, flattened
    annotations = value.annotations
    return value.value, annotations.get("mapped", mapped), annotations.get("flattened", flattened)
