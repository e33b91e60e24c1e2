"""Runs one task (or one child of a mapped task) where the executor put it.

:func:`run_task` is the function every executor calls, in a thread, a
process or a dask worker. It gathers the inputs from the upstream task runs,
asks the trigger, runs the task with its retries and timeout, and returns a
:class:`TaskRun` carrying the final state and the captured log lines back to
the flow runner. It never raises: every outcome is a state.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
from typing import Any

from ..exceptions import JupyterFlowsError
from .context import reset_context, set_context
from .logging import (
    begin_stdout_capture, capture_entry, capture_into, end_stdout_capture, start_capture, stop_capture,
)
from .signals import Signal
from .state import Failed, Skipped, State, Success, TimedOut, TriggerFailed

# How a slot of the task's inputs is read from the upstream arguments of run_task.
WHOLE = 0  # one upstream TaskRun: its result is the value
LIST = 1  # a list of upstream TaskRuns (a mapped task's children): the list of their results


class TaskRun:
    """The record of one task run: identity, final state, timing, attempts and log lines."""

    __slots__ = ("task_slug", "task_name", "map_index", "state", "start_time", "end_time",
                 "attempts", "logs", "history")

    def __init__(self, task_slug: str, task_name: str, map_index: int | None, state: State,
                 start_time: float | None = None, end_time: float | None = None, attempts: int = 0,
                 logs: list | None = None, history: list | None = None):
        self.task_slug = task_slug
        self.task_name = task_name
        self.map_index = map_index
        self.state = state
        self.start_time = start_time
        self.end_time = end_time
        self.attempts = attempts
        self.logs = logs
        self.history = history

    def __repr__(self) -> str:
        index = "" if self.map_index is None else f"[{self.map_index}]"
        return f"<TaskRun {self.task_slug}{index}: {self.state!r}>"


class TaskRunSpec:
    """Everything a worker needs to run one task run; built by the flow runner, shipped to the worker.

    ``slots`` is a tuple of ``(argument name or None, WHOLE or LIST)``, one per
    positional upstream argument of :func:`run_task`.
    """

    __slots__ = ("task", "task_slug", "map_index", "slots", "constants", "flow_context")

    def __init__(self, task, task_slug: str, map_index: int | None, slots: tuple,
                 constants: dict | None, flow_context: dict):
        self.task = task
        self.task_slug = task_slug
        self.map_index = map_index
        self.slots = slots
        self.constants = constants
        self.flow_context = flow_context


def value_run(value: Any, source: TaskRun) -> TaskRun:
    """A stand-in upstream run holding one element of a finished upstream's result (for mapping)."""
    return TaskRun(source.task_slug, source.task_name, source.map_index, Success(result=value))


def run_task(spec: TaskRunSpec, *upstream: Any) -> TaskRun:
    """Run one task run; the executors' only entry point."""
    inputs = dict(spec.constants) if spec.constants else {}
    upstream_states: list[State] = []
    for (key, kind), arg in zip(spec.slots, upstream):
        if kind == LIST:
            upstream_states.extend(r.state for r in arg)
            if key is not None:
                inputs[key] = [r.state.result for r in arg]
        else:
            upstream_states.append(arg.state)
            if key is not None:
                inputs[key] = arg.state.result
    task = spec.task
    run = TaskRun(spec.task_slug, task.name, spec.map_index, None)
    if task.skip_on_upstream_skip and any(s.is_skipped() for s in upstream_states):
        run.state = Skipped("Upstream task was skipped")
        return run
    try:
        ready = task.trigger(upstream_states)
    except Exception as exc:  # a user trigger that breaks fails its task, not the run
        ready, message = False, f"Trigger {getattr(task.trigger, '__name__', task.trigger)!r} raised {exc!r}"
    else:
        message = f"Trigger was {getattr(task.trigger, '__name__', 'trigger')!r} but upstream states were not as required"
    if not ready:
        run.state = TriggerFailed(message)
        return run
    _run_attempts(spec, run, inputs)
    return run


def _run_attempts(spec: TaskRunSpec, run: TaskRun, inputs: dict) -> None:
    task = spec.task
    entries = start_capture()
    context_values = {
        **spec.flow_context,
        "task_name": task.name,
        "task_slug": spec.task_slug,
        "task_tags": task.tags,
        "map_index": spec.map_index,
    }
    run.start_time = time.time()
    try:
        while True:
            run.attempts += 1
            context_values["task_run_count"] = run.attempts
            token = set_context(context_values)
            try:
                state = _attempt(task, inputs, entries, spec)
            finally:
                reset_context(token)
            if not state.is_failed() or isinstance(state, TriggerFailed) or run.attempts > task.max_retries:
                break
            message = (f"Attempt {run.attempts} of {task.max_retries + 1} failed ({state.message}); "
                       f"retrying in {task.retry_delay:g} s")
            capture_entry(logging.WARNING, message, task.name, spec.task_slug, spec.map_index)
            if run.history is None:
                run.history = []
            run.history.append(("Retrying", time.time(), message))
            if task.retry_delay:
                time.sleep(task.retry_delay)
        run.state = state
    finally:
        stop_capture()
        run.end_time = time.time()
        run.logs = entries or None


def _attempt(task, inputs: dict, entries: list, spec: TaskRunSpec) -> State:
    if task.log_stdout:
        begin_stdout_capture()
    try:
        if task.timeout:
            result = _call_with_timeout(task, inputs, entries)
        else:
            result = task.run(**inputs)
        return Success(result=result)
    except _TimeoutExpired:
        return TimedOut(f"Task timed out after {task.timeout:g} seconds")
    except Signal as signal:
        return signal.to_state()
    except Exception as exc:
        if isinstance(exc, JupyterFlowsError):  # an expected error whose message says it all
            detail = f"{type(exc).__name__}: {exc}"
        else:
            detail = traceback.format_exc().rstrip()
        capture_entry(logging.ERROR, f"Task {task.name!r} raised an exception:\n{detail}",
                      task.name, spec.task_slug, spec.map_index)
        return Failed(f"{type(exc).__name__}: {exc}", result=exc)
    finally:
        if task.log_stdout:
            printed = end_stdout_capture()
            for line in printed.splitlines():
                if line.strip():
                    capture_entry(logging.INFO, line, task.name, spec.task_slug, spec.map_index)


class _TimeoutExpired(Exception):
    pass


def _call_with_timeout(task, inputs: dict, entries: list) -> Any:
    """Run ``task.run`` in a helper thread and stop waiting after ``task.timeout`` seconds.

    Python cannot kill a thread: a timed-out task's thread is left to finish in
    the background (daemon), its result discarded. Notebook tasks stop their
    kernel on timeout instead.
    """
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
        raise _TimeoutExpired()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
