"""State handlers: user functions called on every state change of a task or flow run.

``handler(obj, old_state, new_state)`` gets the task (or flow) and both
states; it returns the state to use instead, or None to keep ``new_state``.
``on_failure(obj, state)`` is called after the handlers when the new state is
a failure. As in Prefect 1, a handler that raises fails the run: its state
becomes Failed with the error as result.
"""

from __future__ import annotations

from .signals import ENDRUN
from .state import Failed, State


def call_state_handlers(obj, old: State, new: State) -> State:
    """The state ``obj``'s handlers make of the change ``old -> new``.

    Raises :class:`~jupyter_flows.engine.signals.ENDRUN` with a Failed state when
    a handler raises, so that the run ends there (no retry).
    """
    try:
        for handler in obj.state_handlers:
            changed = handler(obj, old, new)
            if changed is not None:
                new = changed
        if obj.on_failure is not None and new.is_failed():
            obj.on_failure(obj, new)
    except ENDRUN:
        raise
    except Exception as exc:
        raise ENDRUN(Failed(f"Unexpected error while calling state handlers: {exc!r}", result=exc)) from exc
    return new


def check_state_handlers(handlers, on_failure, owner: str) -> tuple[list, object]:
    """Validate ``state_handlers`` and ``on_failure`` as given to a task or flow."""
    if callable(handlers) or isinstance(handlers, (str, bytes)):
        raise TypeError(f"{owner}: state_handlers must be a list of functions, got {handlers!r}; "
                        "write state_handlers=[handler]")
    handlers = list(handlers or ())
    for handler in handlers:
        if not callable(handler):
            raise TypeError(f"{owner}: state_handlers must be functions (obj, old_state, new_state); "
                            f"got {handler!r}")
    if on_failure is not None and not callable(on_failure):
        raise TypeError(f"{owner}: on_failure must be a function (obj, state); got {on_failure!r}")
    return handlers, on_failure
