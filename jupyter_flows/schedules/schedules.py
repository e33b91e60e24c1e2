"""Schedules: one or more clocks, merged into one stream of run times.

Prefect 1's names: ``Schedule(clocks=[...])``, and the shortcuts
``IntervalSchedule`` and ``CronSchedule`` for a schedule of one clock.

>>> from datetime import timedelta
>>> from jupyter_flows.schedules import IntervalSchedule
>>> IntervalSchedule(interval=timedelta(minutes=15)).next(3)   # the next three quarter hours
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator

from ..exceptions import ScheduleError
from .clocks import Clock, ClockEvent, CronClock, IntervalClock, clock_from_dict


class Schedule:
    """The times a flow runs: the union of its clocks' events, in time order.

    Two clocks emitting the same instant with the same parameters and labels
    make one run; with different parameters, two.
    """

    def __init__(self, clocks: Iterable[Clock]):
        if isinstance(clocks, Clock) or not isinstance(clocks, Iterable):
            raise ScheduleError(f"clocks must be a list of clocks, got {clocks!r}")
        self.clocks = list(clocks)
        if not self.clocks:
            raise ScheduleError("a schedule needs at least one clock, got an empty list")
        for clock in self.clocks:
            if not isinstance(clock, Clock):
                raise ScheduleError(f"clocks must be IntervalClock or CronClock objects, got {clock!r}")

    @property
    def start_date(self) -> datetime | None:
        return min((c.start_date for c in self.clocks if c.start_date), default=None)

    @property
    def end_date(self) -> datetime | None:
        ends = [c.end_date for c in self.clocks]
        return None if None in ends else max(ends)

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        """All clocks' events strictly after ``after`` (default: now), merged in time order."""
        merged = heapq.merge(*(c.events(after) for c in self.clocks), key=_event_order)
        previous = None
        for event in merged:
            same = (previous is not None and previous.timestamp == event.timestamp
                    and previous.parameter_defaults == event.parameter_defaults
                    and previous.labels == event.labels)
            if not same:
                yield event
            previous = event

    def next(self, n: int, after: datetime | None = None, return_events: bool = False) -> list:
        """The next ``n`` run times after ``after`` (default: now) as time-zone-aware datetimes.

        With ``return_events=True``, :class:`ClockEvent` s that also carry each
        run's parameter values and labels. Fewer than ``n`` when the schedule ends.
        """
        events = list(itertools.islice(self.events(after), n))
        return events if return_events else [e.start_time for e in events]

    def check_parameters(self, flow_name: str, parameter_names: Iterable[str]) -> None:
        """Raise :class:`ScheduleError` if a clock sets a parameter flow ``flow_name`` does not declare."""
        known = set(parameter_names)
        for clock in self.clocks:
            unknown = sorted(set(clock.parameter_defaults) - known)
            if unknown:
                raise ScheduleError(
                    f"{clock!r} sets parameter {unknown[0]!r}, which flow {flow_name!r} does not declare; "
                    f"its parameters: {', '.join(sorted(known)) or 'none'}")

    def to_dict(self) -> dict:
        return {"type": "Schedule", "clocks": [c.to_dict() for c in self.clocks]}

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Schedule) and other.to_dict() == self.to_dict()

    def __repr__(self) -> str:
        return f"Schedule(clocks={self.clocks!r})"


def _event_order(event: ClockEvent) -> tuple:
    return (event.timestamp, event.clock_key)


def IntervalSchedule(start_date: datetime | None = None, interval: timedelta | None = None,
                     end_date: datetime | None = None) -> Schedule:
    """A schedule of one :class:`IntervalClock`: every ``interval`` of elapsed time from ``start_date``."""
    if interval is None:
        raise ScheduleError("IntervalSchedule needs an interval, e.g. interval=timedelta(minutes=15)")
    return Schedule(clocks=[IntervalClock(interval=interval, start_date=start_date, end_date=end_date)])


def CronSchedule(cron: str, start_date: datetime | None = None, end_date: datetime | None = None,
                 day_or: bool = True) -> Schedule:
    """A schedule of one :class:`CronClock`: cron times on the wall clock of ``start_date``'s zone."""
    return Schedule(clocks=[CronClock(cron=cron, start_date=start_date, end_date=end_date, day_or=day_or)])


def schedule_from_dict(data: dict) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_dict` (what the backend stores)."""
    if not isinstance(data, dict) or data.get("type") != "Schedule":
        raise ScheduleError(f"not a stored schedule: {data!r}")
    return Schedule(clocks=[clock_from_dict(c) for c in data["clocks"]])
