"""Triggers: decide from the upstream states whether a task runs.

A trigger is a function of ``upstream_states``, a dict ``{Edge: State}`` with
one entry per upstream edge (a mapped upstream task reaching a reducer is a
:class:`~jupyter_flows.engine.state.Mapped` state holding its children's
states). It returns True to run the task, or raises a signal:
``TRIGGERFAIL`` (the task ends TriggerFailed), ``SKIP`` or ``PAUSE``.
Returning False counts as TRIGGERFAIL.

>>> from jupyter_flows import task, triggers
>>> @task(trigger=triggers.some_failed(at_most=0.5))
... def report(results): ...
"""

from __future__ import annotations

from typing import Callable, Iterator

from .context import context
from .signals import PAUSE, SKIP, TRIGGERFAIL
from .state import Mapped, State


def _states(upstream_states: dict) -> Iterator[State]:
    """Every upstream state, a mapped upstream's children one by one."""
    for state in upstream_states.values():
        if isinstance(state, Mapped):
            yield from state.map_states
        else:
            yield state


def all_successful(upstream_states: dict) -> bool:
    """Run only if every upstream task succeeded (the default); Skipped counts as success."""
    if not all(s.is_successful() for s in _states(upstream_states)):
        raise TRIGGERFAIL('Trigger was "all_successful" but some of the upstream tasks failed.')
    return True


def all_failed(upstream_states: dict) -> bool:
    """Run only if every upstream task failed (clean-up after total failure)."""
    if not all(s.is_failed() for s in _states(upstream_states)):
        raise TRIGGERFAIL('Trigger was "all_failed" but some of the upstream tasks succeeded.')
    return True


def any_successful(upstream_states: dict) -> bool:
    """Run if at least one upstream task succeeded (or there is none)."""
    if upstream_states and not any(s.is_successful() for s in _states(upstream_states)):
        raise TRIGGERFAIL('Trigger was "any_successful" but none of the upstream tasks succeeded.')
    return True


def any_failed(upstream_states: dict) -> bool:
    """Run if at least one upstream task failed (alerting), or there is none."""
    if upstream_states and not any(s.is_failed() for s in _states(upstream_states)):
        raise TRIGGERFAIL('Trigger was "any_failed" but none of the upstream tasks failed.')
    return True


def all_finished(upstream_states: dict) -> bool:
    """Run once every upstream task has finished, whatever its state."""
    if not all(s.is_finished() for s in _states(upstream_states)):
        raise TRIGGERFAIL('Trigger was "all_finished" but some of the upstream tasks were not finished.')
    return True


always_run = all_finished


def manual_only(upstream_states: dict) -> bool:
    """Never run on its own: the task enters Paused until it is resumed.

    A task started in a :class:`~jupyter_flows.engine.state.Resume` state
    (``flow.run(task_states={task: Resume()})``) runs: the context then holds
    ``resume=True``.
    """
    if context.get("resume"):
        return True
    raise PAUSE('Trigger function is "manual_only"')


def not_all_skipped(upstream_states: dict) -> bool:
    """Run if every upstream task succeeded and not all of them were skipped (then skip)."""
    states = list(_states(upstream_states))
    if all(s.is_skipped() for s in states):
        raise SKIP("All upstreams were skipped", result=None)
    if not all(s.is_successful() for s in states):
        raise TRIGGERFAIL('Trigger was "not_all_skipped" but some of the upstream tasks failed.')
    return True


def some_failed(at_least: int | float | None = None, at_most: int | float | None = None) -> Callable:
    """A trigger that runs when the number of failed upstream tasks is within bounds.

    A bound below 1 is a fraction of the upstream tasks (``at_least=0.5``: half),
    otherwise a count.
    """
    return _counting("some_failed", State.is_failed, at_least, at_most)


def some_successful(at_least: int | float | None = None, at_most: int | float | None = None) -> Callable:
    """A trigger that runs when the number of successful upstream tasks is within bounds.

    A bound below 1 is a fraction of the upstream tasks, otherwise a count;
    Skipped counts as success.
    """
    return _counting("some_successful", State.is_successful, at_least, at_most)


def _counting(name: str, counts: Callable[[State], bool], at_least, at_most) -> Callable:
    for label, bound in (("at_least", at_least), ("at_most", at_most)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float)) or bound < 0):
            raise ValueError(f"{name}({label}=...) must be a count or a fraction >= 0, got {bound!r}")

    def trigger(upstream_states: dict) -> bool:
        if not upstream_states:
            return True
        states = list(_states(upstream_states))
        total, hits = len(states), sum(1 for s in states if counts(s))
        low = 0 if at_least is None else (total * at_least if at_least < 1 else at_least)
        high = total if at_most is None else (total * at_most if at_most < 1 else at_most)
        if not low <= hits <= high:
            raise TRIGGERFAIL(f'Trigger was "{name}" but thresholds were not met.')
        return True

    trigger.__name__ = trigger.__qualname__ = name
    return trigger
