"""A task's ``timeout``: what stops when it expires, and how.

Python cannot stop a thread, so what a timeout can do depends on where the
task runs:

- In a process of its own (``LocalDaskExecutor(scheduler="processes")``,
  ``DaskExecutor``), the task's ``run()`` is forked into a child process of
  the worker, in a new process group. On timeout the whole group is killed
  (SIGKILL): the task's Python code, and any subprocess it started in that
  group, really stop. The worker itself lives on. Inputs reach the child by
  the fork; the result, log lines and printed output come back pickled.
- In a thread (``LocalExecutor``, ``LocalDaskExecutor(scheduler="threads")``),
  ``run()`` is called in a helper thread that the task run stops waiting for:
  the task ends TimedOut at once and its result is discarded, but its code
  goes on in the background until it returns (an open file, a socket or a
  loop without end stays busy). A task with an ``on_timeout()`` method (a
  notebook task, which stops its kernel) is always run this way, so that it
  can clean up after itself.
"""

from __future__ import annotations

import contextvars
import os
import select
import signal
import sys
import threading
import time
import warnings
from typing import Any

import cloudpickle

from .logging import capture_into, current_capture, end_stdout_capture


class TaskTimedOut(Exception):
    """``task.run`` did not return within ``task.timeout``; the message says what was stopped."""


def call_with_timeout(task, inputs: dict, entries: list, kill: bool = False) -> Any:
    """``task.run(**inputs)``, given up on after ``task.timeout`` seconds.

    ``kill`` (set by the flow runner on process and distributed executors)
    runs it in a child process that is killed on timeout; otherwise it runs
    in an abandoned helper thread. Raises :class:`TaskTimedOut`.
    """
    if kill and hasattr(os, "fork") and not hasattr(task, "on_timeout"):
        return _in_child_process(task, inputs)
    return _in_thread(task, inputs, entries)


def _in_thread(task, inputs: dict, entries: list) -> Any:
    outcome: dict = {}
    ctx = contextvars.copy_context()

    def target():
        with capture_into(entries):
            try:
                outcome["result"] = ctx.run(task.run, **inputs)
            except BaseException as exc:  # re-raised in the calling thread
                outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True, name=f"jupyter-flows-timeout-{task.name}")
    worker.start()
    worker.join(task.timeout)
    if worker.is_alive():
        if hasattr(task, "on_timeout"):
            task.on_timeout()
            raise TaskTimedOut(f"Task timed out after {task.timeout:g} seconds; its on_timeout() stopped its work "
                               "(a notebook task stops its kernel)")
        raise TaskTimedOut(
            f"Task timed out after {task.timeout:g} seconds; it ran in a thread, which cannot be stopped: "
            "its code goes on in the background and its result is discarded"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _in_child_process(task, inputs: dict) -> Any:
    """Fork, run the task in the child, read its pickled outcome; kill the child's group on timeout."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (a dask worker has some); the
        # child only runs the task and leaves with os._exit, never resuming the other threads' work.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _run_child(task, inputs, write_end)
    os.close(write_end)
    try:
        os.setpgid(pid, pid)  # also here, so that a kill right after the fork cannot miss the group
    except OSError:
        pass
    try:
        data = _read_until(read_end, time.monotonic() + task.timeout)
    finally:
        os.close(read_end)
    if data is None:
        _kill_group(pid)
        raise TaskTimedOut(
            f"Task timed out after {task.timeout:g} seconds; its process (pid {pid}) and its process group "
            "were killed"
        )
    os.waitpid(pid, 0)
    kind, value, logs, printed = cloudpickle.loads(data)
    entries = current_capture()
    if entries is not None and logs:
        entries.extend(logs)
    if printed:
        sys.stdout.write(printed)  # goes to the task's log when it captures its prints
    if kind == "error":
        raise value
    return value


def _run_child(task, inputs: dict, write_end: int) -> None:
    """In the forked child: run the task, send back its outcome, exit without cleanup handlers."""
    code = 0
    try:
        os.setpgid(0, 0)  # a group of its own: a timeout kills what it started too
        entries = current_capture()
        logged = len(entries) if entries is not None else 0
        try:
            outcome = ("result", task.run(**inputs))
        except BaseException as exc:
            outcome = ("error", exc)
        logs = entries[logged:] if entries is not None else []
        printed = end_stdout_capture()  # the buffer was empty at the fork: all of it is the task's
        try:
            data = cloudpickle.dumps((*outcome, logs, printed))
        except Exception as exc:
            error = TypeError(f"the task's {outcome[0]} cannot be sent back from its process: {exc}")
            data = cloudpickle.dumps(("error", error, logs, printed))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything written to ``fd`` until the writer closes it, or None at the deadline."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
