"""The ``jupyter-flows`` command (also ``jupyter flows``): projects, registration, runs, agents.

Every command calls the public API (the backend, ``flow.register``, the local
agent, ``execute_flow_run``) and only formats what it gets back. Expected
errors print one line on stderr: exit code 2 for bad input (an unknown
parameter, an option that is not ``KEY=VALUE``), 1 for anything else (an
unknown project, a failed run).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterable

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from . import cli_automations, cli_commands, cli_json, cli_limits, cli_schedules, config
from .exceptions import (
    ConfigurationError, FlowArchivedError, JupyterFlowsError, ParameterError, ScheduleError, StorageError,
)
from .params import parse_env, parse_params
from .run_configs.base import validate_labels
from .terminal import EscapingFormatter, cell, escaped_log_output, print_table, safe
from .terminal import log_line as _log_line
from .terminal import console as _console
from .terminal import local_time as _time

#: The backend's flow run states (``jupyter_flows.backend.FLOW_RUN_STATES``, not imported here so
#: that ``--help`` does not load the database libraries).
RUN_STATES = ("Scheduled", "Submitted", "Running", "Paused", "Success", "Failed", "Cancelled")
#: States after which a watch stops: nothing happens until a person acts (a Paused run waits for a resume).
FINAL_STATES = ("Success", "Failed", "Cancelled", "Paused")
STATE_STYLES = {"Success": "green", "Failed": "red", "Cancelled": "grey50", "Running": "cyan",
                "Submitted": "yellow", "Scheduled": "dark_orange", "Paused": "magenta"}


class InputError(click.ClickException):
    """Bad input the user can fix: one line on stderr, exit code 2 (like a usage error)."""

    exit_code = 2


class _Group(click.Group):
    """Turns jupyter-flows errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ParameterError, ConfigurationError, FlowArchivedError, ScheduleError) as exc:
            raise InputError(safe(exc)) from None
        except JupyterFlowsError as exc:
            raise click.ClickException(safe(exc)) from None
        except ValueError as exc:  # a value the backend refuses, such as an empty project name
            raise InputError(safe(exc)) from None


def _backend():
    from .backend import Backend

    return Backend()


def _state_text(state: str) -> Text:
    return cell(state, style=STATE_STYLES.get(state, ""))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jupyter-flows")
def cli() -> None:
    """Jupyter-native workflows: register flows, run them with agents, watch them."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``jupyter-flows``)."""
    cli.main(args=argv, prog_name="jupyter-flows")


# -- create --------------------------------------------------------------------------------------


@cli.group(cls=_Group)
def create() -> None:
    """Create a project."""


@create.command("project")
@click.argument("name")
@click.option("--description", "-d", default=None, help="What the project is for.")
def create_project(name: str, description: str | None) -> None:
    """Create project NAME (nothing happens if it exists)."""
    project = _backend().create_project(name, description=description)
    click.echo(f"Project {project['name']!r} is ready (id {project['id']}).")


# -- register ------------------------------------------------------------------------------------


def flows_in_namespace(namespace: dict, where: str) -> list:
    """Every :class:`~jupyter_flows.Flow` bound to a module-level name, once each (two with one name are refused)."""
    from .storage.script import flows_by_name

    found = list(flows_by_name(namespace, where).values())
    if not found:
        raise JupyterFlowsError(f"{where} defines no Flow at module level (e.g. `with Flow(\"name\") as flow:`)")
    return found


def load_flows_from_file(path: str) -> list:
    """Run a Python file and return the flows it defines.

    The file runs under its own module name, not ``__main__``, so that its
    ``if __name__ == "__main__":`` block does not run, and its tasks are
    pickled by value (an agent need not be able to import the file).
    ``flow.register()`` calls in the file are skipped while it loads: the
    command registers every flow itself, under ``--project``. A file that
    raises or calls ``sys.exit()`` is an error naming it.
    """
    from .storage.script import run_flow_script

    namespace = run_flow_script(path, run_name=f"jupyter_flows_file_{Path(path).stem}")
    return flows_in_namespace(namespace, f"flow file {path!r}")


def load_flows_from_module(name: str) -> list:
    """Import module ``name`` and return the flows it defines.

    The current directory is searched first, as ``python -m`` would; agents
    must be able to import the module too (see ``agent local start --import-path``).
    """
    import importlib
    import os

    from .engine.context import context

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        with context(loading_flow=True):
            module = importlib.import_module(name)
    except ImportError as exc:
        raise JupyterFlowsError(f"cannot import module {name!r}: {exc}") from exc
    except SystemExit as exc:
        raise StorageError(f"module {name!r} called sys.exit({exc.code!r}) while it was imported; a flow module "
                           "must define flows at module level and not exit") from None
    return flows_in_namespace(vars(module), f"module {name!r}")


