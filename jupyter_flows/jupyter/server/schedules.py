"""The schedule part of the REST API: preview a schedule as it is typed, set, pause and resume one.

- ``GET schedules/preview?cron=C&tz=Z`` or ``?every=15m&tz=Z`` -> ``{"description",
  "next": [ISO 8601 times]}``; a bad value is a 400 naming it (the dialog
  shows it under the field as the user types).
- ``POST flows/<flow id>/schedule {"cron" | "every", "timezone"?, "parameters"?,
  "missed_runs"?}`` -> the schedule as ``GET flows`` shows it.
- ``POST flows/<flow id>/schedule/pause`` and ``.../resume`` -> the same.
- ``GET flows`` gives each flow ``schedule`` (that, or null) and ``next_run``.

Like the other handlers these only check the request and call the public API
(:func:`jupyter_flows.schedules.parse.schedule_from_options`, the backend).
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...schedules.parse import schedule_from_options
from . import checks
from .handlers import FlowsAPIHandler

PREVIEW_TIMES = 5
_FLOW_ID = r"(?P<flow_id>[^/]+)"


def preview(cron: str | None, every: str | None, timezone: str | None) -> dict:
    from ...schedules.describe import describe_schedule

    schedule = schedule_from_options(cron, every, timezone)
    return {"description": describe_schedule(schedule),
            "next": [t.isoformat() for t in schedule.next(PREVIEW_TIMES)]}


def schedule_view(info: dict | None) -> dict | None:
    """A schedule as the Lab shows it (``Backend.get_schedule``'s dict, which holds nothing secret)."""
    if info is None:
        return None
    return {key: info[key] for key in ("description", "paused", "missed_runs", "next_run", "schedule")}


def add_schedules(backend, summaries: list[dict]) -> list[dict]:
    """Give each flow summary its ``schedule`` and ``next_run`` (one backend query for all)."""
    schedules = backend.get_schedules({s["version_group_id"] for s in summaries})
    for summary in summaries:
        info = schedules.get(summary["version_group_id"])
        summary["schedule"] = schedule_view(info)
        summary["next_run"] = info["next_run"] if info else None
    return summaries


def set_schedule(backend, flow_id: str, body: dict) -> dict:
    schedule = schedule_from_options(body.get("cron"), body.get("every"), body.get("timezone"),
                                     body.get("parameters") or None)
    return schedule_view(backend.set_schedule(flow_id, schedule.to_dict(), body.get("missed_runs")))


class SchedulePreviewHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        cron = self.checked(checks.identifier, "'cron'", self.get_query_argument("cron", None))
        every = self.checked(checks.identifier, "'every'", self.get_query_argument("every", None))
        timezone = self.checked(checks.identifier, "'tz'", self.get_query_argument("tz", None))
        self.reply(await self.call(preview, cron, every, timezone))


class FlowScheduleHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def post(self, flow_id: str) -> None:
        flow_id = self.checked(checks.identifier, "flow id", flow_id)
        body = self.checked(checks.json_object, self.request.body,
                            ("cron", "every", "timezone", "parameters", "missed_runs"))
        for key in ("cron", "every", "timezone", "missed_runs"):
            self.checked(checks.text, body, key, required=False)
        self.checked(checks.mapping, body, "parameters")
        self.reply(await self.call(set_schedule, self.backend, flow_id, body))


class PauseScheduleHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def post(self, flow_id: str, action: str) -> None:
        flow_id = self.checked(checks.identifier, "flow id", flow_id)
        change = self.backend.pause_schedule if action == "pause" else self.backend.resume_schedule
        self.reply(schedule_view(await self.call(change, flow_id)))


def schedule_handlers(base: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join

    return [
        (url_path_join(base, "schedules", "preview"), SchedulePreviewHandler),
        (url_path_join(base, "flows", _FLOW_ID, "schedule"), FlowScheduleHandler),
        (url_path_join(base, "flows", _FLOW_ID, "schedule", r"(?P<action>pause|resume)"), PauseScheduleHandler),
    ]
