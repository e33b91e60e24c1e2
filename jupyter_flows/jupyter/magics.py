"""``%load_ext jupyter_flows``: the ``%%flow`` cell magic and the ``%flow`` line magic.

``%%flow NAME`` makes a cell the body of ``with Flow(NAME) as flow:``;
``%flow run|register|submit|config|list|runs|logs|notebook`` act on flows
defined in the notebook or registered in the backend. Each command only
parses its line and calls the public API; errors come out as one line
(``UsageError``) unless ``--debug`` is on the line.
"""

from __future__ import annotations

import keyword
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split
from IPython.display import display

from ..core.flow import Flow
from ..exceptions import NotFoundError
from ..params import executor_from_spec, parse_env, parse_params
from ..run_configs import LocalRun

EXECUTOR_HELP = "local, threads, processes, dask or dask:ADDRESS (e.g. dask:tcp://127.0.0.1:8786)"
COMMANDS = ("run", "register", "submit", "config", "list", "runs", "logs", "notebook", "schedule", "restart",
            "resume")

USAGE = """\
%%flow NAME [--executor E] [--workers N] [--env K=V]... [--label L]... [--as VAR]
    The cell body is the body of `with Flow(NAME) as flow:`; the flow is bound to VAR
    (default: NAME made an identifier, hello-flow -> hello_flow), already while the body runs.

%flow run NAME [--param k=v]... [--executor E] [--workers N] [--env K=V]... [--console] [--restart]
                                 run here with the live run widget; returns the final state
                                 (--restart: rerun only what did not succeed in its last run here)
%flow restart RUN_ID             rerun a failed flow run of the backend: what succeeded is kept
%flow resume RUN_ID              approve a Paused flow run of the backend: its manual_only tasks run
%flow register NAME --project P [--label L]...
                                 register the flow as configured; prints its id and version
%flow submit NAME [--param k=v]... [--label L]... [--project P]
                                 schedule a run of the registered flow for an agent and follow it
%flow config NAME [--project P]  show the configuration form
%flow list [--project P] [--all] registered flows
%flow runs [NAME] [--project P] [--state S] [--limit N]
                                 flow runs, newest first
%flow logs RUN_ID [--limit N]    log lines of a flow run
%flow notebook register PATH --project P [--name N] [--label L]...
                                 register a notebook as a flow
%flow schedule NAME [--cron C | --every D] [--tz ZONE] [--param k=v]... [--pause | --resume] [--project P]
                                 schedule a registered flow (--cron "0 6 * * 1-5", --every 15m),
                                 pause or resume it; without options, show its schedule

Executors: """ + EXECUTOR_HELP + """
Parameter values are JSON when valid JSON (--param n=[4,5]), else text; quote a value with
spaces whole: --param 'people=["Arthur", "Ford"]'.
Add --debug to any line to see the full traceback of an error; `%flow COMMAND --help` for details.
"""


def flow_identifier(name: str) -> str:
    """A Python name for a flow name: ``hello-flow`` -> ``hello_flow``."""
    identifier = re.sub(r"\W", "_", name.strip())
    if not identifier or identifier[0].isdigit():
        identifier = f"_{identifier}"
    if keyword.iskeyword(identifier):
        identifier += "_"
    return identifier


def _wants_help(line: str) -> bool:
    return bool(re.search(r"(^|\s)(-h|--help)(\s|$)", line))


def _pop_debug(line: str) -> tuple[bool, str]:
    tokens = re.split(r"(\s+)", line)
    if "--debug" not in tokens:
        return False, line
    return True, "".join(t for t in tokens if t != "--debug")


# -- argument parsers (one per command; the functions only carry them) ---------------------------


@magic_arguments("%flow")
@argument("name", help="name of the flow, e.g. hello-flow")
@argument("--executor", "-e", help=EXECUTOR_HELP)
@argument("--workers", "-w", type=int, help="pool size (threads, processes) or cluster size (dask)")
@argument("--env", action="append", default=[], metavar="K=V", help="environment variable of the run config")
@argument("--label", action="append", default=[], metavar="L", help="label of the run config")
@argument("--as", dest="var", metavar="VAR", help="variable to bind the flow to")
def _define_args():
    """Define a flow from the cell body, as the body of `with Flow(NAME) as flow:`."""