@cli.command()
@click.option("--project", required=True, help="Project to register the flows under.")
@click.option("--path", "-p", "paths", multiple=True, type=click.Path(dir_okay=False),
              help="A Python file defining flows (repeatable).")
@click.option("--module", "-m", "modules", multiple=True, help="An importable module defining flows (repeatable).")
@click.option("--label", "-l", "labels", multiple=True, help="A label added to the flows' runs (repeatable).")
@click.option("--notebook", type=click.Path(dir_okay=False), default=None,
              help="A notebook to register as a flow; its cell tagged 'parameters' gives the parameters.")
@click.option("--name", "-n", "notebook_name", default=None,
              help="Name of the --notebook flow (default: the notebook's file name without .ipynb).")
@click.option("--allow-missing-kernel", is_flag=True,
              help="Register a --notebook whose kernel is not installed here (it must be on the agents' hosts).")
def register(project: str, paths: tuple[str, ...], modules: tuple[str, ...], labels: tuple[str, ...],
             notebook: str | None, notebook_name: str | None, allow_missing_kernel: bool) -> None:
    """Register every flow defined in FILE.py files or modules, or a --notebook, under PROJECT."""
    if not paths and not modules and not notebook:
        raise InputError("give at least one --path FILE.py, --module NAME or --notebook FILE.ipynb to register "
                         "flows from")
    if notebook_name is not None and notebook is None:
        raise InputError("--name names the flow of a --notebook; give --notebook FILE.ipynb too")
    if allow_missing_kernel and notebook is None:
        raise InputError("--allow-missing-kernel is about the kernel of a --notebook; give --notebook FILE.ipynb too")
    checked_labels = validate_labels(labels)
    flows = [f for p in paths for f in load_flows_from_file(p)]
    flows += [f for m in modules for f in load_flows_from_module(m)]
    if notebook:
        from .storage.notebook import notebook_flow

        flows.append(notebook_flow(notebook, notebook_name, allow_missing_kernel=allow_missing_kernel))
    _check_distinct_names(flows)
    backend = _backend()
    for flow in flows:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            flow_id = flow.register(project_name=project, labels=checked_labels or None)
        for warning in caught:
            click.echo(f"Warning: {safe(warning.message)}", err=True)
        registered = backend.get_flow(flow_id)
        click.echo(f"Registered flow {flow.name!r} version {registered['version']} in project {project!r} "
                   f"(id {flow_id}).")


def _check_distinct_names(flows: list) -> None:
    """Two flows with one name would register as two versions of one flow, the second replacing the first."""
    seen: dict[str, Any] = {}
    for flow in flows:
        if seen.setdefault(flow.name, flow) is not flow:
            raise StorageError(f"two flows share the name {flow.name!r} among the given files, modules and "
                               "notebook; give each flow its own name")


# -- run -----------------------------------------------------------------------------------------


def collect_parameters(params: Iterable[str], param_file: str | None) -> dict:
    """``--param-file`` values, then ``--param`` values on top."""
    values: dict = {}
    if param_file:
        try:
            values = json.loads(Path(param_file).read_text())
        except OSError as exc:
            raise InputError(f"--param-file {param_file!r} cannot be read: {exc.strerror}") from None
        except ValueError as exc:
            raise InputError(f"--param-file {param_file!r} is not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise InputError(f"--param-file {param_file!r} must hold a JSON object of name: value, "
                             f"not a {type(values).__name__}")
    values.update(parse_params(params))
    return values


@cli.command()
@click.option("--name", "-n", "flow_name", required=True, help="Name of the registered flow.")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
@click.option("--version", type=int, default=None, help="Flow version (the latest by default).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter value, parsed as JSON when it is valid JSON (repeatable).")
@click.option("--param-file", type=click.Path(dir_okay=False), help="A JSON file of parameter values.")
@click.option("--label", "labels", multiple=True, help="A label of this run; agents must have it (repeatable).")
@click.option("--run-name", default=None, help="Name of the flow run.")
@click.option("--watch", "-w", is_flag=True, help="Follow states and logs until the run ends.")
@click.option("--execute", "-e", "execute_here", is_flag=True, help="Run it in this process, without an agent.")
@click.option("--start-at", default=None, metavar="DATETIME",
              help="When an agent may start it: ISO 8601, e.g. 2026-12-01T06:00 (UTC unless it has an offset).")
