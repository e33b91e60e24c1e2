"""The schedule section of ``flow.configure()``: when agents run the flow once it is registered.

Presets (every N minutes, hourly, daily at, weekdays at, weekly on) or a cron
expression, in a time zone. Every change is checked as it is typed, by the
same code as ``%flow schedule`` and the Lab's dialog
(:func:`jupyter_flows.schedules.parse.schedule_from_options`): a valid one
becomes ``flow.schedule`` at once and is echoed in plain words with its next
run; an invalid one is shown with the reason and leaves the flow as it was.
"""

from __future__ import annotations

import html
from typing import Callable

import ipywidgets as widgets

from ...exceptions import JupyterFlowsError
from ...schedules.describe import describe_schedule
from ...schedules.parse import schedule_from_options
from ...schedules.zones import zone_name

PRESETS = ("none", "every N minutes", "hourly", "daily at", "weekdays at", "weekly on", "cron")
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_STYLE = {"description_width": "8em"}


def preset_options(preset: str, minutes: int, time: str, weekday: int, cron: str) -> dict:
    """``{"cron": ...}`` or ``{"every": ...}`` for a preset; a time that is not HH:MM goes through to be named."""
    hour, _, minute = time.strip().partition(":")
    at = f"{minute.lstrip('0') or '0'} {hour.lstrip('0') or '0'}"
    if preset == "every N minutes":
        return {"every": f"{minutes}m"}
    return {"cron": {"hourly": "0 * * * *", "daily at": f"{at} * * *", "weekdays at": f"{at} * * 1-5",
                     "weekly on": f"{at} * * {weekday}"}.get(preset, cron)}


def _preset_of(clock) -> str:
    """How the form shows a schedule the flow has already (its first clock)."""
    if clock is None:
        return "none"
    if hasattr(clock, "interval") and clock.interval.total_seconds() % 60 == 0:
        return "every N minutes"
    return "cron" if hasattr(clock, "cron") else "none"


class ScheduleEditor(widgets.VBox):
    """Edits ``flow.schedule``; ``on_change(callback)`` hears each valid change."""

    def __init__(self, flow):
        self.flow = flow
        self._callbacks: list[Callable[[], None]] = []
        clock = flow.schedule.clocks[0] if flow.schedule is not None else None
        zone = zone_name(clock.start_date.tzinfo) if clock is not None and clock.start_date else None
        self.preset = widgets.Dropdown(options=PRESETS, value=_preset_of(clock), description="Repeat", style=_STYLE)
        minutes = int(clock.interval.total_seconds() // 60) if hasattr(clock, "interval") else 15
        self.minutes = widgets.BoundedIntText(value=max(minutes, 1), min=1, max=10_000, description="Minutes",
                                              style=_STYLE)
        self.time = widgets.Text(value="06:00", description="At (HH:MM)", style=_STYLE, continuous_update=True)
        self.weekday = widgets.Dropdown(options=[(d, i) for i, d in enumerate(WEEKDAYS)], value=1, description="On",
                                        style=_STYLE)
        self.cron = widgets.Text(value=getattr(clock, "cron", "0 6 * * 1-5"), description="Cron", style=_STYLE,
                                 placeholder="minute hour day-of-month month day-of-week", continuous_update=True)
        self.timezone = widgets.Text(value=zone or "UTC", description="Time zone", style=_STYLE,
                                     placeholder="e.g. Europe/Berlin", continuous_update=True)
        self.echo = widgets.HTML()
        super().__init__([self.preset, self.minutes, self.time, self.weekday, self.cron, self.timezone, self.echo])
        self.add_class("jupyter-flows-schedule")
        for control in (self.preset, self.minutes, self.time, self.weekday, self.cron, self.timezone):
            control.observe(lambda change: self._apply(), "value")
        self._show_fields()
        self._echo_current()

    def on_change(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def _show_fields(self) -> None:
        preset = self.preset.value
        shown = {self.minutes: preset == "every N minutes",
                 self.time: preset in ("daily at", "weekdays at", "weekly on"),
                 self.weekday: preset == "weekly on", self.cron: preset == "cron", self.timezone: preset != "none"}
        for control, visible in shown.items():
            control.layout.display = None if visible else "none"

    def _apply(self) -> None:
        self._show_fields()
        if self.preset.value == "none":
            self.flow.schedule = None
        else:
            options = preset_options(self.preset.value, self.minutes.value, self.time.value, self.weekday.value,
                                     self.cron.value)
            try:
                schedule = schedule_from_options(timezone=self.timezone.value.strip() or None, **options)
            except JupyterFlowsError as exc:
                self.echo.value = f'<span style="color:#dc3545">{html.escape(str(exc))}</span>'
                return
            self.flow.schedule = schedule
        self._echo_current()
        for callback in self._callbacks:
            callback()

    def _echo_current(self) -> None:
        schedule = self.flow.schedule
        if schedule is None:
            self.echo.value = "<i>no schedule: runs only when asked</i>"
            return
        upcoming = schedule.next(1)
        after = f"; next {html.escape(upcoming[0].isoformat(sep=' '))}" if upcoming else ""
        self.echo.value = f"Runs {html.escape(describe_schedule(schedule))}{after}"
