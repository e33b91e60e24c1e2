"""``Notebook`` storage: the notebook is the flow.

``Flow("analysis", storage=Notebook("analysis.ipynb"))`` is a flow whose
parameters are the variables of the notebook's cell tagged ``parameters`` and
whose one task executes the notebook with papermill, those parameters
injected. It runs in the kernel with ``flow.run(...)`` like any flow, and
through an agent once registered: registering copies the notebook into the
flows directory, so that later edits of the working copy do not change what a
registered version runs.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Any, Iterable

from .. import config
from ..core.parameter import Parameter
from ..core.task import Task
from ..engine.context import context
from ..exceptions import FlowDefinitionError, NotebookError, StorageError
from ..tasks.notebook_source import (
    NotebookParameterSpec,
    available_kernels,
    check_kernel,
    check_type,
    content_hash,
    inspect_parameters,
    kernel_of,
    read_notebook,
    resolve_path,
    safe_path_part,
)
from .base import Storage, register_storage, write_atomically
from .local import slugify
from .script import flow_name_at


@register_storage
class Notebook(Storage):
    """Keep (and run) a flow that is a Jupyter notebook.

    ``path``: the notebook (nbformat 4). ``kernel_name``: the kernel to run it
    with (default: the one it was saved with). ``output_dir``: where executed
    notebooks go, as ``<output_dir>/<flow run id>.ipynb`` (default
    ``<config.runs_dir()>/<flow run id>/output.ipynb``). ``cwd``: the kernel's
    working directory (default: the working directory of the process running
    the flow, which for an agent's run is the run config's ``working_dir``).
    ``timeout``: seconds the notebook may run; past it the kernel is
    interrupted, then killed, and the task run ends ``TimedOut``. ``name``:
    how logs and the task refer to the notebook (default: its file name).
    ``allow_missing_kernel``: register even if the notebook's kernel is not
    installed on this machine (it must be on the hosts of the agents that run
    it); by default registering such a notebook is a :class:`NotebookError`.

    Parameters come from the cell tagged ``parameters``: one
    :class:`~jupyter_flows.Parameter` per variable, its default evaluated as
    a Python literal (a default that is not a literal makes the parameter
    required, with a warning). Each parameter has the type the cell declares
    (``alpha: float = 0.5``) or else the type of its default; a run given a
    value of another type **fails before the kernel starts** with a
    :class:`~jupyter_flows.exceptions.ParameterError` naming the parameter, the
    expected type and the value (an ``int`` is accepted for a ``float``;
    ``None`` and parameters whose type is unknown are not checked).

    >>> flow = Flow("analysis", storage=Notebook("analysis.ipynb"))
    >>> sorted(p.name for p in flow.parameters())
    ['n', 'scale', 'title']
    >>> state = flow.run(n=10, scale=0.5)
    >>> state.result[flow.storage.task].result     # the executed notebook
    '.../runs/<flow run id>/output.ipynb'
    """

    def __init__(self, path: str | os.PathLike, kernel_name: str | None = None,
                 output_dir: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None,
                 timeout: float | None = None, name: str | None = None,
                 labels: Iterable[str] | None = None, add_default_labels: bool = True,
                 flows: dict | None = None, allow_missing_kernel: bool = False):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        self._set_options(path, kernel_name, output_dir, cwd, timeout, name, flows)
        # Not stored: it only changes what registering checks here.
        self.allow_missing_kernel = bool(allow_missing_kernel)
        if add_default_labels:
            host = socket.gethostname()
            if host not in self.labels:
                self.labels.append(host)
        self.task: NotebookTask | None = None
        self._read()

    def _set_options(self, path, kernel_name, output_dir, cwd, timeout, name, flows) -> None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise NotebookError(f"Notebook storage needs the path of an .ipynb file, got {path!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or timeout <= 0):
            raise NotebookError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        for what, value in (("output_dir", output_dir), ("cwd", cwd)):
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise NotebookError(f"{what} must be a path (str or Path) or None, got {value!r}")
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self.kernel_name = kernel_name
        self.output_dir = os.path.abspath(os.fspath(output_dir)) if output_dir is not None else None
        self.cwd = os.path.abspath(os.fspath(cwd)) if cwd is not None else None
        self.timeout = timeout
        self.name = name or os.path.basename(self.path)
        self.flows: dict[str, str] = dict(flows or {})

    def _read(self) -> None:
        """Read and check the notebook now, so that a bad path, file or kernel fails at construction."""
        nb = read_notebook(resolve_path(self.path))
        if self.kernel_name is not None and not self.allow_missing_kernel:
            check_kernel(self.kernel_name, self.name)
        self.kernel = kernel_of(nb, self.kernel_name, self.name)
        self.parameter_specs: list[NotebookParameterSpec] = inspect_parameters(nb, self.kernel, self.name)
        self.notebook_hash = content_hash(nb)

    @classmethod
    def from_dict(cls, data: dict) -> "Notebook":
        """Rebuild the storage the backend keeps, without reading the notebook.

        The working copy it names may have changed or gone since registration;
        runs read the stored copy, through :meth:`get_flow`.
        """
        options = dict(data)
        options.pop("type", None)
        storage = cls.__new__(cls)
        Storage.__init__(storage, labels=options.pop("labels", None),
                         add_default_labels=options.pop("add_default_labels", True))
        storage._set_options(options.pop("path"), options.pop("kernel_name", None), options.pop("output_dir", None),
                             options.pop("cwd", None), options.pop("timeout", None), options.pop("name", None),
                             options.pop("flows", None))
        if options:
            raise StorageError(f"unknown Notebook storage options {sorted(options)}")
        storage.task = None
        storage.allow_missing_kernel = False
        return storage

    def to_dict(self) -> dict:
        return {**super().to_dict(), "path": self.path, "kernel_name": self.kernel_name,
                "output_dir": self.output_dir, "cwd": self.cwd, "timeout": self.timeout, "name": self.name,
                "flows": dict(self.flows)}

    # -- the flow the notebook is ---------------------------------------------------------------

    @property
    def parameters(self) -> list[dict]:
        """The notebook's parameters: ``[{"name", "type", "default", "required", "help"}]``."""
        return [spec.to_dict() for spec in self.parameter_specs]

    def attach(self, flow) -> None:
        """Fill ``flow`` in: one Parameter per notebook parameter, and the task that runs the notebook."""
        if flow.tasks:
            raise FlowDefinitionError(
                f"Notebook storage makes the tasks of flow {flow.name!r} from {self.name}, but the flow already "
                f"has tasks ({', '.join(sorted(t.name for t in flow.tasks))}); give it to a new Flow: "
                f"Flow({flow.name!r}, storage=Notebook(...))"
            )
        task = NotebookTask(self)
        flow.add_task(task)
        for spec in self.parameter_specs:
            parameter = Parameter(spec.name, default=spec.default, required=spec.required)
            parameter.help = spec.help
            parameter.type_name = spec.type_name
            flow.add_edge(parameter, task, key=spec.name)
        self.task = task

    def check_parameter_types(self, values: dict) -> None:
        """Raise :class:`ParameterError` for a value of another type than its parameter's."""
        for spec in self.parameter_specs:
            if spec.name in values:
                check_type(spec.name, spec.type_name, values[spec.name], self.name)

    # -- registering and loading ----------------------------------------------------------------

    def add_flow(self, flow) -> str:
        """Copy the notebook to ``<flows dir>/<flow>/<content hash>/<file name>``; return that path.

        The copy is what agents run. An unchanged notebook (same cells; outputs
        do not count) goes to the same place, so registering it again keeps
        its version.
        """
        extra = sorted({t.name for t in flow.tasks} - {t.name for t in flow.parameters()} - {self.name})
        if extra or self.task is None or self.task not in flow.tasks:
            raise StorageError(
                f"Notebook storage keeps only the notebook {self.name}, but flow {flow.name!r} "
                + (f"also has tasks {', '.join(extra)}" if extra else "was not built from it")
                + "; use Local storage for a flow with tasks of its own"
            )
        self._check_unchanged()
        self._check_kernel_installed()
        target = Path(config.flows_dir()) / slugify(flow.name) / self.notebook_hash[:24] / os.path.basename(self.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, Path(self.path).read_bytes())
        except OSError as exc:
            raise StorageError(f"cannot copy notebook {self.path!r} to {str(target)!r}: {exc}") from exc
        self.flows[flow.name] = str(target)
        return str(target)

    def _check_kernel_installed(self) -> None:
        """A notebook whose kernel is missing here would register fine and fail on its first run: stop it now.

        The kernel may be installed only where agents run it; with
        ``allow_missing_kernel`` registering goes ahead, with a warning.
        """
        installed = available_kernels()
        if self.kernel in installed:
            return
        if not self.allow_missing_kernel:
            raise NotebookError(
                f"{self.name} runs with kernel {self.kernel!r}, which is not installed here (installed kernels: "
                f"{', '.join(installed) or 'none'}); install it, or if it is installed on the agents' hosts only, "
                "register with allow_missing_kernel=True (CLI: --allow-missing-kernel)"
            )
        warnings.warn(f"kernel {self.kernel!r} of {self.name} is not installed here; its runs will fail on any "
                      "agent whose host does not have it", UserWarning, stacklevel=2)

    def get_flow(self, location: str | None = None):
        """The flow of the notebook stored at ``location``, built from that stored copy."""
        from ..core.flow import Flow

        location = self.resolve_location(location)
        flow_name = flow_name_at(self.flows, location)
        if flow_name is None:
            raise StorageError(f"{location!r} is not a notebook this storage stored; it holds: "
                               f"{', '.join(self.flows.values()) or 'nothing'}")
        if not os.path.isfile(location):
            raise StorageError(
                f"the stored notebook of flow {flow_name!r} is missing: {location!r} was written when the flow "
                "was registered and has since been deleted or moved; register the flow again"
            )
        stored = Notebook(location, kernel_name=self.kernel_name, output_dir=self.output_dir, cwd=self.cwd,
                          timeout=self.timeout, name=self.name, labels=self.labels, add_default_labels=False,
                          flows=self.flows)
        return Flow(flow_name, storage=stored)

    # -- running --------------------------------------------------------------------------------

    def output_path(self, flow_run_id: str) -> str:
        """Where the executed notebook of flow run ``flow_run_id`` is written."""
        run_id = safe_path_part(flow_run_id, "flow run id")
        if self.output_dir is not None:
            return os.path.join(self.output_dir, f"{run_id}.ipynb")
        return os.path.join(config.runs_dir(), run_id, "output.ipynb")

    def execute(self, parameters: dict, timeout: float | None = None) -> str:
        """Run the notebook for the current flow run; return the executed notebook's path."""
        self.check_parameter_types(parameters)
        self._check_unchanged()
        from ..tasks.papermill_engine import run_notebook

        output = self.output_path(context.get("flow_run_id") or _new_run_id())
        return run_notebook(self.path, output, parameters, self.kernel, cwd=self.cwd, timeout=timeout,
                            name=self.name)

    def _check_unchanged(self) -> None:
        """The notebook must still be the one the flow's parameters were read from."""
        nb = read_notebook(resolve_path(self.path))
        if content_hash(nb) != self.notebook_hash:
            raise NotebookError(
                f"{self.path} changed since its flow was built from it, so the flow's parameters may no "
                "longer match it; build the flow again (Flow(name, storage=Notebook(path)))"
            )


