"""Run one registered flow run, by id, in this process.

This is what an agent's subprocess does (``python -m jupyter_flows.agent.execute
RUN_ID``) and what ``jupyter-flows run --execute`` does without an agent. The
flow run and its flow are read from the backend; storage, run config and
executor are rebuilt from their stored forms; the flow is loaded from its
storage and run with a :class:`~jupyter_flows.backend.BackendRecorder`
listening, while a background thread keeps the run's heartbeat fresh so that
agents can tell a live run from a lost one.
"""

from __future__ import annotations

import _thread
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Iterator

from .. import config
from ..engine.events import RunListener
from ..exceptions import ConfigurationError, JupyterFlowsError

log = logging.getLogger("jupyter_flows.agent")

#: Flow run states after which nothing runs any more (a Paused run waits for a person to resume it).
FINAL_STATES = frozenset({"Success", "Failed", "Cancelled", "Paused"})
#: The states of a run that never started: its task runs are all still to come.
_NEW_RUN_STATES = frozenset({"Scheduled", "Submitted"})


class LockedListener(RunListener):
    """Passes events to a listener under a lock, so that another thread may call its ``flush``.

    The recorder writes what it buffered when an event comes; during a long
    task no event comes, so the heartbeat thread flushes it (log lines of
    tasks that already finished then reach the backend, and survive a crash).
    """

    def __init__(self, listener):
        self.listener = listener
        self.lock = threading.Lock()

    @property
    def final_state(self) -> str | None:
        """The final state the recorder wrote, if it got that far."""
        return getattr(self.listener, "final_state", None)

    @property
    def log_stream(self):
        """The recorder's live log stream (task runs write to it themselves, without the lock)."""
        return getattr(self.listener, "log_stream", None)

    def flow_run_started(self, flow, flow_run_id, parameters):
        with self.lock:
            self.listener.flow_run_started(flow, flow_run_id, parameters)

    def task_mapped(self, task_slug, task_name, n_children):
        with self.lock:
            self.listener.task_mapped(task_slug, task_name, n_children)

    def task_run_started(self, task_slug, task_name, map_index):
        with self.lock:
            self.listener.task_run_started(task_slug, task_name, map_index)

    def task_run_finished(self, run):
        with self.lock:
            self.listener.task_run_finished(run)

    def log(self, entry):
        with self.lock:
            self.listener.log(entry)

    def flow_run_finished(self, state):
        with self.lock:
            self.listener.flow_run_finished(state)

    def flush(self) -> None:
        with self.lock:
            self.listener.flush()


class Heartbeat:
    """Calls ``backend.heartbeat(run_id)`` every ``interval`` seconds from a daemon thread.

    After each beat it calls ``flush`` when given (see :class:`LockedListener`).

    With ``watch_cancel=True`` (only from the main thread) it interrupts the
    main thread when the heartbeat's answer says someone cancelled the run, so
    that the flow runner stops and records ``Cancelled`` even without an agent.
    """

    def __init__(self, backend, flow_run_id: str, interval: float | None = None, watch_cancel: bool = False,
                 flush=None):
        self.backend = backend
        self.flush = flush
        self.flow_run_id = flow_run_id
        self.interval = config.heartbeat_interval() if interval is None else interval
        self.watch_cancel = watch_cancel and threading.current_thread() is threading.main_thread()
        self.cancelled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{flow_run_id[:8]}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 1)

    def _beat(self) -> None:
        # The claim and the Running state set the heartbeat: the first beat is due an interval from now
        # (a short run then writes no beat at all, and its start does not wait behind one).
        while not self._stop.wait(self.interval):
            try:
                state = self.backend.heartbeat(self.flow_run_id)["state"]
                # Cancelled by a user, or Failed as lost (this process was paused past the heartbeat
                # timeout and the run was taken from it): stop either way, it is no longer ours to run.
                if self.watch_cancel and state in ("Cancelled", "Failed") and not self.cancelled:
                    self.cancelled = True
                    _interrupt_main_thread()
                if self.flush is not None:
                    self.flush()
            except Exception as exc:  # a busy or unreachable backend must not kill the run
                log.warning("heartbeat of flow run %s failed: %s", self.flow_run_id, exc)


