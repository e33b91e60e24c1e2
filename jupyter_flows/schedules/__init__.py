"""Schedules: when a registered flow runs by itself (Prefect 1's ``prefect.schedules``).

``Flow("x", schedule=CronSchedule("0 6 * * 1-5", start_date=...))``; see
:mod:`.clocks` for how time zones and daylight saving time are handled, and
:mod:`.zones` for the rule on naive datetimes (they are UTC).
"""

from . import clocks
from .clocks import ClockEvent, CronClock, IntervalClock
from .schedules import CronSchedule, IntervalSchedule, Schedule, schedule_from_dict

__all__ = ["ClockEvent", "CronClock", "CronSchedule", "IntervalClock", "IntervalSchedule", "Schedule", "clocks",
           "schedule_from_dict"]
