"""The pipeline part of the REST API: several notebooks registered as one flow.

- ``POST notebooks/pipeline {"project", "name", "steps": [{"path", "parameters"?, "after"?}]}``
  -> 201 + the flow as ``GET flows`` shows it. Paths are relative to the
  server's root (resolved, then required to stay under it); ``after`` lists
  the indexes of the steps a step waits for (default: the step before it).
  The project is created if new.
- ``GET flow-runs/<id>/children`` -> ``{"child_flow_runs": [{"id", "name", "state"}]}``:
  the runs a run started (its ``parent_flow_run_id`` is in ``GET flow-runs/<id>``).

The flow is built by :func:`jupyter_flows.tasks.pipeline.notebook_pipeline`;
this module only checks the request.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from . import checks, views
from .handlers import _ID, FlowsAPIHandler

MAX_STEPS = 100


def _register_pipeline(backend, project: str, name: str, steps: list[dict]) -> str:
    from ...backend import Client
    from ...tasks.pipeline import notebook_pipeline

    client = Client(backend=backend)
    client.create_project(project)
    return client.register(notebook_pipeline(name, steps), project_name=project)


class PipelineHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.checked(checks.json_object, self.request.body, ("project", "name", "steps"))
        project = self.checked(checks.text, body, "project", required=True)
        name = self.checked(checks.text, body, "name", required=True)
        steps = self.checked(self._steps, body.get("steps"))
        flow_id = await self.call(_register_pipeline, self.backend, project, name, steps)
        flow = await self.call(self.backend.get_flow, flow_id)
        versions = await self.call(self.backend.list_flows, project_name=project, include_archived=True)
        group = [v for v in versions if v["version_group_id"] == flow["version_group_id"]]
        self.reply(views.flow_summary(flow, group), status=201)

    def _steps(self, raw) -> list[dict]:
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
            raise checks.BadRequest(f"'steps' must be a list of 1 to {MAX_STEPS} notebooks, got {str(raw)[:80]}")
        steps = []
        for index, step in enumerate(raw):
            if not isinstance(step, dict):
                raise checks.BadRequest(f"step {index} must be an object with a 'path', got {str(step)[:80]}")
            relative = checks.text(step, "path", required=True, max_length=checks.MAX_PATH)
            checked = {**step, "path": checks.notebook_path(self.root_dir, relative)}
            steps.append(checked)
        return steps


class ChildRunsHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run_id = self.run_id(run_id)
        await self.call(self.backend.get_flow_run, run_id)  # an unknown id is a 404
        self.reply({"child_flow_runs": await self.call(self.backend.child_flow_runs, run_id)})


def pipeline_handlers(base: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join

    return [(url_path_join(base, "notebooks", "pipeline"), PipelineHandler),
            (url_path_join(base, "flow-runs", _ID, "children"), ChildRunsHandler)]