@click.option("--in", "start_in", default=None, metavar="DURATION", help="Start it after a while: 90s, 10m, 2h, 1d.")
def run(flow_name: str, project: str | None, version: int | None, params: tuple[str, ...],
        param_file: str | None, labels: tuple[str, ...], run_name: str | None, watch: bool,
        execute_here: bool, start_at: str | None, start_in: str | None) -> None:
    """Create a flow run of a registered flow; optionally watch or execute it."""
    from .schedules.parse import start_time

    parameters = collect_parameters(params, param_file)
    checked_labels = validate_labels(labels)
    scheduled_start, note = start_time(start_at, start_in)
    if note:
        click.echo(f"Note: {note}.", err=True)
    if scheduled_start is not None and execute_here:
        raise InputError("--execute runs the flow now; leave out --start-at/--in, or let an agent run it later")
    backend = _backend()
    flow = backend.get_flow_by_name(flow_name, project_name=project, version=version)
    # A run executed here is created already Submitted, so that no agent claims it meanwhile.
    flow_run = backend.create_flow_run(flow_id=flow["id"], parameters=parameters, labels=checked_labels or None,
                                       run_name=run_name, state="Submitted" if execute_here else "Scheduled",
                                       scheduled_start_time=scheduled_start)
    when = f", to start at {_time(scheduled_start)}" if scheduled_start is not None else ""
    click.echo(f"Created flow run {flow_run['name']!r} (id {flow_run['id']}) of flow {flow['name']!r} "
               f"version {flow['version']}{when}.")
    if execute_here:
        from .agent.execute import execute_flow_run
        from .engine.logging import RUN_LOGGER_NAME

        with escaped_log_output(logging.getLogger(RUN_LOGGER_NAME)):
            state = execute_flow_run(flow_run["id"], backend=backend, apply_run_config=True)
        final = backend.get_flow_run(flow_run["id"])
        _print_final(final)
        if state != "Success":
            sys.exit(1)
    elif watch:
        final = follow_flow_run(backend, flow_run["id"])
        if final["state"] != "Success":
            sys.exit(1)


def _print_final(run: dict) -> None:
    line = Text(f"Flow run {safe(repr(run['name']))} ended ")
    line.append(safe(run["state"]), style=STATE_STYLES.get(run["state"], ""))
    if run.get("state_message"):
        line.append(f": {safe(run['state_message'])}")
    _console().print(line, soft_wrap=True)


#: How often ``run --watch`` repeats why a Scheduled run still waits.
WAITING_REMINDER_S = 10.0


def follow_flow_run(backend, flow_run_id: str, poll: float = 0.2, console: Console | None = None,
                    remind_every: float = WAITING_REMINDER_S) -> dict:
    """Print a flow run's state changes and log lines as they arrive, until it ends; return the run.

    The run's state is read before its logs, so that once a final state is
    seen the logs read after it are complete. A watch never waits forever on
    a run nobody runs: a Submitted or Running run gone silent (no heartbeat
    for two intervals, its agent gone too) is failed as lost, with the same
    compare-and-set agents do, which ends the watch; a Scheduled run that no
    live agent can take gets the reason every ``remind_every`` seconds.
    """
    console = console or _console()
    watch = _Watch(backend, flow_run_id, console, remind_every)
    with console.status("waiting for the flow run", spinner="dots") as status:
        while True:
            run = watch.read_run()
            watch.print_new_logs()
            watch.show_state(run, status)
            if run["state"] in FINAL_STATES:
                break
            watch.remind_why_waiting(run, status)
            time.sleep(poll)
    _print_final(run)
    return run


