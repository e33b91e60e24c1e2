"""Time zones and datetimes as schedules use them.

The rule for naive datetimes, applied everywhere a schedule takes a time
(``start_date``, ``end_date``, ``after``, ``--start-at``): a datetime without a
time zone is UTC. A local-time rule would make the same schedule mean different
instants on an agent, a laptop and a server in other zones.

A schedule's zone comes from its ``start_date`` (a :class:`zoneinfo.ZoneInfo`
keeps its IANA name through serialisation; a fixed offset stays a fixed offset).
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..exceptions import ScheduleError

UTC = timezone.utc


def get_zone(name: str) -> tzinfo:
    """The zone named ``name`` (an IANA name such as ``"Europe/Berlin"``, or ``"UTC"``)."""
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        close = sorted(z for z in available_timezones() if name.strip().lower() in z.lower())[:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ScheduleError(
            f"unknown time zone {name!r}{hint}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None


def zone_name(tz: tzinfo | None) -> str | None:
    """The IANA name of a zone, or None for a fixed offset (which serialises as the offset)."""
    key = getattr(tz, "key", None)
    if key:
        return key
    return "UTC" if tz is UTC else None


def as_aware(value: datetime | None, what: str) -> datetime | None:
    """``value`` with a zone: naive datetimes are UTC (see the module docstring)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ScheduleError(f"{what} must be a datetime, got {value!r} of type {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value


def now() -> datetime:
    return datetime.now(UTC)


def datetime_to_dict(value: datetime | None) -> dict | None:
    """``{"iso": ..., "zone": ...}``: the instant with its offset, and the zone's name to restore it."""
    if value is None:
        return None
    return {"iso": value.isoformat(), "zone": zone_name(value.tzinfo)}


def datetime_from_dict(data: dict | None) -> datetime | None:
    if data is None:
        return None
    value = datetime.fromisoformat(data["iso"])
    return value.astimezone(get_zone(data["zone"])) if data.get("zone") else value
