"""A local agent in a child process for the length of a ``with`` block.

For the demo, the benchmarks and the tests: each needs a real ``jupyter-flows
agent local start`` beside it, stopped the way a user stops one (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def local_agent_process(*options: str, log_path: str | os.PathLike | None = None, env: dict | None = None,
                        cwd: str | os.PathLike | None = None, stop_timeout: float = 20) -> Iterator[subprocess.Popen]:
    """Start ``jupyter-flows agent local start *options``; stop it (SIGINT, then SIGKILL) on exit.

    ``log_path`` receives the agent's output (appended); ``env`` replaces the
    environment (the agent's backend follows ``JUPYTER_FLOWS_HOME`` in it).
    """
    command = [sys.executable, "-m", "jupyter_flows.cli", "agent", "local", "start", *options]
    out = open(Path(log_path), "ab") if log_path else subprocess.DEVNULL
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=cwd)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        if log_path:
            out.close()
