"""Schedules in the backend (SQLite and PostgreSQL): stored with the flow, runs created once, due-only claims."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.backend import schema
from jupyter_flows.exceptions import FlowArchivedError, ScheduleError
from jupyter_flows.schedules import CronSchedule, IntervalSchedule, Schedule
from jupyter_flows.schedules.clocks import CronClock, IntervalClock

UTC = timezone.utc
MINUTELY = IntervalSchedule(interval=timedelta(minutes=1)).to_dict()


def register(backend, schedule=None, name="etl", content_hash="v1", parameters=None, missed_runs=None):
    backend.create_project("p")
    return backend.register_flow(
        "p", name, storage=None, run_config=None, executor=None,
        parameters=parameters if parameters is not None else [{"name": "region", "default": "EU", "required": False}],
        graph=None, labels=["blue"], content_hash=content_hash, schedule=schedule, missed_runs=missed_runs)


def scheduled_runs(backend, flow_id=None):
    return [r for r in backend.list_flow_runs(flow_id=flow_id, limit=None) if r["state"] == "Scheduled"]


def set_scheduled_until(backend, group, value):
    with backend.engine.begin() as conn:
        conn.execute(update(schema.schedules).where(schema.schedules.c.version_group_id == group)
                     .values(scheduled_until=value))


def test_registration_stores_the_schedule_and_a_pass_creates_the_next_hour_of_runs(any_backend):
    flow = register(any_backend, MINUTELY)
    info = any_backend.get_schedule(flow["id"])
    assert info["description"] == "every minute" and info["paused"] is False
    assert info["next_run"] > time.time() and info["missed_runs"] == "latest"
    created = any_backend.create_scheduled_runs()
    assert 60 <= created <= 61
    runs = scheduled_runs(any_backend)
    times = sorted(r["scheduled_start_time"] for r in runs)
    assert all(t % 60 == 0 for t in times)
    assert [b - a for a, b in zip(times, times[1:])] == [60.0] * (len(times) - 1)
    assert all(r["labels"] == ["blue"] and r["state_message"] is None for r in runs)
    assert any_backend.create_scheduled_runs() == 0  # the next hour exists already


def test_a_sparse_schedule_gets_its_next_ten_runs(any_backend):
    register(any_backend, CronSchedule("0 6 * * *").to_dict())
    assert any_backend.create_scheduled_runs() == 10
    assert any_backend.create_scheduled_runs() == 0


def test_clock_parameters_and_labels_go_on_the_runs(any_backend):
    schedule = Schedule([CronClock("0 6 * * *", parameter_defaults={"region": "EU"}, labels=["eu"]),
                         CronClock("0 18 * * *", parameter_defaults={"region": "US"})])
    register(any_backend, schedule.to_dict())
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=2)
    runs = sorted(scheduled_runs(any_backend), key=lambda r: r["scheduled_start_time"])
    by_region = {r["parameters"]["region"]: r["labels"] for r in runs}
    assert by_region == {"EU": ["blue", "eu"], "US": ["blue"]}


def test_many_schedulers_at_once_create_each_scheduled_run_exactly_once(any_backend):
    from jupyter_flows.backend import Backend

    for i in range(5):
        register(any_backend, MINUTELY, name=f"flow{i}")
    backends = [Backend(any_backend.url) for _ in range(4)]
    barrier = threading.Barrier(len(backends))
    counts, errors = [], []

    def scheduler(backend):
        try:
            barrier.wait()
            for _ in range(3):
                counts.append(backend.create_scheduled_runs())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in backends:
        b.close()
    assert errors == []
    runs = scheduled_runs(any_backend)
    slots = {(r["flow_id"], r["scheduled_start_time"]) for r in runs}
    assert len(slots) == len(runs) == sum(counts)
    assert 300 <= len(runs) <= 305


def test_the_database_refuses_a_second_run_for_the_same_flow_time_and_clock(any_backend):
    register(any_backend, MINUTELY)
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1)
    (run,) = scheduled_runs(any_backend)
    group = any_backend.get_flow(run["flow_id"])["version_group_id"]
    set_scheduled_until(any_backend, group, None)  # a scheduler that forgot how far it got
    assert any_backend.create_scheduled_runs(horizon_s=0, min_runs=1) == 0
    assert len(scheduled_runs(any_backend)) == 1


def test_an_agent_claims_a_run_only_when_it_is_due(any_backend):
    flow = register(any_backend)
    later = any_backend.create_flow_run(flow["id"], scheduled_start_time=time.time() + 1.0)
    assert later["scheduled_start_time"] > time.time()
    assert any_backend.claim_flow_run("agent-1", ["blue"]) is None
    time.sleep(1.1)
    claimed = any_backend.claim_flow_run("agent-1", ["blue"])
    assert claimed["id"] == later["id"] and claimed["state"] == "Submitted"


def test_a_run_created_now_is_due_now_and_shows_its_scheduled_start_time(any_backend):
    flow = register(any_backend)
    before = time.time()
    run = any_backend.create_flow_run(flow["id"])
    assert before - 1 <= run["scheduled_start_time"] <= time.time() + 1
    assert any_backend.claim_flow_run("agent-1", ["blue"])["id"] == run["id"]


def test_a_new_version_replaces_the_old_versions_schedule_and_its_future_runs(any_backend):
    v1 = register(any_backend, MINUTELY)
    any_backend.create_scheduled_runs()
    hourly = IntervalSchedule(interval=timedelta(hours=1)).to_dict()
    v2 = register(any_backend, hourly, content_hash="v2")
    assert scheduled_runs(any_backend, v1["id"]) == []
    assert any_backend.get_schedule(v2["id"])["description"] == "every hour"
    any_backend.create_scheduled_runs()
    assert len(scheduled_runs(any_backend, v2["id"])) == 10


def test_a_new_version_without_a_schedule_removes_it_but_the_same_version_keeps_it(any_backend):
    v1 = register(any_backend, MINUTELY)
    assert register(any_backend, None)["id"] == v1["id"]
    assert any_backend.get_schedule(v1["id"]) is not None
    v2 = register(any_backend, None, content_hash="v2")
    assert any_backend.get_schedule(v2["id"]) is None


def test_archiving_stops_the_schedule_and_removes_its_future_runs(any_backend):
    flow = register(any_backend, MINUTELY)
    any_backend.create_scheduled_runs()
    any_backend.archive_flow(flow["id"])
    assert scheduled_runs(any_backend) == []
    assert any_backend.create_scheduled_runs() == 0


def test_pausing_removes_future_runs_and_resuming_plans_from_now(any_backend):
    flow = register(any_backend, MINUTELY)
    any_backend.create_scheduled_runs()
    started = any_backend.claim_flow_run("agent-1", ["blue"])  # none is due yet
    assert started is None
    info = any_backend.pause_schedule(flow["id"])
    assert info["paused"] is True and info["next_run"] is None
    assert scheduled_runs(any_backend) == []
    assert any_backend.create_scheduled_runs() == 0
    any_backend.resume_schedule(flow["id"])
    runs_after_resume = any_backend.create_scheduled_runs()
    assert 60 <= runs_after_resume <= 61
    assert all(r["state_message"] is None for r in scheduled_runs(any_backend))


def test_pausing_keeps_runs_that_already_started(any_backend):
    flow = register(any_backend, MINUTELY)
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1)
    (run,) = scheduled_runs(any_backend)
    any_backend.set_flow_run_state(run["id"], "Running")
    any_backend.pause_schedule(flow["id"])
    assert any_backend.get_flow_run(run["id"])["state"] == "Running"


def test_after_downtime_only_the_latest_missed_time_runs_marked_late(any_backend):
    flow = register(any_backend, MINUTELY)
    set_scheduled_until(any_backend, flow["version_group_id"], (time.time() // 60 - 10) * 60)  # down 10 minutes
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1)
    runs = sorted(scheduled_runs(any_backend), key=lambda r: r["scheduled_start_time"])
    late = [r for r in runs if r["state_message"]]
    assert len(late) == 1 and late[0]["scheduled_start_time"] < time.time()
    assert late[0]["state_message"].startswith("Late: scheduled for ")
    assert "9 earlier missed time(s) skipped (missed-run policy 'latest')" in late[0]["state_message"]
    assert any_backend.get_flow_run(late[0]["id"])["states"][0]["message"] == late[0]["state_message"]


def test_after_downtime_the_all_policy_runs_every_missed_time(any_backend):
    flow = register(any_backend, MINUTELY, missed_runs="all")
    set_scheduled_until(any_backend, flow["version_group_id"], (time.time() // 60 - 10) * 60)
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1)
    late = [r for r in scheduled_runs(any_backend) if r["state_message"]]
    assert 9 <= len(late) <= 10
    assert all(r["state_message"].startswith("Late: ") and "skipped" not in r["state_message"] for r in late)


def test_flow_register_stores_the_flows_schedule(any_backend):
    @task
    def say(region):
        return region

    schedule = Schedule([IntervalClock(timedelta(minutes=5), parameter_defaults={"region": "US"})])
    with Flow("scheduled", schedule=schedule) as flow:
        say(Parameter("region", default="EU"))
    any_backend.create_project("p")
    flow_id = flow.register("p")
    assert any_backend.get_schedule(flow_id)["schedule"] == schedule.to_dict()


# -- bad input -------------------------------------------------------------------------------------

def test_pausing_a_flow_without_a_schedule_is_refused(any_backend):
    flow = register(any_backend)
    with pytest.raises(ScheduleError, match="flow 'etl' has no schedule to pause"):
        any_backend.pause_schedule(flow["id"])


def test_a_schedule_on_an_archived_version_is_refused(any_backend):
    v1 = register(any_backend)
    register(any_backend, content_hash="v2")
    with pytest.raises(FlowArchivedError, match=r"flow 'etl' version 1 \(id .*\) is archived; a schedule goes on "
                                                "the current version"):
        any_backend.set_schedule(v1["id"], MINUTELY)


def test_a_clock_naming_an_unknown_parameter_is_refused_at_registration(any_backend):
    bad = Schedule([CronClock("0 6 * * *", parameter_defaults={"regoin": "EU"})]).to_dict()
    with pytest.raises(ScheduleError, match="sets parameter 'regoin', which flow 'etl' does not declare; "
                                            "its parameters: region"):
        register(any_backend, bad)


def test_an_unknown_missed_run_policy_is_refused(any_backend):
    with pytest.raises(ScheduleError, match="unknown missed-run policy 'some'; known: latest, all"):
        register(any_backend, MINUTELY, missed_runs="some")


def test_a_database_from_before_schedules_is_upgraded_with_its_runs_due(tmp_path):
    """Migration 3 on a database whose flow_runs lack the new columns: they are added and filled."""
    from sqlalchemy import create_engine, text

    from jupyter_flows.backend import Backend

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Backend(url)
    flow = register(old)
    run = old.create_flow_run(flow["id"])
    old.close()
    engine = create_engine(url)
    with engine.begin() as conn:  # back to before migration 3: no schedule columns, no schedules table
        conn.execute(text("DROP INDEX uq_flow_runs_schedule_slot"))
        conn.execute(text("DROP INDEX ix_flow_runs_state_due"))
        for column in ("scheduled_start_time", "version_group_id", "clock_key"):
            conn.execute(text(f"ALTER TABLE flow_runs DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE schedules"))
    with engine.begin() as conn:
        (apply,) = [apply for version, _, apply in schema.MIGRATIONS if version == 3]
        apply(conn)
    engine.dispose()
    upgraded = Backend(url)
    assert upgraded.schema_version() >= 3
    assert upgraded.get_flow_run(run["id"])["scheduled_start_time"] == run["created"]
    assert upgraded.claim_flow_run("agent-1", ["blue"])["id"] == run["id"]
    upgraded.close()


def test_the_python_client_creates_a_run_for_later_and_shows_its_scheduled_start_time(any_backend):
    from jupyter_flows.backend import Client, FlowRunView

    flow = register(any_backend)
    later = datetime.now(UTC) + timedelta(minutes=5)
    run_id = Client(backend=any_backend).create_flow_run(flow_id=flow["id"], scheduled_start_time=later)
    view = FlowRunView.from_flow_run_id(run_id, backend=any_backend)
    assert view.scheduled_start_time == pytest.approx(later.timestamp(), abs=1e-3)
    assert any_backend.claim_flow_run("agent-1", ["blue"]) is None
    naive = datetime(2030, 1, 1, 6)
    run_id = Client(backend=any_backend).create_flow_run(flow_id=flow["id"], scheduled_start_time=naive)
    assert any_backend.get_flow_run(run_id)["scheduled_start_time"] == datetime(2030, 1, 1, 6, tzinfo=UTC).timestamp()


def test_runs_created_ahead_that_no_agent_took_follow_the_latest_policy(any_backend):
    # runs for the last minutes exist, Scheduled, as when they were created ahead and then every agent stopped
    flow = register(any_backend, MINUTELY, missed_runs="all")
    set_scheduled_until(any_backend, flow["version_group_id"], (time.time() // 60 - 6) * 60)
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1)
    any_backend.set_schedule(flow["id"], MINUTELY, missed_runs="latest")  # same schedule: the runs stay
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1, late_after_s=90)
    runs = sorted(any_backend.list_flow_runs(limit=None), key=lambda r: r["scheduled_start_time"])
    overdue = [r for r in runs if r["scheduled_start_time"] < time.time() - 90]
    assert len(overdue) >= 3
    assert [r["state"] for r in overdue] == ["Cancelled"] * (len(overdue) - 1) + ["Scheduled"]
    assert overdue[0]["state_message"].startswith("Skipped: missed while no agent ran")
    assert f"{len(overdue) - 1} earlier missed time(s) skipped" in overdue[-1]["state_message"]
    recent = [r for r in runs if r["scheduled_start_time"] >= time.time() - 90]
    assert all(r["state"] == "Scheduled" for r in recent)


def test_with_the_all_policy_every_overdue_run_stays(any_backend):
    flow = register(any_backend, MINUTELY, missed_runs="all")
    set_scheduled_until(any_backend, flow["version_group_id"], (time.time() // 60 - 6) * 60)
    any_backend.create_scheduled_runs(horizon_s=0, min_runs=1, late_after_s=90)
    assert {r["state"] for r in any_backend.list_flow_runs(limit=None)} == {"Scheduled"}


def test_a_changed_or_removed_schedule_is_a_new_version_as_in_prefect_1(backend):
    @task
    def say(region):
        return region

    with Flow("versioned", schedule=IntervalSchedule(interval=timedelta(minutes=5))) as flow:
        say(Parameter("region", default="EU"))
    backend.create_project("p")
    v1 = flow.register("p")
    assert flow.register("p") == v1
    flow.schedule = IntervalSchedule(interval=timedelta(minutes=10))
    v2 = flow.register("p")
    assert v2 != v1 and backend.get_schedule(v2)["description"] == "every 10 minutes"
    flow.schedule = None
    v3 = flow.register("p")
    assert v3 != v2 and backend.get_schedule(v3) is None
