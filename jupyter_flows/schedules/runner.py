"""``flow.run()`` on a flow with a schedule: run at each scheduled time, in this process, until stopped.

As in Prefect 1, the loop waits for the schedule's next time, runs the flow
with the values passed to ``run()`` updated by the clock's parameter values
(a clock's value wins, as in Prefect 1), and asks
the schedule again after the run, so times that passed during a long run are
skipped rather than run back to back. Interrupting the wait (Ctrl-C, or
interrupting the kernel) ends the loop quietly and returns the last run's
state; an interrupt during a run cancels that run as it does without a schedule.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from ..exceptions import ScheduleError
from .schedules import Schedule
from .zones import now

log = logging.getLogger("jupyter_flows.schedules")


def run_on_schedule(flow, schedule: Schedule, run_once: Callable[[dict], object], parameters: dict,
                    max_scheduled_runs: int | None = None):
    """Call ``run_once(parameter values)`` at each of ``schedule``'s times; return the last state.

    ``max_scheduled_runs`` stops after that many runs (for tests and demos;
    Prefect 1 has no such bound and neither does a plain ``flow.run()``).
    """
    schedule.check_parameters(flow.name, (p.name for p in flow.parameters()))
    state, count, after = None, 0, None
    while max_scheduled_runs is None or count < max_scheduled_runs:
        events = schedule.next(1, after=after, return_events=True)
        if not events:
            if state is None:
                raise ScheduleError(f"flow {flow.name!r} has no more scheduled runs: its schedule ended "
                                    f"{schedule.end_date.isoformat()}")
            break
        event = events[0]
        log.info("Flow %r: next scheduled run at %s", flow.name, event.start_time.isoformat())
        try:
            _sleep_until(event.timestamp)
        except KeyboardInterrupt:
            log.info("Flow %r: stopped waiting for the run at %s (interrupted)", flow.name,
                     event.start_time.isoformat())
            break
        state = run_once({**parameters, **event.parameter_defaults})
        count += 1
        # never the same time twice, even when the run took no time at all
        after = max(now(), event.start_time)
    return state


def _sleep_until(timestamp: float) -> None:
    delay = timestamp - time.time()
    if delay > 0:
        time.sleep(delay)
