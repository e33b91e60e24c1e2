"""The CLI's schedule commands, ``get flows`` with schedules, ``run --start-at/--in`` and ``scheduler start``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.agent.background import local_agent_process
from jupyter_flows.cli import cli
from jupyter_flows.schedules import CronSchedule, IntervalSchedule


@task
def greet(name):
    return f"hello {name}"


def register_flow(backend, schedule=None, name="greeter"):
    with Flow(name, schedule=schedule) as flow:
        greet(Parameter("name", default="you"))
    backend.create_project("p")
    return flow.register("p")


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_schedule_show_describes_the_schedule_and_lists_the_next_times(backend):
    register_flow(backend, CronSchedule("0 6 * * 1-5"))
    result = invoke("schedule", "show", "greeter", "--next", "3")
    assert result.exit_code == 0, result.output
    assert "at 06:00, Monday through Friday (active; missed runs: latest)" in result.output
    assert result.output.count("06:00:00+00:00") == 3


def test_pause_and_resume_from_the_cli(backend):
    flow_id = register_flow(backend, IntervalSchedule(interval=timedelta(minutes=1)))
    backend.create_scheduled_runs()
    result = invoke("schedule", "pause", "greeter")
    assert result.exit_code == 0 and "Paused the schedule of flow 'greeter'." in result.output
    assert backend.list_flow_runs(state="Scheduled") == []
    assert "every minute (paused; missed runs: latest)" in invoke("schedule", "show", "greeter").output
    result = invoke("schedule", "resume", "greeter")
    assert result.exit_code == 0 and "Resumed the schedule of flow 'greeter'; next run at" in result.output
    assert backend.get_schedule(flow_id)["paused"] is False


def test_pausing_a_flow_without_a_schedule_is_a_one_line_error(backend):
    register_flow(backend)
    result = invoke("schedule", "pause", "greeter")
    assert result.exit_code == 2
    assert "flow 'greeter' has no schedule to pause" in result.output
    assert "Traceback" not in result.output
    assert "has no schedule." in invoke("schedule", "show", "greeter").output


def test_get_flows_shows_each_schedule_paused_or_not_and_its_next_time(backend):
    register_flow(backend, IntervalSchedule(interval=timedelta(minutes=15)), name="quarterly")
    register_flow(backend, CronSchedule("0 6 * * *"), name="daily")
    register_flow(backend, None, name="manual")
    invoke("schedule", "pause", "daily")
    table = invoke("get", "flows").output
    assert "every 15 minutes" in table and "at 06:00 (paused)" in table
    listed = {f["name"]: f for f in json.loads(invoke("get", "flows", "--json").output)}
    assert listed["manual"]["schedule"] is None
    assert listed["daily"]["schedule"]["paused"] is True and listed["daily"]["schedule"]["next_run"] is None
    upcoming = listed["quarterly"]["schedule"]["next_run"]
    assert 0 < upcoming - time.time() <= 15 * 60


def test_run_in_ten_minutes_creates_a_run_for_later(backend):
    register_flow(backend)
    result = invoke("run", "--name", "greeter", "--in", "10m")
    assert result.exit_code == 0 and ", to start at " in result.output
    (run,) = backend.list_flow_runs()
    assert 595 <= run["scheduled_start_time"] - time.time() <= 600
    assert backend.claim_flow_run("agent-1", run["labels"]) is None
    listed = json.loads(invoke("get", "flow-runs", "--json").output)
    assert datetime.fromisoformat(listed[0]["scheduled_start_time"]).timestamp() == pytest.approx(
        run["scheduled_start_time"], abs=1e-3)


def test_run_start_at_a_time_with_an_offset(backend):
    register_flow(backend)
    when = (datetime.now(timezone(timedelta(hours=1))) + timedelta(days=1)).replace(microsecond=0)
    result = invoke("run", "--name", "greeter", "--start-at", when.isoformat())
    assert result.exit_code == 0, result.output
    assert backend.list_flow_runs()[0]["scheduled_start_time"] == when.timestamp()


def test_run_start_at_in_the_past_runs_now_and_says_so(backend):
    register_flow(backend)
    result = invoke("run", "--name", "greeter", "--start-at", "2020-01-01T06:00")
    assert result.exit_code == 0
    assert "Note: 2020-01-01T06:00:00+00:00 is in the past; the run starts now." in result.output
    (run,) = backend.list_flow_runs()
    assert backend.claim_flow_run("agent-1", run["labels"])["id"] == run["id"]


@pytest.mark.parametrize("args, message", [
    (("--start-at", "tomorrow 6am"), "--start-at 'tomorrow 6am' is not a date and time; use ISO 8601"),
    (("--in", "10 parsecs"), "'10 parsecs' is not a duration; use a number and a unit: 90s, 15m, 2h or 1d"),
    (("--in", "0m"), "a duration must be positive, got '0m'"),
    (("--in", "1m", "--start-at", "2030-01-01T00:00"), "give --start-at or --in, not both"),
])
def test_run_with_a_start_time_that_does_not_parse_is_a_one_line_error(backend, args, message):
    register_flow(backend)
    result = invoke("run", "--name", "greeter", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert backend.list_flow_runs() == []


@pytest.mark.slow
def test_scheduler_start_alone_creates_the_runs_and_an_agent_without_scheduler_does_not(backend, tmp_path):
    env = {**os.environ, "JUPYTER_FLOWS_SCHEDULER_INTERVAL": "0.2", "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.1"}
    register_flow(backend, IntervalSchedule(interval=timedelta(hours=1)))
    with local_agent_process("--no-scheduler", log_path=tmp_path / "agent.log", env=env):
        time.sleep(3)
        assert backend.list_flow_runs() == [], (tmp_path / "agent.log").read_text()
    process = subprocess.Popen([sys.executable, "-m", "jupyter_flows.cli", "scheduler", "start"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(backend.list_flow_runs(limit=None)) < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    assert len(backend.list_flow_runs(limit=None)) == 10, output
    assert "scheduler created 10 scheduled flow run(s)" in output and "scheduler stopped" in output
    assert process.returncode == 0


def test_the_missed_run_policy_is_set_per_flow(backend):
    flow_id = register_flow(backend, IntervalSchedule(interval=timedelta(minutes=1)))
    result = invoke("schedule", "missed-runs", "greeter", "all")
    assert result.exit_code == 0 and "runs every missed time after downtime" in result.output
    assert backend.get_schedule(flow_id)["missed_runs"] == "all"
    assert "missed runs: all" in invoke("schedule", "show", "greeter").output
    register_flow(backend, None, name="manual")
    result = invoke("schedule", "missed-runs", "manual", "all")
    assert result.exit_code == 2 and "flow 'manual' has no schedule; give it one first" in result.output