@magic_arguments("flow run")
@argument("name", help="the flow: its name or the variable holding it")
@argument("--param", "-p", action="append", default=[], metavar="k=v", help="parameter value (JSON or text)")
@argument("--executor", "-e", help=EXECUTOR_HELP + "; the flow's own executor by default")
@argument("--workers", "-w", type=int, help="pool size (threads, processes) or cluster size (dask)")
@argument("--env", action="append", default=[], metavar="K=V",
          help="environment variable set for the duration of the run (on top of the run config's env)")
@argument("--console", action="store_true",
          help="also print every log line under the cell (in a notebook the live widget shows them)")
@argument("--restart", action="store_true",
          help="keep what succeeded in this flow's last run in this kernel and run only the rest")
def _run_args():
    """Run a flow in this kernel, showing the live run widget; returns the final state."""


@magic_arguments("flow register")
@argument("name", help="the flow: its name or the variable holding it")
@argument("--project", required=True, help="project to register in (created if new)")
@argument("--label", action="append", default=[], metavar="L", help="extra label an agent must have")
def _register_args():
    """Register a flow with its current storage, run config and executor."""


@magic_arguments("flow submit")
@argument("name", help="name of the registered flow")
@argument("--param", "-p", action="append", default=[], metavar="k=v", help="parameter value (JSON or text)")
@argument("--label", action="append", default=[], metavar="L", help="label of this run; agents must have it")
@argument("--project", help="project of the flow, when its name is in several projects")
def _submit_args():
    """Schedule a run of a registered flow for an agent and follow it live (the kernel stays free)."""


@magic_arguments("flow config")
@argument("name", help="the flow: its name or the variable holding it")
@argument("--project", help="project preselected for Register / Submit")
def _config_args():
    """Show the configuration form of a flow."""


@magic_arguments("flow list")
@argument("--project", help="only the flows of this project")
@argument("--all", dest="all_versions", action="store_true", help="include archived versions")
def _list_args():
    """List registered flows."""


@magic_arguments("flow runs")
@argument("name", nargs="?", help="only the runs of this flow")
@argument("--project", help="only the runs of this project's flows")
@argument("--state", help="only runs in this state (Scheduled, Submitted, Running, Success, Failed, Cancelled)")
@argument("--limit", type=int, default=20, help="at most this many runs (default 20)")
def _runs_args():
    """List flow runs, newest first."""


@magic_arguments("flow logs")
@argument("run_id", help="id of the flow run")
@argument("--limit", type=int, help="only the first N lines")
def _logs_args():
    """Show the log lines of a flow run."""


@magic_arguments("flow notebook register")
@argument("path", help="the notebook (.ipynb)")
@argument("--project", required=True, help="project to register in (created if new)")
@argument("--name", help="name of the flow (default: the notebook's file name without .ipynb)")
@argument("--label", action="append", default=[], metavar="L", help="extra label an agent must have")
def _notebook_register_args():
    """Register a notebook as a flow (its parameters cell gives the flow's parameters)."""


@magic_arguments("flow restart")
@argument("run_id", help="id of the failed or cancelled flow run")
def _restart_args():
    """Run a failed flow run of the backend again: tasks that succeeded keep their results."""


@magic_arguments("flow resume")
@argument("run_id", help="id of the Paused flow run")
def _resume_args():
    """Approve a flow run of the backend paused for approval: its manual_only tasks run, what succeeded is kept."""


@magic_arguments("flow schedule")
@argument("name", help="name of the registered flow")
@argument("--cron", help='a cron expression, e.g. "0 6 * * 1-5" (06:00 Monday to Friday)')
@argument("--every", help="an interval: 90s, 15m, 2h, 1d")
@argument("--tz", help="time zone of the cron times, e.g. Europe/Berlin (default UTC)")
@argument("--param", "-p", action="append", default=[], metavar="k=v", help="parameter value of the scheduled runs")
@argument("--pause", action="store_true", help="pause the schedule (its runs not yet started are removed)")
@argument("--resume", action="store_true", help="resume a paused schedule")
@argument("--missed-runs", choices=("latest", "all"),
          help="after downtime run only the latest missed time (default) or all of them")
@argument("--project", help="project of the flow, when its name is in several projects")
def _schedule_args():
    """Give a registered flow a schedule, pause or resume it, or show it."""