class NotebookTask(Task):
    """The task of a notebook flow: executes the notebook with the run's parameter values.

    It receives every parameter of the flow as a keyword argument and returns
    the path of the executed notebook.
    """

    def __init__(self, storage: Notebook):
        super().__init__(name=storage.name, timeout=storage.timeout)
        # Private, so that the backend's flow hash sees the notebook's content hash (below), not
        # the storage's bookkeeping (which flows it stored where).
        self._storage = storage
        self.content_hash = storage.notebook_hash
        self.kernel = storage.kernel

    def run(self, **parameters: Any) -> str:
        return self._storage.execute(parameters, timeout=self.timeout)

    def on_timeout(self) -> None:
        from ..tasks.papermill_engine import stop_current_run

        stop_current_run(f"the task timed out after {self.timeout:g} s")


def _new_run_id() -> str:
    import uuid

    return str(uuid.uuid4())


def notebook_flow(path: str | os.PathLike, name: str | None = None, **options: Any):
    """``Flow(name, storage=Notebook(path, **options))``; the name defaults to the file name without ``.ipynb``.

    >>> notebook_flow("analysis.ipynb").name
    'analysis'
    """
    from ..core.flow import Flow

    storage = Notebook(path, **options)
    return Flow(name or Path(storage.path).stem, storage=storage)
