"""Schedules in plain language, for the CLI, the panel, the dialog and the widget.

Cron expressions are described by ``cron-descriptor`` (24-hour times); an
interval reads "every 15 minutes". The zone is named when it is not UTC.
"""

from __future__ import annotations

from datetime import timedelta

from cron_descriptor import ExpressionDescriptor, Options

from .clocks import Clock, CronClock, IntervalClock, check_cron
from .schedules import Schedule
from .zones import UTC, zone_name

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def describe_cron(cron: str) -> str:
    """``"0 6 * * 1-5"`` -> ``"at 06:00, Monday through Friday"``; raises ScheduleError when invalid."""
    check_cron(cron)
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    text = ExpressionDescriptor(" ".join(cron.split()), options).get_description()
    return text[:1].lower() + text[1:]


def describe_interval(interval: timedelta) -> str:
    seconds = interval.total_seconds()
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"every {seconds:g} seconds"


def describe_clock(clock: Clock) -> str:
    if isinstance(clock, CronClock):
        text = describe_cron(clock.cron)
    elif isinstance(clock, IntervalClock):
        text = describe_interval(clock.interval)
    else:
        text = repr(clock)
    zone = clock.start_date.tzinfo if clock.start_date else UTC
    name = zone_name(zone)
    if name != "UTC":
        text += f" ({name or clock.start_date.strftime('UTC%z')})"
    if clock.parameter_defaults:
        text += " with " + ", ".join(f"{k}={v!r}" for k, v in sorted(clock.parameter_defaults.items()))
    return text


def describe_schedule(schedule: Schedule) -> str:
    """One line: each clock described, joined by "; "."""
    return "; ".join(describe_clock(c) for c in schedule.clocks)
