"""``BackendRecorder``: a run listener that writes a running flow run into the backend.

The flow runner calls a listener once per task run and once per log line, so
the hot path here only appends a small tuple to a buffer and glances at the
clock; a flush (one transaction, one ``executemany`` per table) happens when
the buffer holds ``batch_size`` items, when ``flush_interval`` seconds have
passed since the last one (checked on each event), and when the run ends.
A flush that fails (the database is locked or gone) keeps the buffer and is
tried again after ``retry_interval`` seconds and at the end of the run, where
a lasting failure is raised: records are late, never silently dropped.
"""

from __future__ import annotations

import logging
import time

from ..engine.events import RunListener
from ..exceptions import BackendError, NotFoundError
from .backend import Backend
from .serialize import jsonable

logger = logging.getLogger("jupyter_flows.flow_run")

# Tuples on the hot path, dicts only when flushing.
_TASK_FIELDS = ("task_slug", "task_name", "map_index", "state", "message", "attempts", "start_time", "end_time")
_LOG_FIELDS = ("level", "timestamp", "message", "task_name", "task_slug", "map_index")


class BackendRecorder(RunListener):
    """Records task runs, log lines and the flow run's state of a run into the backend.

    An agent's flow run passes the id of the run it claimed
    (``flow.run(flow_run_id=..., listeners=[BackendRecorder()])``). A run
    started by hand with a new id is added to the backend as it starts, under
    ``flow_id`` or else the latest registered version of a flow with the same
    name; its id is then ``recorder.flow_run_id``.

    >>> recorder = BackendRecorder()
    >>> state = flow.run(listeners=[recorder])
    >>> FlowRunView.from_flow_run_id(recorder.flow_run_id).get_logs()
    """

    def __init__(self, backend: Backend | None = None, flow_id: str | None = None,
                 batch_size: int = 500, flush_interval: float = 0.5, retry_interval: float = 2.0):
        self.backend = backend or Backend()
        self.flow_id = flow_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_interval = retry_interval
        self.flow_run_id: str | None = None
        self._tasks: list[tuple] = []
        self._logs: list[tuple] = []
        self._running: dict[tuple, tuple] = {}
        self._mapped: dict[str, list] = {}  # slug -> [name, children, start, latest child end]
        self._last_flush = time.monotonic()
        self._flush_error: BackendError | None = None

    # -- listener ------------------------------------------------------------------------------

    def flow_run_started(self, flow, flow_run_id: str, parameters: dict) -> None:
        self.flow_run_id = flow_run_id
        try:
            self.backend.get_flow_run(flow_run_id)
        except NotFoundError:
            flow_id = self.flow_id or self._registered_flow_id(flow)
            self.backend.create_flow_run(
                flow_id=flow_id, parameters={k: jsonable(v) for k, v in parameters.items()},
                flow_run_id=flow_run_id, state="Running",
            )
        else:
            self.backend.set_flow_run_state(flow_run_id, "Running", "Running flow")
        self._last_flush = time.monotonic()

    def task_mapped(self, task_slug: str, task_name: str, n_children: int) -> None:
        now = time.time()
        self._mapped[task_slug] = [task_name, n_children, now, now]
        self._tasks.append((task_slug, task_name, -1, "Mapped", f"Mapped {n_children} children", 0, now, None))
        self._maybe_flush()

    def task_run_started(self, task_slug: str, task_name: str, map_index: int | None) -> None:
        index = -1 if map_index is None else map_index
        self._running[(task_slug, index)] = (task_slug, task_name, index, "Running", None, 0, time.time(), None)
        self._maybe_flush()

    def task_run_finished(self, run) -> None:
        index = -1 if run.map_index is None else run.map_index
        self._running.pop((run.task_slug, index), None)
        state = run.state
        if index >= 0 and run.end_time is not None:
            parent = self._mapped.get(run.task_slug)
            if parent is not None and run.end_time > parent[3]:
                parent[3] = run.end_time
        self._tasks.append((run.task_slug, run.task_name, index, type(state).__name__, state.message,
                            run.attempts, run.start_time, run.end_time))
        self._maybe_flush()

    def log(self, entry) -> None:
        self._logs.append((logging.getLevelName(entry.level), entry.timestamp, entry.message,
                           entry.task_name, entry.task_slug, entry.map_index))
        self._maybe_flush()

    def flow_run_finished(self, state) -> None:
        self._running.clear()
        self._tasks.extend(self._mapped_parents())
        self.flush()
        if self._flush_error is not None:
            raise self._flush_error
        final = "Failed" if state.is_failed() else "Cancelled" if state.is_cancelled() else "Success"
        self.backend.set_flow_run_state(self.flow_run_id, final, state.message)

    # -- writing -------------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        now = time.monotonic()
        if len(self._tasks) + len(self._logs) >= self.batch_size or now - self._last_flush >= self.flush_interval:
            # after a failed flush, wait before trying again: each try may wait out the busy timeout
            if self._flush_error is None or now - self._last_flush >= self.retry_interval:
                self.flush()

    def flush(self) -> None:
        """Write what is buffered in one transaction; on a backend error keep it for the next try."""
        if self.flow_run_id is None:
            return
        rows = self._tasks + list(self._running.values())
        if not rows and not self._logs:
            self._last_flush = time.monotonic()
            return
        try:
            self.backend.record(
                self.flow_run_id,
                [dict(zip(_TASK_FIELDS, row)) for row in rows],
                [dict(zip(_LOG_FIELDS, row)) for row in self._logs],
            )
        except BackendError as exc:
            if self._flush_error is None:
                logger.warning("Could not record flow run %s in the backend (will retry): %s",
                               self.flow_run_id, exc)
            self._flush_error = exc
        else:
            self._flush_error = None
            self._tasks = []
            self._logs = []
            self._running = {}
        self._last_flush = time.monotonic()

    def _mapped_parents(self) -> list[tuple]:
        """Final rows of the mapped tasks' parents (map index -1), spanning their children's times."""
        return [(slug, name, -1, "Mapped", f"Mapped {n} children", 0, start, end)
                for slug, (name, n, start, end) in self._mapped.items()]

    def _registered_flow_id(self, flow) -> str:
        try:
            return self.backend.get_flow_by_name(flow.name)["id"]
        except NotFoundError as exc:
            raise NotFoundError(
                f"cannot record this run of flow {flow.name!r}: {exc}. Register the flow first "
                "(flow.register(project_name=...)) or pass BackendRecorder(flow_id=...)"
            ) from None
