"""Clocks: where a schedule's times come from.

A clock emits :class:`ClockEvent` s in time order, each optionally carrying
parameter values and labels for the run it starts ("06:00 for region=EU, 18:00
for region=US" is two clocks). :class:`IntervalClock` counts exact elapsed time
from its start; :class:`CronClock` follows a wall clock in its zone.

Daylight saving time, for a clock in a zone that has it (Europe/Berlin here):

- A cron time stays at the same local time all year: "0 6 * * *" is 06:00 in
  winter and in summer.
- A cron time inside the hour skipped in the spring-forward night (02:30 on
  the last Sunday of March in Berlin) runs once, at the same distance after the
  jump: 03:30 local, the instant that 02:30 on the old offset names.
- A cron time inside the hour repeated in the fall-back night runs once, at its
  first occurrence (the summer-time one).
- An interval is exact elapsed time: an hourly clock runs at 02:00 summer time,
  02:00 winter time, then 03:00, neither skipping nor doubling an hour.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator

from croniter import croniter
from croniter.croniter import CroniterError

from ..exceptions import ScheduleError
from .zones import UTC, as_aware, datetime_from_dict, datetime_to_dict, now

#: Where an interval without a start date counts from: a fixed instant, so that
#: every scheduler computes the same times for the same schedule.
INTERVAL_ANCHOR = datetime(2019, 1, 1, tzinfo=UTC)

CRON_FIELDS = (
    ("minute", "0-59"), ("hour", "0-23"), ("day of month", "1-31"),
    ("month", "1-12 or JAN-DEC"), ("day of week", "0-6 (0 is Sunday) or SUN-SAT"),
)


class ClockEvent:
    """One time a clock emits, with the parameter values and labels of its run.

    ``clock_key`` names the clock (a digest of its settings), so two clocks of
    one schedule firing at the same instant still make two distinct runs.
    """

    __slots__ = ("start_time", "timestamp", "parameter_defaults", "labels", "clock_key")

    def __init__(self, start_time: datetime, parameter_defaults: dict, labels: list, clock_key: str):
        self.start_time = start_time
        # compare instants, never wall times: two datetimes in one zone compare by wall time
        self.timestamp = start_time.timestamp()
        self.parameter_defaults = parameter_defaults
        self.labels = labels
        self.clock_key = clock_key

    def __repr__(self) -> str:
        return f"<ClockEvent {self.start_time.isoformat()} clock={self.clock_key}>"


class Clock:
    """Base of the clocks: a time window, and what the runs it starts get."""

    kind = "Clock"

    def __init__(self, start_date: datetime | None = None, end_date: datetime | None = None,
                 parameter_defaults: dict | None = None, labels: Iterable[str] | None = None):
        self.start_date = as_aware(start_date, "start_date")
        self.end_date = as_aware(end_date, "end_date")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ScheduleError(f"end_date {self.end_date.isoformat()} is before start_date "
                                f"{self.start_date.isoformat()}; give an end after the start")
        if parameter_defaults is not None and not isinstance(parameter_defaults, dict):
            raise ScheduleError(f"parameter_defaults must be a dict of parameter values, got {parameter_defaults!r}")
        self.parameter_defaults = dict(parameter_defaults or {})
        if isinstance(labels, str):
            raise ScheduleError(f"labels must be a list of strings, got the string {labels!r}")
        self.labels = sorted(set(labels or ()))
        self._key: str | None = None

    @property
    def key(self) -> str:
        """A short digest of the clock's settings: the same clock has the same key in every process."""
        if self._key is None:
            text = json.dumps(self.to_dict(), sort_keys=True, default=repr)
            self._key = hashlib.sha1(text.encode()).hexdigest()[:16]
        return self._key

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        """Events strictly after ``after`` (default: now), in time order, up to ``end_date``."""
        raise NotImplementedError

    def _event(self, start_time: datetime) -> ClockEvent:
        return ClockEvent(start_time, self.parameter_defaults, self.labels, self.key)

    def _common_dict(self) -> dict:
        return {"type": self.kind, "start_date": datetime_to_dict(self.start_date),
                "end_date": datetime_to_dict(self.end_date),
                "parameter_defaults": self.parameter_defaults, "labels": self.labels}

    def to_dict(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash(self.key)


class IntervalClock(Clock):
    """Every ``interval`` (a positive :class:`~datetime.timedelta`) of elapsed time from ``start_date``.

    Without a start date the clock counts from 2019-01-01 00:00 UTC, so an hourly
    clock fires on the hour. ``start_date`` sets the zone of the times it returns.

    >>> IntervalClock(timedelta(minutes=15), parameter_defaults={"region": "EU"})
    """

    kind = "IntervalClock"

    def __init__(self, interval: timedelta, start_date: datetime | None = None, end_date: datetime | None = None,
                 parameter_defaults: dict | None = None, labels: Iterable[str] | None = None):
        if not isinstance(interval, timedelta):
            raise ScheduleError(f"interval must be a datetime.timedelta, got {interval!r} of type "
                                f"{type(interval).__name__}")
        if interval <= timedelta(0):
            raise ScheduleError(f"interval must be positive, got {interval!r}")
        super().__init__(start_date, end_date, parameter_defaults, labels)
        self.interval = interval

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        start = self.start_date or INTERVAL_ANCHOR
        zone = start.tzinfo
        after = as_aware(after, "after") or now()
        # exact elapsed time: count in UTC, show in the clock's zone
        origin = start.astimezone(UTC)
        k = 0 if after < origin else (after - origin) // self.interval + 1
        while True:
            instant = origin + k * self.interval
            if self.end_date is not None and instant > self.end_date:
                return
            yield self._event(instant.astimezone(zone))
            k += 1

    def to_dict(self) -> dict:
        return {**self._common_dict(), "interval": self.interval.total_seconds()}

    def __repr__(self) -> str:
        return f"IntervalClock({self.interval!r}, start_date={self.start_date!r})"


class CronClock(Clock):
    """At the times a five-field cron expression names, on the wall clock of ``start_date``'s zone (UTC if none).

    ``day_or`` (default True, as in cron) runs on days matching the day of the
    month *or* the day of the week when both are restricted; False needs both.

    >>> CronClock("0 6 * * 1-5", start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")))
    """

    kind = "CronClock"

    def __init__(self, cron: str, start_date: datetime | None = None, end_date: datetime | None = None,
                 parameter_defaults: dict | None = None, labels: Iterable[str] | None = None, day_or: bool = True):
        check_cron(cron)
        super().__init__(start_date, end_date, parameter_defaults, labels)
        self.cron = " ".join(cron.split())
        self.day_or = bool(day_or)

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        zone = self.start_date.tzinfo if self.start_date else UTC
        after = as_aware(after, "after") or now()
        if self.start_date is not None and after < self.start_date:
            after = self.start_date - timedelta(microseconds=1)
        # croniter walks naive wall times; this zone's rules turn each into one instant
        walk = croniter(self.cron, after.astimezone(zone).replace(tzinfo=None), day_or=self.day_or)
        last = after.timestamp()
        while True:
            wall = walk.get_next(datetime)
            # fold=0: a repeated wall time is its first occurrence; a skipped one
            # is read on the old offset, which lands just after the jump
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            if self.end_date is not None and instant > self.end_date:
                return
            if instant.timestamp() <= last:
                continue
            last = instant.timestamp()
            yield self._event(instant.astimezone(zone))

    def to_dict(self) -> dict:
        return {**self._common_dict(), "cron": self.cron, "day_or": self.day_or}

    def __repr__(self) -> str:
        return f"CronClock({self.cron!r}, start_date={self.start_date!r})"


def check_cron(cron: str) -> None:
    """Raise :class:`ScheduleError` naming the field of ``cron`` that is wrong and why."""
    if not isinstance(cron, str):
        raise ScheduleError(f"a cron expression is a string such as '0 6 * * 1-5', got {cron!r}")
    fields = cron.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"invalid cron {cron!r}: it has {len(fields)} fields, a cron expression has 5 "
            f"(minute hour day-of-month month day-of-week), e.g. '0 6 * * 1-5'")
    for i, (field, (name, accepted)) in enumerate(zip(fields, CRON_FIELDS)):
        alone = ["*"] * 5
        alone[i] = field
        try:
            croniter(" ".join(alone))
        except (CroniterError, ValueError) as exc:
            raise ScheduleError(f"invalid cron {cron!r}: field {i + 1} ({name}) {field!r} is not valid "
                                f"({_reason(exc)}); it accepts {accepted}") from None
    try:
        croniter(" ".join(fields))
    except (CroniterError, ValueError) as exc:  # each field fine alone, the combination not
        raise ScheduleError(f"invalid cron {cron!r}: {exc}") from None


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "out of range" in text or "out of bands" in text:
        return "out of range"
    if "step" in text:
        return "a step must be a positive number"
    return "not a number, name, range, list or step"


def clock_from_dict(data: dict) -> Clock:
    kind = data.get("type")
    common = {"start_date": datetime_from_dict(data.get("start_date")),
              "end_date": datetime_from_dict(data.get("end_date")),
              "parameter_defaults": data.get("parameter_defaults"), "labels": data.get("labels")}
    if kind == "IntervalClock":
        return IntervalClock(timedelta(seconds=data["interval"]), **common)
    if kind == "CronClock":
        return CronClock(data["cron"], day_or=data.get("day_or", True), **common)
    raise ScheduleError(f"unknown clock type {kind!r}; known: IntervalClock, CronClock")
