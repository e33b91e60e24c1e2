"""Restart as planning: the task runs of an earlier attempt that the flow runner keeps instead of running.

A restart is a smaller plan. The flow runner asks here, once, which task runs
(keyed by task slug and map index) succeeded in the earlier attempt; while
planning it resolves those as it resolves parameters, and plans only the
rest: failed, timed-out, trigger-failed, cancelled and never-run tasks, and
of a mapped task only the children that did not succeed. Parameters are never
kept: they are resolved again from the run's values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..core.parameter import Parameter
from ..core.task import Constant
from ..exceptions import ResultError
from ..results import LocalResult
from .state import Mapped, State, state_from_dict
from .task_runner import TaskRun

#: Stored task run states whose result a restart keeps.
KEPT_STATES = frozenset({"Success", "Cached", "Skipped"})

Kept = dict  # {(task slug, map index or None): TaskRun}

#: Threads reading a restarted run's checkpoints.
READ_THREADS = 4


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

    The checkpoints are read by a few threads: opening a file waits on the disk, not the CPU.
    """
    tasks = {slug: task for task, slug in flow.slugs.items() if not isinstance(task, (Parameter, Constant))}
    wanted = [(tasks[r["task_slug"]], r) for r in records
              if r["state"] in KEPT_STATES and r["task_slug"] in tasks]
    readers: dict = {}  # one Result per task, so that each resolves its directory once
    for task, _ in wanted:
        if task not in readers:
            readers[task] = results.get(task) or task.result or flow.result or LocalResult()
    with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="jupyter-flows-restart") as pool:
        runs = pool.map(lambda item: _read_kept(item[0], item[1], readers[item[0]]), wanted)
        kept: Kept = {}
        for (task, record), (run, why) in zip(wanted, runs):
            if run is not None:
                kept[(record["task_slug"], run.map_index)] = run
            else:
                log(logging.WARNING, why)
    return kept


def _read_kept(task, record: dict, result) -> tuple[TaskRun | None, str | None]:
    """The kept run of ``record`` with its result read back, or ``(None, why it runs again)``."""
    index = record["map_index"]
    index = None if index is None or index < 0 else index
    name = task.name if index is None else f"{task.name}[{index}]"
    state = state_from_dict({"type": record["state"], "message": record.get("message")})
    location = record.get("result_location")
    if location is None:
        if record["state"] == "Skipped":  # nothing to read: a skipped task has no result
            return TaskRun(record["task_slug"], task.name, index, state, record.get("start_time"),
                           record.get("end_time"), record.get("attempts") or 0), None
        return None, f"Task {name!r} runs again: its result was not checkpointed"
    try:
        state.result = result.read(location)
    except ResultError as exc:
        return None, f"Task {name!r} runs again: {exc}"
    return TaskRun(record["task_slug"], task.name, index, state, record.get("start_time"), record.get("end_time"),
                   record.get("attempts") or 0, location=location), None
