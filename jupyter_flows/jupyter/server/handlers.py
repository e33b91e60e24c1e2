"""REST handlers under ``/jupyter-flows/api/``: thin adapters from HTTP to the backend API.

Every handler is authenticated (token or login), authorised on the
``jupyter_flows`` resource (GET reads, POST writes) and, for POST, protected
by jupyter_server's XSRF check. Handlers check the request's values
(``checks``), call the backend in a worker thread (its calls block on
SQLite), and shape the answer (``views``). Backend errors become HTTP errors:
an unknown id 404, a bad value 400, each with a JSON ``{"message": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ...backend.liveness import settled
from ...exceptions import JupyterFlowsError, NotFoundError, RestartError
from . import checks, views

AUTH_RESOURCE = "jupyter_flows"
_ID = r"(?P<run_id>[^/]+)"


class FlowsAPIHandler(APIHandler):
    """Shared plumbing: the backend, running its calls off the event loop, JSON answers."""

    auth_resource = AUTH_RESOURCE

    @property
    def backend(self):
        return self.settings["jupyter_flows_backend"]

    @property
    def root_dir(self) -> str:
        return self.settings.get("server_root_dir") or self.contents_manager.root_dir

    async def call(self, method: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking backend call in a worker thread and map its errors to HTTP errors."""
        try:
            return await asyncio.to_thread(partial(method, *args, **kwargs))
        except NotFoundError as exc:
            raise web.HTTPError(404, str(exc)) from exc
        except checks.BadRequest as exc:
            raise web.HTTPError(exc.status, str(exc)) from exc
        except RestartError as exc:  # the run's state forbids it: a conflict, not a bad request
            raise web.HTTPError(409, str(exc)) from exc
        except ValueError as exc:  # ParameterError, NotebookError, ConfigurationError, a bad state name
            raise web.HTTPError(400, str(exc)) from exc
        except JupyterFlowsError as exc:  # BackendError, StorageError: the request was fine, the work failed
            raise web.HTTPError(500, str(exc)) from exc

    def checked(self, check: Callable, *args: Any, **kwargs: Any) -> Any:
        """A request value read by ``checks``, turning its refusal into an HTTP error."""
        try:
            return check(*args, **kwargs)
        except checks.BadRequest as exc:
            raise web.HTTPError(exc.status, str(exc)) from exc

    def run_id(self, raw: str) -> str:
        """The run id from the URL path, bounded like every other id."""
        return self.checked(checks.identifier, "run id", raw)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class ProjectsHandler(FlowsAPIHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply({"projects": await self.call(self.backend.list_projects)})


class AgentsHandler(FlowsAPIHandler):
    """``GET agents``: the agents that registered with the backend, each with ``live`` (seen lately) and
    ``managed`` (started by this server), and ``managed_agent``: how this server's own agent fares.

    ``now`` is this server's clock when it read them: the Lab shows "last seen 3 s ago" against it,
    not against the browser's clock, which may be another machine's.
    """

    @property
    def managed_agent(self):
        return self.settings.get("jupyter_flows_managed_agent")

    @web.authenticated
    @authorized
    async def get(self) -> None:
        managed = self.managed_agent
        records = await self.call(self.backend.list_agents)
        self.reply({"agents": views.agents(records, managed.server_id if managed else None),
                    "managed_agent": managed.status() if managed else None, "now": time.time()})


class StartAgentHandler(AgentsHandler):
    """``POST agents/start``: this server starts its agent now (the panel's Start button), and keeps it running."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        if self.managed_agent is None:
            raise web.HTTPError(409, "this Jupyter server does not manage an agent")
        self.managed_agent.start_now()
        self.reply({"managed_agent": self.managed_agent.status()}, status=202)


class AgentLogHandler(AgentsHandler):
    """``GET agents/<id>/log``: the end of the log of an agent this server started (at most 64 KiB)."""

    @web.authenticated
    @authorized
    async def get(self, agent_id: str) -> None:
        agent_id = self.checked(checks.identifier, "agent id", agent_id)
        text = self.managed_agent.log_tail(agent_id) if self.managed_agent else None
        if text is None:
            raise web.HTTPError(404, f"agent {agent_id!r} was not started by this Jupyter server; "
                                     "its log is where it was started")
        self.reply({"agent_id": agent_id, "log": text})


class FlowsHandler(FlowsAPIHandler):
    """``GET flows?project=P&archived=true``: flows with their versions, parameters and storage kind."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        project = self.checked(checks.identifier, "'project'", self.get_query_argument("project", None))
        include_archived = self.checked(checks.flag, "archived", self.get_query_argument("archived", None))
        flows = await self.call(self.backend.list_flows, project_name=project, include_archived=True)
        summaries = await self.call(add_schedules, self.backend, views.flow_summaries(flows, include_archived))
        self.reply({"flows": summaries})


class FlowRunsHandler(FlowsAPIHandler):
    """``GET flow-runs?flow_id=&project=&state=&limit=&offset=`` (newest first, with ``waiting_reason``);
    ``POST flow-runs`` starts one, with the flow's run config or a ``run_config`` override for this run."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.checked(checks.integer, "limit", self.get_query_argument("limit", None),
                             default=50, minimum=1, maximum=checks.MAX_PAGE)
        offset = self.checked(checks.integer, "offset", self.get_query_argument("offset", None),
                              default=0, minimum=0)
        states = self.checked(checks.states, self.get_query_arguments("state"))
        flow_id = self.checked(checks.identifier, "'flow_id'", self.get_query_argument("flow_id", None))
        project = self.checked(checks.identifier, "'project'", self.get_query_argument("project", None))
        # One more than asked tells whether a next page exists without counting every run.
        runs = await self.call(self.backend.list_flow_runs, flow_id=flow_id, project_name=project,
                               state=states, limit=limit + 1, offset=offset)
        reasons = await self.call(self.backend.waiting_reasons, runs[:limit])
        self.reply(views.flow_run_page(runs, limit, offset, reasons))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.checked(checks.json_object, self.request.body,
                            ("flow_id", "parameters", "labels", "run_name", "run_config"))
        flow_id = self.checked(checks.text, body, "flow_id", required=True)
        parameters = self.checked(checks.mapping, body, "parameters")
        labels = self.checked(checks.string_list, body, "labels")
        run_name = self.checked(checks.text, body, "run_name", required=False)
        run_config = self.checked(checks.run_config, body, "run_config")
        run = await self.call(self.backend.create_flow_run, flow_id=flow_id, parameters=parameters,
                              labels=labels, run_name=run_name, run_config=run_config)
        reasons = await self.call(self.backend.waiting_reasons, [run])
        self.reply(views.flow_run(run, reasons), status=201)


class FlowRunHandler(FlowsAPIHandler):
    """``GET flow-runs/<id>``: the run, its state history, its task runs and why it waits (Scheduled)."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run_id = self.run_id(run_id)
        run = await self.call(self.backend.get_flow_run, run_id)
        run = await self.call(settled, self.backend, run)  # a run gone silent shows as lost, not Running
        task_runs = await self.call(self.backend.get_task_runs, run_id)
        reasons = await self.call(self.backend.waiting_reasons, [run])
        self.reply(views.flow_run_detail(run, task_runs, self.root_dir, reasons))


class FlowRunLogsHandler(FlowsAPIHandler):
    """``GET flow-runs/<id>/logs?after=<log id>&limit=``: a page of log lines newer than ``after``, oldest first.

    Always a page (1,000 lines unless ``limit`` says otherwise, at most
    10,000): a run with millions of lines must not be read into one answer.
    """

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run_id = self.run_id(run_id)
        after = self.checked(checks.integer, "after", self.get_query_argument("after", None), default=None, minimum=0)
        limit = self.checked(checks.integer, "limit", self.get_query_argument("limit", None),
                             default=checks.DEFAULT_LOG_PAGE, minimum=1, maximum=checks.MAX_LOG_PAGE)
        logs = await self.call(self.backend.get_logs, run_id, after=after, limit=limit + 1)
        self.reply(views.log_page(logs, after, limit))


class CancelFlowRunHandler(FlowsAPIHandler):
    """``POST flow-runs/<id>/cancel``: a run not finished becomes Cancelled (its agent stops it)."""

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run_id = self.run_id(run_id)
        self.reply(views.flow_run(await self.call(self.backend.cancel_flow_run, run_id)))


class RestartFlowRunHandler(FlowsAPIHandler):
    """``POST flow-runs/<id>/restart``: a Failed or Cancelled run is scheduled again; only what failed reruns.

    A run still going, or one that succeeded, is refused with 409 and the reason.
    """

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run_id = self.run_id(run_id)
        self.reply(views.flow_run(await self.call(self.backend.restart_flow_run, run_id)))


class ResumeFlowRunHandler(FlowsAPIHandler):
    """``POST flow-runs/<id>/resume``: approve a Paused run's waiting tasks; it is scheduled again to run them.

    A run that is not Paused is refused with 409 naming its state, as a restart is.
    """

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run_id = self.run_id(run_id)
        self.reply(views.flow_run(await self.call(self.backend.resume_flow_run, run_id)))


class RegisterNotebookHandler(FlowsAPIHandler):
    """``POST notebooks/register {"path", "project", "name"?, "output_dir"?}``: the notebook becomes a flow version.

    ``path`` (and ``output_dir``) are relative to the server's root directory,
    as JupyterLab names files. The project is created when it does not exist
    yet. The kernel of a run starts in the notebook's directory, as it does in
    JupyterLab. Executed notebooks go to ``output_dir`` as ``<run id>.ipynb``
    (where JupyterLab can open them), else under the jupyter-flows home.
    """

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.checked(checks.json_object, self.request.body, ("path", "project", "name", "output_dir"))
        relative = self.checked(checks.text, body, "path", required=True, max_length=checks.MAX_PATH)
        project = self.checked(checks.text, body, "project", required=True)
        name = self.checked(checks.text, body, "name", required=False)
        output = self.checked(checks.text, body, "output_dir", required=False, max_length=checks.MAX_PATH)
        path = self.checked(checks.notebook_path, self.root_dir, relative)
        output_dir = self.checked(checks.output_directory, self.root_dir, output) if output else None
        flow_id = await self.call(_register_notebook, self.backend, path, project, name or path.stem, output_dir)
        flow = await self.call(self.backend.get_flow, flow_id)
        versions = await self.call(self.backend.list_flows, project_name=project, include_archived=True)
        group = [v for v in versions if v["version_group_id"] == flow["version_group_id"]]
        self.reply(views.flow_summary(flow, group), status=201)


def _register_notebook(backend, path: Path, project: str, name: str, output_dir: Path | None) -> str:
    from ...backend import Client
    from ...core.flow import Flow
    from ...storage.notebook import Notebook

    client = Client(backend=backend)
    client.create_project(project)
    flow = Flow(name, storage=Notebook(path, cwd=path.parent, output_dir=output_dir))
    return client.register(flow, project_name=project)


def add_schedules(backend, summaries: list[dict]) -> list[dict]:
    from .schedules import add_schedules as add

    return add(backend, summaries)


def setup_handlers(web_app, backend) -> None:
    from .limits import limit_handlers
    from .pipelines import pipeline_handlers
    from .schedules import schedule_handlers

    web_app.settings["jupyter_flows_backend"] = backend
    base = url_path_join(web_app.settings["base_url"], "jupyter-flows", "api")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "projects"), ProjectsHandler),
        (url_path_join(base, "agents"), AgentsHandler),
        (url_path_join(base, "agents", "start"), StartAgentHandler),
        (url_path_join(base, "agents", r"(?P<agent_id>[^/]+)", "log"), AgentLogHandler),
        (url_path_join(base, "flows"), FlowsHandler),
        (url_path_join(base, "flow-runs"), FlowRunsHandler),
        (url_path_join(base, "flow-runs", _ID), FlowRunHandler),
        (url_path_join(base, "flow-runs", _ID, "logs"), FlowRunLogsHandler),
        (url_path_join(base, "flow-runs", _ID, "cancel"), CancelFlowRunHandler),
        (url_path_join(base, "flow-runs", _ID, "restart"), RestartFlowRunHandler),
        (url_path_join(base, "flow-runs", _ID, "resume"), ResumeFlowRunHandler),
        (url_path_join(base, "notebooks", "register"), RegisterNotebookHandler),
        *schedule_handlers(base),
        *pipeline_handlers(base),
        *limit_handlers(base),
    ])
