"""Triggers: decide from the upstream states whether a task runs.

A trigger is any function of the list of upstream states (for a mapped
upstream task, its children's states) that returns True to run the task;
False makes the task TriggerFailed. ``manual_only`` is not offered: there is
no approval step in jupyter-flows yet.
"""

from __future__ import annotations

from .state import State


def all_successful(states: list[State]) -> bool:
    """Run only if every upstream task succeeded (the default)."""
    return all(s.is_successful() for s in states)


def all_failed(states: list[State]) -> bool:
    """Run only if every upstream task failed (clean-up after total failure)."""
    return all(s.is_failed() for s in states)


def any_successful(states: list[State]) -> bool:
    """Run if at least one upstream task succeeded (or there is none)."""
    return not states or any(s.is_successful() for s in states)


def any_failed(states: list[State]) -> bool:
    """Run if at least one upstream task failed (alerting)."""
    return not states or any(s.is_failed() for s in states)


def all_finished(states: list[State]) -> bool:
    """Run once every upstream task has finished, whatever its state."""
    return all(s.is_finished() for s in states)


always_run = all_finished
