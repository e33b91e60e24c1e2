"""``ExecuteNotebook``: a task that runs a notebook with papermill and returns the executed copy."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from .. import config
from ..core.task import Task
from ..engine.context import context
from ..exceptions import NotebookError, ParameterError
from ..storage.local import slugify
from .notebook_source import (
    check_kernel,
    check_type,
    inspect_parameters,
    kernel_of,
    read_notebook,
    resolve_path,
    safe_path_part,
)


class ExecuteNotebook(Task):
    """Execute a notebook with parameters; the result is the path of the executed notebook.

    ``path``, ``parameters``, ``output_path`` given here are defaults for
    :meth:`run`, whose own arguments win (``parameters`` are merged, the run's
    over these). ``kernel_name`` defaults to the notebook's own kernel, ``cwd``
    (where the kernel starts) to this process's working directory. Other
    keywords are task options (``name``, ``max_retries``, ``timeout``: past it
    the kernel is interrupted, then killed, and the task run ends ``TimedOut``).

    Parameters are checked against the notebook's cell tagged ``parameters``
    before a kernel starts: an undeclared name or a value of another type than
    the declared (or default's) one is a :class:`ParameterError`.

    Without ``output_path`` the executed notebook goes to
    ``<runs dir>/<flow run id>/<task slug>[-<map index>].ipynb``, so mapped
    children never overwrite each other::

        with Flow("sweep", executor=LocalDaskExecutor()) as flow:
            outputs = ExecuteNotebook(path="analysis.ipynb").map(
                parameters=[{"alpha": 0.1}, {"alpha": 0.9}])
    """

    def __init__(self, path: str | os.PathLike | None = None, parameters: dict | None = None,
                 output_path: str | os.PathLike | None = None, kernel_name: str | None = None,
                 cwd: str | os.PathLike | None = None, **task_kwargs: Any):
        super().__init__(**task_kwargs)
        self.path = os.fspath(resolve_path(path)) if path is not None else None
        if self.path is not None:
            read_notebook(Path(self.path))
        if parameters is not None and not isinstance(parameters, dict):
            raise ParameterError(f"parameters must be a dict of name: value, got {parameters!r:.80}")
        self.parameters = dict(parameters) if parameters else None
        self.output_path = os.fspath(output_path) if output_path is not None else None
        if kernel_name is not None:
            check_kernel(kernel_name, self.name)
        self.kernel_name = kernel_name
        self.cwd = os.fspath(cwd) if cwd is not None else None

    def run(self, path: str | os.PathLike | None = None, parameters: dict | None = None,
            output_path: str | os.PathLike | None = None) -> str:
        """Execute the notebook at ``path`` (or the task's) and return the executed notebook's path."""
        path = path if path is not None else self.path
        if path is None:
            raise NotebookError(f"task {self.name!r} has no notebook to run: give path= to ExecuteNotebook "
                                "or to the call")
        if parameters is not None and not isinstance(parameters, dict):
            raise ParameterError(f"parameters must be a dict of name: value, got {parameters!r:.80}")
        source = resolve_path(path)
        nb = read_notebook(source)
        kernel = kernel_of(nb, self.kernel_name, source.name)
        values = {**(self.parameters or {}), **(parameters or {})}
        check_parameters(values, inspect_parameters(nb, kernel, source.name, warn_required=False), source.name)
        output = output_path if output_path is not None else self.output_path
        if output is None:
            output = default_output_path(source)
        from .papermill_engine import run_notebook

        return run_notebook(source, output, values, kernel, cwd=self.cwd, timeout=self.timeout, name=source.name)

    def on_timeout(self) -> None:
        from .papermill_engine import stop_current_run

        stop_current_run(f"the task timed out after {self.timeout:g} s")


def check_parameters(values: dict, specs: list, where: str) -> None:
    """Every value must be a declared parameter of the notebook, of the declared type."""
    declared = {spec.name: spec for spec in specs}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none (it has no cell tagged 'parameters')"
        raise ParameterError(f"{where} has no parameter named {', '.join(map(repr, unknown))}; "
                             f"its parameters are: {known}")
    for name, value in values.items():
        check_type(name, declared[name].type_name, value, where)


def default_output_path(source: Path) -> str:
    """``<runs dir>/<flow run id>/<task slug>[-<map index>].ipynb`` for the current task run.

    Outside a flow run: ``<runs dir>/<new id>/<notebook name>``.
    """
    flow_run_id = context.get("flow_run_id")
    if flow_run_id is None:
        return os.path.join(config.runs_dir(), str(uuid.uuid4()), source.name)
    run_dir = os.path.join(config.runs_dir(), safe_path_part(flow_run_id, "flow run id"))
    stem = slugify(context.get("task_slug") or source.stem)
    map_index = context.get("map_index")
    suffix = f"-{int(map_index)}" if map_index is not None else ""
    return os.path.join(run_dir, f"{stem}{suffix}.ipynb")
