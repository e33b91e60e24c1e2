"""Exceptions a task (or a trigger) raises to end in a chosen state instead of Failed.

As in Prefect 1 they derive from ``BaseException``, not ``Exception``, so a
task's ``except Exception:`` does not swallow them. Each carries the state it
stands for in ``.state``, whose ``result`` is the signal itself unless a
``result=`` was given.

>>> from jupyter_flows.engine import signals
>>> signals.SKIP("nothing new").state
<Skipped: 'nothing new'>
"""

from __future__ import annotations

from typing import Any

from .state import Failed, Looped, Paused, Retrying, Skipped, State, Success, TriggerFailed


class Signal(BaseException):
    """Base of every signal."""


class StateSignal(Signal):
    """A signal that stands for a state: ``state_class(message, result=...)``."""

    state_class: type[State] = State

    def __init__(self, message: str | None = None, **state_options: Any):
        super().__init__(message)
        state_options.setdefault("result", self)
        self.state = self.state_class(message=message, **state_options)


class SUCCESS(StateSignal):
    """End the task as Success (``result=`` gives its value)."""

    state_class = Success


class FAIL(StateSignal):
    """End the task as Failed with this message (retried like any failure)."""

    state_class = Failed


class TRIGGERFAIL(FAIL):
    """Raised by a trigger: the task does not run and ends TriggerFailed."""

    state_class = TriggerFailed


class SKIP(StateSignal):
    """End the task as Skipped; downstream tasks skip too unless ``skip_on_upstream_skip=False``."""

    state_class = Skipped


class RETRY(StateSignal):
    """Run the task again now, whatever its ``max_retries``."""

    state_class = Retrying


class LOOP(StateSignal):
    """Run the task again with ``context.task_loop_result`` set to ``result`` and
    ``context.task_loop_count`` one higher; the last iteration's return value is the result."""

    state_class = Looped


class PAUSE(StateSignal):
    """Stop the task in a Paused state until it is resumed (see :class:`~jupyter_flows.engine.state.Resume`)."""

    state_class = Paused


class ENDRUN(Signal):
    """End the task run with exactly this ``state`` (no retry, no further processing)."""

    def __init__(self, state: State):
        super().__init__(state)
        self.state = state


# Prefect 1's names for the base classes, for code that catches them.
PrefectSignal = Signal
PrefectStateSignal = StateSignal
