"""The local agent: runs registered flow runs as processes on this machine.

One loop, one thread. Each turn it reaps the run processes that ended (a
process that exits before its run reached a final state fails the run with its
exit code), stops the processes of runs cancelled in the backend, keeps the
heartbeat of the runs it owns fresh, fails runs whose agent went away (their
heartbeat is older than two intervals), and claims new runs up to
``concurrency``. Claims are atomic in the backend, so any number of agents
may poll the same backend without running a flow run twice.

Stopping the agent (Ctrl-C, SIGTERM, :meth:`LocalAgent.stop`) stops the loop,
stops the run processes (they record ``Cancelled`` themselves when they can)
and fails any run left unfinished, so that no run stays ``Running``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Iterable, Mapping

from .. import config
from ..exceptions import BackendError, BackendGoneError, JupyterFlowsError, NotFoundError
from ..run_configs import run_config_from_dict, validate_env
from ..run_configs.base import validate_labels
from .execute import FINAL_STATES
from .launch import (TERMINATE_GRACE_S, build_env, check_working_dir, signal_group, start_run_process)
from .wakeup import Wakeup
from .warm import WarmPool

log = logging.getLogger("jupyter_flows.agent")

#: Seconds between the polls of an agent that runs nothing and is woken by new runs (see agent/wakeup.py).
IDLE_POLL_S = 1.0
#: Flows whose run config and kernel an agent remembers (read again after that many).
_FLOWS_REMEMBERED = 1000


def default_concurrency() -> int:
    """Runs at once of an agent given no ``concurrency``: 8 per CPU core.

    Enough to keep the cores busy while runs wait on I/O; few enough that a
    burst of a thousand runs queues in the backend instead of starting a
    thousand processes at once.
    """
    return 8 * (os.cpu_count() or 1)


class _Child:
    """A flow run process the agent started and watches."""

    __slots__ = ("run_id", "name", "process", "log_path", "stop_deadline", "stop_reason")

    def __init__(self, run_id: str, name: str, process, log_path: Path):
        self.run_id = run_id
        self.name = name
        self.process = process
        self.log_path = log_path
        self.stop_deadline: float | None = None
        self.stop_reason: str | None = None


class LocalAgent:
    """Polls a backend and runs the flow runs it may run as local processes.

    ``labels`` (plus the host name, unless ``hostname_label=False``) decide
    which runs it picks: those whose labels it all has. ``env`` is added to
    the environment of every run (a run config's ``env`` wins over it);
    ``import_paths`` go in front of the runs' ``PYTHONPATH``; at most
    ``concurrency`` runs go at once (:func:`default_concurrency` when ``None``).

    >>> LocalAgent(labels=["gpu"], env={"GREETING": "Hello"}, concurrency=2).start()  # doctest: +SKIP

    Other agents reuse this loop: they say which run configs they run
    (``run_config_types``) and override :meth:`_start_run` and :meth:`_signal`
    (start one run, signal it), and :meth:`_settle` to clean up after it.
    """

    #: The kind of agent, as its record in the backend says.
    agent_kind = "local"
    #: The run configs whose runs this agent claims.
    run_config_types: tuple[str, ...] = ("UniversalRun", "LocalRun")

    def __init__(self, backend=None, labels: Iterable[str] | None = None, env: Mapping[str, str] | None = None,
                 concurrency: int | None = None, hostname_label: bool = True,
                 import_paths: Iterable[str] = (), agent_id: str | None = None,
                 poll_interval: float | None = None, heartbeat_interval: float | None = None,
                 scheduler: bool = True, warm: int = 0):
        from ..backend import Backend
        from ..exceptions import ConfigurationError

        config.check()  # a bad JUPYTER_FLOWS_* setting stops the agent before it claims anything
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise ConfigurationError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
        if not isinstance(warm, int) or warm < 0:
            raise ConfigurationError(f"warm must be a whole number >= 0 (0: no warm run processes), got {warm!r}")
        self.backend = backend or Backend()
        self.labels = validate_labels(list(labels or ()) + ([socket.gethostname()] if hostname_label else []))
        self.env = validate_env(dict(env or {}))
        self.concurrency = default_concurrency() if concurrency is None else concurrency
        self.import_paths = [os.fspath(p) for p in import_paths]
        for path in self.import_paths:
            if not Path(path).is_dir():
                raise ConfigurationError(f"--import-path {path!r} is not a directory")
        self.agent_id = agent_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.poll_interval = config.agent_poll_interval() if poll_interval is None else poll_interval
        self.heartbeat_interval = config.heartbeat_interval() if heartbeat_interval is None else heartbeat_interval
        self.children: dict[str, _Child] = {}
        self._stop = threading.Event()
        self._stop_reason = "stopped"
        self._last_beat = 0.0
        self._last_sweep = 0.0
        self._heard = 0.0  # when this agent's last beat reached the backend (monotonic)
        self._unheard_until = 0.0  # end of this agent's last gap between beats longer than an interval
        self._unreleased: dict[str, str] = {}  # run id: why this agent gives its claim back
        self._wakeup = Wakeup(self.backend.url)  # started with the loop (see start)
        # The agent's beat also keeps the runs it holds alive: often enough for the stale threshold
        # (two heartbeat intervals), at most about once a second.
        self._beat_interval = min(1.0, self.heartbeat_interval / 2)
        #: What started this agent (e.g. a Jupyter server), recorded with it; ``None``: a user did.
        self.managed_by: str | None = None
        # the scheduler service in a thread (see agent/scheduler.py); scheduler=False leaves it to others
        self.scheduler = scheduler
        # the run template and its ready run processes (see agent/warm.py), with the environment runs get here
        self.warm_pool = WarmPool(warm, build_env(os.environ, self.env, None, self.import_paths, self.backend.url),
                                  on_exit=lambda: self._wakeup.wake())  # a slot came free: reap, claim the next
        # flow id: (its run config, the kernel of its notebook or None); a flow version never changes
        self._flows: dict[str, tuple[dict | None, str | None]] = {}

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Poll until stopped; on the main thread, Ctrl-C and SIGTERM stop the agent cleanly."""
        restore = self._handle_signals()
        scheduler = self._start_scheduler()
        log.info("agent %s started with labels %s; polling %s every %ss", self.agent_id,
                 self.labels, self.backend.url, self.poll_interval)
        # Heard regularly from now on only: an agent that just started judges no other agent yet (its first
        # sweep could otherwise be decided just before a machine-wide stall and done just after it).
        self._unheard_until = time.monotonic()
        try:
            self._register()
        except BackendError as exc:  # the first beat registers it again
            log.warning("agent %s could not register with the backend: %s", self.agent_id, exc)
        stop_beating = self._start_beating()
        self._wakeup = Wakeup(self.backend.url).start()  # a new run ends the wait between polls early
        try:
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except BackendGoneError:
                    raise  # polling a database nobody else sees would strand every new run
                except BackendError as exc:  # a busy or briefly unreachable backend: try again next turn
                    log.warning("agent %s could not poll the backend: %s", self.agent_id, exc)
                self._wakeup.wait(self._idle_wait())
        finally:
            self._wakeup.close()
            stop_beating()
            if scheduler is not None:
                scheduler.stop()
            self.shutdown(self._stop_reason)
            self._close_warm_pool()
            self._record_stopped()
            restore()
        log.info("agent %s stopped", self.agent_id)

    def _idle_wait(self) -> float:
        """Seconds until the next poll: longer while nothing runs and new runs wake the agent anyway.

        (Runs whose scheduled time comes, or that wait for a concurrency slot, are not announced:
        an idle agent still finds them within :data:`IDLE_POLL_S`.)
        """
        if self.children or not self._wakeup.watching:
            return self.poll_interval
        return max(self.poll_interval, IDLE_POLL_S)

    def _start_scheduler(self):
        if not self.scheduler:
            return None
        from .scheduler import Scheduler

        return Scheduler(self.backend).start_in_thread()

    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to end (from another thread or a signal handler)."""
        self._stop_reason = reason
        self._stop.set()
        self._wakeup.wake()

    def poll_once(self) -> None:
        """One turn of the loop: reap, stop cancelled, heartbeat, sweep, claim."""
        self._reap()
        self._stop_cancelled()
        self._beat()
        self._release_claims()
        self._refill_warm_pool()
        now = time.monotonic()
        if now - self._last_sweep >= self.heartbeat_interval and self._heard_regularly(now):
            self._last_sweep = now
            self._sweep_lost_runs()
        while not self._stop.is_set() and len(self.children) < self.concurrency:
            run = self.backend.claim_flow_run(self.agent_id, self.labels, self.run_config_types)
            if run is None:
                break
            if not self._launch(run):
                break  # the next turn claims again: a machine in trouble does not spin on claims
            self._beat()  # a long turn of claims must not let the runs claimed first look lost

    # -- launching -----------------------------------------------------------------------------

    def _refill_warm_pool(self) -> None:
        self.warm_pool.refill()

    def _flow_facts(self, flow_id: str) -> tuple[dict | None, str | None]:
        """The flow's run config and its notebook's kernel (``None``: not a notebook), read once per flow."""
        if flow_id not in self._flows:
            if len(self._flows) >= _FLOWS_REMEMBERED:  # an agent that runs for months stays small
                self._flows.clear()
            flow = self.backend.get_flow(flow_id)
            storage = flow.get("storage") or {}
            kernel = (storage.get("kernel_name") or "python3") if storage.get("type") == "Notebook" else None
            self._flows[flow_id] = (flow.get("run_config"), kernel)
        return self._flows[flow_id]

    def _note_notebook_kernel(self, run: dict) -> None:
        """Ready run processes start a kernel ahead once this agent runs notebook flows."""
        kernel = self._flow_facts(run["flow_id"])[1] if self.warm_pool.size else None
        if kernel:
            self.warm_pool.note_kernel(kernel)

    def _close_warm_pool(self) -> None:
        if self.warm_pool.template is not None:
            log.info("agent %s: stopping its run template and %d ready run process(es), holding %.0f MB while idle",
                     self.agent_id, self.warm_pool.ready, self.warm_pool.idle_memory() / 2**20)
        self.warm_pool.close()

    def _launch(self, run: dict) -> bool:
        """Start the run's process; ``False`` when this machine could not and released the run."""
        run_id = run["id"]
        try:
            # A run without its own run config uses its flow's.
            run_config = run_config_from_dict(run.get("run_config") or self._flow_facts(run["flow_id"])[0])
            process, log_path = self._start_run(run, run_config)
        except JupyterFlowsError as exc:  # the run's own configuration: no agent could start it
            message = f"agent {self.agent_id} could not start the flow run: {exc}"
            log.error("flow run %s (%s): %s", run.get("name"), run_id, message)
            self.backend.set_flow_run_state(run_id, "Failed", message)
            return True
        except OSError as exc:  # this machine's trouble (no process, no disk space): another try may work
            log.error("flow run %s (%s): could not start its process (%s); releasing it", run.get("name"), run_id, exc)
            self._unreleased[run_id] = f"could not start its process: {exc}"
            self._release_claims()
            return False
        self.children[run_id] = _Child(run_id, run.get("name") or run_id, process, log_path)
        return True

    def _release_claims(self) -> None:
        """Release the claims this agent could not start; kept until the backend takes the release.

        (A full disk may refuse the release too: the run must not stay Submitted.)
        """
        for run_id, reason in list(self._unreleased.items()):
            self.backend.release_flow_run(run_id, self.agent_id, reason)
            del self._unreleased[run_id]

    def _start_run(self, run: dict, run_config) -> tuple:
        """Start the process of one run; returns it (``poll()``, ``wait()``) and the file of its output."""
        run_id = run["id"]
        cwd = check_working_dir(getattr(run_config, "working_dir", None))
        env = build_env(os.environ, self.env, run_config.env, self.import_paths, self.backend.url)
        config.check(env)  # the run's process would stop on a bad setting: say so now
        log_path = config.runs_dir() / run_id / "process.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._note_notebook_kernel(run)
        process = self.warm_pool.take(run_id, env, run_config.env, cwd, log_path)
        if process is None:
            with open(log_path, "ab") as out:
                process = start_run_process(run_id, env, cwd=cwd, stdout=out, stderr=out)
        log.info("started flow run %s (%s) as process %s", run.get("name"), run_id, process.pid)
        return process, log_path

    def _signal(self, child: _Child, signum: int) -> None:
        """Send ``signum`` to what runs ``child`` (here: its process group)."""
        signal_group(child.process, signum)

    # -- watching ------------------------------------------------------------------------------

    def _reap(self) -> None:
        for child in list(self.children.values()):
            code = child.process.poll()
            if code is None:
                continue
            del self.children[child.run_id]
            self._signal(child, signal.SIGKILL)  # anything the run left behind in its group
            self._settle(child, code)

    def _settle(self, child: _Child, code: int) -> None:
        """Make sure the run of an ended process is in a final state, and say how it ended."""
        run = self.backend.get_flow_run(child.run_id)
        # A run restarted or resumed since its process recorded the end (Scheduled again, or claimed by
        # another agent) is a new attempt: this process's exit says nothing about it.
        rescheduled = run["state"] == "Scheduled" or run["agent_id"] not in (None, self.agent_id)
        if run["state"] not in FINAL_STATES and not rescheduled:
            message = child.stop_reason or f"flow run process {_exit_description(code)} before the run ended"
            tail = _last_line(child.log_path)
            if tail and not child.stop_reason:
                message += f"; its last output: {tail}"
            self.backend.set_flow_run_state(child.run_id, "Failed", message)
            run["state"] = "Failed"
        log.info("flow run %s (%s) ended %s", child.name, child.run_id, run["state"])

    def _stop_cancelled(self) -> None:
        now = time.monotonic()
        # one query for all the runs, each poll (not one per run)
        states = self.backend.flow_run_states(c.run_id for c in self.children.values() if c.stop_deadline is None)
        for child in self.children.values():
            if child.stop_deadline is None:
                if states.get(child.run_id) == "Cancelled":
                    log.info("flow run %s (%s) was cancelled; stopping its process", child.name, child.run_id)
                    self._terminate(child, "cancelled")
            elif now >= child.stop_deadline and child.process.poll() is None:
                self._signal(child, signal.SIGKILL)

    def _terminate(self, child: _Child, reason: str, grace: float = TERMINATE_GRACE_S) -> None:
        child.stop_reason = reason
        child.stop_deadline = time.monotonic() + grace
        self._signal(child, signal.SIGTERM)

    # -- the agent's record ----------------------------------------------------------------------

    def _register(self) -> None:
        self.backend.register_agent(self.agent_id, socket.gethostname(), self.labels, kind=self.agent_kind,
                                    managed_by=self.managed_by)
        self._last_beat = time.monotonic()
        self._was_heard()

    def _beat(self) -> None:
        """Tell the backend that this agent, and so every run it holds, is alive (throttled)."""
        now = time.monotonic()
        if now - self._last_beat < self._beat_interval:
            return
        self._last_beat = now
        try:
            self.backend.agent_heartbeat(self.agent_id, len(self.children))
        except NotFoundError:  # its record is gone (registration failed at start): register again
            self._register()
            return
        self._was_heard()

    def _was_heard(self) -> None:
        """Note that a beat of this agent reached the backend, and whether it came late."""
        now = time.monotonic()
        if self._heard and now - self._heard > self.heartbeat_interval:
            self._unheard_until = now
        self._heard = now

    def _heard_regularly(self, now: float) -> bool:
        """Whether this agent's own beats went through on time for the whole stale threshold.

        A machine that stalled (CPU, memory, a paused VM) or a database that
        queued writes for seconds delays every agent's beats, this one's too.
        Judging the others right after such a gap would take live agents for
        gone: the sweep waits until this agent has been heard regularly for as
        long as the others are given.
        """
        if not self._heard or now - self._heard > self.heartbeat_interval:  # unheard right now
            return False
        return now - self._unheard_until >= 2 * self.heartbeat_interval

    def _start_beating(self):
        """Beat from a thread too, so that a slow turn of the loop (many launches on a busy machine)
        cannot make this agent and its runs look gone; returns the function that stops it."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self._beat_interval / 2):
                try:
                    self._beat()
                except Exception as exc:  # the loop reports backend trouble; keep beating
                    log.debug("agent %s could not beat: %s", self.agent_id, exc)

        thread = threading.Thread(target=beat, name=f"beat-{self.agent_id}", daemon=True)
        thread.start()

        def stop() -> None:
            done.set()
            thread.join()

        return stop

    def _record_stopped(self) -> None:
        try:
            self.backend.agent_stopped(self.agent_id)
        except JupyterFlowsError as exc:
            log.warning("could not record that agent %s stopped: %s", self.agent_id, exc)

    def _sweep_lost_runs(self) -> None:
        """Fail runs whose heartbeat stopped while no live agent holds them (their agent is gone)."""
        for run in self.backend.fail_stale_runs(2 * self.heartbeat_interval):
            log.warning("flow run %s (%s) %s", run.get("name"), run["id"], run["state_message"])

    # -- stopping ------------------------------------------------------------------------------

    def shutdown(self, reason: str = "stopped", grace: float = TERMINATE_GRACE_S) -> None:
        """Stop every run process and leave every run this agent owns in a final state."""
        self._reap()  # runs that just ended need no stopping
        if not self.children:
            return
        log.info("agent %s %s: stopping %d flow run(s)", self.agent_id, reason, len(self.children))
        for child in self.children.values():
            if child.stop_deadline is None:
                # Recorded first, so the run says why it stopped (its process would only say "interrupted").
                message = f"agent {self.agent_id} {reason} while the run was in flight; its process was stopped"
                try:
                    self.backend.set_flow_run_state(child.run_id, "Cancelled", message)
                except BackendError as exc:
                    log.warning("could not record that flow run %s was stopped: %s", child.run_id, exc)
                self._terminate(child, message, grace)
        deadline = time.monotonic() + grace
        while any(c.process.poll() is None for c in self.children.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in self.children.values():
            if child.process.poll() is None:
                self._signal(child, signal.SIGKILL)
                child.process.wait()
        self._reap()

    def _handle_signals(self):
        """Turn SIGINT/SIGTERM into a clean stop; a second signal kills the runs without waiting."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, frame):
            name = signal.Signals(signum).name
            if self._stop.is_set():
                for child in self.children.values():
                    self._signal(child, signal.SIGKILL)
                return
            log.info("agent %s received %s; stopping", self.agent_id, name)
            self.stop(f"stopped by {name}")

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

        def restore():
            for s, h in previous.items():
                signal.signal(s, h)

        return restore


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _last_line(path: Path, limit: int = 300) -> str | None:
    """The last non-empty line a run process printed (usually the error), shortened."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = [line.strip() for line in f.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    return lines[-1][:limit] if lines else None

