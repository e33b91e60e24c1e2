"""Schedules and clocks: the next times, time zones, daylight saving time, serialisation and bad input."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jupyter_flows.exceptions import ScheduleError
from jupyter_flows.schedules import (
    CronClock, CronSchedule, IntervalClock, IntervalSchedule, Schedule, schedule_from_dict,
)
from jupyter_flows.schedules.zones import get_zone

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def local(*args, fold=0):
    return datetime(*args, tzinfo=BERLIN, fold=fold)


def offsets(times):
    return [t.utcoffset() for t in times]


# -- the next times -------------------------------------------------------------------------------

def test_interval_schedule_returns_the_next_times_after_a_given_instant():
    schedule = IntervalSchedule(start_date=datetime(2026, 1, 1, tzinfo=UTC), interval=timedelta(minutes=15))
    times = schedule.next(3, after=datetime(2026, 1, 1, 0, 20, tzinfo=UTC))
    assert times == [datetime(2026, 1, 1, 0, 30, tzinfo=UTC), datetime(2026, 1, 1, 0, 45, tzinfo=UTC),
                     datetime(2026, 1, 1, 1, 0, tzinfo=UTC)]
    assert all(t.tzinfo is not None for t in times)


def test_next_times_are_strictly_after_the_given_instant():
    schedule = IntervalSchedule(start_date=datetime(2026, 1, 1, tzinfo=UTC), interval=timedelta(hours=1))
    assert schedule.next(1, after=datetime(2026, 1, 1, 5, tzinfo=UTC)) == [datetime(2026, 1, 1, 6, tzinfo=UTC)]


def test_a_start_date_in_the_future_is_the_first_time():
    start = datetime(2030, 5, 1, 12, tzinfo=UTC)
    assert IntervalSchedule(start_date=start, interval=timedelta(days=1)).next(1)[0] == start
    assert CronSchedule("0 12 * * *", start_date=start).next(1)[0] == start


def test_next_defaults_to_times_after_now_and_an_interval_without_start_counts_on_the_hour():
    before = datetime.now(UTC)
    times = IntervalSchedule(interval=timedelta(hours=1)).next(2)
    assert before < times[0] <= before + timedelta(hours=1)
    assert times[0].minute == times[0].second == times[0].microsecond == 0
    assert times[1] - times[0] == timedelta(hours=1)


def test_sub_second_intervals_are_exact():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = IntervalSchedule(start_date=start, interval=timedelta(seconds=0.3)).next(4, after=start)
    assert [t - start for t in times] == [timedelta(seconds=0.3 * k) for k in (1, 2, 3, 4)]


def test_schedule_ends_at_its_end_date():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    schedule = IntervalSchedule(start_date=start, interval=timedelta(hours=1), end_date=start + timedelta(hours=2))
    assert schedule.next(10, after=start - timedelta(seconds=1)) == [
        start, start + timedelta(hours=1), start + timedelta(hours=2)]


def test_cron_weekdays_at_six_skips_the_weekend():
    schedule = CronSchedule("0 6 * * 1-5", start_date=local(2026, 1, 1))
    times = schedule.next(3, after=local(2026, 11, 27, 7))  # a Friday, after 06:00
    assert [(t.date().isoformat(), t.hour) for t in times] == [
        ("2026-11-30", 6), ("2026-12-01", 6), ("2026-12-02", 6)]


def test_cron_day_or_false_needs_both_the_day_of_month_and_the_weekday():
    after = datetime(2026, 1, 1, tzinfo=UTC)
    either = CronSchedule("0 0 13 * 5", start_date=after).next(3, after=after)
    both = CronSchedule("0 0 13 * 5", start_date=after, day_or=False).next(2, after=after)
    assert any(t.day != 13 for t in either)
    assert all(t.day == 13 and t.isoweekday() == 5 for t in both)  # Friday the 13th


def test_clocks_carry_their_own_parameter_values_and_labels():
    schedule = Schedule(clocks=[
        CronClock("0 6 * * *", start_date=local(2026, 1, 1), parameter_defaults={"region": "EU"}, labels=["eu"]),
        CronClock("0 18 * * *", start_date=local(2026, 1, 1), parameter_defaults={"region": "US"}),
    ])
    events = schedule.next(3, after=local(2026, 6, 1), return_events=True)
    assert [(e.start_time.hour, e.parameter_defaults["region"]) for e in events] == [(6, "EU"), (18, "US"), (6, "EU")]
    assert events[0].labels == ["eu"] and events[1].labels == []
    assert events[0].clock_key != events[1].clock_key


def test_two_identical_clocks_make_one_time_but_different_parameters_make_two():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    same = Schedule([IntervalClock(timedelta(hours=1), start), IntervalClock(timedelta(hours=1), start)])
    assert same.next(2, after=start) == [start + timedelta(hours=1), start + timedelta(hours=2)]
    differ = Schedule([IntervalClock(timedelta(hours=1), start, parameter_defaults={"x": 1}),
                       IntervalClock(timedelta(hours=1), start, parameter_defaults={"x": 2})])
    assert differ.next(2, after=start) == [start + timedelta(hours=1)] * 2


# -- time zones and daylight saving time ----------------------------------------------------------

def test_a_start_date_in_a_zone_sets_the_zone_of_the_times():
    times = CronSchedule("0 6 * * *", start_date=local(2026, 1, 1)).next(2, after=local(2026, 2, 1))
    assert all(t.tzinfo.key == "Europe/Berlin" for t in times)
    assert times[0].astimezone(UTC).hour == 5  # 06:00 CET is 05:00 UTC


def test_cron_at_six_stays_at_six_local_across_the_spring_forward_and_fall_back_nights():
    schedule = CronSchedule("0 6 * * *", start_date=local(2026, 1, 1))
    spring = schedule.next(3, after=local(2026, 3, 28))
    autumn = schedule.next(3, after=local(2026, 10, 24))
    assert [t.hour for t in spring + autumn] == [6] * 6
    assert offsets(spring) == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=2)]
    assert offsets(autumn) == [timedelta(hours=2), timedelta(hours=1), timedelta(hours=1)]


def test_a_cron_time_in_the_skipped_spring_forward_hour_runs_once_just_after_the_jump():
    times = CronSchedule("30 2 * * *", start_date=local(2026, 1, 1)).next(3, after=local(2026, 3, 28, 3))
    # 2026-03-29 02:30 does not exist in Berlin; it runs at 03:30 CEST, the instant 02:30 CET names
    assert [t.isoformat() for t in times] == [
        "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]


def test_a_skipped_cron_time_and_a_real_one_at_the_same_instant_run_once():
    times = CronSchedule("30 2,3 * * *", start_date=local(2026, 1, 1)).next(2, after=local(2026, 3, 29, 1))
    assert [t.isoformat() for t in times] == ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]


def test_a_cron_time_in_the_repeated_fall_back_hour_runs_once_at_its_first_occurrence():
    times = CronSchedule("30 2 * * *", start_date=local(2026, 1, 1)).next(2, after=local(2026, 10, 25, 1))
    assert [t.isoformat() for t in times] == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


def test_an_hourly_interval_neither_skips_nor_doubles_an_hour_in_the_fall_back_night():
    schedule = IntervalSchedule(start_date=local(2026, 1, 1), interval=timedelta(hours=1))
    times = schedule.next(4, after=local(2026, 10, 25, 0, 30))
    assert [t.isoformat() for t in times] == [
        "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"]
    # elapsed time (datetimes in one zone subtract as wall times, so compare instants)
    assert [b.timestamp() - a.timestamp() for a, b in zip(times, times[1:])] == [3600.0] * 3


def test_an_hourly_interval_does_not_skip_elapsed_time_in_the_spring_forward_night():
    schedule = IntervalSchedule(start_date=local(2026, 1, 1), interval=timedelta(hours=1))
    times = schedule.next(3, after=local(2026, 3, 29, 1, 30))
    assert [t.isoformat() for t in times] == [
        "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00"]
    assert times[0].timestamp() - local(2026, 3, 29, 1).timestamp() == 3600.0


def test_naive_datetimes_are_utc():
    naive = IntervalSchedule(start_date=datetime(2026, 1, 1), interval=timedelta(hours=1))
    assert naive.clocks[0].start_date == datetime(2026, 1, 1, tzinfo=UTC)
    times = naive.next(1, after=datetime(2026, 1, 1, 3, 30))
    assert times == [datetime(2026, 1, 1, 4, tzinfo=UTC)]
    cron = CronSchedule("0 6 * * *").next(1, after=datetime(2026, 1, 1))
    assert cron == [datetime(2026, 1, 1, 6, tzinfo=UTC)]


# -- serialisation (what the backend stores) ------------------------------------------------------

def test_a_schedule_survives_to_dict_and_back_with_its_zone_parameters_and_labels():
    schedule = Schedule(clocks=[
        CronClock("0 6 * * 1-5", start_date=local(2026, 1, 1), end_date=local(2027, 1, 1),
                  parameter_defaults={"region": "EU"}, labels=["eu"], day_or=False),
        IntervalClock(timedelta(minutes=90), start_date=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
    ])
    data = schedule.to_dict()
    import json

    again = schedule_from_dict(json.loads(json.dumps(data)))
    assert again == schedule
    assert again.clocks[0].start_date.tzinfo.key == "Europe/Berlin"
    assert again.clocks[1].start_date.utcoffset() == timedelta(hours=5)
    assert [c.key for c in again.clocks] == [c.key for c in schedule.clocks]
    after = local(2026, 3, 1)
    assert again.next(5, after=after) == schedule.next(5, after=after)


def test_the_same_clock_built_in_two_places_has_the_same_key():
    assert CronClock("0  6 * * 1-5").key == CronClock("0 6 * * 1-5").key
    assert CronClock("0 6 * * 1-5").key != CronClock("0 7 * * 1-5").key


# -- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cron, expected", [
    ("0 25 * * *", "field 2 (hour) '25' is not valid (out of range); it accepts 0-23"),
    ("61 * * * *", "field 1 (minute) '61' is not valid (out of range); it accepts 0-59"),
    ("0 6 * * 1-9", "field 5 (day of week) '1-9'"),
    ("0 6 * 13 *", "field 4 (month) '13'"),
    ("0 6 xx * *", "field 3 (day of month) 'xx' is not valid (not a number"),
    ("*/0 * * * *", "field 1 (minute) '*/0' is not valid (a step must be a positive number)"),
    ("0 6 * *", "it has 4 fields, a cron expression has 5"),
])
def test_an_invalid_cron_names_the_field_and_why(cron, expected):
    with pytest.raises(ScheduleError, match="invalid cron") as info:
        CronSchedule(cron)
    assert expected in str(info.value)
    assert repr(cron) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=-5)])
def test_an_interval_that_is_not_positive_is_refused(interval):
    with pytest.raises(ScheduleError, match=r"interval must be positive, got datetime.timedelta"):
        IntervalSchedule(interval=interval)


def test_an_interval_that_is_not_a_timedelta_is_refused():
    with pytest.raises(ScheduleError, match="interval must be a datetime.timedelta, got 60 of type int"):
        IntervalClock(60)


def test_an_end_before_the_start_is_refused():
    with pytest.raises(ScheduleError, match="end_date 2026-01-01T00:00:00\\+00:00 is before start_date 2026-02-01"):
        IntervalSchedule(start_date=datetime(2026, 2, 1), interval=timedelta(hours=1), end_date=datetime(2026, 1, 1))
    with pytest.raises(ScheduleError, match="is before start_date"):
        CronSchedule("0 6 * * *", start_date=datetime(2026, 2, 1), end_date=datetime(2026, 1, 1))


def test_an_unknown_time_zone_is_refused_with_suggestions():
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'; use an IANA name such as"):
        get_zone("Mars/Olympus")
    with pytest.raises(ScheduleError, match="did you mean Europe/Berlin"):
        get_zone("berlin")


def test_a_schedule_without_clocks_is_refused():
    with pytest.raises(ScheduleError, match="at least one clock"):
        Schedule(clocks=[])
    with pytest.raises(ScheduleError, match="must be IntervalClock or CronClock objects, got 'hourly'"):
        Schedule(clocks=["hourly"])


def test_a_clock_setting_an_unknown_parameter_is_refused_naming_the_known_ones():
    schedule = Schedule([CronClock("0 6 * * *", parameter_defaults={"regoin": "EU"})])
    with pytest.raises(ScheduleError, match="sets parameter 'regoin', which flow 'etl' does not declare; "
                                             "its parameters: region, when"):
        schedule.check_parameters("etl", ["when", "region"])