class _Watch:
    """What ``follow_flow_run`` remembers between polls: the last log line, state and checks."""

    def __init__(self, backend, flow_run_id: str, console: Console, remind_every: float):
        self.backend = backend
        self.flow_run_id = flow_run_id
        self.console = console
        self.remind_every = remind_every
        self.last_log_id = None
        self.last_state = None
        self.next_silence_check = 0.0
        self.next_reminder = 0.0

    def read_run(self) -> dict:
        """The run; once per heartbeat interval, failed as lost first if it went silent (see ``settled``)."""
        from .backend.liveness import settled

        run = self.backend.get_flow_run(self.flow_run_id)
        now = time.monotonic()
        if now >= self.next_silence_check:
            self.next_silence_check = now + config.heartbeat_interval()
            run = settled(self.backend, run)
        return run

    def print_new_logs(self) -> None:
        for entry in self.backend.get_logs(self.flow_run_id, after=self.last_log_id):
            self.console.print(_log_line(entry), soft_wrap=True, highlight=False)
            self.last_log_id = entry["id"]

    def show_state(self, run: dict, status) -> None:
        if run["state"] == self.last_state:
            return
        self.last_state = run["state"]
        waiting = {"Scheduled": "waiting for an agent", "Submitted": "an agent is starting it"}
        # A Text, not a str: rich would read "[...]" in a run's name as markup (and "[/]" as an error).
        status.update(cell(f"{run['name']}: {self.last_state}"
                           + (f" ({waiting[self.last_state]})" if self.last_state in waiting else "")))
        if self.last_state not in FINAL_STATES:
            self.console.print(Text("state: ").append(_state_text(self.last_state)), highlight=False)

    def remind_why_waiting(self, run: dict, status) -> None:
        now = time.monotonic()
        if run["state"] != "Scheduled" or now < self.next_reminder:
            return
        self.next_reminder = now + self.remind_every
        reason = self.backend.waiting_reason(run)
        if reason:
            status.update(cell(f"{run['name']}: Scheduled ({reason})"))
            self.console.print(Text(f"still Scheduled: {safe(reason)}", style="dark_orange"), highlight=False)


# -- agent ---------------------------------------------------------------------------------------


@cli.group(cls=_Group)
def agent() -> None:
    """Agents claim flow runs from the backend and run them."""


@agent.group("local", cls=_Group)
def agent_local() -> None:
    """The local agent: runs flow runs as processes on this machine."""


@agent_local.command("start")
@click.option("--env", "-e", "env", multiple=True, metavar="KEY=VALUE",
              help="An environment variable for every run (a run config's env wins; repeatable).")
