"""Helpers of the automation tests: the CLI as a user types it, registering flow files, waiting for runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path


def wait_until(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def jf(*args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The installed ``jupyter-flows`` command as a user types it (the test's home comes through the env)."""
    script = Path(sys.executable).parent / "jupyter-flows"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=timeout, input=input)


def register_file(tmp_path: Path, code: str, project: str = "automations", name: str = "flows.py") -> None:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    for command in (("create", "project", project), ("register", "--project", project, "-p", str(path))):
        result = jf(*command)
        assert result.returncode == 0, result.stdout + result.stderr


def wait_for_state(backend, run_id: str, timeout: float = 60) -> dict:
    wait_until(lambda: backend.get_flow_run(run_id)["state"] in ("Success", "Failed", "Cancelled"), timeout,
               f"flow run {run_id} to end")
    return backend.get_flow_run(run_id)

