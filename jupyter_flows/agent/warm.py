"""Warm starts: the agent's side of its run template, so that a claimed run starts at once.

The agent starts one run template (see :mod:`~jupyter_flows.agent.template`):
a process that has imported the run stack and forks a fresh process for each
run, ``--warm N`` of them ready ahead (connected to the backend, and once the
agent has run a notebook flow, with that notebook's kernel started ahead).
``--warm 0`` turns all of it off: every run gets a process started for it.

The agent hands a run over as the run's id, the complete environment a
process started for it would have had (see
:func:`~jupyter_flows.agent.launch.build_env`), its working directory and the
file its output goes to; the run's process takes them on before it loads the
flow. What the interpreter itself reads at start (``PYTHON*`` variables such
as ``PYTHONPATH``, ``LD_*``) cannot change afterwards: a run whose run config
sets one gets a process started for it.

The forked run processes are the template's children, not the agent's: the
template says when each one ended and with which code, and
:class:`ForkedRun` offers the agent what a :class:`subprocess.Popen` would
(``pid``, ``poll``, ``wait``). The template dies with the agent and the runs
with the template (``PR_SET_PDEATHSIG`` on Linux), so killing the agent
leaves nothing behind; a template that died is replaced at the agent's next
turn (the runs it had end with it, and fail as their process was killed).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Mapping

from .launch import _die_with_parent, load_libc, signal_group
from .template import WARM_KERNEL_ENV, template_command

log = logging.getLogger("jupyter_flows.agent")

#: Run config variables that only a new interpreter takes into account.
_INTERPRETER_PREFIXES = ("PYTHON", "LD_")
#: Seconds the template may take to fork a run's process before the agent gives up on it.
FORK_TIMEOUT_S = 30.0
#: Seconds before a template that died before it had a process ready is started again (doubled after each
#: such death, up to :data:`RESTART_WAIT_MAX_S`): a template that cannot start must not take the agent's CPU.
RESTART_WAIT_S = 1.0
RESTART_WAIT_MAX_S = 60.0


def needs_cold_start(run_env: Mapping[str, str]) -> bool:
    """Whether the run config's ``env`` sets something a started interpreter can no longer apply."""
    return any(name.startswith(_INTERPRETER_PREFIXES) for name in run_env)


class ForkedRun:
    """A run's process forked by the template, watched as a :class:`subprocess.Popen` would be."""

    __slots__ = ("pid", "returncode", "_ended")

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._ended = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"run process {self.pid}", timeout)
        return self.returncode

    def ended(self, code: int) -> None:
        self.returncode = code
        self._ended.set()


