"""Task log lines written to the backend while the task runs, from whichever process runs it.

A task run's log lines are captured into a list (``engine/logging.py``) that
travels back with its result. When a run is recorded, the flow context carries
a :class:`LogStream` (the backend's URL and the run's id, so it pickles to any
worker). The task runner hands each task run's list to the :class:`LiveLogs`
of its process for as long as the task runs; a thread of that process takes
what was appended every :data:`LIVE_INTERVAL_S` seconds and writes it:

- in the process that runs the flow (``LocalExecutor``, thread pools), by
  handing the rows to the recorder's writer thread (see :func:`stream_here`);
- in any other process (a process pool's worker, a dask worker), by writing
  them to the backend itself, in one transaction per pass.

A line written live is marked ``recorded`` (with the backend's URL), and that
backend's recorder skips it when the task run comes back, so each line is
written once. Lines appended since the
last pass when the task ends are left unmarked and go back with the result as
before: a short task costs no write of its own, and a worker that cannot reach
the backend (an SQLite file on another host) loses nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger("jupyter_flows.flow_run")

#: Seconds between two passes of a process's live writer: how far behind a running task's log may be.
LIVE_INTERVAL_S = 0.5

#: A writer thread with nothing to follow for this long ends (the next task run starts it again).
IDLE_EXIT_S = 10.0

_LEVEL_NAMES = {level: logging.getLevelName(level) for level in range(0, 60, 10)}


def log_row(flow_run_id: str, entry) -> tuple:
    """A :class:`~jupyter_flows.engine.logging.LogEntry` as a row in ``Backend.LOG_COLUMNS`` order."""
    level = entry.level
    return (flow_run_id, _LEVEL_NAMES.get(level) or logging.getLevelName(level), entry.timestamp, entry.message,
            entry.task_name, entry.task_slug, entry.map_index)


class LogStream:
    """Where the task log lines of one recorded run go live; small and picklable, sent with every task.

    ``follow(entries)`` is what the task runner calls as a task run starts: it
    returns the :class:`LiveLogs` now watching ``entries`` (``release`` it when
    the task ends), or ``None`` when this process cannot reach the backend.
    """

    __slots__ = ("url", "flow_run_id", "key")

    def __init__(self, url: str, flow_run_id: str):
        self.url = url
        self.flow_run_id = flow_run_id
        self.key = (url, flow_run_id)  # this process's writer of the run, in the registry below

    def follow(self, entries: list) -> "LiveLogs | None":
        live = _live_logs_of(self)
        if live is not None:
            live.follow(entries)
        return live

    def __reduce__(self):
        return LogStream, (self.url, self.flow_run_id)

    def __repr__(self) -> str:
        return f"<LogStream run {self.flow_run_id[:8]}>"


class LiveLogs:
    """One process's live writer for one run: follows task runs' log lists, writes what they gain.

    ``write(rows)`` writes a batch or raises; a batch that fails is taken
    again on the next pass while its task still runs.
    """

    def __init__(self, stream: LogStream, write: Callable[[list], None], on_idle: Callable[[], None] | None = None):
        self.url = stream.url
        self.flow_run_id = stream.flow_run_id
        self.write = write
        self.on_idle = on_idle
        self._followed: dict[int, list] = {}  # id(entries) -> [entries, how many were taken]
        self._in_flight: set[int] = set()
        # Taken twice per task run: held as a plain lock (a C call), waited on through the condition.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def follow(self, entries: list) -> None:
        with self._lock:
            self._followed[id(entries)] = [entries, 0]
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"jupyter-flows-live-logs-{self.flow_run_id[:8]}")
                self._thread.start()

    def release(self, entries: list) -> None:
        """Stop following ``entries``; returns once no write of its lines is in flight.

        Afterwards every line is either marked ``recorded`` or left for the
        task run's result to carry, never both.
        """
        key = id(entries)
        with self._lock:
            self._followed.pop(key, None)
            while key in self._in_flight:
                self._changed.wait()

    def close(self) -> None:
        """End the writer thread (the run is over in this process)."""
        self._stop.set()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while not self._stop.wait(LIVE_INTERVAL_S):
            if self._followed:
                idle_since = time.monotonic()
                self._write_new_lines()
            elif time.monotonic() - idle_since >= IDLE_EXIT_S:
                with self._changed:
                    if self._followed:  # follow() came in meanwhile: keep going
                        continue
                    self._thread = None
                if self.on_idle is not None:
                    self.on_idle()
                return
        with self._changed:
            self._thread = None

    def _write_new_lines(self) -> None:
        with self._changed:
            taken = []
            for key, slot in self._followed.items():
                entries, start = slot
                chunk = entries[start:]  # one atomic copy: the task may be appending right now
                if chunk:
                    slot[1] = start + len(chunk)
                    taken.append((key, slot, start, chunk))
            self._in_flight = {key for key, _, _, _ in taken}
        if not taken:
            return
        try:
            self.write([log_row(self.flow_run_id, entry) for _, _, _, chunk in taken for entry in chunk])
        except Exception as exc:  # retried next pass; a task that ends meanwhile carries its lines back
            if not self._warned:
                self._warned = True
                log.warning("could not write log lines of flow run %s live (they are kept): %s",
                            self.flow_run_id, exc)
            with self._changed:
                for key, slot, start, _ in taken:
                    if self._followed.get(key) is slot:
                        slot[1] = start
        else:
            for _, _, _, chunk in taken:
                for entry in chunk:
                    entry.recorded = self.url
        finally:
            with self._changed:
                self._in_flight = set()
                self._changed.notify_all()


# -- one LiveLogs per process and run ---------------------------------------------------------

_registry: dict[tuple[str, str], LiveLogs | None] = {}
_registry_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child starts with no writers: those it inherited belong to its parent (their threads did not follow)."""
    global _registry_lock
    _registry.clear()
    _registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def stream_here(stream: LogStream, write: Callable[[list], None]) -> LiveLogs:
    """Make ``write`` this process's live writer of ``stream`` (the recorder's hand-off to its writer thread)."""
    live = LiveLogs(stream, write)
    with _registry_lock:
        _registry[stream.key] = live
    return live


def stop_streaming(stream: LogStream) -> None:
    """End this process's live writer of ``stream`` and forget it."""
    with _registry_lock:
        live = _registry.pop(stream.key, None)
    if live is not None:
        live.close()


def _live_logs_of(stream: LogStream) -> LiveLogs | None:
    """This process's live writer of ``stream``, created on first use in a worker process."""
    try:
        return _registry[stream.key]  # once per task run: one lookup
    except KeyError:
        pass
    with _registry_lock:
        if stream.key not in _registry:
            _registry[stream.key] = _worker_live_logs(stream)
        return _registry[stream.key]


def _worker_live_logs(stream: LogStream) -> LiveLogs | None:
    """A writer of its own for a worker process, or ``None`` when the backend is not reachable from here."""
    if not _reachable(stream.url):
        return None
    from .backend import Backend

    backend = Backend(stream.url, create=False)  # a worker writes into the run's database, never a new one

    def write(rows: list) -> None:
        backend.record_rows(stream.flow_run_id, (), rows, "write live log lines")

    def forget() -> None:
        with _registry_lock:
            if _registry.get(stream.key) is live:
                del _registry[stream.key]
        backend.close()

    live = LiveLogs(stream, write, on_idle=forget)  # ``forget`` needs the name
    return live


def _reachable(url: str) -> bool:
    """False for an SQLite database this host does not have: opening it would create an empty one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    return Path(database).is_file()