@click.option("--label", "-l", "labels", multiple=True, help="A label of this agent (repeatable).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="How many flow runs at once at most (8 per CPU core by default).")
@click.option("--no-hostname-label", is_flag=True, help="Do not add this host's name to the agent's labels.")
@click.option("--import-path", "-p", "import_paths", multiple=True, type=click.Path(file_okay=False),
              help="A directory put on the runs' PYTHONPATH (repeatable).")
@click.option("--no-scheduler", is_flag=True,
              help="Do not run the scheduler service in this agent (another agent or `scheduler start` does).")
@click.option("--warm", type=click.IntRange(min=0), default=1, show_default=True,
              help="Run processes kept started ahead, so a claimed run starts at once (0: none).")
@click.option("--agent-id", default=None, hidden=True, help="The id to register with (a Jupyter server names its agent).")
@click.option("--managed-by", default=None, hidden=True, help="What started this agent, as its record says.")
def agent_local_start(env: tuple[str, ...], labels: tuple[str, ...], concurrency: int | None,
                      no_hostname_label: bool, import_paths: tuple[str, ...], no_scheduler: bool,
                      warm: int = 1, agent_id: str | None = None, managed_by: str | None = None) -> None:
    """Start a local agent; Ctrl-C stops it and the runs it started."""
    from .agent.local import LocalAgent

    agent_env = parse_env(env)
    console = Console(stderr=True)
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False, markup=False)
        handler.setFormatter(EscapingFormatter())
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(EscapingFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s")))
    agent_logger = logging.getLogger("jupyter_flows.agent")
    agent_logger.addHandler(handler)
    agent_logger.setLevel(config.log_level())
    try:
        local_agent = LocalAgent(labels=labels, env=agent_env, concurrency=concurrency, agent_id=agent_id,
                                 hostname_label=not no_hostname_label, import_paths=import_paths,
                                 scheduler=not no_scheduler, warm=warm)
        local_agent.managed_by = managed_by
        local_agent.start()
    finally:
        agent_logger.removeHandler(handler)


def _add_container_agents() -> None:
    from .agent.container_cli import docker_agent, kubernetes_agent

    agent.add_command(docker_agent)
    agent.add_command(kubernetes_agent)


_add_container_agents()


# -- get -----------------------------------------------------------------------------------------


@cli.group(cls=_Group)
def get() -> None:
    """Show projects, flows, flow runs, task runs and logs (--json for scripts)."""


@get.command("projects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def get_projects(as_json: bool) -> None:
    """List projects."""
    projects = _backend().list_projects()
    if as_json:
        cli_json.echo_records(projects)
        return
    print_table("Projects", ("Name", "Description", "Created", "Id"),
                 ((p["name"], p.get("description"), _time(p.get("created")), p["id"]) for p in projects))


@get.command("flows")
@click.option("--project", default=None, help="Only the flows of this project.")
@click.option("--all-versions", is_flag=True, help="Include archived (older) versions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def get_flows(project: str | None, all_versions: bool, as_json: bool) -> None:
    """List registered flows (latest versions by default)."""
    backend = _backend()
    flows = backend.list_flows(project_name=project, include_archived=all_versions)
    schedules = backend.get_schedules({f["version_group_id"] for f in flows})
    if as_json:
        cli_json.echo_records({**f, "schedule": schedules.get(f["version_group_id"])} for f in flows)
        return
    print_table("Flows", ("Name", "Version", "Project", "Labels", "Schedule", "Next run", "Created", "Id"),
                 ((f["name"], f["version"], f.get("project_name"), ", ".join(f.get("labels") or ()),
                   cli_schedules.describe_schedule_info(schedules.get(f["version_group_id"])),
                   _time((schedules.get(f["version_group_id"]) or {}).get("next_run")),
                   _time(f.get("created")), f["id"]) for f in flows))


@get.command("flow-runs")
@click.option("--project", default=None, help="Only runs of flows in this project.")
@click.option("--flow-id", default=None, help="Only runs of this flow version.")
@click.option("--state", type=click.Choice(RUN_STATES), default=None, help="Only runs in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def get_flow_runs(project: str | None, flow_id: str | None, state: str | None, limit: int, as_json: bool) -> None:
    """List flow runs, newest first, with state, times, output path and why a Scheduled run waits."""
    backend = _backend()
    runs = backend.list_flow_runs(flow_id=flow_id, project_name=project, state=state, limit=limit)
    waiting = backend.waiting_reasons(runs)
    if as_json:
        cli_json.echo_records([{**r, "waiting_reason": waiting.get(r["id"])} for r in runs])
        return
    print_table("Flow runs", ("Name", "Flow", "State", "Waiting", "Created", "Start", "End", "Output", "Id"),
                 ((r["name"], r.get("flow_name"), _state_text(r["state"]), waiting.get(r["id"]) or "",
                   _time(r.get("created")), _time(r.get("start_time")), _time(r.get("end_time")),
                   r.get("output_path"), r["id"]) for r in runs))


get.add_command(cli_commands.get_logs)
get.add_command(cli_commands.get_task_runs)
get.add_command(cli_limits.get_agents)
cli.add_command(cli_limits.concurrency_limit)
cli.add_command(cli_commands.delete)
cli.add_command(cli_commands.archive)
cli.add_command(cli_schedules.schedule)
cli.add_command(cli_schedules.scheduler)
cli.add_command(cli_automations.notify)
cli.add_command(cli_automations.secret)


# -- cancel --------------------------------------------------------------------------------------


@cli.command()
@click.argument("flow_run_id")
def cancel(flow_run_id: str) -> None:
    """Cancel flow run FLOW_RUN_ID; its agent stops its process."""
    run = _backend().cancel_flow_run(flow_run_id)
    click.echo(f"Flow run {run['name']!r} ({run['id']}) is {run['state']}.")


@cli.command()
@click.argument("flow_run_id")
def restart(flow_run_id: str) -> None:
    """Run failed or cancelled flow run FLOW_RUN_ID again: tasks that succeeded keep their results."""
    run = _backend().restart_flow_run(flow_run_id)
    click.echo(f"Flow run {run['name']!r} ({run['id']}) is {run['state']}: an agent reruns what did not succeed.")


@cli.command()
@click.argument("flow_run_id")
def resume(flow_run_id: str) -> None:
    """Approve Paused flow run FLOW_RUN_ID: its manual_only tasks run, what succeeded is kept."""
    run = _backend().resume_flow_run(flow_run_id)
    click.echo(f"Flow run {run['name']!r} ({run['id']}) is {run['state']}: an agent runs the approved tasks "
               "and what follows them.")


# -- demo ----------------------------------------------------------------------------------------


@cli.command()
@click.option("--people", "-p", multiple=True, help="Who to greet (default: Arthur, Ford, Marvin).")
def demo(people: tuple[str, ...]) -> None:
    """Register the tutorial hello-flow, run it with a local agent and watch it."""
    from .demo import run_demo

    if not run_demo(people=list(people) or None, console=_console()):
        sys.exit(1)


if __name__ == "__main__":
    main()
