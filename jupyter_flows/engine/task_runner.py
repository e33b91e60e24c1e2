"""Runs one task (or one child of a mapped task) where the executor put it.

:func:`run_task` is the function every executor calls, in a thread, a
process or a dask worker. It gathers the inputs from the upstream task runs,
asks the trigger, runs the task with its retries and timeout, and returns a
:class:`TaskRun` carrying the final state and the captured log lines back to
the flow runner. It never raises: every outcome is a state.
"""

from __future__ import annotations

import datetime
import logging
import time
import traceback
from typing import Any

from ..exceptions import JupyterFlowsError
from .checkpoints import cache_state, read_cache, read_target, write_checkpoint
from .context import reset_context, set_context
from .logging import begin_stdout_capture, capture_entry, end_stdout_capture, start_capture, stop_capture
from .signals import ENDRUN, StateSignal
from .state import (
    Failed, Finished, Looped, Mapped, Pending, Retrying, Running, Skipped, State, Success, TimedOut,
    TriggerFailed,
)
from .state_handlers import call_state_handlers
from .timeouts import TaskTimedOut, call_with_timeout
from .triggers import all_successful

# How a slot of the task's inputs is read from the upstream arguments of run_task.
WHOLE = 0  # one upstream TaskRun: its result is the value
LIST = 1  # a list of upstream TaskRuns (a mapped task's children): the list of their results
ELEMENT = 2  # an Element: one value of a successful upstream's result, mapped over


class TaskRun:
    """The record of one task run: identity, final state, timing, attempts and log lines."""

    __slots__ = ("task_slug", "task_name", "map_index", "state", "start_time", "end_time",
                 "attempts", "logs", "history", "location")

    def __init__(self, task_slug: str, task_name: str, map_index: int | None, state: State,
                 start_time: float | None = None, end_time: float | None = None, attempts: int = 0,
                 logs: list | None = None, history: list | None = None, location: str | None = None):
        self.task_slug = task_slug
        self.task_name = task_name
        self.map_index = map_index
        self.state = state
        self.start_time = start_time
        self.end_time = end_time
        self.attempts = attempts
        self.logs = logs
        self.history = history
        self.location = location  # where the result was checkpointed (or read from), if anywhere

    def __repr__(self) -> str:
        index = "" if self.map_index is None else f"[{self.map_index}]"
        return f"<TaskRun {self.task_slug}{index}: {self.state!r}>"

    def __dask_tokenize__(self) -> tuple:
        # distributed hashes every task of a submitted graph; without this dask pickles each
        # argument (the run's result included) three times to name it. Identity is enough:
        # a run object is one node of one graph.
        return ("TaskRun", self.task_slug, self.map_index, id(self))


class TaskRunSpec:
    """Everything a worker needs to run one task run; built by the flow runner, shipped to the worker.

    ``slots`` is a tuple of ``(argument name or None, WHOLE or LIST)``, one per
    positional upstream argument of :func:`run_task`; ``edges`` the matching
    :class:`~jupyter_flows.core.edges.Edge` objects, given only to a task with
    a trigger other than the default (which gets ``{Edge: State}``), so that
    shipping a spec to another process does not drag its upstream tasks along.
    ``kill_on_timeout`` says the task runs where a timed-out task's process
    may be killed (a process pool or dask worker). ``result`` is the
    :class:`~jupyter_flows.results.Result` the run's result is checkpointed
    to (``None``: kept in memory only); ``caches`` the cached states of
    earlier runs of a task with ``cache_for`` (``None`` for other tasks).
    """

    __slots__ = ("task", "task_slug", "map_index", "slots", "constants", "flow_context", "edges",
                 "kill_on_timeout", "result", "caches")

    def __init__(self, task, task_slug: str, map_index: int | None, slots: tuple,
                 constants: dict | None, flow_context: dict, edges: tuple | None = None,
                 kill_on_timeout: bool = False):
        self.task = task
        self.task_slug = task_slug
        self.map_index = map_index
        self.slots = slots
        self.constants = constants
        self.flow_context = flow_context
        self.edges = edges
        self.kill_on_timeout = kill_on_timeout
        self.result = None
        self.caches = None

    def __dask_tokenize__(self) -> tuple:
        # As TaskRun's: one spec per task run, so its identity names it without pickling the task.
        return ("TaskRunSpec", self.task_slug, self.map_index, id(self))


