"""``flow.configure()``: a form for a flow's executor, run config and parameters, with Run / Register / Submit.

What the form shows is what the flow gets: every valid change is written to
``flow.executor`` and ``flow.run_config`` at once (an invalid one is shown
inline and leaves the flow as it was), and the parameter inputs are the
values of the next run. The buttons run the flow in this kernel with the
live run widget, register it in the backend, or register it and schedule a
run for an agent, followed live without blocking the kernel.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ...backend import Backend, Client
from ...exceptions import ConfigurationError, JupyterFlowsError
from ...run_configs import DockerRun, KubernetesRun, LocalRun, RunConfig, UniversalRun
from ..run_here import run_here
from .env_editor import EnvEditor
from .executor_picker import ExecutorPicker
from .follower import follow
from .notify_editor import NotifyEditor
from .parameter_inputs import ParameterInputs
from .run_view import RunView
from .schedule_editor import ScheduleEditor

RUN_CONFIG_KINDS = {"UniversalRun": UniversalRun, "LocalRun": LocalRun, "DockerRun": DockerRun,
                    "KubernetesRun": KubernetesRun}
#: The KubernetesRun resources the form edits, with their labels.
_RESOURCES = (("cpu_request", "CPU request", "e.g. 500m"), ("cpu_limit", "CPU limit", "e.g. 2"),
              ("memory_request", "Memory request", "e.g. 512Mi"), ("memory_limit", "Memory limit", "e.g. 1Gi"))
_STYLE = {"description_width": "8em"}


def _section(title: str, *children) -> widgets.VBox:
    return widgets.VBox([widgets.HTML(f"<b>{html.escape(title)}</b>"), *children],
                        layout=widgets.Layout(border="1px solid #e0e0e0", padding="4px 8px", margin="4px 0"))


class ConfigForm(widgets.VBox):
    """The configuration form of one flow.

    ``project_name`` preselects a project; ``backend`` is the
    :class:`~jupyter_flows.backend.Backend` to list projects from, register
    in and submit to (the configured one by default).
    """

    def __init__(self, flow, project_name: str | None = None, backend=None):
        self.flow = flow
        self._backend = backend
        self.last_state = None
        self.last_flow_id: str | None = None
        self.last_flow_run_id: str | None = None
        self.run_view: RunView | None = None
        self.follower = None

        self.executor_picker = ExecutorPicker(flow.executor)
        run_config = flow.run_config
        kind = type(run_config).__name__ if type(run_config).__name__ in RUN_CONFIG_KINDS else "UniversalRun"
        self.run_config_kind = widgets.Dropdown(options=list(RUN_CONFIG_KINDS), value=kind, description="Run config",
                                                style=_STYLE)
        self.working_dir = widgets.Text(value=getattr(run_config, "working_dir", None) or "",
                                        description="Working dir", placeholder="(the agent's)", style=_STYLE)
        self.image = widgets.Text(value=getattr(run_config, "image", None) or "", description="Image",
                                  placeholder="(the Docker storage's, or the agent's)", style=_STYLE)
        self.resources = {name: widgets.Text(value=getattr(run_config, name, None) or "", description=label,
                                             placeholder=hint, style=_STYLE) for name, label, hint in _RESOURCES}
        self.resources_box = widgets.VBox(list(self.resources.values()))
        self.env_editor = EnvEditor(dict(run_config.env) if run_config is not None else {})
        self.labels = widgets.TagsInput(value=list(run_config.labels) if run_config is not None else [],
                                        allow_duplicates=False)
        self.run_config_error = widgets.HTML()
        self.parameter_inputs = ParameterInputs(flow)
        self.schedule_editor = ScheduleEditor(flow)
        self.notify_editor = NotifyEditor(flow)
        self.project = widgets.Combobox(options=self._project_names(), value=project_name or "",
                                        placeholder="pick a project or type a new one", description="Project",
                                        ensure_option=False, style=_STYLE)
        self.run_button = widgets.Button(description="Run here", icon="play", button_style="success",
                                         tooltip="run the flow in this kernel and watch it")
        self.register_button = widgets.Button(description="Register", icon="upload", button_style="info",
                                              tooltip="register the flow in the project (a new version if it changed)")
        self.submit_button = widgets.Button(description="Submit to agent", icon="paper-plane", button_style="warning",
                                            tooltip="register, then schedule a run for an agent and follow it")
        self.status = widgets.HTML()
        self.output = widgets.VBox()
        self.run_button.on_click(lambda _: self._guarded(self.run_here))
        self.register_button.on_click(lambda _: self._guarded(self.register))
        self.submit_button.on_click(lambda _: self._guarded(self.submit))

        super().__init__([
            widgets.HTML(f"<h4 style='margin:2px 0'>Configure flow <code>{html.escape(flow.name)}</code></h4>"),
            _section("Executor: how tasks run", self.executor_picker),
            _section("Run config: where an agent runs it", self.run_config_kind, self.working_dir, self.image,
                     self.resources_box, self.env_editor,
                     widgets.HTML("<b>Labels</b> <small>(an agent needs all of them)</small>"), self.labels,
                     self.run_config_error),
            _section("Parameters of the next run", self.parameter_inputs),
            _section("Schedule: when agents run it once registered", self.schedule_editor),
            _section("Notifications: who is told when a registered run ends", self.notify_editor),
            _section("Backend", self.project),
            widgets.HBox([self.run_button, self.register_button, self.submit_button]),
            self.status,
            self.output,
        ])
        self.add_class("jupyter-flows-config")
        # Stable hooks for styling and for browser tests.
        for widget, name in ((self.run_button, "run-here"), (self.register_button, "register"),
                             (self.submit_button, "submit"), (self.status, "status"), (self.project, "project")):
            widget.add_class(f"jupyter-flows-{name}")
        self.executor_picker.on_change(self._apply_executor)
        self.env_editor.on_change(self._apply_run_config)
        for control in (self.run_config_kind, self.working_dir, self.image, self.labels, *self.resources.values()):
            control.observe(lambda change: self._apply_run_config(), "value")
        self.run_config_kind.observe(lambda change: self._show_working_dir(), "value")
        self.parameter_inputs.on_change(self._check_parameters)
        self._show_working_dir()

    # -- what the form describes ------------------------------------------------------------------

    def executor(self):
        return self.executor_picker.executor()

    def run_config(self) -> RunConfig:
        """The run config the form describes; raises :class:`ConfigurationError` (also shown) if it can't."""
        kind = self.run_config_kind.value
        try:
            options = {"env": self.env_editor.env(), "labels": list(self.labels.value)}
            if kind == "LocalRun":
                options["working_dir"] = self.working_dir.value.strip() or None
            if kind in ("DockerRun", "KubernetesRun"):
                options["image"] = self.image.value.strip() or None
            if kind == "KubernetesRun":
                options.update({name: text.value.strip() or None for name, text in self.resources.items()})
            # What the form does not show (ports, host_config, a job template) stays as the flow had it.
            current = self.flow.run_config
            kept = {key: value for key, value in current.to_dict().items() if key != "type" and key not in options} \
                if type(current).__name__ == kind else {}
            config = RUN_CONFIG_KINDS[kind](**kept, **options)
        except ConfigurationError as exc:
            self.run_config_error.value = f'<span style="color:#dc3545">{html.escape(str(exc), quote=False)}</span>'
            raise
        self.run_config_error.value = ""
        return config

    def parameters(self) -> dict:
        """The parameter values of the next run, read from the inputs."""
        return self.parameter_inputs.values()

    def apply(self) -> None:
        """Write the form's executor and run config to the flow; raises on the first invalid part."""
        executor, run_config = self.executor(), self.run_config()
        self.flow.executor = executor
        self.flow.run_config = run_config

    def _apply_executor(self) -> None:
        try:
            self.flow.executor = self.executor()
        except JupyterFlowsError:
            pass  # shown inline by the picker; the flow keeps its last valid executor

    def _apply_run_config(self) -> None:
        try:
            self.flow.run_config = self.run_config()
        except JupyterFlowsError:
            pass  # shown inline; the flow keeps its last valid run config

    def _check_parameters(self) -> None:
        try:
            self.parameters()
        except JupyterFlowsError:
            pass  # each bad input shows its own message

    def _show_working_dir(self) -> None:
        """Show the fields of the chosen run config kind only."""
        kind = self.run_config_kind.value
        self.working_dir.layout.display = None if kind == "LocalRun" else "none"
        self.image.layout.display = None if kind in ("DockerRun", "KubernetesRun") else "none"
        self.resources_box.layout.display = None if kind == "KubernetesRun" else "none"

    # -- the backend ------------------------------------------------------------------------------

    @property
    def backend(self):
        if self._backend is None:
            self._backend = Backend()
        return self._backend

    def _project_names(self) -> list[str]:
        try:
            return [p["name"] for p in self.backend.list_projects()]
        except JupyterFlowsError:
            return []

    def refresh_projects(self) -> None:
        self.project.options = self._project_names()

    def _project(self) -> str:
        name = self.project.value.strip()
        if not name:
            raise ConfigurationError("pick a project, or type the name of a new one, to register the flow in")
        return name

    # -- the buttons ------------------------------------------------------------------------------

    def run_here(self):
        """Run the flow in this kernel with the form's configuration; the live run widget shows it."""
        self.apply()
        parameters = self.parameters()
        self.run_view = RunView()
        self.output.children = [self.run_view.widget]
        self._say(f"Running <code>{html.escape(self.flow.name)}</code> here with "
                  f"{html.escape(repr(self.flow.executor), quote=False)}")
        self.last_state = run_here(self.flow, parameters, listeners=[self.run_view])
        self._say(f"Run here with {html.escape(repr(self.flow.executor), quote=False)} ended "
                  f"<b>{html.escape(self.last_state.name)}</b>")
        return self.last_state

    def register(self) -> str:
        """Register the flow, as configured, in the chosen project (created if new); returns the flow id."""
        self.apply()
        project = self._project()
        self.backend.create_project(project)
        self.last_flow_id = self.flow.register(project_name=project)
        registered = self.backend.get_flow(self.last_flow_id)
        self.refresh_projects()
        self.project.value = project
        self._say(f"Registered <code>{html.escape(self.flow.name)}</code> version {registered['version']} "
                  f"in project <b>{html.escape(project)}</b> (id <code>{self.last_flow_id}</code>)")
        return self.last_flow_id

    def submit(self) -> str:
        """Register, then schedule a run for an agent with the form's parameters and follow it; returns its id."""
        parameters = self.parameters()
        flow_id = self.register()
        self.last_flow_run_id = Client(backend=self.backend).create_flow_run(flow_id=flow_id, parameters=parameters)
        self.run_view = RunView()
        self.output.children = [self.run_view.widget]
        self.follower = follow(self.last_flow_run_id, view=self.run_view, backend=self.backend)
        self._say(f"Submitted flow run <code>{self.last_flow_run_id}</code> for an agent")
        return self.last_flow_run_id

    def _guarded(self, action) -> None:
        try:
            action()
        except Exception as exc:  # a button has nowhere to raise to: show the error under the form
            self._say(f"{type(exc).__name__}: {exc}", error=True)

    def _say(self, message_html: str, error: bool = False) -> None:
        if error:
            message_html = f'<span style="color:#dc3545">{html.escape(message_html, quote=False)}</span>'
        self.status.value = message_html
