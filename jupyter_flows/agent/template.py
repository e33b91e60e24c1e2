"""The run template: one process that imports the run stack once and forks a fresh process for each run.

Starting Python and importing the engine, the storages and the database driver
cost about a second of CPU; paid by every run, it caps an agent at one or two
runs a second on a small machine. The template pays it once. It is
``python -m jupyter_flows.agent.template SIZE``, started by the agent's
:class:`~jupyter_flows.agent.warm.WarmPool`, and it never runs user code: it
imports, then forks. Each child is a process of its own, used for one run
and then ended, so nothing a run does reaches another run.

To keep forking safe the template stays single-threaded (no backend
connection open, no kernel, no thread), and a child first makes itself a
process like one the agent would have started: its own session (the agent
signals the run's process group), killed when the template dies (and the
template when the agent dies: no orphans), no file descriptor of the
template's, the inherited SQLAlchemy pool dropped (``dispose(close=False)``)
and a connection of its own opened.

The template keeps ``SIZE`` children *ready* ahead: forked, connected to the
backend, and, once the agent has run a notebook flow, with that notebook's
kernel started ahead (see ``tasks/papermill_engine.py``). A run goes to a
waiting child, or to a child forked for it on the spot when none is left (a
burst of runs) or none has its kernel ready yet; a replacement is forked after
each hand-over.

Protocol, one line per message. The agent writes JSON to the template's
stdin: ``{"op": "run", "run_id", "env", "cwd", "log_path"}`` (see
:func:`apply_job`), or ``{"op": "kernel", "name"}``. The template answers on
its stdout: ``started RUN_ID PID``, ``exited PID CODE`` for every child that
ended (a negative code: killed by that signal, as :class:`subprocess.Popen`
says it), ``ready PID`` for a child ready for a run. Its stdin closing ends it.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import sys
import threading
import time

log = logging.getLogger("jupyter_flows.agent")

#: Names the kernel the ready children start ahead, in the template's environment (never in a run's).
WARM_KERNEL_ENV = "JUPYTER_FLOWS_WARM_KERNEL"
#: Seconds before a waiting child that died before it was ready is replaced, doubled for each such death
#: in a row (up to :data:`REFILL_WAIT_MAX_S`): a backend that is down must not make the template fork in a loop.
REFILL_WAIT_S = 0.5
REFILL_WAIT_MAX_S = 30.0



def template_command(size: int) -> list[str]:
    return [sys.executable, "-m", "jupyter_flows.agent.template", str(size)]


def apply_job(job: dict) -> None:
    """Take on the run's output file, environment and working directory (before any user code loads).

    ``job["env"]`` is the complete environment a process started for the run
    would have had (see :func:`~jupyter_flows.agent.launch.build_env`).
    """
    out = os.open(job["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.environ.clear()
    os.environ.update(job["env"])
    if job["cwd"]:
        os.chdir(job["cwd"])
    # ``python -m`` put the directory it started in first on sys.path; a process started for the run has its own
    sys.path[0] = os.getcwd()


class Template:
    """The template's state: its backend (opened once, never connected while forking) and its children."""

    def __init__(self, size: int, backend, kernel_name: str | None):
        self.size = size
        self.backend = backend
        self.kernel_name = kernel_name
        #: Children waiting for a run: pid -> write end of their job pipe (oldest first).
        self.waiting: dict[int, int] = {}
        #: The waiting children that said they are ready (connected, kernel started).
        self.ready: set[int] = set()
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()  # SIGCHLD lands here (signal.set_wakeup_fd)
        self.ready_r, self.ready_w = os.pipe()  # children write their pid here once ready
        self._stdin = b""
        self._ready_lines = b""
        self._failed_in_a_row = 0  # waiting children that died before they were ready (the database is down...)
        self._fill_at = 0.0  # monotonic time before which no waiting child is forked after such deaths

    # -- the loop ----------------------------------------------------------------------------------

    def serve(self) -> None:
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wake_w)
        for fd in (0, self.wake_r, self.ready_r):
            self.selector.register(fd, selectors.EVENT_READ)
        self.fill()
        while True:
            timeout = None if len(self.waiting) >= self.size else max(0.0, self._fill_at - time.monotonic())
            for key, _ in self.selector.select(timeout):
                if key.fd == 0 and not self._read_stdin():
                    return  # the agent closed the pool (or is gone)
                if key.fd == self.wake_r:
                    os.read(self.wake_r, 4096)
                if key.fd == self.ready_r:
                    self._read_ready()
            self.reap()
            self.fill()

    def close(self) -> None:
        """Tell the waiting children there will be no run (they end on their own)."""
        for fd in self.waiting.values():
            os.close(fd)
        self.waiting.clear()

    def _read_stdin(self) -> bool:
        data = os.read(0, 1 << 16)
        if not data:
            return False
        *lines, self._stdin = (self._stdin + data).split(b"\n")
        for line in lines:
            message = json.loads(line)
            if message["op"] == "run":
                pid = self.hand_over(message)
                _say(f"started {message['run_id']} {pid}")
            elif message["op"] == "kernel":
                self.start_kernels(message["name"])
        return True

    def _read_ready(self) -> None:
        *lines, self._ready_lines = (self._ready_lines + os.read(self.ready_r, 4096)).split(b"\n")
        for line in lines:
            pid = int(line)
            self._failed_in_a_row = 0
            if pid in self.waiting:
                self.ready.add(pid)
                _say(f"ready {pid}")

    # -- children ----------------------------------------------------------------------------------

    def hand_over(self, job: dict) -> int:
        """Give the run to a waiting child, or to one forked for it; returns the child's pid.

        A child still starting its kernel ahead could keep the run waiting for seconds: only ready ones
        count then. Without a kernel to start, the oldest waiting child is as far along as a new one would be.
        """
        for pid in [p for p in self.waiting if p in self.ready or not self.kernel_name]:
            fd = self.waiting.pop(pid)
            self.ready.discard(pid)
            try:
                os.write(fd, json.dumps(job).encode() + b"\n")
            except OSError:  # it died just now: its exit is reported when reaped
                continue
            finally:
                os.close(fd)
            return pid
        return self.fork(job)

    def fill(self) -> None:
        if time.monotonic() < self._fill_at:
            return
        while len(self.waiting) < self.size:
            job_pipe = os.pipe()
            pid = self.fork(None, job_pipe)
            os.close(job_pipe[0])
            self.waiting[pid] = job_pipe[1]

    def start_kernels(self, kernel_name: str) -> None:
        """Children forked from now on start a ``kernel_name`` kernel ahead; the waiting ones are replaced."""
        if kernel_name == self.kernel_name:
            return
        self.kernel_name = kernel_name
        _import_notebook_stack()
        self.close()
        self.ready.clear()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            fd = self.waiting.pop(pid, None)
            if fd is not None:
                os.close(fd)
                if code != 0:
                    self._replace_later(pid, code, pid in self.ready)
                self.ready.discard(pid)
            _say(f"exited {pid} {code}")

    def _replace_later(self, pid: int, code: int, was_ready: bool) -> None:
        """A waiting child died: replace it at once, or, when none got ready lately, after a growing wait."""
        if not was_ready:
            self._failed_in_a_row += 1
            wait = min(REFILL_WAIT_MAX_S, REFILL_WAIT_S * 2 ** (self._failed_in_a_row - 1))
            self._fill_at = time.monotonic() + wait
        when = f"in {self._fill_at - time.monotonic():.1f} s" if self._fill_at > time.monotonic() else "now"
        log.warning("run process %s exited with code %s while it waited for a run; replacing it %s", pid, code, when)

    def fork(self, job: dict | None, job_pipe: tuple[int, int] | None = None) -> int:
        """Fork a child that runs ``job``, or that gets ready and then reads its run from ``job_pipe``."""
        template_pid = os.getpid()
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:  # the child never returns into the template's loop, whatever happens
            self._become_run_process(template_pid, job_pipe)
            if job is None:
                job = self._wait_for_job(job_pipe[0])
            code = 0 if job is None else _run(self.backend, job)
        except BaseException as exc:  # noqa: BLE001  (said, then the child ends)
            print(f"run process {os.getpid()} failed before its run: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # as execute.py: threads stuck in an interrupted task must not hold the exit

    def _become_run_process(self, template_pid: int, job_pipe: tuple[int, int] | None) -> None:
        """In a fresh child: a process of its own, as the agent would have started it, with nothing of the template's."""
        from .launch import _die_with_parent

        os.setsid()
        if sys.platform.startswith("linux"):
            _die_with_parent()
        if os.getppid() != template_pid:  # the template died before the line above
            os._exit(1)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        for fd in (self.wake_r, self.wake_w, self.ready_r, *self.waiting.values()):
            os.close(fd)
        if job_pipe is None:
            os.close(self.ready_w)
        else:
            os.close(job_pipe[1])
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)  # the template's stdout is the agent's pipe: the agent must see it close
        os.close(devnull)
        # The template's pool holds no connection (see _prepare); drop it anyway, never touching the parent's.
        self.backend.engine.dispose(close=False)

    def _wait_for_job(self, job_fd: int) -> dict | None:
        """Get ready (connect, start the kernel ahead), say so, and wait; ``None`` when no run comes."""
        with self.backend.engine.connect():  # the connection stays in the pool for the run
            pass
        if self.kernel_name:
            from ..tasks import papermill_engine

            try:
                papermill_engine.start_warm_kernel(self.kernel_name)
            except Exception as exc:  # e.g. no longer installed: the run starts its own kernel, or says why not
                log.warning("run process %s could not start kernel %r ahead: %s", os.getpid(), self.kernel_name, exc)
        os.write(self.ready_w, f"{os.getpid()}\n".encode())
        os.close(self.ready_w)
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(job_fd, 1 << 16)
            if not chunk:
                return None
            line += chunk
        os.close(job_fd)
        _check_connection(self.backend)
        return json.loads(line)