def value_run(value: Any, source: TaskRun) -> TaskRun:
    """A stand-in upstream run holding a value computed from a finished upstream's result (a flatten)."""
    return TaskRun(source.task_slug, source.task_name, source.map_index, Success(result=value))


class Element:
    """One value of a successful upstream's result, handed to one mapped child (slot kind ELEMENT).

    One small object per child instead of a stand-in TaskRun and its Success:
    a 1,000,000-way map plans 1,000,000 of them. It wraps the value so that
    dask never reads a tuple or string element as a task or a key.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    @property
    def state(self) -> State:
        """A Success holding the value, for the paths that read an upstream's state (a task run once
        over the whole list when another of its mapped inputs cannot be mapped)."""
        return Success(result=self.value)

    def __repr__(self) -> str:
        return f"<Element {self.value!r:.60}>"

    def __dask_tokenize__(self) -> tuple:
        return ("Element", id(self))  # as TaskRun's: named without pickling the value


def run_task(spec: TaskRunSpec, *upstream: Any) -> TaskRun:
    """Run one task run; the executors' only entry point."""
    inputs = dict(spec.constants) if spec.constants else {}
    waiting = skipped = unsuccessful = False
    # One pass over the inputs, exact class checks first: this runs for every task run.
    for (key, kind), arg in zip(spec.slots, upstream):
        if kind == ELEMENT:  # mapped over a successful upstream: nothing to check
            if key is not None:
                inputs[key] = arg.value
            continue
        for state in ([r.state for r in arg] if kind == LIST else (arg.state,)):
            if type(state) is Success:
                continue
            if not isinstance(state, Finished):  # a paused upstream task: wait for it, as it waits
                waiting = True
            elif isinstance(state, Skipped):
                skipped = True
            elif not isinstance(state, Success):
                unsuccessful = True
        if key is not None:
            inputs[key] = [r.state.result for r in arg] if kind == LIST else arg.state.result
    task = spec.task
    run = TaskRun(spec.task_slug, task.name, spec.map_index, None)
    if waiting:
        run.state = Pending("Upstream tasks are not finished")
        return run
    if skipped and task.skip_on_upstream_skip:
        _finish(run, task, Skipped("Upstream task was skipped"))
        return run
    if task.trigger is all_successful:  # the default, decided without building {Edge: State}
        refusal = _not_all_successful() if unsuccessful else None
    else:
        refusal = _check_trigger(spec, upstream)
    if refusal is not None:
        _finish(run, task, refusal)
        return run
    gate = spec.flow_context.get("limit_gate") if task.tags else None  # only a backed run has one
    if gate is not None:
        _run_limited(gate, spec, run, inputs)
    elif spec.result is None and spec.caches is None:  # the lean path: results stay in memory
        _run_attempts(spec, run, inputs)
    elif not _reused(spec, run, inputs):
        _run_kept(spec, run, inputs)
    return run


def _run_limited(gate, spec: TaskRunSpec, run: TaskRun, inputs: dict) -> None:
    """Hold a slot of each concurrency limit the task's tags name while it runs (see ``backend.limit_gate``)."""
    try:
        tags = gate.limited(spec.task.tags)
        if tags:
            gate.acquire(tags, spec.task_slug, spec.task.name, spec.map_index)
    except JupyterFlowsError as exc:  # the backend is unreachable: the task cannot know it may run
        run.state = Failed(f"could not take a concurrency slot: {exc}", result=exc)
        return
    try:
        if spec.result is None and spec.caches is None:
            _run_attempts(spec, run, inputs)
        elif not _reused(spec, run, inputs):
            _run_kept(spec, run, inputs)
    finally:
        if tags:
            gate.release(spec.task_slug, spec.map_index)


