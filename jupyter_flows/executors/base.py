"""The executor interface the flow runner drives."""

from __future__ import annotations

import contextlib
import inspect
from typing import Callable, Iterator

from ..exceptions import ExecutorError


class Executor:
    """Runs a graph of task runs.

    The graph is a dask-style dict ``{key: (function, spec, *args)}`` in an
    order where every node comes after the nodes it reads; an argument is a
    key of the graph, a finished value, or a list of those. ``run_graph``
    calls ``on_start(key)`` as a node starts (``on_start`` is None when
    nobody listens) and ``on_done(key, result)`` once per node, from the
    calling thread.
    """

    #: True when tasks cross a process boundary, so they must pickle.
    needs_pickling = False

    @contextlib.contextmanager
    def start(self) -> Iterator[None]:
        """Hold resources (a pool, a cluster) for the duration of one flow run."""
        yield

    def run_graph(self, graph: dict, on_start: Callable, on_done: Callable) -> None:
        raise NotImplementedError

    def to_dict(self) -> dict:
        """JSON form stored by the backend with a registered flow."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type" and v is not None)
        return f"{type(self).__name__}({options})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()


def check_executor(executor, what: str = "executor") -> Executor | None:
    """``executor`` itself when it is an :class:`Executor` or None; else an ExecutorError saying what to give."""
    if executor is None or isinstance(executor, Executor):
        return executor
    hint = ""
    if isinstance(executor, str) and executor in ("threads", "processes", "synchronous", "sync"):
        hint = f"; for {executor!r} write LocalDaskExecutor(scheduler={executor!r})"
    raise ExecutorError(
        f"{what} must be an executor, got {type(executor).__name__} {executor!r:.60}: give LocalExecutor(), "
        f"LocalDaskExecutor(scheduler='threads'|'processes'|'synchronous') or DaskExecutor(...){hint}"
    )


def executor_from_dict(data: dict | None) -> Executor:
    """Rebuild an executor from :meth:`Executor.to_dict` (``None`` gives ``LocalExecutor``)."""
    from . import DaskExecutor, LocalDaskExecutor, LocalExecutor

    kinds = {cls.__name__: cls for cls in (LocalExecutor, LocalDaskExecutor, DaskExecutor)}
    if not data:
        return LocalExecutor()
    options = dict(data)
    kind = options.pop("type", None)
    if kind not in kinds:
        raise ExecutorError(f"unknown executor type {kind!r}; known: {', '.join(kinds)}")
    accepted = list(inspect.signature(kinds[kind]).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ExecutorError(f"{kind} has no option {', '.join(map(repr, unknown))}; its options are: "
                            f"{', '.join(accepted)}")
    return kinds[kind](**options)
