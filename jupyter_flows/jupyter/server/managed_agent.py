"""The local agent a Jupyter server runs for its users, so that a run started from the Lab gets run.

jupyter-scheduler users never start anything: the server runs their jobs. Here
the server starts a ``jupyter-flows agent local start`` process beside itself,
restarts it with exponential backoff when it dies (the crash reason kept for
the panel), and stops it with the server (a stopped agent cancels its runs).
Users who run their own agents keep them: in mode ``"auto"`` the server starts
one only while no live agent serves the backend.

Several servers on one jupyter-flows home: the question "is a live agent
there?" and the start are one step under an exclusive lock on a file in the
home, held until the new agent registered, so at most one of them starts an
agent. Servers on different hosts sharing a PostgreSQL backend may each start
one; the backend's claims make sure that no run is taken twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Iterable, Mapping

from ... import config
from ...agent.background import start_agent_process, stop_agent_process
from ...agent.local import _last_line
from ...exceptions import ConfigurationError, JupyterFlowsError
from ...run_configs import validate_env

log = logging.getLogger("jupyter_flows.server")

#: "auto": start one when no live agent serves the backend; "always": start one; "off": only on request.
MODES = ("auto", "always", "off")
#: A run of the agent this long counts as healthy: the backoff starts again from the first delay.
HEALTHY_AFTER_S = 60.0
#: How long a new agent may take to register before the lock goes to the next server.
REGISTER_TIMEOUT_S = 20.0
#: The log's tail ``GET agents/<id>/log`` answers with, at most.
LOG_TAIL_BYTES = 64 * 1024


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigurationError(f"JupyterFlows.agent={mode!r} is not a mode; use one of {', '.join(MODES)}")
    return mode


class ManagedAgent:
    """Starts, watches, restarts and stops the agent process of one Jupyter server.

    ``labels``, ``env`` and ``concurrency`` are those of ``jupyter-flows agent
    local start``; ``restart_delay`` is the first wait after a crash, doubled
    after each crash in a row up to ``max_restart_delay``.
    """

    def __init__(self, backend, mode: str = "auto", labels: Iterable[str] = (), env: Mapping[str, str] | None = None,
                 concurrency: int | None = None, restart_delay: float = 1.0, max_restart_delay: float = 60.0,
                 check_interval: float = 2.0):
        self.backend = backend
        self.mode = check_mode(mode)
        self.options = _agent_options(labels, concurrency)
        # In the agent's environment, which its runs inherit, not on its command line, which `ps` shows anyone.
        self.env = validate_env(dict(env or {}))
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.check_interval = check_interval
        self.server_id = f"jupyter-server {socket.gethostname()}:{os.getpid()}"
        self.log_dir = config.home() / "managed-agents"
        self.wanted = mode == "always"  # "auto" decides each turn; "off" waits for start_now()
        self.process: subprocess.Popen | None = None
        self.agent_id: str | None = None
        self.log_path: Path | None = None
        self.started_at = 0.0
        self.crashes = 0  # in a row
        self.next_start = 0.0
        self.crash: str | None = None  # how the agent ended last time it died
        self.unreachable: str | None = None  # why the backend could not be asked, while it cannot
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the server's lifecycle -------------------------------------------------------------------

    def start_watching(self) -> ManagedAgent:
        """Watch in a thread of its own: starting an agent waits on the backend, never on the event loop."""
        self._thread = threading.Thread(target=self._watch, name="jupyter-flows-managed-agent", daemon=True)
        self._thread.start()
        return self

    def start_now(self) -> None:
        """A user asked for an agent (the panel's Start): keep one running from now on."""
        with self._lock:
            self.wanted = True
            self.crashes, self.crash = 0, None
            self.next_start = 0.0
        self._wake.set()

    def stop(self) -> None:
        """Stop watching and stop the agent (it cancels its runs and stops their processes)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self.process is not None:
            stop_agent_process(self.process)

    # -- what the panel shows -----------------------------------------------------------------------

    def status(self) -> dict:
        """The managed agent as ``GET agents`` reports it under ``managed_agent``."""
        with self._lock:
            running = self.process is not None and self.process.poll() is None
            waiting = max(0.0, self.next_start - time.monotonic()) if not running and self.crashes else 0.0
            return {"mode": self.mode, "agent_id": self.agent_id, "running": running, "crashes": self.crashes,
                    "restart_in": round(waiting, 1) if waiting else None, "problem": self.unreachable or self.crash,
                    "can_start": not running and not self._stopping.is_set()}

    def log_tail(self, agent_id: str, limit: int = LOG_TAIL_BYTES) -> str | None:
        """The end of the log of the agent this server started as ``agent_id``; ``None`` for any other agent."""
        if agent_id != self.agent_id or self.log_path is None:
            return None
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- watching -----------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                self._turn()
                self.unreachable = None
            except JupyterFlowsError as exc:  # an unreachable backend: say so, try again next turn
                self.unreachable = f"could not reach the backend: {exc}"
            self._wake.wait(self.check_interval)
            self._wake.clear()

    def _turn(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            last = _last_line(self.log_path) if self.log_path else None
            self._back_off(f"agent {self.agent_id} exited with code {self.process.returncode}: {last or 'no output'}")
        if self.process is not None:
            if self.crashes and time.monotonic() - self.started_at >= HEALTHY_AFTER_S:
                with self._lock:
                    self.crashes, self.crash = 0, None  # healthy again: the panel stops warning
            return
        if time.monotonic() < self.next_start:
            return
        if self.wanted:
            self._start()
        elif self.mode == "auto":
            self._start_unless_an_agent_is_live()

    def _back_off(self, reason: str) -> None:
        """The agent died (or could not start): wait twice as long as last time before the next start."""
        with self._lock:
            self.crashes += 1
            delay = min(self.max_restart_delay, self.restart_delay * 2 ** (self.crashes - 1))
            self.next_start = time.monotonic() + delay
            self.crash = reason
            self.process = None
        log.warning("jupyter-flows managed %s; restarting in %.1f s", reason, delay)

    def _start_unless_an_agent_is_live(self) -> None:
        """Start one when no live agent serves the backend, under the home's lock (see the module's notes)."""
        lock_path = config.home() / "managed-agent.lock"
        with open(lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another server is starting one: look again next turn
            try:
                if self.backend.list_agents(live_only=True):
                    return
                self._start()
                self._wait_until_registered()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _start(self) -> None:
        agent_id = f"{socket.gethostname()}-jupyter-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        log_path = self.log_dir / f"{agent_id}.log"
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as out:
                # its own session: a Ctrl-C in the server's terminal goes to the server, which stops it
                process = start_agent_process(*self.options, "--agent-id", agent_id, "--managed-by", self.server_id,
                                              out=out, env={**os.environ, **self.env}, new_session=True)
        except OSError as exc:  # no fork, no disk space: this machine's trouble, tried again later
            self._back_off(f"could not start an agent: {exc}")
            return
        with self._lock:
            self.process, self.agent_id, self.log_path = process, agent_id, log_path
            self.started_at = time.monotonic()
        log.info("jupyter-flows started agent %s (process %s), its log in %s", agent_id, process.pid, log_path)

    def _wait_until_registered(self) -> None:
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while (time.monotonic() < deadline and not self._stopping.is_set()
               and self.process is not None and self.process.poll() is None):
            if any(a["id"] == self.agent_id for a in self.backend.list_agents(live_only=True)):
                return
            time.sleep(0.1)


def _agent_options(labels: Iterable[str], concurrency: int | None) -> list[str]:
    """The command-line options of ``agent local start`` for the server's settings."""
    options = []
    for label in labels:
        options += ["--label", label]
    if concurrency is not None:
        options += ["--concurrency", str(concurrency)]
    return options

