"""Restart as planning: the task runs of an earlier attempt that the flow runner keeps instead of running.

A restart is a smaller plan. The flow runner asks here, once, which task runs
(keyed by task slug and map index) succeeded in the earlier attempt; while
planning it resolves those as it resolves parameters, and plans only the
rest: failed, timed-out, trigger-failed, cancelled and never-run tasks, and
of a mapped task only the children that did not succeed. Parameters are never
kept: they are resolved again from the run's values.

Kept from the backend, a task run is a :class:`RecordedRun`: its row is
already there, so the recorder does not write it again, and a 10,000-child
map's restart reads its children's packs once each and writes only what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..core.parameter import Parameter
from ..core.task import Constant
from ..exceptions import ResultError
from ..results import LocalResult
from .state import STATE_CLASSES, Mapped, Skipped, State
from .task_runner import TaskRun

#: Stored task run states whose result a restart keeps.
KEPT_STATES = frozenset({"Success", "Cached", "Skipped"})

Kept = dict  # {(task slug, map index or None): TaskRun}


def checkpoint_results(flow, checkpointing: bool) -> dict:
    """``{task: Result}`` of the tasks whose results this run writes (targets always; the rest when asked).

    ``checkpointing`` is the run's default (on under an agent); a task's own
    ``checkpoint=True`` or ``False`` wins over it.
    """
    results = {}
    for task in flow.tasks:
        if isinstance(task, (Parameter, Constant)):
            continue
        if task.target is not None or task.checkpoint or (checkpointing and task.checkpoint is None):
            results[task] = task.result or flow.result or LocalResult()
    return results


def kept_from_state(flow, state: State) -> Kept:
    """The successful task runs of a run in this process (``flow.run(restart_from=state)``), results in memory."""
    kept: Kept = {}
    states = state.result if isinstance(state.result, dict) else {}
    for task, task_state in states.items():
        slug = flow.slugs.get(task)
        if slug is None or isinstance(task, (Parameter, Constant)):
            continue
        if isinstance(task_state, Mapped):
            for index, child in enumerate(task_state.map_states):
                if child.is_successful():
                    kept[(slug, index)] = TaskRun(slug, task.name, index, child)
        elif task_state.is_successful():
            kept[(slug, None)] = TaskRun(slug, task.name, None, task_state)
    return kept


def kept_from_records(flow, records: list[dict], results: dict, log: Callable[[int, str], None]) -> Kept:
    """The successful task runs recorded in the backend whose checkpoints read; ``log`` says why others rerun.

    The records are grouped by task, so that each task's result reads its
    checkpoints in one go (a pack of children once, not once per child).
    """
    tasks = {slug: task for task, slug in flow.slugs.items() if not isinstance(task, (Parameter, Constant))}
    per_task: dict = {}
    for record in records:
        task = tasks.get(record["task_slug"])
        if task is not None and record["state"] in KEPT_STATES:
            per_task.setdefault(task, []).append(record)
    kept: Kept = {}
    for task, wanted in per_task.items():
        result = results.get(task) or task.result or flow.result or LocalResult()
        _keep_task(task, wanted, result, kept, log)
    return kept


def _keep_task(task, records: list[dict], result, kept: Kept, log: Callable[[int, str], None]) -> None:
    """Add the runs of ``task`` whose results read back to ``kept``; log why each other one runs again.

    Flat on purpose: a restart of a 10,000-child map comes through here once per child.
    """
    written = [record for record in records if record["result_location"] is not None]
    values = result.read_many([record["result_location"] for record in written]) if written else []
    name = task.name
    for record, value in zip(written, values):
        index = record["map_index"]
        index = None if index < 0 else index
        if type(value) is ResultError:
            log(logging.WARNING, f"Task {_name(task, index)!r} runs again: {value}")
            continue
        state = STATE_CLASSES[record["state"]](record["message"], value)
        kept[(record["task_slug"], index)] = RecordedRun(record["task_slug"], name, index, state,
                                                         record["start_time"], record["end_time"],
                                                         record["attempts"], None, None, record["result_location"])
    for record in records:
        if record["result_location"] is not None:
            continue
        index = None if record["map_index"] < 0 else record["map_index"]
        if record["state"] != "Skipped":  # a skipped task has no result to read; any other one should
            log(logging.WARNING, f"Task {_name(task, index)!r} runs again: its result was not checkpointed")
            continue
        kept[(record["task_slug"], index)] = RecordedRun(record["task_slug"], name, index, Skipped(record["message"]),
                                                         record["start_time"], record["end_time"], record["attempts"])


class RecordedRun(TaskRun):
    """A task run kept from the backend's records of this same flow run: recorded there already."""

    __slots__ = ()


def _name(task, index: int | None) -> str:
    return task.name if index is None else f"{task.name}[{index}]"
