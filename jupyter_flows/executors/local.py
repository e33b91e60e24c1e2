"""LocalExecutor: every task in the calling thread, one after another."""

from __future__ import annotations

from typing import Callable

from .base import Executor


class LocalExecutor(Executor):
    """Run tasks serially in the calling thread: the default, and the easiest to debug."""

    def run_graph(self, graph: dict, on_start: Callable, on_done: Callable) -> None:
        results: dict = {}
        # The graph is in dependency order, so a plain loop is a valid schedule.
        for key, (function, spec, *args) in graph.items():
            if on_start is not None:
                on_start(key)
            resolved = [_resolve(arg, results) for arg in args]
            result = results[key] = function(spec, *resolved)
            on_done(key, result)


def _resolve(arg, results: dict):
    kind = type(arg)
    if kind is str or kind is tuple:
        return results[arg]
    if kind is list:
        return [results[a] if type(a) is str or type(a) is tuple else a for a in arg]
    return arg
