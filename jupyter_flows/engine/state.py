"""States of tasks and flow runs, with Prefect 1's names and hierarchy.

A state is a small value: its class says what happened, ``message`` says why
and ``result`` holds the task's return value (or the exception that failed it).
States are created once per task run on the hot path, hence ``__slots__``.
"""

from __future__ import annotations

from typing import Any


class State:
    """Base of every state; ask it questions with the ``is_*`` methods."""

    __slots__ = ("message", "result")
    color = "#999999"

    def __init__(self, message: str | None = None, result: Any = None):
        self.message = message
        self.result = result

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        if self.message:
            return f"<{self.name}: {self.message!r}>"
        return f"<{self.name}>"

    def is_pending(self) -> bool:
        return isinstance(self, Pending)

    def is_running(self) -> bool:
        return isinstance(self, Running)

    def is_finished(self) -> bool:
        return isinstance(self, Finished)

    def is_successful(self) -> bool:
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        return isinstance(self, Failed)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_retrying(self) -> bool:
        return isinstance(self, Retrying)

    def is_cancelled(self) -> bool:
        return isinstance(self, Cancelled)

    def is_scheduled(self) -> bool:
        return isinstance(self, Scheduled)

    def is_paused(self) -> bool:
        return isinstance(self, Paused)

    def is_looped(self) -> bool:
        return isinstance(self, Looped)

    def to_dict(self) -> dict:
        """The JSON form the backend stores: the state's name and message."""
        return {"type": self.name, "message": self.message}


class Pending(State):
    """Not started yet."""

    __slots__ = ()
    color = "#d3d3d3"


class Scheduled(Pending):
    """Waiting for a time (used by a flow run waiting for an agent)."""

    __slots__ = ()
    color = "#ffab00"


class Submitted(State):
    """A flow run claimed by an agent, its process starting."""

    __slots__ = ()
    color = "#fdd835"


class Retrying(Scheduled):
    """Failed, and will run again after the task's ``retry_delay``."""

    __slots__ = ()
    color = "#ffeb3b"


class Paused(Scheduled):
    """Waiting for a person: a ``manual_only`` trigger or a PAUSE signal; resume with :class:`Resume`."""

    __slots__ = ()
    color = "#99a8e8"


class Resume(Scheduled):
    """Given to a paused task (``flow.run(task_states={task: Resume()})``) to let it run."""

    __slots__ = ()
    color = "#f58c0c"


class Running(State):
    """In progress."""

    __slots__ = ()
    color = "#00b0ff"


class Finished(State):
    """Ended, for better or worse."""

    __slots__ = ()
    color = "#bdbdbd"


class Success(Finished):
    """Ended with a result."""

    __slots__ = ()
    color = "#28a745"


class Cached(Success):
    """A result that may be reused: read from a ``target``, or kept for ``cache_for``.

    A task with ``cache_for`` ends Cached (as in Prefect 1), with the inputs,
    parameters and expiry a cache validator compares a later run with.
    """

    __slots__ = ("cached_inputs", "cached_parameters", "cache_expiration")
    color = "#ffa500"

    def __init__(self, message: str | None = None, result: Any = None, cached_inputs: dict | None = None,
                 cached_parameters: dict | None = None, cache_expiration=None):
        super().__init__(message, result)
        self.cached_inputs = cached_inputs
        self.cached_parameters = cached_parameters
        self.cache_expiration = cache_expiration


class Mapped(Success):
    """A mapped task: its work was done by its children, whose states are ``map_states``."""

    __slots__ = ("map_states",)
    color = "#97c8a1"

    def __init__(self, message: str | None = None, result: Any = None, map_states: list | None = None):
        super().__init__(message, result)
        self.map_states = map_states if map_states is not None else []

    @property
    def n_map_states(self) -> int:
        return len(self.map_states)


class Skipped(Success):
    """Did not run, on purpose (a SKIP signal, or an upstream task was skipped)."""

    __slots__ = ()
    color = "#9e9e9e"


class Failed(Finished):
    """Ended with an error; ``result`` is the exception when there was one."""

    __slots__ = ()
    color = "#dc3545"


class TriggerFailed(Failed):
    """Did not run because its trigger said no (by default: an upstream task did not succeed)."""

    __slots__ = ()
    color = "#c42800"


class TimedOut(Failed):
    """Ran longer than the task's ``timeout``."""

    __slots__ = ()
    color = "#fb8c00"


class Looped(Finished):
    """One iteration of a task that raised LOOP; the next iteration runs with its result."""

    __slots__ = ("loop_count",)
    color = "#003ccb"

    def __init__(self, message: str | None = None, result: Any = None, loop_count: int | None = None):
        super().__init__(message, result)
        self.loop_count = loop_count


class Cancelled(Finished):
    """Stopped by a user before it ended."""

    __slots__ = ()
    color = "#607d8b"


STATE_CLASSES: dict[str, type[State]] = {
    cls.__name__: cls
    for cls in (
        Pending, Scheduled, Submitted, Retrying, Paused, Resume, Running, Finished, Success, Cached, Mapped,
        Skipped, Looped, Failed, TriggerFailed, TimedOut, Cancelled,
    )
}


def state_from_dict(data: dict) -> State:
    """Rebuild a state stored by :meth:`State.to_dict` (the result is not stored)."""
    try:
        cls = STATE_CLASSES[data["type"]]
    except KeyError:
        raise ValueError(
            f"unknown state type {data.get('type')!r}; known: {', '.join(sorted(STATE_CLASSES))}"
        ) from None
    return cls(message=data.get("message"))