def _reused(spec: TaskRunSpec, run: TaskRun, inputs: dict) -> bool:
    """A cached result still valid, or a target that exists: the run ends Cached without running."""
    if spec.caches and read_cache(spec, run, inputs):
        return True
    return spec.result is not None and spec.task.target is not None and read_target(spec, run)


def _run_kept(spec: TaskRunSpec, run: TaskRun, inputs: dict) -> None:
    """Run, then cache and write the result; a line logged about an unusable target before the run is kept."""
    before = run.logs
    _run_attempts(spec, run, inputs)
    if before:
        run.logs = before + (run.logs or [])
    if type(run.state) is Success:
        if spec.caches is not None:
            cache_state(spec, run, inputs)
        if spec.result is not None:
            write_checkpoint(spec, run)


def _not_all_successful() -> State:
    return TriggerFailed('Trigger was "all_successful" but some of the upstream tasks failed.')


def _check_trigger(spec: TaskRunSpec, upstream: tuple) -> State | None:
    """Ask a trigger other than the default: None when the task may run, else the state it ends in."""
    trigger = spec.task.trigger
    upstream_states = {}
    for edge, (_, kind), arg in zip(spec.edges, spec.slots, upstream):
        if kind == LIST:
            upstream_states[edge] = Mapped(result=[r.state.result for r in arg],
                                           map_states=[r.state for r in arg])
        elif kind == ELEMENT:
            upstream_states[edge] = Success(result=arg.value)
        else:
            upstream_states[edge] = arg.state
    token = set_context(_task_context(spec))  # manual_only reads context.resume
    try:
        if not trigger(upstream_states):
            return TriggerFailed("Trigger failed")
    except StateSignal as signal:
        return signal.state
    except ENDRUN as signal:
        return signal.state
    except Exception as exc:  # a user trigger that breaks fails its task, not the run
        name = getattr(trigger, "__name__", trigger)
        return TriggerFailed(f"Unexpected error while checking task trigger {name!r}: {exc!r}", result=exc)
    finally:
        reset_context(token)
    return None


def _task_context(spec: TaskRunSpec) -> dict:
    task = spec.task
    index = spec.map_index
    return {
        **spec.flow_context,
        "task_name": task.name,
        "task_full_name": task.name if index is None else f"{task.name}[{index}]",
        "task_slug": spec.task_slug,
        "task_tags": task.tags,
        "map_index": index,
    }


def _finish(run: TaskRun, task, state: State) -> None:
    """End a run that never started in ``state``, through the task's state handlers if it has any."""
    if task.state_handlers or task.on_failure is not None:
        try:
            state = call_state_handlers(task, Pending(), state)
        except ENDRUN as signal:
            state = signal.state
    run.state = state


def _run_attempts(spec: TaskRunSpec, run: TaskRun, inputs: dict) -> None:
    task = spec.task
    entries = start_capture(spec.flow_context.get("log_stream"))
    context_values = _task_context(spec)
    notify = bool(task.state_handlers) or task.on_failure is not None
    call = _call_wrapped if task.timeout or task.log_stdout else _call
    if notify:
        run.state = Pending()  # the first transition the handlers see is Pending -> Running
    run.start_time = time.time()
    try:
        while True:
            run.attempts += 1
            context_values["task_run_count"] = run.attempts
            token = set_context(context_values)
            try:
                if notify:
                    state = run.state = _attempt(task, inputs, entries, spec, run)
                else:
                    state = run.state = call(task, inputs, entries, spec)
                delay = None if type(state) is Success else _again(task, spec, run, context_values, notify)
            except ENDRUN as signal:  # a state handler failed, or chose to end the run
                run.state, delay = signal.state, None
            finally:
                reset_context(token)
            if delay is None:
                break
            if delay:
                time.sleep(delay)
    finally:
        stop_capture()
        run.end_time = time.time()
        run.logs = entries or None


