"""Schedules in plain words, and the times and durations people type."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jupyter_flows.exceptions import ScheduleError
from jupyter_flows.schedules import CronSchedule, IntervalSchedule, Schedule
from jupyter_flows.schedules.clocks import CronClock
from jupyter_flows.schedules.describe import describe_cron, describe_schedule
from jupyter_flows.schedules.parse import parse_duration, parse_start_at, start_time


@pytest.mark.parametrize("cron, words", [
    ("0 6 * * 1-5", "at 06:00, Monday through Friday"),
    ("*/15 * * * *", "every 15 minutes"),
    ("30 18 * * 0", "at 18:30, only on Sunday"),
])
def test_a_cron_expression_reads_in_plain_words(cron, words):
    assert describe_cron(cron) == words


def test_a_schedule_names_its_zone_and_clock_parameters():
    berlin = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    assert describe_schedule(CronSchedule("0 6 * * 1-5", start_date=berlin)) == \
        "at 06:00, Monday through Friday (Europe/Berlin)"
    assert describe_schedule(IntervalSchedule(interval=timedelta(minutes=90))) == "every 90 minutes"
    two = Schedule([CronClock("0 6 * * *", parameter_defaults={"region": "EU"}),
                    CronClock("0 18 * * *", parameter_defaults={"region": "US"})])
    assert describe_schedule(two) == "at 06:00 with region='EU'; at 18:00 with region='US'"


def test_describing_an_invalid_cron_names_the_field():
    with pytest.raises(ScheduleError, match=r"field 2 \(hour\) '24'"):
        describe_cron("0 24 * * *")


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400),
                                           ("15 minutes", 900), ("0.5s", 0.5)])
def test_durations_as_people_type_them(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


def test_a_start_time_without_offset_is_utc_or_in_the_given_zone():
    assert parse_start_at("2026-12-01T06:00") == datetime(2026, 12, 1, 6, tzinfo=timezone.utc)
    berlin = parse_start_at("2026-12-01T06:00", "Europe/Berlin")
    assert berlin.utcoffset() == timedelta(hours=1) and berlin.hour == 6


def test_a_start_time_in_an_unknown_zone_is_refused():
    with pytest.raises(ScheduleError, match="unknown time zone 'Europe/Berln'"):
        parse_start_at("2026-12-01T06:00", "Europe/Berln")


def test_no_start_time_means_now():
    assert start_time() == (None, None)
