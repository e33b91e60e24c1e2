"""Starting and stopping the process that runs one flow run for an agent.

A flow run's process is ``python -m jupyter_flows.agent.execute RUN_ID``. It
gets the agent's environment, then the agent's ``--env`` values, then the run
config's ``env`` (the run config wins), with the agent's ``--import-path``
entries in front of ``PYTHONPATH``. It runs in its own process group, so that
a Ctrl-C typed at the agent reaches the agent only (which then decides what
happens to its runs), and so that stopping a run stops everything it started
(a process pool, a notebook kernel). On Linux it also dies with the agent: a
run whose agent was killed goes silent and is marked lost by the next sweep,
instead of running on unwatched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Mapping

from ..exceptions import ConfigurationError

#: Seconds a stopped run's process gets to record its final state before it is killed.
TERMINATE_GRACE_S = 5.0

_PR_SET_PDEATHSIG = 1


def build_env(base: Mapping[str, str], agent_env: Mapping[str, str] | None = None,
              run_env: Mapping[str, str] | None = None, import_paths: Iterable[str] = (),
              backend_url: str | None = None) -> dict[str, str]:
    """The environment of a flow run's process.

    Layers, later wins: ``base`` (the agent's own environment), ``agent_env``
    (``--env``), ``run_env`` (the run config's ``env``). ``import_paths`` are
    put in front of ``PYTHONPATH``; ``backend_url`` points the run at the
    agent's backend whatever the layers say, since the run reports there.
    """
    env = {**base, **(agent_env or {}), **(run_env or {})}
    paths = [os.fspath(Path(p).resolve()) for p in import_paths]
    if paths:
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join(paths + ([existing] if existing else []))
    if backend_url:
        env["JUPYTER_FLOWS_BACKEND_URL"] = backend_url
    return env


def check_working_dir(working_dir: str | None) -> str | None:
    """The run's working directory, or a :class:`ConfigurationError` saying why it cannot be used."""
    if working_dir is None:
        return None
    path = Path(working_dir).expanduser()
    if not path.exists():
        raise ConfigurationError(f"working_dir {working_dir!r} of the run config does not exist on this agent's host")
    if not path.is_dir():
        raise ConfigurationError(f"working_dir {working_dir!r} of the run config is not a directory")
    return os.fspath(path)


def execute_command(flow_run_id: str) -> list[str]:
    """The command line that runs one flow run (see :mod:`jupyter_flows.agent.execute`)."""
    return [sys.executable, "-m", "jupyter_flows.agent.execute", flow_run_id]


_libc: list = []  # the C library, loaded once (in the parent: finding it runs ldconfig, no work for a fork)


def load_libc():
    """The C library (``None`` where none is found), loaded on first use and kept."""
    if not _libc:
        name = ctypes.util.find_library("c")
        _libc.append(ctypes.CDLL(name, use_errno=True) if name else None)
    return _libc[0]


def _die_with_parent() -> None:
    """In the child, before exec (or just forked): ask Linux to SIGKILL us when our parent goes away.

    Call :func:`load_libc` in the parent first.
    """
    libc = load_libc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def start_run_process(flow_run_id: str, env: Mapping[str, str], cwd: str | None = None,
                      stdout=None, stderr=None) -> subprocess.Popen:
    """Start the process of one flow run, in its own process group."""
    load_libc()  # here, not in the child before exec
    return subprocess.Popen(
        execute_command(flow_run_id),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to the run's whole process group (the run and what it started)."""
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def terminate(process: subprocess.Popen, grace: float = TERMINATE_GRACE_S) -> int:
    """SIGTERM the run's process group, SIGKILL it after ``grace`` seconds; returns the exit code."""
    if process.poll() is None:
        signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    if process.poll() is None:
        signal_group(process, signal.SIGKILL)
        process.wait()
    else:
        # The leader is gone; anything it left in its group goes too.
        signal_group(process, signal.SIGKILL)
    return process.returncode