def _check_connection(backend) -> None:
    """Make sure the connection opened ahead still works (a server may have closed it while the child waited).

    A dead one is dropped by the failed query itself; the run then opens a new one.
    """
    try:
        with backend.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:  # noqa: BLE001  (whatever the driver raises, the answer is a new connection)
        backend.engine.dispose()


def _run(backend, job: dict) -> int:
    from . import execute

    apply_job(job)
    execute.install_interrupt_handlers()
    if backend.url != os.environ.get("JUPYTER_FLOWS_BACKEND_URL", backend.url):
        backend = None  # not the agent's backend after all: execute_flow_run opens the run's
    return execute.run_and_exit_code(job["run_id"], backend)


def _say(line: str) -> None:
    os.write(1, line.encode() + b"\n")


def _import_notebook_stack() -> None:
    """What every notebook run does first, done once here for all of them.

    papermill, nbclient and jupyter_client take seconds to import; finding the
    kernel specs imports IPython (to find its kernel: a third of a second);
    nbformat compiles its schema into a validator on the first notebook it
    reads or writes. Each is kept by the library itself, per process, and
    every child forked from here inherits it. What a run looks up (the
    installed kernels, its kernel's spec) is still looked up in the run's own
    environment: a kernel installed since is found.
    """
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbformat.validator import get_validator

    from ..tasks import papermill_engine  # noqa: F401

    KernelSpecManager().kernel_dirs  # noqa: B018  (the property imports IPython)
    for minor in sorted({4, nbformat.current_nbformat_minor}):  # notebooks saved as 4.4 and as the current 4.x
        get_validator(version=4, version_minor=minor)


