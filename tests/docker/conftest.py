"""A Docker daemon for the session (see docker_harness), a runtime image, and Docker agent processes.

Missing docker or debootstrap fails these tests: ``tests/run.sh`` installs them.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from docker_harness import BASE_IMAGE, NOTEBOOK_IMAGE, RUNTIME_IMAGE, DockerDaemon, cache_dir, ensure_base_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))

from agent_helpers import HEARTBEAT_INTERVAL, POLL_INTERVAL, AgentProcess  # noqa: E402



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


def build_image(daemon: DockerDaemon, image: str, python_dependencies=()) -> str:
    """Build ``image`` with Docker storage from the base image (layers cached in the daemon between runs)."""
    from jupyter_flows import Flow, task
    from jupyter_flows.storage import Docker

    @task
    def noop():
        return None

    with Flow("image") as flow:
        noop()
    name, tag = image.split(":")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", daemon.base_url)
        patch.setenv("JUPYTER_FLOWS_WHEEL_CACHE", str(cache_dir() / "wheels"))
        Docker(base_image=BASE_IMAGE, python_dependencies=python_dependencies, image_name=name,
               image_tag=tag).add_flow(flow)
    return image


@pytest.fixture(scope="session")
def runtime_image(docker_daemon):
    """An image with this jupyter-flows and its run dependencies."""
    return build_image(docker_daemon, RUNTIME_IMAGE)


@pytest.fixture(scope="session")
def notebook_image(docker_daemon):
    """The runtime image plus papermill and ipykernel (at this machine's versions), for notebook flows."""
    pinned = [f"{name}=={importlib.metadata.version(name)}" for name in ("papermill", "ipykernel")]
    return build_image(docker_daemon, NOTEBOOK_IMAGE, pinned)


@pytest.fixture
def start_docker_agent(docker_client, tmp_path):
    agents: list[AgentProcess] = []

    def start(*options: str) -> AgentProcess:
        log_path = tmp_path / f"docker-agent-{len(agents)}.log"
        with open(log_path, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_flows.cli", "agent", "docker", "start", *options],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        agents.append(AgentProcess(process, log_path, grace=30))
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()
