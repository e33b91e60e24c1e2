"""``flow.run()`` on a flow with a schedule runs it at each scheduled time, until stopped."""

import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.exceptions import ScheduleError
from jupyter_flows.schedules import IntervalSchedule, Schedule
from jupyter_flows.schedules.clocks import IntervalClock

UTC = timezone.utc


def stamping_flow(schedule, stamps):
    @task
    def stamp(region):
        stamps.append((time.time(), region))

    with Flow("stamped", schedule=schedule) as flow:
        stamp(Parameter("region", default="none"))
    return flow


def test_a_scheduled_flow_runs_at_each_interval_with_the_clocks_parameters():
    stamps = []
    schedule = Schedule([IntervalClock(timedelta(seconds=0.3), parameter_defaults={"region": "EU"})])
    flow = stamping_flow(schedule, stamps)
    state = flow.run(max_scheduled_runs=3)
    assert state.is_successful()
    assert [region for _, region in stamps] == ["EU", "EU", "EU"]
    gaps = [b - a for (a, _), (b, _) in zip(stamps, stamps[1:])]
    assert all(0.2 < gap < 0.5 for gap in gaps), gaps


def test_a_clocks_parameter_values_win_over_those_passed_to_run_as_in_prefect_1():
    stamps = []
    schedule = Schedule([IntervalClock(timedelta(seconds=0.2), parameter_defaults={"region": "EU"}),
                         IntervalClock(timedelta(seconds=0.2), start_date=datetime(2026, 1, 1, 0, 0, 0, 100000))])
    stamping_flow(schedule, stamps).run(region="US", max_scheduled_runs=2)
    assert sorted(region for _, region in stamps) == ["EU", "US"]


def test_run_on_schedule_false_runs_once_now():
    stamps = []
    flow = stamping_flow(IntervalSchedule(interval=timedelta(hours=1)), stamps)
    started = time.time()
    assert flow.run(run_on_schedule=False).is_successful()
    assert len(stamps) == 1 and stamps[0][0] - started < 5


def test_flow_schedule_can_be_set_after_building():
    stamps = []
    flow = stamping_flow(None, stamps)
    flow.schedule = IntervalSchedule(interval=timedelta(seconds=0.2))
    flow.run(max_scheduled_runs=2)
    assert len(stamps) == 2
    assert flow.copy().schedule is flow.schedule


def test_interrupting_the_wait_between_runs_stops_cleanly_and_returns_the_last_state():
    stamps = []
    flow = stamping_flow(IntervalSchedule(interval=timedelta(seconds=0.5)), stamps)
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_after_two_runs():
        while len(stamps) < 2:
            time.sleep(0.01)
        time.sleep(0.1)  # the loop is waiting for the third time now
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=interrupt_after_two_runs, daemon=True).start()
    try:
        state = flow.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert state.is_successful()
    assert len(stamps) == 2


def test_interrupting_a_run_cancels_it_and_ends_the_loop():
    calls = []

    @task
    def interrupted():
        calls.append(1)
        raise KeyboardInterrupt

    with Flow("interrupted", schedule=IntervalSchedule(interval=timedelta(seconds=0.2))) as flow:
        interrupted()
    with pytest.raises(KeyboardInterrupt):
        flow.run()
    assert calls == [1]


def test_a_schedule_that_has_ended_is_an_error_naming_its_end():
    start = datetime(2020, 1, 1, tzinfo=UTC)
    flow = stamping_flow(IntervalSchedule(start_date=start, interval=timedelta(hours=1),
                                          end_date=start + timedelta(hours=1)), [])
    with pytest.raises(ScheduleError, match="has no more scheduled runs: its schedule ended 2020-01-01T01:00:00"):
        flow.run()


def test_a_clock_naming_an_unknown_parameter_is_refused_before_the_first_run():
    schedule = Schedule([IntervalClock(timedelta(seconds=0.1), parameter_defaults={"regoin": "EU"})])
    stamps = []
    with pytest.raises(ScheduleError, match="'regoin', which flow 'stamped' does not declare; its parameters: region"):
        stamping_flow(schedule, stamps).run(max_scheduled_runs=1)
    assert stamps == []


def test_a_run_with_a_flow_run_id_is_one_run_as_an_agent_starts_it():
    stamps = []
    flow = stamping_flow(IntervalSchedule(interval=timedelta(hours=1)), stamps)
    state = flow.run(flow_run_id="0b5e8d2c-0000-4000-8000-000000000001")
    assert state.is_successful() and len(stamps) == 1
