"""Checkpoints: writing a task run's result where its ``Result`` says, and reading a ``target``.

Only task runs whose spec has a ``result`` come here (the flow runner sets it
when the run checkpoints that task); every other task run keeps its result in
memory and never touches this module.
"""

from __future__ import annotations

import logging
import time

from ..exceptions import ResultError
from .logging import LogEntry
from .state import Cached, Failed


def location_values(spec) -> dict:
    """What a location template may use: the run's context plus the task run's own names."""
    task = spec.task
    index = spec.map_index
    return {**spec.flow_context, "task_name": task.name, "task_slug": spec.task_slug, "map_index": index,
            "task_full_name": task.name if index is None else f"{task.name}[{index}]"}


def read_target(spec, run) -> bool:
    """End ``run`` Cached when the task's target exists and reads; say whether it did.

    A target that exists but cannot be read is logged, and the task runs (and writes it again).
    """
    result, task = spec.result, spec.task
    try:
        location = result.format(task.target, **location_values(spec))
        if not result.exists(location):
            return False
        value = result.read(location)
    except ResultError as exc:
        _log(run, spec, logging.WARNING, f"Target of task {task.name!r} not used, the task runs: {exc}")
        return False
    now = time.time()
    run.state = Cached(f"Cached: result read from target {result.describe(location)}", result=value)
    run.start_time = run.end_time = now
    run.location = location
    _log(run, spec, logging.INFO, f"Task {task.name!r}: Cached, target {result.describe(location)} exists")
    return True


def write_checkpoint(spec, run) -> None:
    """Write a successful run's result; a result that cannot be written fails the run, saying why."""
    result, task = spec.result, spec.task
    try:
        location = result.format(task.target, **location_values(spec))
        run.location = result.write(run.state.result, location)
    except ResultError as exc:
        message = f"Task {task.name!r} ran, but its result could not be checkpointed: {exc}"
        run.state = Failed(message, result=exc)
        _log(run, spec, logging.ERROR, message)


def _log(run, spec, level: int, message: str) -> None:
    entry = LogEntry(level, time.time(), message, spec.task.name, spec.task_slug, spec.map_index)
    run.logs = [*(run.logs or ()), entry]
