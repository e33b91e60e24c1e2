"""The scheduler service: creates the runs of every active schedule ahead of time.

Each pass (:meth:`Backend.create_scheduled_runs`) gives every schedule that is
not paused, on a flow version that is not archived, its runs for the next hour
or its next ten runs, whichever reaches further; agents then claim each run
when it is due. It runs in a thread of every local agent (``--no-scheduler``
turns that off), and alone as ``jupyter-flows scheduler start``. Any number of
schedulers may share a backend: the database creates each scheduled run once
(see :mod:`jupyter_flows.backend.schedules`), so more schedulers only mean
more redundancy.
"""

from __future__ import annotations

import logging
import threading

from .. import config
from ..exceptions import JupyterFlowsError

log = logging.getLogger("jupyter_flows.agent.scheduler")


class Scheduler:
    """Runs a scheduler pass every ``interval`` seconds (``JUPYTER_FLOWS_SCHEDULER_INTERVAL``, default 5).

    >>> Scheduler().start()  # doctest: +SKIP   (blocks; Ctrl-C stops it)
    """

    def __init__(self, backend=None, interval: float | None = None, horizon_s: float = 3600.0, min_runs: int = 10):
        from ..backend import Backend

        self.backend = backend or Backend()
        self.interval = config.scheduler_interval() if interval is None else interval
        self.horizon_s = horizon_s
        self.min_runs = min_runs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pass; returns how many runs it created (0 when another scheduler was first)."""
        created = self.backend.create_scheduled_runs(horizon_s=self.horizon_s, min_runs=self.min_runs)
        if created:
            log.info("scheduler created %d scheduled flow run(s)", created)
        return created

    def start(self) -> None:
        """Run passes until :meth:`stop` (or Ctrl-C, on the main thread)."""
        log.info("scheduler started on %s; a pass every %ss", self.backend.url, self.interval)
        try:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except JupyterFlowsError as exc:  # a busy or briefly unreachable backend: next pass
                    log.warning("scheduler pass failed: %s", exc)
                self._stop.wait(self.interval)
        except KeyboardInterrupt:
            pass
        log.info("scheduler stopped")

    def start_in_thread(self) -> "Scheduler":
        """Run passes in a daemon thread (as an agent does); :meth:`stop` ends it."""
        self._thread = threading.Thread(target=self.start, name="jupyter-flows-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
