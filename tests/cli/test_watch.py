"""``jupyter-flows run --watch`` follows a run live, and never waits forever on a run nobody runs."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time

import pytest
from rich.console import Console

from cli_helpers import SCRIPT, jf, write_flow_file
from jupyter_flows.agent.background import local_agent_process
from jupyter_flows.cli import follow_flow_run

pytestmark = pytest.mark.slow

HEARTBEAT_INTERVAL = 0.5

TICKING_FLOW = '''
import time

import jupyter_flows
from jupyter_flows import Flow, Parameter, task


@task
def tick(ticks):
    logger = jupyter_flows.context.get("logger")
    for i in range(ticks):
        logger.info(f"tick {i}")
        time.sleep(0.2)


with Flow("ticking-flow") as flow:
    tick(Parameter("ticks", default=25))
'''


@pytest.fixture(autouse=True)
def fast_intervals(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", str(HEARTBEAT_INTERVAL))
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")  # the watch's lines reach the pipe as it prints them


@pytest.fixture
def ticking_flow(backend, tmp_path):
    backend.create_project("tests")
    result = jf("register", "--project", "tests", "-p", write_flow_file(tmp_path, TICKING_FLOW))
    assert result.returncode == 0, result.stderr


class Watch:
    """A ``run --watch`` process whose output lines are read, with the time each arrived, as it prints."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([SCRIPT, "run", "--name", "ticking-flow", "--watch", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {timeout}s; the watch printed: {self.seen}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def watches():
    started: list[Watch] = []

    def start(*args: str) -> Watch:
        started.append(Watch(*args))
        return started[-1]

    yield start
    for watch in started:
        watch.stop()


def test_watch_shows_task_lines_while_the_task_still_runs(backend, ticking_flow, watches, tmp_path):
    with local_agent_process(log_path=tmp_path / "agent.log"):
        watch = watches()
        watch.wait_for_line("tick 2")
        run = backend.list_flow_runs()[0]
        tick = [t for t in backend.get_task_runs(run["id"]) if t["task_name"] == "tick"]
        assert run["state"] == "Running"
        assert not tick or tick[0]["state"] == "Running", "the line came before the task ended"
        watch.wait_for_line("ended Success")
        assert watch.process.wait(timeout=30) == 0


def test_watch_ends_with_the_reason_when_the_only_agent_is_killed(backend, ticking_flow, watches, tmp_path):
    with local_agent_process(log_path=tmp_path / "agent.log") as agent:
        watch = watches("--param", "ticks=1000")
        watch.wait_for_line("tick 1")
        agent.send_signal(signal.SIGKILL)  # its run's process dies with it
        agent.wait()
        killed_at = time.monotonic()

        line = watch.wait_for_line("ended Failed", timeout=30)

    assert "lost: no heartbeat since" in line
    assert watch.process.wait(timeout=10) == 1
    # Two silent intervals, then the watch's next check (one interval), plus a margin.
    assert time.monotonic() - killed_at < 4 * HEARTBEAT_INTERVAL + 5
    assert backend.list_flow_runs()[0]["state"] == "Failed"


def test_watch_of_a_scheduled_run_says_no_agent_is_running(backend, ticking_flow, watches):
    watch = watches()

    watch.wait_for_line("still Scheduled: no agent is running", timeout=20)

    assert watch.process.poll() is None, "the watch goes on waiting for an agent"


def test_watch_of_a_scheduled_run_names_the_labels_no_live_agent_has(backend, ticking_flow, watches, tmp_path):
    with local_agent_process("--label", "cpu", log_path=tmp_path / "agent.log"):
        deadline = time.monotonic() + 20
        while not backend.list_agents(live_only=True) and time.monotonic() < deadline:
            time.sleep(0.05)
        watch = watches("--label", "gpu")

        watch.wait_for_line("still Scheduled: no live agent has the labels it needs: gpu", timeout=20)

    assert backend.list_flow_runs()[0]["state"] == "Scheduled"


def test_watch_fails_a_run_left_running_by_a_dead_agent_instead_of_waiting(backend, ticking_flow):
    flow = backend.get_flow_by_name("ticking-flow")
    run = backend.create_flow_run(flow_id=flow["id"], state="Running", flow_run_id="run-of-a-dead-agent")
    time.sleep(2 * HEARTBEAT_INTERVAL + 0.5)  # silent for longer than two heartbeats

    final = follow_flow_run(backend, run["id"], console=Console(record=True, width=200))

    assert final["state"] == "Failed"
    assert final["state_message"].startswith("lost: no heartbeat since")