def _interrupt_main_thread() -> None:
    """Raise KeyboardInterrupt in the main thread, even while it sleeps or waits in a task.

    ``_thread.interrupt_main`` alone only takes effect when the main thread
    next runs Python code; a real SIGINT sent to the main thread also cuts
    short the system call it is blocked in. That is safe only when SIGINT
    has a Python handler (it has, unless someone ignored it).
    """
    if callable(signal.getsignal(signal.SIGINT)):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    else:
        _thread.interrupt_main()


def load_flow(flow_record: dict):
    """The storage and the :class:`~jupyter_flows.Flow` of a registered flow, loaded from its storage."""
    from ..storage import storage_from_dict

    storage = storage_from_dict(flow_record["storage"])
    return storage, storage.get_flow(flow_record["location"])


@contextlib.contextmanager
def run_config_applied(run_config_dict: dict | None) -> Iterator[None]:
    """This process's environment and current directory set as the run config says, then restored."""
    from ..run_configs import run_config_from_dict
    from .launch import check_working_dir

    run_config = run_config_from_dict(run_config_dict)
    cwd = check_working_dir(getattr(run_config, "working_dir", None))
    saved_env = {name: os.environ.get(name) for name in run_config.env}
    saved_cwd = os.getcwd()
    os.environ.update(run_config.env)
    if cwd:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class OutputPathReporter(RunListener):
    """Records the run's output notebook path while it runs, and keeps it only if the notebook was written.

    Set as the run starts, so that a reader can open the notebook as it
    fills; taken back as it ends when no notebook was written (the run failed
    before its kernel started), before the recorder writes the final state,
    so that no finished run points at a file that does not exist.
    """

    def __init__(self, backend, path: str):
        self.backend = backend
        self.path = path
        self.flow_run_id: str | None = None

    def flow_run_started(self, flow, flow_run_id, parameters):
        self.flow_run_id = flow_run_id
        self.backend.set_flow_run_output_path(flow_run_id, self.path)

    def flow_run_finished(self, state):
        if not os.path.exists(self.path):
            self.backend.set_flow_run_output_path(self.flow_run_id, None)


def execute_flow_run(flow_run_id: str, backend=None, apply_run_config: bool = False) -> str:
    """Run the flow run ``flow_run_id`` here and return the name of its final state.

    An agent has already given the run's process the run config's ``env`` and
    ``working_dir``; ``apply_run_config=True`` (``run --execute``) sets them
    in this process for the duration of the run, so the run sees what it
    would under an agent.

    Every outcome is recorded in the backend: a flow that cannot be loaded (its
    file was deleted, its module is not importable) or a run that cannot start
    (a parameter the flow no longer declares) ends ``Failed`` with a message
    saying what was wrong; Ctrl-C (or the run being cancelled) ends it
    ``Cancelled``. A run that is already over is left alone.

    >>> execute_flow_run(run["id"])  # doctest: +SKIP
    'Success'
    """
    from ..backend import Backend, BackendRecorder
    from ..executors import executor_from_dict

    backend = backend or Backend(create=False)  # a run id needs its database: never make a fresh one
    run = backend.get_flow_run(flow_run_id)
    if run["state"] in FINAL_STATES:
        log.info("flow run %s is already %s; nothing to do", flow_run_id, run["state"])
        return run["state"]
    try:
        config.check()
    except ConfigurationError as exc:  # fail the run with the reason rather than leave it Submitted
        return _fail(backend, flow_run_id, f"the flow run's process cannot start: {exc}")
    recorder = LockedListener(BackendRecorder(backend, flow_id=run["flow_id"], flow_run=run))
    heartbeat = Heartbeat(backend, flow_run_id, watch_cancel=True, flush=recorder.flush)
    try:
        with heartbeat, contextlib.ExitStack() as stack:
            flow_record = backend.get_flow(run["flow_id"])
            if apply_run_config:
                stack.enter_context(run_config_applied(run.get("run_config") or flow_record.get("run_config")))
            try:
                storage, flow = load_flow(flow_record)
            except Exception as exc:
                return _fail(backend, flow_run_id, f"could not load flow {flow_record['name']!r} from its "
                                                   f"storage: {_describe(exc)}")
            output_path = storage.output_path(flow_run_id)
            listeners = [OutputPathReporter(backend, output_path)] if output_path else []
            try:
                executor = executor_from_dict(flow_record.get("executor"))
                # a restarted or resumed run has task runs already: those that succeeded are kept
                recorded = backend.get_task_runs(flow_run_id) if _ran_before(run) else []
                state = flow.run(parameters=run.get("parameters") or {}, executor=executor,
                                 listeners=[*listeners, recorder], flow_run_id=flow_run_id,
                                 context={"flow_run_name": run.get("name") or flow_run_id,
                                          "limit_gate": _limit_gate(backend, flow_run_id, flow)},
                                 checkpoint=config.agent_checkpointing(), restart_from=recorded or None,
                                 task_states=_approved(flow, recorded))
            except JupyterFlowsError as exc:
                return _fail(backend, flow_run_id, _describe(exc))
    except KeyboardInterrupt:
        reason = "cancelled" if heartbeat.cancelled else "interrupted (Ctrl-C or SIGTERM)"
        return _ensure_final(backend, flow_run_id, "Cancelled", f"flow run {reason} before it ended")
    except JupyterFlowsError as exc:
        return _fail(backend, flow_run_id, str(exc))
    except Exception as exc:
        return _fail(backend, flow_run_id, f"flow run crashed: {_describe(exc)}")
    if not state.is_finished():  # tasks wait for approval: the recorder wrote Paused, a resume may follow at once
        return "Paused"
    if recorder.final_state is not None:  # recorded as the run ended: no need to read it back
        return recorder.final_state
    return _ensure_final(backend, flow_run_id, state.name if state.name in FINAL_STATES else "Failed",
                         state.message)


