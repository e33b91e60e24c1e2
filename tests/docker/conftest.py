"""A Docker daemon for the session (see docker_harness), a runtime image, and Docker agent processes.

Missing docker or debootstrap fails these tests: ``tests/run.sh`` installs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from docker_harness import BASE_IMAGE, DockerDaemon, cache_dir, ensure_base_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))

from agent_helpers import HEARTBEAT_INTERVAL, POLL_INTERVAL  # noqa: E402

RUNTIME_IMAGE = "jupyter-flows-test-runtime:latest"


@pytest.fixture(scope="session")
def docker_daemon():
    daemon = DockerDaemon()
    try:
        ensure_base_image(daemon.start())
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def docker_client(docker_daemon, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", docker_daemon.base_url)
    monkeypatch.setenv("JUPYTER_FLOWS_WHEEL_CACHE", str(cache_dir() / "wheels"))
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", str(POLL_INTERVAL))
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", str(HEARTBEAT_INTERVAL))
    client = docker.DockerClient(base_url=docker_daemon.base_url)
    yield client
    docker_daemon.remove_containers()  # what a failed test left behind
    client.close()


@pytest.fixture(scope="session")
def runtime_image(docker_daemon):
    """An image with this jupyter-flows and its run dependencies (built by Docker storage, cached by layers)."""
    from jupyter_flows import Flow, task
    from jupyter_flows.storage import Docker

    @task
    def noop():
        return None

    with Flow("runtime") as flow:
        noop()
    saved = {name: os.environ.get(name) for name in ("DOCKER_HOST", "JUPYTER_FLOWS_WHEEL_CACHE")}
    os.environ.update(DOCKER_HOST=docker_daemon.base_url, JUPYTER_FLOWS_WHEEL_CACHE=str(cache_dir() / "wheels"))
    try:
        name, tag = RUNTIME_IMAGE.split(":")
        Docker(base_image=BASE_IMAGE, image_name=name, image_tag=tag).add_flow(flow)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return RUNTIME_IMAGE


class DockerAgentProcess:
    """A ``jupyter-flows agent docker start`` process and its output."""

    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def start_docker_agent(docker_client, tmp_path):
    agents: list[DockerAgentProcess] = []

    def start(*options: str) -> DockerAgentProcess:
        log_path = tmp_path / f"docker-agent-{len(agents)}.log"
        with open(log_path, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_flows.cli", "agent", "docker", "start", *options],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        agents.append(DockerAgentProcess(process, log_path))
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()
