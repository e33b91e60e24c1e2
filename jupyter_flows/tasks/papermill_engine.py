"""Running one notebook with papermill, reported as a task: progress and output as log lines.

:func:`run_notebook` is the one place jupyter-flows executes a notebook (the
``Notebook`` storage's task and :class:`~jupyter_flows.tasks.ExecuteNotebook`
both call it). It uses papermill's own execution path, parameter injection
and error handling, with a papermill engine registered here (``jupyter_flows``)
that adds three things:

- each code cell's start becomes a log line ``cell 3/10`` of the running task,
  and each line the cell prints (stdout, stderr, tracebacks) becomes a log
  line too, in the task's run, so the backend and the live views show them;
- the kernel starts in the run's working directory without ``chdir``-ing the
  whole process (parallel runs in threads would race on it);
- a run can be stopped from another thread (a task timeout): the kernel is
  interrupted, then killed, and the output notebook is still written with the
  stopped cell marked, before the task gives up.

One kernel per run: papermill starts it, unless this is a warm run process
(``agent/warm.py``) that started a kernel ahead: the first notebook run with
that kernel name gets it (see :func:`start_warm_kernel`). A kernel started
before its run cannot have the run's environment in its process environment;
the run's ``os.environ`` and working directory are set inside it by a silent
execution first, before any cell of the notebook runs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import Engine, NotebookExecutionManager, papermill_engines
from papermill.exceptions import PapermillExecutionError

from ..engine import logging as run_logging
from ..engine.context import context
from ..exceptions import NotebookError
from .notebook_source import check_kernel

ENGINE_NAME = "jupyter_flows"

#: Seconds a stopped kernel gets to end its cell after an interrupt, then again after a kill.
STOP_GRACE_S = 5.0

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CellReporter:
    """Turns the events of one notebook run into log lines of the task that runs it.

    It is created in the task's thread, where it picks up the task logger and
    the task's log buffer; nbclient may call it back from its own event loop
    thread (inside a Jupyter kernel it always does), so every line is written
    into that buffer explicitly rather than through thread-local state.
    """

    def __init__(self, name: str):
        self.name = name
        self.logger = context.get("logger")
        self._entries = run_logging.current_capture()
        self._partial: dict[str, str] = {}
        self.current_cell: int | None = None
        self.total_cells = 0
        self.client: PapermillNotebookClient | None = None
        self.stopped_reason: str | None = None
        self.finished = threading.Event()

    # -- log lines ----------------------------------------------------------------------------

    def log(self, level: int, message: str) -> None:
        with run_logging.capture_into(self._entries):
            self.logger.log(level, message)

    def cell_started(self, index: int, total: int) -> None:
        self.current_cell, self.total_cells = index, total
        self.log(logging.INFO, f"cell {index + 1}/{total}")

    def cell_finished(self) -> None:
        for stream, rest in self._partial.items():
            if rest.strip():
                self._stream_line(stream, rest)
        self._partial.clear()

    def message(self, msg: dict) -> None:
        """One iopub message of the running cell: print its stream text and errors as log lines."""
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "stream":
            text = self._partial.pop(content["name"], "") + content["text"]
            *lines, rest = text.split("\n")
            for line in lines:
                if line.strip():
                    self._stream_line(content["name"], line)
            if rest:
                self._partial[content["name"]] = rest
        elif kind == "error":
            traceback = _ANSI.sub("", "\n".join(content.get("traceback") or ()))
            self.log(logging.ERROR, f"cell {self._cell_label()} raised {content['ename']}: {content['evalue']}"
                                    + (f"\n{traceback}" if traceback else ""))

    def _stream_line(self, stream: str, line: str) -> None:
        self.log(logging.WARNING if stream == "stderr" else logging.INFO, line)

    def _cell_label(self) -> str:
        if self.current_cell is None:
            return "?"
        return f"{self.current_cell + 1}/{self.total_cells}"

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, reason: str, grace: float = STOP_GRACE_S) -> None:
        """Stop the run from another thread: interrupt the kernel, kill it if it does not listen.

        Returns once the run has ended and written its output notebook, or
        after twice ``grace`` seconds at most.
        """
        self.stopped_reason = reason
        process = self._kernel_process()
        if process is None or self.finished.is_set():
            return
        self.log(logging.WARNING, f"{self.name}: {reason}; interrupting the kernel")
        _signal(process, signal.SIGINT)
        if self.finished.wait(grace):
            return
        self.log(logging.WARNING, f"{self.name}: the kernel did not stop within {grace:g} s; killing it")
        _signal(process, signal.SIGKILL)
        self.finished.wait(grace)

    def _kernel_process(self):
        km = getattr(self.client, "km", None)
        provisioner = getattr(km, "provisioner", None)
        return getattr(provisioner, "process", None)


def _signal(process, signum: int) -> None:
    try:
        process.send_signal(signum)
    except (ProcessLookupError, OSError):
        pass


class _ReportingManager(NotebookExecutionManager):
    """papermill's execution bookkeeping (metadata, saving after each cell), plus progress lines."""

    def __init__(self, nb, reporter: CellReporter, **kwargs: Any):
        super().__init__(nb, **kwargs)
        self.reporter = reporter

    def cell_start(self, cell, cell_index=None, **kwargs):
        if cell.get("cell_type") == "code":
            self.reporter.cell_started(cell_index, len(self.nb.cells))
        return super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell, cell_index=None, **kwargs):
        self.reporter.cell_finished()
        return super().cell_complete(cell, cell_index, **kwargs)


