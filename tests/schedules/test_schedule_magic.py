"""``%flow schedule``: schedule a registered flow from a notebook, pause, resume and show it."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from jupyter_flows import Flow, Parameter, task


@task
def report(region):
    return region


@pytest.fixture
def registered(backend):
    with Flow("report") as flow:
        report(Parameter("region", default="EU"))
    backend.create_project("p")
    return flow.register("p")


def magic(ip, line):
    with capture_output() as captured:
        result = ip.run_line_magic("flow", line)
    return result, captured.stdout


def test_schedule_weekdays_at_six_in_berlin(ip, backend, registered):
    info, out = magic(ip, 'schedule report --cron "0 6 * * 1-5" --tz Europe/Berlin')
    assert "Flow 'report' runs at 06:00, Monday through Friday (Europe/Berlin); next run at" in out
    assert backend.get_schedule(registered)["schedule"] == info["schedule"]
    from jupyter_flows.schedules import schedule_from_dict

    upcoming = schedule_from_dict(info["schedule"]).next(3)
    assert all(t.hour == 6 and t.isoweekday() <= 5 and t.tzinfo.key == "Europe/Berlin" for t in upcoming)


def test_schedule_every_fifteen_minutes_with_a_parameter_then_pause_and_resume(ip, backend, registered):
    info, out = magic(ip, "schedule report --every 15m --param region=US")
    assert "runs every 15 minutes with region='US'" in out
    backend.create_scheduled_runs()
    assert {r["parameters"]["region"] for r in backend.list_flow_runs(limit=None)} == {"US"}
    _, out = magic(ip, "schedule report --pause")
    assert out.strip() == "Flow 'report' runs every 15 minutes with region='US'; paused."
    assert backend.list_flow_runs(state="Scheduled") == []
    info, out = magic(ip, "schedule report --resume")
    assert info["paused"] is False and "next run at" in out
    _, shown = magic(ip, "schedule report")
    assert shown == out


def test_the_same_schedule_set_twice_keeps_its_runs(ip, backend, registered):
    magic(ip, 'schedule report --cron "*/5 * * * *"')
    created = backend.create_scheduled_runs()
    magic(ip, 'schedule report --cron "*/5 * * * *"')
    assert len(backend.list_flow_runs(limit=None)) == created
    assert backend.create_scheduled_runs() == 0


@pytest.mark.parametrize("line, message", [
    ('schedule report --cron "0 6 * * 8"', "field 5 (day of week) '8' is not valid (out of range)"),
    ("schedule report --every 15m --tz Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ("schedule report --every 0m", "a duration must be positive, got '0m'"),
    ('schedule report --every 15m --cron "0 6 * * *"', "give a cron expression or an interval"),
    ("schedule report --pause", "flow 'report' has no schedule to pause"),
    ("schedule report --every 1h --param regoin=EU", "sets parameter 'regoin', which flow 'report' does not declare"),
    ("schedule nothing --every 1h", "nothing"),
])
def test_bad_schedules_are_one_line_errors(ip, backend, registered, line, message):
    with pytest.raises(UsageError) as info:
        magic(ip, line)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert backend.get_schedule(registered) is None


def test_the_missed_run_policy_from_the_magic(ip, backend, registered):
    info, _ = magic(ip, "schedule report --every 1h --missed-runs all")
    assert info["missed_runs"] == "all"
    info, _ = magic(ip, "schedule report --missed-runs latest")
    assert info["missed_runs"] == "latest" and backend.get_schedule(registered)["missed_runs"] == "latest"


def test_the_runs_table_shows_when_each_run_is_scheduled_for(ip, backend, registered):
    from datetime import datetime

    from jupyter_flows.jupyter.widgets.tables import flow_runs_table

    magic(ip, "schedule report --every 1h")
    backend.create_scheduled_runs()
    runs = backend.list_flow_runs(limit=None)
    table = flow_runs_table(runs)
    column = table.columns.index("scheduled for")
    shown = {row[column] for row in table.rows}
    assert shown == {datetime.fromtimestamp(r["scheduled_start_time"]).strftime("%Y-%m-%d %H:%M:%S") for r in runs}
    assert all(value.endswith(":00:00") for value in shown)


def test_the_run_widget_says_when_a_run_for_later_is_scheduled_for(backend, registered):
    import time
    from datetime import datetime

    from jupyter_flows.jupyter.widgets.follower import RunFollower

    later = time.time() + 600
    run = backend.create_flow_run(registered, scheduled_start_time=later)
    follower = RunFollower(run["id"], backend=backend)
    assert follower._poll_once() is False
    expected = datetime.fromtimestamp(later).strftime("%Y-%m-%d %H:%M:%S")
    assert follower.view.state_name == "Scheduled"
    assert follower.view.state_message == f"scheduled for {expected}"
