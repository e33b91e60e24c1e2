"""Logging for flow runs: the task logger, the per-task capture, the console.

A task's log records are captured into its task run (not printed from the
worker), travel back with its result, and are then emitted once, in the
process that runs the flow, to the console and to every run listener (the
backend, the live widget). One path serves serial, threaded, process and
distributed executors alike, and a worker process never needs a console.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import warnings
from typing import Any, Iterator

from .. import config
from ..exceptions import ConfigurationError
from ..redaction import mask_secrets

TASK_LOGGER_NAME = "jupyter_flows.task"
RUN_LOGGER_NAME = "jupyter_flows.flow_run"

class _Capture(threading.local):
    """This thread's capture: class defaults, so reading a field no task has set costs no exception."""

    entries: list | None = None  # the running task run's log lines
    live = None  # the LiveLogs streaming them (a recorded run)
    stdout: list | None = None  # a log_stdout task's printed text


_capture = _Capture()


class LogEntry:
    """One log line of a flow run, as recorded by the backend and shown by widgets.

    ``recorded`` is the URL of the backend the line was written to while its
    task ran (see :mod:`jupyter_flows.backend.live_logs`), else ``False``, so
    that the recorder of that backend does not write it again when the task
    run comes back.
    """

    __slots__ = ("level", "timestamp", "message", "task_name", "task_slug", "map_index", "recorded")

    def __init__(self, level: int, timestamp: float, message: str, task_name: str | None = None,
                 task_slug: str | None = None, map_index: int | None = None):
        self.level = level
        self.timestamp = timestamp
        self.message = message
        self.task_name = task_name
        self.task_slug = task_slug
        self.map_index = map_index
        self.recorded = False

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)

    def to_dict(self) -> dict:
        return {
            "level": self.level_name,
            "timestamp": self.timestamp,
            "message": self.message,
            "task_name": self.task_name,
            "task_slug": self.task_slug,
            "map_index": self.map_index,
        }

    def __repr__(self) -> str:
        return f"<LogEntry {self.level_name} {self.task_name}: {self.message!r}>"