def _attempt(task, inputs: dict, entries: list, spec: TaskRunSpec, run: TaskRun) -> State:
    """One attempt of a task with state handlers: Running, the call, the outcome, each handled."""
    running = call_state_handlers(task, run.state, Running())
    if not running.is_running():  # a handler chose another state: the task does not run
        return running
    run.state = running
    call = _call_wrapped if task.timeout or task.log_stdout else _call
    return call_state_handlers(task, running, call(task, inputs, entries, spec))


def _again(task, spec: TaskRunSpec, run: TaskRun, context_values: dict, notify: bool) -> float | None:
    """After an attempt: None to stop, else the seconds to wait before the next one."""
    state = run.state
    if type(state) is Looped:
        _next_loop(context_values, state, run)
        return 0.0
    if type(state) is Retrying:  # a RETRY signal: again now, whatever max_retries says
        return 0.0
    if not state.is_failed() or isinstance(state, TriggerFailed) or run.attempts > task.max_retries:
        return None
    return _retry(task, spec, run, notify)


def _next_loop(context_values: dict, state: Looped, run: TaskRun) -> None:
    """Prepare the next iteration of a task that raised LOOP (an iteration is not a retry)."""
    context_values["task_loop_count"] = context_values.get("task_loop_count", 1) + 1
    context_values["task_loop_result"] = state.result
    run.attempts -= 1
    if run.history is None:
        run.history = []
    run.history.append(("Looped", time.time(), state.message))


def _retry(task, spec: TaskRunSpec, run: TaskRun, notify: bool) -> float:
    """Log the failed attempt and enter Retrying; returns ``retry_delay`` in seconds."""
    failed = run.state
    delay = task.retry_delay
    delay = delay.total_seconds() if isinstance(delay, datetime.timedelta) else float(delay or 0)
    message = (f"Attempt {run.attempts} of {task.max_retries + 1} failed ({failed.message}); "
               f"retrying in {delay:g} s")
    capture_entry(logging.WARNING, message, task.name, spec.task_slug, spec.map_index)
    if run.history is None:
        run.history = []
    run.history.append(("Retrying", time.time(), message))
    if notify:
        run.state = call_state_handlers(task, failed, Retrying(message))
    return delay


def _call(task, inputs: dict, entries: list, spec: TaskRunSpec) -> State:
    """Call ``task.run`` once; every outcome, signals included, is a state (the usual task's path)."""
    try:
        return Success(result=task.run(**inputs))
    except (StateSignal, ENDRUN) as signal:
        return signal.state
    except Exception as exc:
        return _raised(task, spec, exc)


def _call_wrapped(task, inputs: dict, entries: list, spec: TaskRunSpec) -> State:
    """:func:`_call` for a task with a ``timeout`` or ``log_stdout=True``."""
    if task.log_stdout:
        begin_stdout_capture()
    try:
        if task.timeout:
            result = call_with_timeout(task, inputs, entries, kill=spec.kill_on_timeout)
        else:
            result = task.run(**inputs)
        return Success(result=result)
    except TaskTimedOut as timed_out:
        return TimedOut(str(timed_out))
    except (StateSignal, ENDRUN) as signal:
        return signal.state
    except Exception as exc:
        return _raised(task, spec, exc)
    finally:
        if task.log_stdout:
            printed = end_stdout_capture()
            for line in printed.splitlines():
                if line.strip():
                    capture_entry(logging.INFO, line, task.name, spec.task_slug, spec.map_index)


def _raised(task, spec: TaskRunSpec, exc: Exception) -> Failed:
    """The Failed state of an attempt that raised, its traceback logged."""
    if isinstance(exc, JupyterFlowsError):  # an expected error whose message says it all
        detail = f"{type(exc).__name__}: {exc}"
    else:
        detail = traceback.format_exc().rstrip()
    capture_entry(logging.ERROR, f"Task {task.name!r} raised an exception:\n{detail}",
                  task.name, spec.task_slug, spec.map_index)
    return Failed(f"{type(exc).__name__}: {exc}", result=exc)
