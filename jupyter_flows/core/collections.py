"""Collection tasks: a list, tuple, set or dict of tasks passed as one argument.

``total([one(), two()])`` needs the results of ``one`` and ``two`` as a list
when ``total`` runs. Calling a task with such a collection binds it to a
:class:`List` (or :class:`Tuple`, :class:`Set`, :class:`Dict`) task whose
upstream tasks are the collection's items, as Prefect 1 does; collections of
plain values stay constants.
"""

from __future__ import annotations

from typing import Any, Iterable

from .task import Task


class VarArgsTask(Task):
    """A task called with positional arguments only, bound as ``arg_1``, ``arg_2``, ... (in order)."""

    def bind(self, *args: Any, upstream_tasks: Iterable[Any] | None = None, flow=None,
             mapped: bool = False) -> Task:
        keywords = {f"arg_{i}": value for i, value in enumerate(args, 1)}
        return super().bind(upstream_tasks=upstream_tasks, flow=flow, mapped=mapped, **keywords)


def _in_order(task_results: dict) -> list:
    return [task_results[f"arg_{i}"] for i in range(1, len(task_results) + 1)]


class List(VarArgsTask):
    """Collects its arguments into a list."""

    def run(self, **task_results: Any) -> list:
        return _in_order(task_results)


class Tuple(VarArgsTask):
    """Collects its arguments into a tuple."""

    def run(self, **task_results: Any) -> tuple:
        return tuple(_in_order(task_results))


class Set(VarArgsTask):
    """Collects its arguments into a set."""

    def run(self, **task_results: Any) -> set:
        return set(task_results.values())


class Dict(Task):
    """Builds a dict from a list of keys and a list of values (either may hold task results)."""

    def run(self, keys: Iterable[Any], values: Iterable[Any]) -> dict:
        keys, values = list(keys), list(values)
        if len(keys) != len(values):
            raise ValueError(f"Dict needs as many keys as values, got {len(keys)} keys and {len(values)} values")
        return dict(zip(keys, values))


def collect(value: Any, flow=None) -> Task:
    """The collection task for a list, tuple, set or dict that holds tasks, bound in ``flow``."""
    if isinstance(value, list):
        return List().bind(*value, flow=flow)
    if isinstance(value, tuple):
        return Tuple().bind(*value, flow=flow)
    if isinstance(value, (set, frozenset)):
        return Set().bind(*value, flow=flow)
    if isinstance(value, dict):
        return Dict().bind(keys=list(value), values=list(value.values()), flow=flow)
    raise TypeError(f"cannot make a task of {type(value).__name__} value {value!r:.60}")
