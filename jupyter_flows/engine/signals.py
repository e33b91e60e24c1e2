"""Exceptions a task may raise to end in a chosen state instead of Failed."""

from __future__ import annotations

from .state import Failed, Skipped, State


class Signal(Exception):
    """Raised inside a task to set its state; ``state_class`` says which."""

    state_class: type[State] = Failed

    def __init__(self, message: str = "", result=None):
        super().__init__(message)
        self.result = result

    def to_state(self) -> State:
        return self.state_class(message=str(self) or None, result=self.result)


class FAIL(Signal):
    """End the task as Failed with this message."""

    state_class = Failed


class SKIP(Signal):
    """End the task as Skipped; downstream tasks skip too unless ``skip_on_upstream_skip=False``."""

    state_class = Skipped
