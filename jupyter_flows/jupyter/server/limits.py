"""The concurrency-limit part of the REST API.

- ``GET concurrency-limits`` -> ``{"limits": [{"kind", "name", "limit", "in_use", "updated"}]}``
- ``POST concurrency-limits {"name", "limit", "kind"?}`` -> the limit (``kind``: "tag", the
  default, or "label"); a negative or non-integer limit is a 400 naming it.
- ``DELETE concurrency-limits/<kind>/<name>`` -> ``{"deleted": {"kind", "name"}}``; 404 if there is none.

Thin, like the other handlers: the checks and the counting are the backend's.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from . import checks
from .handlers import FlowsAPIHandler


class LimitsHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply({"limits": await self.call(self.backend.list_concurrency_limits)})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.checked(checks.json_object, self.request.body, ("name", "limit", "kind"))
        name = self.checked(checks.text, body, "name", required=True)
        kind = self.checked(checks.text, body, "kind", required=False) or "tag"
        self.reply(await self.call(self.backend.set_concurrency_limit, name, body.get("limit"), kind=kind))


class LimitHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def delete(self, kind: str, name: str) -> None:
        name = self.checked(checks.identifier, "limit name", name)
        await self.call(self.backend.delete_concurrency_limit, name, kind=kind)
        self.reply({"deleted": {"kind": kind, "name": name}})


def limit_handlers(base: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join

    return [
        (url_path_join(base, "concurrency-limits"), LimitsHandler),
        (url_path_join(base, "concurrency-limits", r"(?P<kind>tag|label)", r"(?P<name>[^/]+)"), LimitHandler),
    ]
