"""A local agent in a child process: started, and stopped the way a user stops one (Ctrl-C).

For the demo, the benchmarks and the tests (``local_agent_process``, for the
length of a ``with`` block), and for the agent a Jupyter server manages
(``jupyter/server/managed_agent.py``): each needs a real ``jupyter-flows
agent local start`` beside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator


def agent_command(*options: str) -> list[str]:
    """The command line of ``jupyter-flows agent local start *options`` with this Python."""
    return [sys.executable, "-m", "jupyter_flows.cli", "agent", "local", "start", *options]


def start_agent_process(*options: str, out=subprocess.DEVNULL, env: dict | None = None,
                        cwd: str | os.PathLike | None = None, new_session: bool = False) -> subprocess.Popen:
    """Start a local agent process writing to ``out``; ``new_session`` keeps a terminal's Ctrl-C from it."""
    return subprocess.Popen(agent_command(*options), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, start_new_session=new_session)


def stop_agent_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop an agent the way a user does (SIGINT: it cancels its runs and stops their processes), then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def local_agent_process(*options: str, log_path: str | os.PathLike | None = None, env: dict | None = None,
                        cwd: str | os.PathLike | None = None, stop_timeout: float = 20) -> Iterator[subprocess.Popen]:
    """Start ``jupyter-flows agent local start *options``; stop it (SIGINT, then SIGKILL) on exit.

    ``log_path`` receives the agent's output (appended); ``env`` replaces the
    environment (the agent's backend follows ``JUPYTER_FLOWS_HOME`` in it).
    """
    out = open(Path(log_path), "ab") if log_path else subprocess.DEVNULL
    try:
        process = start_agent_process(*options, out=out, env=env, cwd=cwd)
        try:
            yield process
        finally:
            stop_agent_process(process, stop_timeout)
    finally:
        if log_path:
            out.close()
