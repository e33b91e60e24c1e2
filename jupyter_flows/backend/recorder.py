"""``BackendRecorder``: a run listener that writes a running flow run into the backend.

The flow runner calls a listener once per task run and once per log line, so
the hot path here only appends a small tuple to a buffer and glances at the
clock. When a buffer (task runs or log lines) holds ``batch_size`` rows, or
``flush_interval`` seconds have passed (checked on each event), the buffers are
handed to a writer thread that writes everything it has been handed in one
transaction, in bulk statements (see :mod:`jupyter_flows.backend.task_runs`).
The flow's thread never waits for the database (SQLite releases the GIL while
it writes, once per many rows), and a database that is locked for a
while delays the records, not the flow. At the end of the run the recorder
waits for the writer, then records the final state. A write that fails is
kept and tried again after ``retry_interval`` seconds and at the end, where a
lasting failure is raised: records are late, never silently dropped.

Task log lines do not wait for their task to end: the recorder offers a
:class:`~jupyter_flows.backend.live_logs.LogStream` (``log_stream``) that the
flow runner passes to every task run, so that a running task's lines reach the
backend within about a second, from whichever process runs it (see
:mod:`jupyter_flows.backend.live_logs`). Lines written that way are skipped
when the task run comes back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from ..engine.events import RunListener
from ..engine.restarts import RecordedRun
from ..exceptions import FlowRunFinishedError, NotFoundError
from ..redaction import mask_secrets
from .backend import Backend
from .live_logs import LogStream, stop_streaming, stream_here
from .serialize import jsonable
from .task_results import result_rows

logger = logging.getLogger("jupyter_flows.flow_run")

_LEVEL_NAMES = {level: logging.getLevelName(level) for level in range(0, 60, 10)}
_monotonic = time.monotonic


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
                 batch_size: int = 5000, flush_interval: float = 0.5, retry_interval: float = 2.0,
                 flow_run: dict | None = None):
        self.backend = backend or Backend()
        self.flow_id = flow_id
        # the run as its caller just read it (an agent's run process has): not read again as it starts
        self._known_run = flow_run
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_interval = retry_interval
        self.flow_run_id: str | None = None
        #: The flow run's final state once this recorder wrote it (``None`` until then).
        self.final_state: str | None = None
        self._tasks: list[tuple] = []
        self._logs: list[tuple] = []
        self._running: dict[tuple, tuple] = {}
        self._mapped: dict[str, list] = {}  # slug -> [name, children, start, latest child end]
        self._due = time.monotonic() + flush_interval  # the next hand-off by time
        self._writer: _BatchWriter | None = None
        self._flow_name: str | None = None
        self._parent: str | None = None  # the run that started this one (a child keeps its results)
        self._slugs: dict | None = None  # the flow's {task: slug}, to key a child's results
        self._notifications: list[dict] = []  # stored with the flow's registration, sent when the run ends
        #: Set while a run is recorded; the flow runner hands it to every task run.
        self.log_stream: LogStream | None = None

    # -- listener ------------------------------------------------------------------------------

    def flow_run_started(self, flow, flow_run_id: str, parameters: dict) -> None:
        self.flow_run_id = flow_run_id
        known = self._known_run
        try:
            run = known if known is not None and known["id"] == flow_run_id else self.backend.get_flow_run(flow_run_id)
        except NotFoundError:
            flow_id = self.flow_id or self._registered_flow_id(flow)
            run = self.backend.create_flow_run(
                flow_id=flow_id, parameters={k: jsonable(v) for k, v in parameters.items()},
                flow_run_id=flow_run_id, state="Running",
            )
        else:
            self.backend.set_flow_run_state(flow_run_id, "Running", "Running flow")
        self._flow_name, self._parent = flow.name, run.get("parent_flow_run_id")
        self._slugs = flow.slugs if self._parent is not None else None
        self._notifications = self._stored_notifications(run["flow_id"])
        writer = self._writer = _BatchWriter(self.backend, flow_run_id, self.retry_interval)
        self._due = time.monotonic() + self.flush_interval
        # Task runs in this process hand their live lines straight to the writer thread.
        self.log_stream = LogStream(self.backend.url, flow_run_id)
        stream_here(self.log_stream, lambda rows: writer.submit((), rows))

    def task_mapped(self, task_slug: str, task_name: str, n_children: int) -> None:
        now = time.time()
        self._mapped[task_slug] = [task_name, n_children, now, now]
        self._tasks.append((self.flow_run_id, task_slug, task_name, -1, "Mapped", f"Mapped {n_children} children",
                            0, now, None, None))
        self._hand_off_if_due()

    # The three calls below run once per task run or log line: the buffer checks are written out in
    # each rather than in a method of their own, a call less per event.

    def task_run_started(self, task_slug: str, task_name: str, map_index: int | None) -> None:
        index = -1 if map_index is None else map_index
        self._running[(task_slug, index)] = (self.flow_run_id, task_slug, task_name, index, "Running", None, 0,
                                             time.time(), None, None)
        if _monotonic() >= self._due:
            self._hand_off()

    def task_run_finished(self, run) -> None:
        if type(run) is RecordedRun:  # kept by a restart from this run's own rows: nothing new to write
            return
        index = -1 if run.map_index is None else run.map_index
        self._running.pop((run.task_slug, index), None)
        state = run.state
        if index >= 0 and run.end_time is not None:
            parent = self._mapped.get(run.task_slug)
            if parent is not None and run.end_time > parent[3]:
                parent[3] = run.end_time
        # a row in Backend.TASK_RUN_COLUMNS order, so that a flush converts nothing
        tasks = self._tasks
        tasks.append((self.flow_run_id, run.task_slug, run.task_name, index, type(state).__name__,
                      mask_secrets(state.message), run.attempts, run.start_time, run.end_time, run.location))
        if len(tasks) >= self.batch_size or _monotonic() >= self._due:
            self._hand_off()

    def log(self, entry) -> None:
        if entry.recorded == self.backend.url:  # written here while its task ran
            return
        level = entry.level
        logs = self._logs
        logs.append((self.flow_run_id, _LEVEL_NAMES.get(level) or logging.getLevelName(level),
                     entry.timestamp, entry.message, entry.task_name, entry.task_slug, entry.map_index))
        if len(logs) >= self.batch_size or _monotonic() >= self._due:
            self._hand_off()

    def flow_run_finished(self, state) -> None:
        if self.log_stream is not None:
            stop_streaming(self.log_stream)
        self._running.clear()
        self._tasks.extend(self._mapped_parents())
        self.flush()
        if self.write_error is not None:
            raise self.write_error
        final = "Failed" if state.is_failed() else "Cancelled" if state.is_cancelled() else "Success"
        message = mask_secrets(state.message)
        if not state.is_finished():  # tasks wait for approval: the run rests Paused until resumed
            final, message = "Paused", _waiting_message(state)
        if self._parent is not None:  # before the final state: a parent that sees it can read them
            self._keep_results(state)
        self.backend.set_flow_run_state(self.flow_run_id, final, message)
        self.final_state = final
        if self._notifications:
            from ..notifications import notify_run_finished

            notify_run_finished(self._notifications, self._flow_name, self.flow_run_id, final, message)

    # -- writing -------------------------------------------------------------------------------

    def _hand_off_if_due(self) -> None:
        if (len(self._tasks) >= self.batch_size or len(self._logs) >= self.batch_size
                or _monotonic() >= self._due):
            self._hand_off()

    def _hand_off(self) -> None:
        """Give the buffered rows to the writer thread and start new buffers."""
        self._due = _monotonic() + self.flush_interval
        if self._writer is None:
            return
        rows = self._tasks
        if self._running:
            rows.extend(self._running.values())
            self._running = {}
        if rows or self._logs:
            self._writer.submit(rows, self._logs)
            self._tasks = []
            self._logs = []

    @property
    def write_error(self) -> Exception | None:
        """The error of the last write attempt, while records wait to be written again (else ``None``)."""
        return self._writer.error if self._writer is not None else None

    def flush(self) -> None:
        """Write everything buffered so far and wait for it (a failed write stays queued)."""
        self._hand_off()
        if self._writer is not None:
            self._writer.wait()

    def _mapped_parents(self) -> list[tuple]:
        """Final rows of the mapped tasks' parents (map index -1), spanning their children's times."""
        return [(self.flow_run_id, slug, name, -1, "Mapped", f"Mapped {n} children", 0, start, end, None)
                for slug, (name, n, start, end) in self._mapped.items()]

    def _keep_results(self, state) -> None:
        """Write a child run's task results; a failure is a warning, the run's final state is still recorded."""
        try:
            results = state.result if isinstance(state.result, dict) else None
            self.backend.write_task_results(self.flow_run_id, result_rows(results, self._slugs))
        except Exception as exc:  # noqa: BLE001 - the parent then reads "no result kept", never a stuck run
            logger.warning("Could not keep the task results of flow run %s for its parent: %s", self.flow_run_id, exc)

    def _stored_notifications(self, flow_id: str) -> list[dict]:
        """The flow's stored notifications; one that cannot be read is a warning, the run goes on."""
        try:
            return self.backend.get_notifications(flow_id)
        except Exception as exc:  # noqa: BLE001 - notifications must never stop a run
            logger.warning("Could not read the notifications of flow %s: %s", flow_id, exc)
            return []

    def _registered_flow_id(self, flow) -> str:
        try:
            return self.backend.get_flow_by_name(flow.name)["id"]
        except NotFoundError as exc:
            raise NotFoundError(
                f"cannot record this run of flow {flow.name!r}: {exc}. Register the flow first "
                "(flow.register(project_name=...)) or pass BackendRecorder(flow_id=...)"
            ) from None