class _StdoutStream(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time, so Jupyter's redirected streams work."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


class _CaptureHandler(logging.Handler):
    """Appends task log records to the running task's buffer; prints them when no task runs."""

    def emit(self, record: logging.LogRecord) -> None:
        entries = getattr(_capture, "entries", None)
        if entries is None:
            logging.getLogger(RUN_LOGGER_NAME).handle(record)
            return
        entries.append(
            LogEntry(
                record.levelno,
                record.created,
                record.getMessage() if not record.exc_info else self.format(record),
                getattr(record, "task_name", None),
                getattr(record, "task_slug", None),
                getattr(record, "map_index", None),
            )
        )


def _configured_level() -> str:
    """``JUPYTER_FLOWS_LOG_LEVEL``; INFO with a warning when it is bad, for importing must not fail over it.

    The processes that must not run with a bad setting (an agent, a flow
    run's process) refuse to start with it: see ``config.check``.
    """
    try:
        return config.log_level()
    except ConfigurationError as exc:
        warnings.warn(f"{exc}; using INFO", stacklevel=3)
        return "INFO"


def _configure() -> None:
    run_logger = logging.getLogger(RUN_LOGGER_NAME)
    if not run_logger.handlers:
        console = _StdoutStream()
        console.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s - %(prefix)s%(message)s"))
        console.addFilter(_add_prefix)
        run_logger.addHandler(console)
        if run_logger.level == logging.NOTSET:  # a level the user already chose stays
            run_logger.setLevel(_configured_level())
        # Records also reach the root logger's handlers (logging.basicConfig, a file handler,
        # pytest's caplog), as in Prefect 1; the root has none by default, so nothing prints twice.
        run_logger.propagate = True
    task_logger = logging.getLogger(TASK_LOGGER_NAME)
    if not any(isinstance(h, _CaptureHandler) for h in task_logger.handlers):
        task_logger.addHandler(_CaptureHandler())
        task_logger.setLevel(logging.DEBUG)
        task_logger.propagate = False


def _add_prefix(record: logging.LogRecord) -> bool:
    task_name = getattr(record, "task_name", None)
    flow_name = getattr(record, "flow_name", None)
    if task_name is not None:
        map_index = getattr(record, "map_index", None)
        suffix = f"[{map_index}]" if map_index is not None else ""
        record.prefix = f"{task_name}{suffix} | "
    elif flow_name:
        record.prefix = f"{flow_name} | "
    else:
        record.prefix = ""
    return True


_configure()


class TaskLogger(logging.LoggerAdapter):
    """The logger ``context.get("logger")`` returns: records carry flow, task, map index and run id."""

    def process(self, msg: Any, kwargs: dict) -> tuple[Any, dict]:
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        return msg, kwargs


def get_task_logger(ctx: dict) -> TaskLogger:
    return TaskLogger(
        logging.getLogger(TASK_LOGGER_NAME),
        {
            "flow_name": ctx.get("flow_name"),
            "flow_run_id": ctx.get("flow_run_id"),
            "task_name": ctx.get("task_name"),
            "task_slug": ctx.get("task_slug"),
            "map_index": ctx.get("map_index"),
        },
    )


def start_capture(stream=None) -> list:
    """Begin capturing this thread's task log records; returns the list they go into.

    ``stream`` (the flow context's ``log_stream``, set when the run is
    recorded) also writes the list's lines to the backend while the task runs.
    """
    entries: list = []
    _capture.entries = entries
    if stream is not None:  # else nothing more to do: the per-task path of an unrecorded run
        _capture.live = stream.follow(entries)
    return entries


def stop_capture() -> None:
    """End the capture; lines not yet written live stay in the list, to travel with the task run."""
    live = _capture.live
    if live is not None:
        _capture.live = None
        live.release(_capture.entries)
    _capture.entries = None


def current_capture() -> list | None:
    """The log buffer of the task run this thread is running, if any."""
    return getattr(_capture, "entries", None)


@contextlib.contextmanager
def capture_into(entries: list | None) -> Iterator[None]:
    """Send this thread's task log records into ``entries`` for a block.

    For helper threads of a task (a timeout thread, a notebook client's event
    loop) whose lines belong to the task run that started them.
    """
    previous = getattr(_capture, "entries", None)
    _capture.entries = entries
    try:
        yield
    finally:
        _capture.entries = previous


def capture_entry(level: int, message: str, task_name=None, task_slug=None, map_index=None) -> None:
    """Record a line without building a LogRecord (the task runner's own messages)."""
    entries = getattr(_capture, "entries", None)
    if entries is not None:  # secrets fetched in this process are masked (log handlers do it for records)
        entries.append(LogEntry(level, time.time(), mask_secrets(message), task_name, task_slug, map_index))


def print_entry(entry: LogEntry, flow_name: str | None = None) -> None:
    """Show a captured entry on the console of the process that runs the flow."""
    logger = logging.getLogger(RUN_LOGGER_NAME)
    if not logger.isEnabledFor(entry.level):
        return
    name = RUN_LOGGER_NAME if entry.task_name is None else TASK_LOGGER_NAME  # for filters on the root
    record = logger.makeRecord(
        name, entry.level, "", 0, entry.message, None, None,
        extra={"task_name": entry.task_name, "map_index": entry.map_index, "flow_name": flow_name},
    )
    record.created = entry.timestamp
    record.msecs = (entry.timestamp % 1) * 1000
    logger.handle(record)


def flow_logger(flow_name: str) -> logging.LoggerAdapter:
    """Logger for the flow runner's own lines (start, end, final state)."""
    return logging.LoggerAdapter(logging.getLogger(RUN_LOGGER_NAME), {"flow_name": flow_name})


class StdoutRouter:
    """Stand-in for ``sys.stdout`` that sends a task's prints to its log when ``log_stdout=True``.

    Installed once and left in place: threads that are not capturing write to
    the stream that was there before.
    """

    def __init__(self, wrapped):
        self._wrapped = wrapped

    def write(self, text: str) -> int:
        buffer = getattr(_capture, "stdout", None)
        if buffer is None:
            return self._wrapped.write(text)
        buffer.append(text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def begin_stdout_capture() -> None:
    if not isinstance(sys.stdout, StdoutRouter):
        sys.stdout = StdoutRouter(sys.stdout)
    _capture.stdout = []


def end_stdout_capture() -> str:
    text = "".join(getattr(_capture, "stdout", None) or [])
    _capture.stdout = None
    return text
