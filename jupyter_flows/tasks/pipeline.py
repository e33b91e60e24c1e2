"""Pipelines of notebooks: several notebooks run as one flow, in order or by a small dependency form.

Each notebook is an :class:`~jupyter_flows.tasks.notebook.ExecuteNotebook`
task named after the notebook, so each run keeps every executed copy (under
the run's folder, one per notebook) and a failure names the notebook that
failed. What the JupyterLab dialog "Create flow from notebooks" sends, and
what a user may write by hand::

    flow = notebook_pipeline("daily-report", [
        {"path": "extract.ipynb", "parameters": {"day": "2026-11-30"}},
        {"path": "clean.ipynb"},                       # after the previous step (a chain)
        {"path": "plots.ipynb", "after": [1]},         # after step 1 (clean)
        {"path": "tables.ipynb", "after": [1]},
    ])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from ..core.flow import Flow
from ..exceptions import FlowDefinitionError, ParameterError
from .notebook import ExecuteNotebook

STEP_KEYS = ("path", "parameters", "after")


def notebook_pipeline(name: str, steps: Iterable[dict[str, Any]], **flow_options: Any) -> Flow:
    """A flow running the notebooks of ``steps`` in dependency order.

    A step is ``{"path", "parameters"?, "after"?}``: ``after`` lists the
    indexes of the steps it waits for; without it a step waits for the one
    before it, so a plain list is a chain, and ``"after": []`` starts at once.
    Each notebook's kernel starts in the notebook's folder. Other keywords go
    to :class:`~jupyter_flows.core.flow.Flow` (``executor``, ``storage``...).
    """
    steps = [_check_step(step, index) for index, step in enumerate(steps)]
    if not steps:
        raise FlowDefinitionError(f"pipeline {name!r} needs at least one notebook step")
    flow = Flow(name, **flow_options)
    tasks = []
    for index, step in enumerate(steps):
        path = Path(step["path"])
        notebook = ExecuteNotebook(path=path, parameters=step.get("parameters"), cwd=path.parent,
                                   name=_task_name(path, tasks))
        tasks.append(notebook)
        flow.add_task(notebook)
    for index, step in enumerate(steps):
        after = step.get("after", [index - 1] if index else [])
        for upstream in after:
            if not isinstance(upstream, int) or isinstance(upstream, bool) or not 0 <= upstream < len(steps) \
                    or upstream == index:
                raise FlowDefinitionError(f"step {index} ({steps[index]['path']}) cannot run after {upstream!r}; "
                                          f"'after' takes indexes of other steps, 0 to {len(steps) - 1}")
            flow.set_dependencies(tasks[index], upstream_tasks=[tasks[upstream]])
    flow.validate()  # steps that wait for each other in a cycle are refused here, naming the flow
    return flow


def _check_step(step: Any, index: int) -> dict:
    if not isinstance(step, dict) or not isinstance(step.get("path"), (str, os.PathLike)):
        raise FlowDefinitionError(f"step {index} must be a dict with a notebook 'path'; got {step!r:.80}")
    unknown = sorted(set(step) - set(STEP_KEYS))
    if unknown:
        raise FlowDefinitionError(f"step {index} has unknown keys {unknown}; a step takes: {', '.join(STEP_KEYS)}")
    if step.get("parameters") is not None and not isinstance(step["parameters"], dict):
        raise ParameterError(f"step {index} ({step['path']}): parameters must be a dict of name: value, "
                             f"got {step['parameters']!r:.80}")
    if "after" in step and not isinstance(step["after"], (list, tuple)):
        raise FlowDefinitionError(f"step {index} ({step['path']}): 'after' must be a list of step indexes, "
                                  f"got {step['after']!r:.80}")
    return step


def _task_name(path: Path, earlier: list) -> str:
    """The notebook's name without ``.ipynb`` (``clean``), numbered when the same name comes twice."""
    taken = {task.name for task in earlier}
    name, n = path.stem, 1
    while name in taken:
        n += 1
        name = f"{path.stem}-{n}"
    return name