def _ran_before(run: dict) -> bool:
    """Whether the run's history goes past its first claim (only then may it have task runs to read)."""
    return any(state["state"] not in _NEW_RUN_STATES for state in run["states"])


def _limit_gate(backend, flow_run_id: str, flow):
    """The run's concurrency-limit gate, its limited tags read now when the flow has tagged tasks.

    Read here, the copy travels fresh with the tasks to process and dask workers.
    """
    from ..backend.limit_gate import TaskLimitGate

    gate = TaskLimitGate(backend, flow_run_id)
    if any(task.tags for task in flow.tasks):
        gate.limited(())
    return gate


def _approved(flow, recorded: list[dict]) -> dict | None:
    """``{task: Resume()}`` for the paused tasks a resume approved (recorded as Resume), so that they run."""
    slugs = {record["task_slug"] for record in recorded if record["state"] == "Resume"}
    if not slugs:
        return None
    from ..engine.state import Resume

    return {task: Resume() for task, slug in flow.slugs.items() if slug in slugs}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, JupyterFlowsError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _fail(backend, flow_run_id: str, message: str) -> str:
    log.error("flow run %s failed: %s", flow_run_id, message)
    return _ensure_final(backend, flow_run_id, "Failed", message)


def _ensure_final(backend, flow_run_id: str, state: str, message: str | None) -> str:
    """Record ``state`` unless the run already ended (the recorder, or a cancel, got there first)."""
    current = backend.get_flow_run(flow_run_id)["state"]
    if current in FINAL_STATES:
        return current
    backend.set_flow_run_state(flow_run_id, state, message)
    return state


def _interrupt_once(signum, frame) -> None:
    """SIGTERM/SIGINT: stop the flow run like Ctrl-C, once; the cleanup that follows is not interrupted."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of an agent's flow run process; the exit code says whether the run succeeded."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m jupyter_flows.agent.execute FLOW_RUN_ID", file=sys.stderr)
        return 2
    install_interrupt_handlers()
    return run_and_exit_code(args[0])


def install_interrupt_handlers() -> None:
    """SIGTERM and SIGINT stop the run like Ctrl-C (a run process's, or a warm process's given a run)."""
    signal.signal(signal.SIGTERM, _interrupt_once)
    signal.signal(signal.SIGINT, _interrupt_once)


def run_and_exit_code(flow_run_id: str, backend=None) -> int:
    """Run the flow run here; the exit code of its process (0 when it succeeded)."""
    try:
        state = execute_flow_run(flow_run_id, backend)
    except ConfigurationError as exc:  # a setting so bad that the backend cannot even be found
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except JupyterFlowsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if state == "Success" else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip joining worker threads still stuck in an interrupted task: the run's state is recorded.
    os._exit(code)
