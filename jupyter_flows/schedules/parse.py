"""Times and durations as people type them: ``--start-at 2026-12-01T06:00``, ``--in 10m``, ``--every 15m``.

Shared by the CLI, the ``%flow`` magic and the server, so that each accepts
the same spellings and refuses the same mistakes with the same words.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..exceptions import ScheduleError
from .zones import as_aware, get_zone, now

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)\s*$",
                       re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` (also ``"15 minutes"``) as a positive timedelta."""
    match = _DURATION.match(str(text))
    if not match:
        raise ScheduleError(f"{text!r} is not a duration; use a number and a unit: 90s, 15m, 2h or 1d")
    amount = float(match.group(1))
    if amount <= 0:
        raise ScheduleError(f"a duration must be positive, got {text!r}")
    unit = match.group(2)[0].lower()
    return timedelta(seconds=amount * _UNIT_SECONDS[unit])


def parse_start_at(text: str, timezone: str | None = None) -> datetime:
    """An ISO 8601 date and time (``2026-12-01T06:00``, ``2026-12-01 06:00+01:00``) as an aware datetime.

    Without an offset the time is in ``timezone`` when given, else UTC (the
    rule for naive datetimes everywhere, see :mod:`.zones`).
    """
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise ScheduleError(f"--start-at {text!r} is not a date and time; use ISO 8601 such as "
                            "2026-12-01T06:00 (UTC) or 2026-12-01T06:00+01:00") from None
    if value.tzinfo is None and timezone:
        return value.replace(tzinfo=get_zone(timezone))
    return as_aware(value, "--start-at")


def start_time(start_at: str | None = None, start_in: str | None = None, timezone: str | None = None
               ) -> tuple[float | None, str | None]:
    """When a run created now should start, from ``--start-at`` or ``--in``: ``(timestamp or None, note)``.

    A time in the past is not an error: the run starts now, and ``note`` says so.
    """
    if start_at is not None and start_in is not None:
        raise ScheduleError("give --start-at or --in, not both")
    if start_in is not None:
        return (now() + parse_duration(start_in)).timestamp(), None
    if start_at is None:
        return None, None
    when = parse_start_at(start_at, timezone)
    if when <= now():
        return None, f"{when.isoformat()} is in the past; the run starts now"
    return when.timestamp(), None


def schedule_from_options(cron: str | None = None, every: str | None = None, timezone: str | None = None,
                          parameters: dict | None = None):
    """The schedule a form or a command line describes: ``cron`` or ``every`` (a duration), in ``timezone``.

    Used by ``%flow schedule``, the Lab's "Run notebook as flow" dialog and
    the widget, so each refuses the same mistakes in the same words. Cron
    times are wall-clock times of ``timezone`` (UTC if none); an interval
    counts from midnight of 2019-01-01 in that zone, so ``every 15m`` runs on
    the quarter hours. The same options always give the same schedule.
    """
    from .clocks import INTERVAL_ANCHOR, CronClock, IntervalClock
    from .schedules import Schedule
    from .zones import UTC

    if (cron is None) == (every is None):
        raise ScheduleError("give a cron expression or an interval (every 15m), one of the two")
    zone = get_zone(timezone) if timezone else UTC
    # a fixed start in the zone: the same options give the same schedule (and clock keys) every time
    start = INTERVAL_ANCHOR.replace(tzinfo=zone)
    if cron is not None:
        return Schedule([CronClock(cron, start_date=start, parameter_defaults=parameters)])
    return Schedule([IntervalClock(parse_duration(every), start_date=start, parameter_defaults=parameters)])
