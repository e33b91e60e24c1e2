"""The run context: what a running task may ask about its run.

``jupyter_flows.context`` is the one documented piece of ambient state. Inside
a task it holds ``flow_name``, ``flow_run_id``, ``parameters``, ``task_name``,
``task_slug``, ``map_index``, ``today``, ``task_run_count`` and ``logger``.
It lives in a :class:`contextvars.ContextVar`, so every thread of a thread
pool (and every asyncio task) sees only its own task's values.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator

_current: contextvars.ContextVar[dict] = contextvars.ContextVar("jupyter_flows_context", default={})


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


def set_context(values: dict) -> contextvars.Token:
    """Replace the context wholesale (the task runner's fast path); undo with :func:`reset_context`."""
    return _current.set(values)


def reset_context(token: contextvars.Token) -> None:
    _current.reset(token)
