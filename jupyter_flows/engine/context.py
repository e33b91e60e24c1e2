"""The run context: what a running task may ask about its run.

``jupyter_flows.context`` is the one documented piece of ambient state. Inside
a task it holds ``flow_name``, ``flow_run_id``, ``flow_run_name``,
``parameters``, ``task_name``, ``task_full_name`` (``"name[3]"`` for a mapped
child), ``task_slug``, ``map_index``, ``task_run_count``, ``date`` and
``scheduled_start_time`` (UTC datetimes), ``today``, ``yesterday``,
``tomorrow`` and their ``_nodash`` forms, and ``logger``; a looping task
also has ``task_loop_count`` and ``task_loop_result``.

It lives in a :class:`contextvars.ContextVar`, so every thread of a thread
pool (and every asyncio task) sees only its own task's values. Values set
with ``with context(key=value):`` or ``flow.run(context={...})`` travel with
each task run to its worker, on every executor. As in Prefect 1, assignment
(``context.key = value``, ``context.update(...)``, ``context.setdefault(...)``)
inside a ``with context():`` block ends with the block; outside any block it
lasts for the current thread.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator

_EMPTY: dict = {}
_current: contextvars.ContextVar[dict] = contextvars.ContextVar("jupyter_flows_context", default=_EMPTY)


def _writable() -> dict:
    """The current values, made private to this thread first if they are still the shared empty default."""
    values = _current.get()
    if values is _EMPTY:
        values = {}
        _current.set(values)
    return values


class Context:
    """Read-mostly view of the current run context.

    >>> from jupyter_flows import context
    >>> context.get("flow_name", "not in a flow run")
    'not in a flow run'
    """

    def get(self, key: str, default: Any = None) -> Any:
        if key == "logger":
            return self._logger()
        return _current.get().get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key == "logger":
            return self._logger()
        return _current.get()[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"context has no {key!r}; it has {sorted(self.to_dict())}") from None

    def __contains__(self, key: str) -> bool:
        return key == "logger" or key in _current.get()

    def __setattr__(self, key: str, value: Any) -> None:
        _writable()[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        _writable()[key] = value

    def __delattr__(self, key: str) -> None:
        _writable().pop(key, None)

    def update(self, values: dict | None = None, **more: Any) -> None:
        """Set several values at once (until the enclosing ``with context()`` block ends)."""
        _writable().update(values or {}, **more)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, setting it to ``default`` first when absent."""
        return _writable().setdefault(key, default)

    def to_dict(self) -> dict:
        return dict(_current.get())

    @contextlib.contextmanager
    def __call__(self, values: dict | None = None, **more: Any) -> Iterator["Context"]:
        """Add values for the duration of a ``with`` block: ``with context(a=1): ...``."""
        token = _current.set({**_current.get(), **(values or {}), **more})
        try:
            yield self
        finally:
            _current.reset(token)

    def _logger(self):
        from .logging import get_task_logger

        return _current.get().get("logger") or get_task_logger(_current.get())

    def __repr__(self) -> str:
        return f"<Context {sorted(self.to_dict())}>"


context = Context()


# The task runner's fast path, called twice per task run: the ContextVar's own methods, no wrapper.
#: Replace the context wholesale with a dict; returns a token for :func:`reset_context`.
set_context = _current.set
#: Undo a :func:`set_context`.
reset_context = _current.reset