class _ReportingClient(PapermillNotebookClient):
    """papermill's notebook client, telling the reporter about every kernel message."""

    def __init__(self, nb_man, reporter: CellReporter, **kwargs: Any):
        super().__init__(nb_man, **kwargs)
        self.reporter = reporter
        reporter.client = self

    def process_message(self, msg, cell, cell_index):
        self.reporter.message(msg)
        return super().process_message(msg, cell, cell_index)


class FlowEngine(Engine):
    """The papermill engine jupyter-flows runs notebooks with (``engine_name="jupyter_flows"``)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=False, log_output=False,
                         autosave_cell_every=30, reporter: CellReporter | None = None, **kwargs):
        reporter = reporter or CellReporter("notebook")
        nb_man = _ReportingManager(nb, reporter, output_path=output_path, progress_bar=False,
                                   log_output=False, autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, reporter=reporter, **kwargs)
        finally:
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, reporter: CellReporter, kernel_cwd=None,
                                 start_timeout=60, execution_timeout=None, **kwargs):
        km = take_warm_kernel(kernel_name, kernel_cwd) or ipc_kernel_manager(kernel_name)
        try:
            return cls._execute(nb_man, kernel_name, reporter, km, kernel_cwd, start_timeout, execution_timeout)
        finally:
            _shut_down(km)  # nbclient leaves running a kernel whose manager it was given

    @classmethod
    def _execute(cls, nb_man, kernel_name, reporter, km, kernel_cwd, start_timeout, execution_timeout):
        client = _ReportingClient(
            nb_man,
            reporter,
            km=km,
            kernel_name=kernel_name,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": kernel_cwd}} if kernel_cwd else {},
            log=logging.getLogger("papermill"),
        )
        try:
            return client.execute()
        except (CellTimeoutError, DeadKernelError) as exc:
            # papermill saves and reports only errors found in cell outputs: put this one there.
            _mark_stopped_cell(nb_man, reporter, exc, execution_timeout)
            return nb_man.nb


def _mark_stopped_cell(nb_man, reporter: CellReporter, exc: Exception, timeout) -> None:
    if reporter.current_cell is None:
        raise exc
    cell = nb_man.nb.cells[reporter.current_cell]
    if isinstance(exc, CellTimeoutError):
        ename, evalue = "CellTimeoutError", f"the cell did not finish within {timeout:g} s and was stopped"
    else:
        ename, evalue = "DeadKernelError", reporter.stopped_reason or "the kernel died while running the cell"
    cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[]))
    nb_man.cell_exception(cell, cell_index=reporter.current_cell)
    reporter.log(logging.ERROR, f"cell {reporter._cell_label()} raised {ename}: {evalue}")


papermill_engines.register(ENGINE_NAME, FlowEngine)


# The kernel a warm run process started ahead (see agent/warm.py): at most one, for the first notebook run.
_warm_kernel: dict[str, Any] = {}


def ipc_kernel_manager(kernel_name: str):
    """A manager of a local ``kernel_name`` kernel talking over IPC sockets in a private directory.

    (No TCP ports to find or secure: the kernel prints no warning about unencrypted TCP into every run.)
    """
    import tempfile

    from jupyter_client import AsyncKernelManager

    directory = tempfile.mkdtemp(prefix="jupyter-flows-kernel-")
    return AsyncKernelManager(kernel_name=kernel_name, transport="ipc",
                              connection_file=os.path.join(directory, "kernel.json"))


def _shut_down(km) -> None:
    from jupyter_core.utils import run_sync

    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
    shutil.rmtree(os.path.dirname(km.connection_file), ignore_errors=True)


def start_warm_kernel(kernel_name: str) -> None:
    """Start a ``kernel_name`` kernel now, for the next notebook run of this process (see agent/warm.py)."""
    from jupyter_core.utils import run_sync

    km = ipc_kernel_manager(kernel_name)
    run_sync(km.start_kernel)()
    _warm_kernel.update(km=km, env=dict(os.environ))


def take_warm_kernel(kernel_name: str, cwd: str | None):
    """The warm kernel, given the run's environment and ``cwd``, if it is of ``kernel_name`` and alive."""
    km = _warm_kernel.pop("km", None)
    if km is None:
        return None
    from jupyter_core.utils import run_sync

    if km.kernel_name != kernel_name or not run_sync(km.is_alive)():  # a new kernel runs the notebook instead
        _shut_down(km)
        return None
    _take_on_run_env(km, _warm_kernel.pop("env"), cwd)
    return km


