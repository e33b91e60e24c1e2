"""Follow a flow run that an agent executes, feeding a :class:`RunView` from the backend.

The kernel stays free: a daemon thread polls the backend (the run, its task
runs, its new log lines) every ``poll`` seconds and hands what it read to the
view, until the run reaches a final state (or rests Paused for approval). The run is read before its logs,
so the logs read after a final state is seen are complete. A Scheduled run
says why no agent takes it (``Backend.waiting_reason``), as the Lab and the
CLI do: the ``%flow submit`` widget and the form's "Submit to agent" show it.
"""

from __future__ import annotations

import datetime
import threading
import time

from ...backend import Backend
from ...backend.backend import RESTING_STATES
from ...exceptions import JupyterFlowsError
from .run_view import RunView

WAITING = {"Scheduled": "waiting for an agent", "Submitted": "an agent is starting it"}
#: How often a Scheduled run's view asks again why it waits (one backend read).
REASON_EVERY_S = 2.0


class RunFollower:
    """Polls one flow run into ``view``; ``follower.done`` is set when the run has ended."""

    def __init__(self, flow_run_id: str, view: RunView | None = None, backend: Backend | None = None,
                 poll: float = 0.25):
        self.flow_run_id = flow_run_id
        self.view = view or RunView()
        self.backend = backend or Backend()
        self.poll = poll
        self.run: dict | None = None
        self.error: Exception | None = None
        self.done = threading.Event()
        self._last_log_id = None
        self._thread: threading.Thread | None = None
        self._next_reason = 0.0
        self._reason = WAITING["Scheduled"]

    def start(self) -> "RunFollower":
        self._begin()
        self._thread = threading.Thread(target=self._follow, name=f"jupyter-flows-follow-{self.flow_run_id[:8]}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (the run itself goes on)."""
        self.done.set()

    def wait(self, timeout: float | None = None) -> dict | None:
        """Block until the run ends (for scripts and tests); returns the last run dict read."""
        if not self.done.wait(timeout):
            raise TimeoutError(f"flow run {self.flow_run_id} did not end within {timeout} s")
        return self.run

    def _begin(self) -> None:
        run = self.backend.get_flow_run(self.flow_run_id)
        tasks = []
        try:
            graph = self.backend.get_flow(run["flow_id"]).get("graph") or {}
            tasks = [(t["slug"], t["name"]) for t in graph.get("tasks", [])]
        except JupyterFlowsError:
            pass  # the view then lists tasks as their runs appear
        self.run = run
        self.view.begin(run["flow_name"], run["id"], tasks, state_name=run["state"],
                        start_time=run.get("created"), message=self._message(run))

    def _follow(self) -> None:
        try:
            while not self.done.is_set():
                if self._poll_once():
                    break
                self.done.wait(self.poll)
        except Exception as exc:  # the backend went away: say so in the view, stop following
            self.error = exc
            self.view.set_state(self.view.state_name, f"stopped following: {type(exc).__name__}: {exc}")
        finally:
            self.done.set()

    def _poll_once(self) -> bool:
        run = self.backend.get_flow_run(self.flow_run_id)
        self.run = run
        self.view.set_task_runs(self.backend.get_task_runs(self.flow_run_id))
        logs = self.backend.get_logs(self.flow_run_id, after=self._last_log_id)
        if logs:
            self._last_log_id = logs[-1]["id"]
            self.view.add_log_rows(logs)
        if run["state"] in RESTING_STATES:  # ended, or Paused until someone approves it
            self.view.end(run["state"], run.get("state_message"))
            return True
        self._show_state(run)
        return False

    def _show_state(self, run: dict) -> None:
        self.view.set_state(run["state"], self._message(run))

    def _message(self, run: dict) -> str | None:
        start = run.get("scheduled_start_time")
        if run["state"] == "Scheduled" and start and start > time.time():
            when = datetime.datetime.fromtimestamp(start).strftime("%Y-%m-%d %H:%M:%S")
            return f"scheduled for {when}"
        if run["state"] == "Scheduled":
            return self._why_waiting(run)
        return WAITING.get(run["state"], run.get("state_message"))

    def _why_waiting(self, run: dict) -> str:
        """Why no agent takes the run (no agent at all, none with its labels), asked every few seconds."""
        now = time.monotonic()
        if now >= self._next_reason:
            self._next_reason = now + REASON_EVERY_S
            reason = self.backend.waiting_reason(run)
            self._reason = f"{WAITING['Scheduled']}: {reason}" if reason else WAITING["Scheduled"]
        return self._reason


def follow(flow_run_id: str, view: RunView | None = None, backend: Backend | None = None,
           poll: float = 0.25) -> RunFollower:
    """Start following ``flow_run_id`` in the background; returns the follower (its ``view`` to display)."""
    return RunFollower(flow_run_id, view=view, backend=backend, poll=poll).start()
