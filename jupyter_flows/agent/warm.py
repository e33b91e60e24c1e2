"""Warm run processes: flow run processes started before their run, so a claimed run starts at once.

Starting Python, importing the engine, papermill and the database driver, and
opening the backend take most of a second; a warm process has done all that
and waits, blocked on its stdin, for the run it is given. Each run still gets
a process of its own, used once (nothing a run leaves behind reaches another
run); the agent starts a new warm process as soon as one is taken.

Once the agent has run a notebook flow, its warm processes also start a kernel
of that notebook's kernel ahead (over IPC sockets), which the next notebook
run with that kernel name gets (see ``tasks/papermill_engine.py``); a
Python flow's run leaves it unused, and it ends with the process.

The agent hands a run over as one JSON line: the run's id, the complete
environment a cold process would have been started with (see
:func:`~jupyter_flows.agent.launch.build_env`), its working directory and
the file its output goes to. The process replaces its environment, changes
directory and points its stdout and stderr at that file before it loads the
flow, so the user's code (flow modules, notebooks) sees exactly what it
would in a process started for it. What the interpreter itself reads at
start (``PYTHON*`` variables such as ``PYTHONPATH``, ``LD_*``) cannot change
afterwards: a run whose run config sets one gets a cold process.

Warm processes are started like run processes (own process group, killed
with the agent on Linux; see :mod:`~jupyter_flows.agent.launch`), so killing
the agent leaves none behind.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from typing import Mapping

from .launch import _die_with_parent, signal_group

log = logging.getLogger("jupyter_flows.agent")

#: Names the kernel a warm process starts ahead, in its environment (never in a run's).
WARM_KERNEL_ENV = "JUPYTER_FLOWS_WARM_KERNEL"
#: Run config variables that only a new interpreter takes into account.
_INTERPRETER_PREFIXES = ("PYTHON", "LD_")


def needs_cold_start(run_env: Mapping[str, str]) -> bool:
    """Whether the run config's ``env`` sets something a started interpreter can no longer apply."""
    return any(name.startswith(_INTERPRETER_PREFIXES) for name in run_env)


class WarmPool:
    """Keeps ``size`` warm run processes ready for an agent; ``size=0`` keeps none.

    The agent calls :meth:`refill` once per turn of its loop (it only starts
    processes; they import in the background) and :meth:`take` to start a run.
    A warm process that died while it waited is dropped, never given a run.

    >>> pool = WarmPool(2, env)  # doctest: +SKIP
    >>> process = pool.take(run_id, run_env, cwd, log_path)  # None: start a cold process instead  # doctest: +SKIP
    """

    def __init__(self, size: int, env: Mapping[str, str]):
        self.size = size
        self.env = dict(env)
        self.idle: list[subprocess.Popen] = []
        #: The kernel the warm processes start ahead: the last one a notebook flow of this agent ran with.
        self.kernel_name: str | None = None

    def note_kernel(self, kernel_name: str) -> None:
        """Warm processes started from now on start a ``kernel_name`` kernel ahead too."""
        if kernel_name != self.kernel_name:
            self.kernel_name = kernel_name
            self.env[WARM_KERNEL_ENV] = kernel_name

    def refill(self) -> None:
        """Drop warm processes that died; start new ones up to ``size``."""
        for process in [p for p in self.idle if p.poll() is not None]:
            log.warning("warm run process %s exited with code %s while idle; replacing it",
                        process.pid, process.returncode)
            self.idle.remove(process)
        while len(self.idle) < self.size:
            self.idle.append(_start_warm_process(self.env))

    def take(self, run_id: str, env: Mapping[str, str], run_env: Mapping[str, str], cwd: str | None,
             log_path: os.PathLike) -> subprocess.Popen | None:
        """Give the run to a live warm process and return it; ``None`` when a cold process must run it."""
        if needs_cold_start(run_env):
            return None
        job = json.dumps({"run_id": run_id, "env": dict(env), "cwd": cwd, "log_path": os.fspath(log_path)})
        while self.idle:
            process = self.idle.pop(0)
            if process.poll() is not None:
                continue
            try:
                process.stdin.write(job.encode() + b"\n")
                process.stdin.close()
            except OSError:  # it died just now
                signal_group(process, signal.SIGKILL)
                continue
            return process
        return None

    def idle_memory(self) -> int:
        """Bytes of memory (resident) the idle warm processes hold; 0 where /proc is not there."""
        return sum(_resident_bytes(p.pid) for p in self.idle)

    def close(self) -> None:
        """Stop the idle warm processes (closing their stdin ends them; SIGKILL whatever lingers)."""
        for process in self.idle:
            try:
                process.stdin.close()
            except OSError:
                pass
        for process in self.idle:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait()
        self.idle.clear()


def warm_command() -> list[str]:
    return [sys.executable, "-m", "jupyter_flows.agent.warm"]


def _start_warm_process(env: Mapping[str, str]) -> subprocess.Popen:
    return subprocess.Popen(warm_command(), env=dict(env), stdin=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# -- the warm process ------------------------------------------------------------------------------

def _prepare():
    """Import what every run needs and open the backend, before any run is known."""
    from .. import executors, run_configs, storage  # noqa: F401  (execute_flow_run imports them on use)
    from ..backend import Backend, limit_gate, recorder  # noqa: F401
    from . import execute

    backend = Backend(create=False)  # the agent's database exists: never make a fresh one here
    with backend.engine.connect():  # the connection stays in the pool for the run
        pass
    kernel_name = os.environ.get(WARM_KERNEL_ENV)
    if kernel_name:  # this agent runs notebooks: papermill, nbclient and jupyter_client too (seconds of imports)
        from ..tasks import papermill_engine

        try:
            papermill_engine.start_warm_kernel(kernel_name)
        except Exception as exc:  # e.g. no longer installed: the run starts its own kernel, or says why not
            log.warning("warm run process %s could not start kernel %r ahead: %s", os.getpid(), kernel_name, exc)
    return backend, execute


def _apply(job: dict) -> None:
    """Take on the run's output file, environment and working directory (before any user code loads)."""
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
    # ``python -m`` put the directory it started in first on sys.path; a cold process has the run's there
    sys.path[0] = os.getcwd()


def main() -> int:
    backend, execute = _prepare()
    line = sys.stdin.buffer.readline()
    if not line:
        return 0  # the pool closed without giving a run
    job = json.loads(line)
    _apply(job)
    execute.install_interrupt_handlers()
    if backend.url != os.environ.get("JUPYTER_FLOWS_BACKEND_URL", backend.url):
        backend = None  # not the agent's backend after all: execute_flow_run opens the run's
    return execute.run_and_exit_code(job["run_id"], backend)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as execute.py: threads stuck in an interrupted task must not hold the exit
