"""Checkpoints and caches: writing a task run's result where its ``Result`` says, reading a ``target``,
reusing a result kept for ``cache_for``.

Only task runs whose spec has a ``result`` or ``caches`` come here (the flow
runner sets them for the tasks that need them); every other task run keeps its
result in memory and never touches this module.
"""

from __future__ import annotations

import datetime
import logging
import time

from ..exceptions import ResultError
from ..results.packs import PACK_DIRECTORY, drop_writer, pack_writer
from .cache_validators import duration_only
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
        location = result.render(task.target, location_values(spec))
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
    """Write a successful run's result; a result that cannot be written fails the run, saying why.

    A mapped child whose result has no location template of its own (nor a
    target) goes into its task's pack (see :mod:`jupyter_flows.results.packs`).
    """
    result, task = spec.result, spec.task
    try:
        if spec.map_index is not None and result.location is None and task.target is None:
            run.location = _write_packed(spec, result, run.state.result)
        else:
            location = result.render(task.target, location_values(spec))
            run.location = result.write(run.state.result, location)
    except ResultError as exc:
        message = f"Task {task.name!r} ran, but its result could not be checkpointed: {exc}"
        run.state = Failed(message, result=exc)
        _log(run, spec, logging.ERROR, message)


def _write_packed(spec, result, value) -> str:
    """Queue a child's serialized result in its task's pack; a new pack's directory is checked first."""
    data = result.serializer.serialize(value)
    key = (spec.flow_context["flow_run_id"], spec.task_slug)
    writer, new = pack_writer(key, result, lambda: result.render(PACK_DIRECTORY, location_values(spec)))
    if not new:
        return writer.add(str(spec.map_index), data)
    try:  # where only a write can tell whether the directory takes results, the first one is written now
        return writer.add(str(spec.map_index), data, now=not result.check_writable(writer.directory))
    except ResultError:
        drop_writer(key)
        raise


def read_cache(spec, run, inputs: dict) -> bool:
    """End ``run`` with a cached state of an earlier run that the task's validator accepts; say whether it did."""
    task = spec.task
    validator = task.cache_validator or duration_only
    parameters = spec.flow_context.get("parameters")
    for candidate in spec.caches:
        try:
            usable = validator(candidate, inputs, parameters)
        except Exception as exc:  # noqa: BLE001 - a broken validator means "do not reuse", never a failure
            _log(run, spec, logging.WARNING, f"Cache validator of task {task.name!r} raised {exc!r}; the task runs")
            return False
        if usable:
            run.state = candidate
            run.start_time = run.end_time = time.time()
            _log(run, spec, logging.INFO, f"Task {task.name!r}: Cached, reusing the result of an earlier run "
                                          f"(valid until {candidate.cache_expiration:%Y-%m-%d %H:%M:%S} UTC)")
            return True
    return False


def cache_state(spec, run, inputs: dict) -> None:
    """A successful run of a task with ``cache_for`` ends Cached, with what a later run is compared with."""
    expiration = datetime.datetime.now(datetime.timezone.utc) + spec.task.cache_for
    run.state = Cached(f"Result cached until {expiration:%Y-%m-%d %H:%M:%S} UTC", result=run.state.result,
                       cached_inputs=inputs, cached_parameters=spec.flow_context.get("parameters"),
                       cache_expiration=expiration)


def _log(run, spec, level: int, message: str) -> None:
    entry = LogEntry(level, time.time(), message, spec.task.name, spec.task_slug, spec.map_index)
    run.logs = [*(run.logs or ()), entry]