class RunTemplate:
    """One template process and what it said: the runs it forked (until they end) and its ready children."""

    def __init__(self, size: int, env: Mapping[str, str], on_exit: Callable[[], None] | None = None):
        self.on_exit = on_exit
        load_libc()  # here, not in the child before exec
        self.process = subprocess.Popen(
            template_command(size), env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            start_new_session=True, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        self.runs: dict[int, ForkedRun] = {}
        self.ready: set[int] = set()
        #: Whether a child of this template ever got ready (a template that never did could not start).
        self.was_ready = False
        self._lock = threading.Lock()
        self._started: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"run-template-{self.process.pid}", daemon=True)
        self._reader.start()

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def run(self, job: dict) -> ForkedRun | None:
        """Have the template fork (or hand to a ready child) the run's process; ``None`` if it did not."""
        try:
            self.send({"op": "run", **job})
            return self._started.get(timeout=FORK_TIMEOUT_S)
        except (OSError, ValueError, queue.Empty):  # the template is gone or stuck: the run starts cold
            self.kill()
            return None

    def _read(self) -> None:
        for line in self.process.stdout:
            kind, *fields = line.split()
            with self._lock:
                if kind == b"started":
                    pid = int(fields[1])
                    self.ready.discard(pid)
                    self.runs[pid] = run = ForkedRun(pid)
                    self._started.put(run)
                elif kind == b"ready":
                    self.ready.add(int(fields[0]))
                    self.was_ready = True
                elif kind == b"exited":
                    pid, code = int(fields[0]), int(fields[1])
                    self.ready.discard(pid)
                    run = self.runs.pop(pid, None)
                    if run is not None:
                        run.ended(code)
                        if self.on_exit is not None:
                            self.on_exit()
        # The template is gone, and with it (PR_SET_PDEATHSIG) every process it forked.
        with self._lock:
            for run in self.runs.values():
                run.ended(-signal.SIGKILL)
            self.runs.clear()
            self.ready.clear()
        self._started.put(None)
        if self.on_exit is not None:
            self.on_exit()

    def idle_memory(self) -> int:
        """Bytes the template and its ready children hold (proportional share: forked pages are shared)."""
        with self._lock:
            pids = [self.process.pid, *self.ready]
        return sum(_proportional_bytes(pid) for pid in pids)

    def close(self, timeout: float = 5.0) -> None:
        """End the template (closing its stdin); its children waiting for a run end with it."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reader.join(timeout=timeout)

    def kill(self) -> None:
        signal_group(self.process, signal.SIGKILL)
        self.process.wait()


class WarmPool:
    """Warm starts for an agent: a run template keeping ``size`` run processes ready; ``size=0``: none.

    The agent calls :meth:`refill` once per turn of its loop (it starts the
    template again if it died) and :meth:`take` to start a run. ``on_exit`` is
    called (from another thread) when a run's process ended, so the agent can
    reap it and start the next run without waiting for its next poll.

    >>> pool = WarmPool(2, env)  # doctest: +SKIP
    >>> process = pool.take(run_id, env, run_env, cwd, log_path)  # None: start a process for it instead  # doctest: +SKIP
    """

    def __init__(self, size: int, env: Mapping[str, str], on_exit: Callable[[], None] | None = None):
        self.size = size if hasattr(os, "fork") else 0  # no fork (Windows): every run gets a process of its own
        self.env = dict(env)
        self.on_exit = on_exit
        self.template: RunTemplate | None = None
        self._restart_wait = 0.0
        self._restart_at = 0.0  # monotonic time before which no template is started
        #: The kernel the ready processes start ahead: the last one a notebook flow of this agent ran with.
        self.kernel_name: str | None = None

    @property
    def ready(self) -> int:
        """How many run processes are ready for a run."""
        return len(self.template.ready) if self.template is not None else 0

    def note_kernel(self, kernel_name: str) -> None:
        """Ready run processes start a ``kernel_name`` kernel ahead from now on."""
        if kernel_name == self.kernel_name:
            return
        self.kernel_name = kernel_name
        self.env[WARM_KERNEL_ENV] = kernel_name  # a template started again imports the notebook stack at once
        if self.template is not None and self.template.alive():
            try:
                self.template.send({"op": "kernel", "name": kernel_name})
            except OSError:  # it died just now: refill starts another
                pass

    def refill(self) -> None:
        """Start the template, or start it again if it died."""
        if not self.size:
            return
        if self.template is not None and not self.template.alive():
            self._note_death(self.template)
            self.template = None
        if self.template is None and time.monotonic() >= self._restart_at:
            self.template = RunTemplate(self.size, self.env, self.on_exit)

    def _note_death(self, template: RunTemplate) -> None:
        """Start the next template at once after a template that worked, later and later after one that never did."""
        if template.was_ready:
            self._restart_wait = 0.0
        else:
            self._restart_wait = min(RESTART_WAIT_MAX_S, max(RESTART_WAIT_S, 2 * self._restart_wait))
        self._restart_at = time.monotonic() + self._restart_wait
        when = f"in {self._restart_wait:.0f} s (runs start processes of their own meanwhile)" if self._restart_wait \
            else "now"
        log.warning("run template %s exited with code %s%s; starting another %s", template.process.pid,
                    template.process.returncode, "" if template.was_ready else " before it had a process ready",
                    when)

    def take(self, run_id: str, env: Mapping[str, str], run_env: Mapping[str, str], cwd: str | None,
             log_path: os.PathLike) -> ForkedRun | None:
        """A fresh process forked for the run, running it; ``None`` when a process must be started for it."""
        if not self.size or needs_cold_start(run_env) or self.template is None or not self.template.alive():
            return None
        return self.template.run({"run_id": run_id, "env": dict(env), "cwd": cwd, "log_path": os.fspath(log_path)})

    def idle_memory(self) -> int:
        """Bytes of memory the template and its ready run processes hold; 0 where /proc is not there."""
        return self.template.idle_memory() if self.template is not None else 0

    def close(self) -> None:
        """Stop the template and the run processes it keeps ready."""
        if self.template is not None:
            self.template.close()
            self.template = None


def _proportional_bytes(pid: int) -> int:
    """The process's proportional set size (its share of pages shared with others), else its resident size."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