def _waiting_message(state) -> str:
    """The message of a run whose tasks wait for approval: which ones, and how to let them run."""
    states = state.result if isinstance(state.result, dict) else {}
    paused = sorted({task.name for task, task_state in states.items()
                     if task_state.is_paused() or any(child.is_paused()
                                                      for child in getattr(task_state, "map_states", ()) or ())})
    return (f"Waiting for approval of {', '.join(map(repr, paused)) or 'a paused task'}: resume the run "
            "to let them run (jupyter-flows resume RUN_ID)")


class _BatchWriter:
    """Writes the batches a recorder hands over, in order, from one background thread.

    Whatever has queued up while a write was in progress goes into the next
    transaction together. The thread ends after a while with nothing to do
    and is started again by the next batch, so a run that never reached its
    end leaves no thread behind for long.
    """

    IDLE_EXIT_S = 10.0

    def __init__(self, backend: Backend, flow_run_id: str, retry_interval: float):
        self.backend = backend
        self.flow_run_id = flow_run_id
        self.retry_interval = retry_interval
        self.error: Exception | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, task_rows: list, log_rows: list, done: threading.Event | None = None) -> None:
        self._queue.put((task_rows, log_rows, done))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"jupyter-flows-recorder-{self.flow_run_id[:8]}")
                self._thread.start()

    def wait(self) -> None:
        """Return once everything submitted before has been written, or has failed for now."""
        done = threading.Event()
        self.submit([], [], done)
        done.wait()

    def _run(self) -> None:
        task_rows: list = []
        log_rows: list = []
        failed_at: float | None = None
        while True:
            try:
                item = self._queue.get(timeout=self.retry_interval if task_rows or log_rows else self.IDLE_EXIT_S)
            except queue.Empty:
                if not (task_rows or log_rows):
                    with self._lock:  # submit() puts before it looks at _thread, so nothing is missed
                        if self._queue.empty():
                            self._thread = None
                            return
                    continue
                item = None
            waiters = []
            while item is not None:  # take everything queued: one transaction for all of it
                tasks, logs, done = item
                task_rows.extend(tasks)
                log_rows.extend(logs)
                if done is not None:
                    waiters.append(done)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            due = failed_at is None or waiters or time.monotonic() - failed_at >= self.retry_interval
            if (task_rows or log_rows) and due:
                try:
                    self.backend.record_rows(self.flow_run_id, task_rows, log_rows)
                except FlowRunFinishedError as exc:  # the run was ended elsewhere: retrying cannot succeed
                    if self.error is None:
                        logger.warning("Flow run %s ended elsewhere; its late records are dropped: %s",
                                       self.flow_run_id, exc)
                    self.error = exc
                    task_rows, log_rows = [], []
                    failed_at = None
                except Exception as exc:  # kept and raised at the end of the run; the thread lives on
                    if self.error is None:
                        logger.warning("Could not record flow run %s in the backend (will retry): %s",
                                       self.flow_run_id, exc)
                    self.error = exc
                    failed_at = time.monotonic()
                else:
                    task_rows, log_rows = [], []
                    self.error = None
                    failed_at = None
            for done in waiters:
                done.set()