def _prepare(kernel_name: str | None):
    """Import what every run needs and check the backend, before any run is known."""
    from .. import executors, run_configs, storage  # noqa: F401  (execute_flow_run imports them on use)
    from ..backend import Backend, limit_gate, recorder  # noqa: F401
    from ..engine import flow_runner  # noqa: F401  (Flow.run imports it on use)
    from . import execute  # noqa: F401

    from .launch import load_libc

    backend = Backend(create=False)  # the agent's database exists: never make a fresh one here
    _warm_caches(backend)
    load_libc()  # each child asks it to die with the template
    backend.engine.dispose()  # no connection open while forking: each child opens its own
    if kernel_name:
        _import_notebook_stack()
    if threading.active_count() != 1:  # forking a process with threads can copy a held lock
        log.warning("run template %s has %d threads after its imports; forked runs may hang", os.getpid(),
                    threading.active_count())
    return backend


def _warm_caches(backend) -> None:
    """Fill, once for every child, the caches the first steps of a run fill: compiled SQL, parsed signatures.

    Reads only (of a run that does not exist): the template never writes.
    """
    from ..exceptions import NotFoundError
    from ..executors import executor_from_dict

    executor_from_dict({"type": "LocalExecutor"})  # inspects a signature (tokenize compiles its patterns)
    missing = "run-template-warm-up"
    for read in (backend.get_flow_run, backend.get_flow, backend.get_task_runs):
        try:  # opens the engine and checks the schema too, once for every child
            read(missing)
        except NotFoundError:
            pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    kernel_name = os.environ.pop(WARM_KERNEL_ENV, None) or None
    template = Template(int(args[0]) if args else 1, _prepare(kernel_name), kernel_name)
    try:
        template.serve()
    finally:
        template.close()
    return 0


if __name__ == "__main__":
    os._exit(main())