def _parse(parser_function, line: str):
    """Parse ``line`` with a command's parser, or print the command's help and return None.

    JSON can be typed as is (``--param people=["Arthur","Ford"]``); a value
    with spaces is quoted whole (``--param 'people=["Arthur", "Ford"]'``).
    """
    if _wants_help(line):
        print(parser_function.parser.format_help())
        return None
    return parser_function.parser.parse_args(split_line(line))


def split_line(line: str) -> list[str]:
    """Split a magic line into words, keeping quotes inside a word (JSON's) and removing those around one."""
    words = []
    for word in arg_split(line, posix=False):
        if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
            word = word[1:-1]
        words.append(word)
    return words


@magics_class
class FlowMagics(Magics):
    """The jupyter-flows magics; ``%flow --help`` lists them."""

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.last_view = None
        self.last_follower = None
        self.last_form = None
        self.last_states: dict[int, tuple] = {}  # id(flow): (flow, its last final state here), for --restart

    @line_cell_magic
    def flow(self, line: str, cell: str | None = None):
        """Define (``%%flow NAME``), run, register, submit and inspect flows; ``%flow --help`` for usage."""
        debug, line = _pop_debug(line)
        try:
            if cell is not None:
                return self._define(line, cell)
            command, _, rest = line.strip().partition(" ")
            if command in ("", "-h", "--help", "help"):
                print(USAGE)
                return None
            if command not in COMMANDS:
                raise UsageError(f"unknown %flow command {command!r}; commands: {', '.join(COMMANDS)} "
                                 "(%flow --help for usage)")
            return getattr(self, f"_{command}")(rest)
        except UsageError:
            raise
        except Exception as exc:
            if debug:
                raise
            raise UsageError(f"{type(exc).__name__}: {exc}") from None

    # -- helpers ----------------------------------------------------------------------------------

    @property
    def in_notebook(self) -> bool:
        """Widgets need a kernel front end; a terminal IPython gets text only."""
        return getattr(self.shell, "kernel", None) is not None

    def _flows_in_namespace(self) -> dict[str, Flow]:
        return {var: value for var, value in self.shell.user_ns.items()
                if isinstance(value, Flow) and not var.startswith("_")}

    def find_flow(self, name: str) -> Flow:
        """The flow a magic line names: a variable holding a Flow, or the one Flow of that name."""
        namespace = self.shell.user_ns
        for var in (name, flow_identifier(name)):
            if isinstance(namespace.get(var), Flow):
                return namespace[var]
        flows = self._flows_in_namespace()
        named = {id(f): f for f in flows.values() if f.name == name}
        if len(named) == 1:
            return next(iter(named.values()))
        if named:
            holders = ", ".join(sorted(var for var, f in flows.items() if f.name == name))
            raise UsageError(f"several different flows are named {name!r} (variables {holders}); "
                             "give the variable name instead")
        defined = ", ".join(sorted(f"{f.name} ({var})" for var, f in flows.items())) or "none"
        raise UsageError(f"no flow named {name!r} in this notebook; flows defined here: {defined}")

    def _backend(self):
        from ..backend import Backend

        return Backend()

    # -- %%flow ------------------------------------------------------------------------------------

    def _define(self, line: str, cell: str):
        args = _parse(_define_args, line)
        if args is None:
            return None
        var = args.var or flow_identifier(args.name)
        if not var.isidentifier() or keyword.iskeyword(var):
            raise UsageError(f"--as needs a Python variable name, got {var!r}")
        if args.workers is not None and args.executor is None:
            raise UsageError("--workers needs --executor threads, processes or dask")
        flow = Flow(args.name)
        executor = executor_from_spec(args.executor, args.workers)
        if executor is not None:
            flow.executor = executor
        if args.env or args.label:
            flow.run_config = LocalRun(env=parse_env(args.env), labels=args.label)
        namespace = self.shell.user_ns
        missing = object()
        previous = namespace.get(var, missing)
        namespace[var] = flow
        with flow:
            # silent: like the body of a `with` block, a last expression is not displayed;
            # a traceback in the body is shown as for any cell.
            result = self.shell.run_cell(cell, silent=True)
        if not result.success:
            if previous is missing:
                namespace.pop(var, None)
            else:
                namespace[var] = previous
            error = result.error_in_exec or result.error_before_exec
            raise UsageError(f"flow {args.name!r} was not defined: its cell raised {type(error).__name__}")
        return None

    # -- %flow run ---------------------------------------------------------------------------------

    def _run(self, line: str):
        from .run_here import quiet_console, run_here
        from .widgets.run_view import RunView

        args = _parse(_run_args, line)
        if args is None:
            return None
        flow = self.find_flow(args.name)
        if args.workers is not None and args.executor is None:
            raise UsageError("--workers needs --executor threads, processes or dask")
        parameters = parse_params(args.param)
        executor = executor_from_spec(args.executor, args.workers)
        env = parse_env(args.env)
        restart_from = self._last_state(flow) if args.restart else None
        view = self.last_view = RunView()
        if not self.in_notebook or args.console:
            state = run_here(flow, parameters, executor=executor, env=env, listeners=[view], restart_from=restart_from)
        else:
            display(view)
            with quiet_console():
                state = run_here(flow, parameters, executor=executor, env=env, listeners=[view],
                                 restart_from=restart_from)
        self.last_states[id(flow)] = (flow, state)
        return state

    def _last_state(self, flow: Flow):
        kept = self.last_states.get(id(flow))
        if kept is None or kept[0] is not flow:
            raise UsageError(f"flow {flow.name!r} has not run in this kernel yet: run it with %flow run "
                             f"{flow.name} first, then --restart reruns what did not succeed")
        return kept[1]

    # -- %flow restart -----------------------------------------------------------------------------

    def _restart(self, line: str):
        from ..backend import Client

        args = _parse(_restart_args, line)
        if args is None:
            return None
        backend = self._backend()
        Client(backend=backend).restart_flow_run(args.run_id)
        return self._follow_again(args.run_id, backend, f"Restarted flow run {args.run_id}: an agent reruns "
                                                        "what did not succeed")

    # -- %flow resume ------------------------------------------------------------------------------

    def _resume(self, line: str):
        from ..backend import Client

        args = _parse(_resume_args, line)
        if args is None:
            return None
        backend = self._backend()
        Client(backend=backend).resume_flow_run(args.run_id)
        return self._follow_again(args.run_id, backend, f"Resumed flow run {args.run_id}: an agent runs the "
                                                        "approved tasks and what follows them")

    def _follow_again(self, run_id: str, backend, done: str) -> str:
        """Follow a run just scheduled again (restarted, resumed): the live widget in a notebook, else a line."""
        from .widgets.follower import follow
        from .widgets.run_view import RunView

        view = self.last_view = RunView()
        self.last_follower = follow(run_id, view=view, backend=backend)
        if self.in_notebook:
            display(view)
        else:
            print(f"{done}; %flow logs {run_id} shows its log lines.")
        return run_id

    # -- %flow register / notebook register -------------------------------------------------------

    def _register(self, line: str):
        args = _parse(_register_args, line)
        if args is None:
            return None
        flow = self.find_flow(args.name)
        self._register_flow(flow, args.project, args.label)
        return None

    def _register_flow(self, flow: Flow, project: str, labels: list[str]) -> str:
        backend = self._backend()
        backend.create_project(project)
        flow_id = flow.register(project_name=project, labels=labels or None)
        registered = backend.get_flow(flow_id)
        print(f"Registered flow {flow.name!r} version {registered['version']} in project {project!r} "
              f"(flow id {flow_id}).")
        return flow_id

    def _notebook(self, line: str):
        subcommand, _, rest = line.strip().partition(" ")
        if subcommand in ("", "-h", "--help"):
            print(_notebook_register_args.parser.format_help())
            return None
        if subcommand != "register":
            raise UsageError(f"unknown %flow notebook command {subcommand!r}; use: %flow notebook register PATH "
                             "--project P [--name N]")
        args = _parse(_notebook_register_args, rest)
        if args is None:
            return None
        from pathlib import Path

        from ..storage.notebook import Notebook

        name = args.name or Path(args.path).stem
        flow = Flow(name, storage=Notebook(args.path))
        self._register_flow(flow, args.project, args.label)
        return None

    # -- %flow submit -------------------------------------------------------------------------------

    def _submit(self, line: str):
        from ..backend import Client
        from .widgets.follower import follow
        from .widgets.run_view import RunView

        args = _parse(_submit_args, line)
        if args is None:
            return None
        backend = self._backend()
        parameters = parse_params(args.param)
        try:
            registered = backend.get_flow_by_name(args.name, project_name=args.project)
        except NotFoundError as exc:
            raise UsageError(f"{exc}. Register it first: %flow register {args.name} --project PROJECT") from None
        flow_run_id = Client(backend=backend).create_flow_run(flow_id=registered["id"], parameters=parameters,
                                                              labels=args.label or None)
        view = self.last_view = RunView()
        self.last_follower = follow(flow_run_id, view=view, backend=backend)
        if self.in_notebook:
            display(view)
        else:
            print(f"Submitted flow run {flow_run_id} of flow {registered['name']!r} version "
                  f"{registered['version']}; %flow logs {flow_run_id} shows its log lines.")
        return flow_run_id

    # -- %flow config -------------------------------------------------------------------------------

    def _config(self, line: str):
        from .widgets.config_form import ConfigForm

        args = _parse(_config_args, line)
        if args is None:
            return None
        form = self.last_form = ConfigForm(self.find_flow(args.name), project_name=args.project)
        if self.in_notebook:
            display(form)
        else:
            print("the configuration form needs a notebook front end (JupyterLab, Notebook, VS Code)")
        return None

    # -- %flow list / runs / logs -------------------------------------------------------------------

    def _list(self, line: str):
        from .widgets.tables import flows_table

        args = _parse(_list_args, line)
        if args is None:
            return None
        display(flows_table(self._backend().list_flows(project_name=args.project,
                                                       include_archived=args.all_versions)))
        return None

    def _runs(self, line: str):
        from .widgets.tables import flow_runs_table

        args = _parse(_runs_args, line)
        if args is None:
            return None
        if args.limit < 1:
            raise UsageError(f"--limit must be at least 1, got {args.limit}")
        backend = self._backend()
        if args.name:
            runs = [r for r in backend.list_flow_runs(project_name=args.project, state=args.state, limit=None)
                    if r["flow_name"] == args.name][:args.limit]
        else:
            runs = backend.list_flow_runs(project_name=args.project, state=args.state, limit=args.limit)
        display(flow_runs_table(runs))
        return None

    def _logs(self, line: str):
        from .widgets.tables import logs_table

        args = _parse(_logs_args, line)
        if args is None:
            return None
        backend = self._backend()
        run = backend.get_flow_run(args.run_id)
        logs = backend.get_logs(args.run_id, limit=args.limit)
        display(logs_table(logs, title=f"Logs of flow run {run['name']} ({run['flow_name']}, {run['state']})"))
        return None

    # -- %flow schedule ----------------------------------------------------------------------------

    def _schedule(self, line: str):
        from ..schedules.parse import schedule_from_options

        args = _parse(_schedule_args, line)
        if args is None:
            return None
        backend = self._backend()
        registered = backend.get_flow_by_name(args.name, project_name=args.project)
        if args.pause or args.resume:
            if args.pause and args.resume:
                raise UsageError("give --pause or --resume, not both")
            info = (backend.pause_schedule if args.pause else backend.resume_schedule)(registered["id"])
        elif args.cron is not None or args.every is not None:
            schedule = schedule_from_options(args.cron, args.every, args.tz, parse_params(args.param) or None)
            info = backend.set_schedule(registered["id"], schedule.to_dict(), args.missed_runs)
        else:
            info = backend.get_schedule(registered["id"])
            if args.missed_runs and info is not None:
                info = backend.set_schedule(registered["id"], info["schedule"], args.missed_runs)
        print(_schedule_line(args.name, info))
        return info


def _schedule_line(name: str, info: dict | None) -> str:
    if info is None:
        return f"Flow {name!r} has no schedule."
    if info["paused"]:
        return f"Flow {name!r} runs {info['description']}; paused."
    from datetime import datetime

    upcoming = datetime.fromtimestamp(info["next_run"]).astimezone().isoformat(timespec="seconds")
    return f"Flow {name!r} runs {info['description']}; next run at {upcoming} (this machine's time)."


def load_ipython_extension(ipython) -> None:
    """Register the magics with ``ipython`` (what ``%load_ext jupyter_flows`` calls)."""
    ipython.register_magics(FlowMagics)
