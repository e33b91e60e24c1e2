"""Helpers of the agent tests: the CLI as a user runs it, waiting for states, test flows."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from jupyter_flows.backend import Backend

POLL_INTERVAL = 0.05
HEARTBEAT_INTERVAL = 0.5
FINAL = ("Success", "Failed", "Cancelled")


def jupyter_flows_command() -> list[str]:
    """The installed ``jupyter-flows`` script of this interpreter (``python -m jupyter_flows.cli`` if none)."""
    script = Path(sys.executable).parent / "jupyter-flows"
    return [str(script)] if script.exists() else [sys.executable, "-m", "jupyter_flows.cli"]


def run_cli(*args: str, timeout: float = 120, cwd=None) -> subprocess.CompletedProcess:
    """The ``jupyter-flows`` command, as a user types it."""
    return subprocess.run([*jupyter_flows_command(), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def write_flow_file(directory: Path, code: str, name: str = "flow_file.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(code))
    return path


def register_file(backend: Backend, path: Path, project: str = "tests", *labels: str) -> dict:
    """Register the flows of a file through the CLI; returns the (last) registered flow's record."""
    backend.create_project(project)
    options = [opt for label in labels for opt in ("--label", label)]
    result = run_cli("register", "--project", project, "-p", str(path), *options)
    assert result.returncode == 0, result.stderr
    flow_id = result.stdout.strip().splitlines()[-1].rsplit("(id ", 1)[1].rstrip(").")
    return backend.get_flow(flow_id)


class AgentProcess:
    """An agent process (``jupyter-flows agent ... start``) and the file its output goes to.

    ``stop()`` interrupts it as Ctrl-C would, and kills it when it has not
    ended after ``grace`` seconds (a Docker agent stops its containers first:
    it is given longer).
    """

    def __init__(self, process: subprocess.Popen, log_path: Path, grace: float = 15):
        self.process = process
        self.log_path = log_path
        self.grace = grace

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float | None = None) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=self.grace if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_for_state(backend: Backend, run_id: str, states=FINAL, timeout: float = 60) -> dict:
    """Poll the run until it is in one of ``states``; fail the test with its history if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        run = backend.get_flow_run(run_id)
        if run["state"] in states:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"flow run stayed {run['state']} for {timeout}s; history: {run['states']}")
        time.sleep(0.05)


def wait_for(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def process_gone(pid: int) -> bool:
    """True when no process has this pid any more (or only a zombie not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def log_messages(backend: Backend, run_id: str) -> list[str]:
    return [entry["message"] for entry in backend.get_logs(run_id)]


#: The first code block of the "Flow Configuration" tutorial, with ``prefect`` renamed.
TUTORIAL_FLOW = '''
import os

import jupyter_flows
from jupyter_flows import task, Flow, Parameter
from jupyter_flows.run_configs import LocalRun


@task
def say_hello(name):
    # Load the greeting to use from an environment variable
    greeting = os.environ.get("GREETING")
    logger = jupyter_flows.context.get("logger")
    logger.info(f"{greeting}, {name}!")


with Flow("hello-flow") as flow:
    people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
    say_hello.map(people)

# Configure the `GREETING` environment variable for this flow
flow.run_config = LocalRun(env={"GREETING": "Hello"})

# Register the flow under the "tutorial" project
flow.register(project_name="tutorial")
'''

#: A flow that writes its process id to a file, then works for a long time (for stop/cancel tests).
SLOW_FLOW = '''
import os
import time

import jupyter_flows
from jupyter_flows import Flow, Parameter, task


@task
def note_pid(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    jupyter_flows.context.get("logger").info("pid noted")


@task
def work(_, seconds):
    time.sleep(seconds)


with Flow("slow-flow") as flow:
    pid_file = Parameter("pid_file")
    seconds = Parameter("seconds", default=60)
    work(note_pid(pid_file), seconds)
'''


def pid_from(path: Path, timeout: float = 30) -> int:
    return int(wait_for(lambda: path.exists() and path.read_text().strip(), timeout, f"pid in {path}"))
