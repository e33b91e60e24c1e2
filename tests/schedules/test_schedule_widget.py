"""The schedule section of ``flow.configure()``: presets become ``flow.schedule``, checked as typed."""

from __future__ import annotations

from datetime import timedelta

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.jupyter.widgets.config_form import ConfigForm
from jupyter_flows.schedules import IntervalSchedule


@task
def report(region):
    return region


def build_flow(schedule=None):
    with Flow("report", schedule=schedule) as flow:
        report(Parameter("region", default="EU"))
    return flow


def test_weekdays_at_six_in_berlin_becomes_the_flows_schedule_and_is_registered(backend):
    flow = build_flow()
    form = ConfigForm(flow, project_name="reports", backend=backend)
    editor = form.schedule_editor
    assert "no schedule" in editor.echo.value and flow.schedule is None
    editor.timezone.value = "Europe/Berlin"
    editor.preset.value = "weekdays at"
    assert "Runs at 06:00, Monday through Friday (Europe/Berlin); next " in editor.echo.value
    assert all(t.hour == 6 and t.isoweekday() <= 5 for t in flow.schedule.next(5))
    flow_id = form.register()
    assert backend.get_schedule(flow_id)["description"] == "at 06:00, Monday through Friday (Europe/Berlin)"


def test_a_bad_value_is_shown_as_typed_and_leaves_the_flow_as_it_was():
    flow = build_flow()
    editor = ConfigForm(flow).schedule_editor
    editor.preset.value = "daily at"
    good = flow.schedule
    editor.time.value = "25:00"
    assert "field 2 (hour) &#x27;25&#x27; is not valid" in editor.echo.value
    assert flow.schedule is good
    editor.time.value = "07:30"
    good = flow.schedule
    editor.timezone.value = "Europe/Berln"
    assert "unknown time zone" in editor.echo.value and flow.schedule is good
    editor.timezone.value = "UTC"
    assert "Runs at 07:30" in editor.echo.value


def test_every_n_minutes_weekly_and_none():
    flow = build_flow()
    editor = ConfigForm(flow).schedule_editor
    editor.preset.value = "every N minutes"
    editor.minutes.value = 20
    assert "Runs every 20 minutes" in editor.echo.value
    assert flow.schedule.clocks[0].interval == timedelta(minutes=20)
    editor.preset.value = "weekly on"
    editor.weekday.value = 0
    assert "only on Sunday" in editor.echo.value
    editor.preset.value = "none"
    assert flow.schedule is None


def test_a_flow_with_a_schedule_opens_with_it_shown():
    flow = build_flow(IntervalSchedule(interval=timedelta(minutes=45)))
    editor = ConfigForm(flow).schedule_editor
    assert editor.preset.value == "every N minutes" and editor.minutes.value == 45
    assert "Runs every 45 minutes" in editor.echo.value