def _take_on_run_env(km, started_with: dict, cwd: str | None) -> None:
    """Make the kernel's ``os.environ`` and working directory the run's, silently, before any cell."""
    env = dict(os.environ)
    removed = [name for name in started_with if name not in env]
    code = (f"import os as _jf_os\n_jf_name = None\nfor _jf_name in {removed!r}:\n    _jf_os.environ.pop(_jf_name, None)\n"
            f"_jf_os.environ.update({env!r})\n" + (f"_jf_os.chdir({cwd!r})\n" if cwd else "")
            + "del _jf_os, _jf_name\n")
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(code, silent=True, store_history=False, timeout=60)
    finally:
        client.stop_channels()
    if reply["content"]["status"] != "ok":
        raise NotebookError(f"could not give the warm kernel the run's environment: {reply['content']}")


# Runs in progress in this process, by (flow run id, task slug, map index), so that a task's
# timeout, which the task runner reports from another thread, can stop the right kernel.
_running: dict[tuple, CellReporter] = {}
_running_lock = threading.Lock()


def _run_key() -> tuple | None:
    flow_run_id = context.get("flow_run_id")
    if flow_run_id is None:
        return None
    return (flow_run_id, context.get("task_slug"), context.get("map_index"))


def stop_current_run(reason: str) -> None:
    """Stop the notebook run of the task run whose context is current (its timeout expired)."""
    key = _run_key()
    with _running_lock:
        reporter = _running.get(key) if key else None
    if reporter is not None:
        reporter.stop(reason)


def run_notebook(input_path: str | os.PathLike, output_path: str | os.PathLike, parameters: dict | None,
                 kernel_name: str, cwd: str | os.PathLike | None = None, timeout: float | None = None,
                 name: str | None = None) -> str:
    """Execute the notebook at ``input_path`` with ``parameters`` injected; return ``output_path``.

    ``cwd`` is where the kernel starts (this process's working directory when
    ``None``); ``timeout`` bounds each cell, in seconds. A cell that raises
    fails the run with a :class:`NotebookError` naming the cell, the exception
    type and message; the executed notebook is written to ``output_path``
    whatever happens, with the error in place.
    """
    name = name or Path(input_path).name
    check_kernel(kernel_name, name)
    output_path = os.fspath(output_path)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    kernel_cwd = os.fspath(cwd) if cwd is not None else os.getcwd()
    if not os.path.isdir(kernel_cwd):
        raise NotebookError(f"working directory {kernel_cwd!r} for {name} does not exist; give an existing directory")
    import papermill

    reporter = CellReporter(name)
    key = _run_key()
    if key is not None:
        with _running_lock:
            _running[key] = reporter
    reporter.log(logging.INFO, f"executing {name} with kernel {kernel_name!r} into {output_path}")
    try:
        papermill.execute_notebook(
            os.fspath(input_path), output_path, parameters=parameters or None, engine_name=ENGINE_NAME,
            kernel_name=kernel_name, progress_bar=False, log_output=False, reporter=reporter,
            kernel_cwd=kernel_cwd, execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        raise NotebookError(_describe_failure(name, exc, reporter, output_path)) from None
    finally:
        if key is not None:
            with _running_lock:
                _running.pop(key, None)
        reporter.finished.set()
    return output_path


def _describe_failure(name: str, exc: PapermillExecutionError, reporter: CellReporter, output_path: str) -> str:
    first_line = next((line for line in exc.source.splitlines() if line.strip()), "").strip()
    where = f"cell {exc.cell_index + 1}/{reporter.total_cells or '?'} (index {exc.cell_index}"
    where += f", In [{exc.exec_count}])" if exc.exec_count is not None else ")"
    stopped = f" after it was stopped ({reporter.stopped_reason})" if reporter.stopped_reason else ""
    return (f"{name}: {where} raised {exc.ename}: {exc.evalue}{stopped}; the cell starts {first_line[:80]!r}; "
            f"the executed notebook, with the error in place, is at {output_path}")
