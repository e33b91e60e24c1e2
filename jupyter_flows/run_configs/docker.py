"""DockerRun: a flow run in a Docker container started by a Docker agent."""

from __future__ import annotations

from typing import Iterable

from ..exceptions import ConfigurationError
from .base import RunConfig


class DockerRun(RunConfig):
    """Run in a container of ``image`` (default: the flow's Docker storage image, else the agent's).

    ``env`` is set in the container on top of the agent's ``--env`` values and
    wins over them. ``ports`` are container ports to publish (on random host
    ports); ``host_config`` is passed to Docker's ``create_host_config`` (e.g.
    ``{"mem_limit": "1g"}``), so anything the Docker API allows is possible.

    >>> DockerRun(image="python-flows:3.11", env={"GREETING": "Hello"})
    DockerRun(env={'GREETING': 'Hello'}, image='python-flows:3.11')
    """

    def __init__(self, image: str | None = None, env: dict | None = None, labels: Iterable[str] | None = None,
                 ports: Iterable[int] | None = None, host_config: dict | None = None):
        super().__init__(env=env, labels=labels)
        if image is not None and (not isinstance(image, str) or not image.strip()):
            raise ConfigurationError(f"image must be an image name such as 'python:3.11', got {image!r}")
        self.image = image
        self.ports = [_check_port(port) for port in ports or ()]
        if host_config is not None and not isinstance(host_config, dict):
            raise ConfigurationError(f"host_config must be a dict of Docker host config options, got {host_config!r}")
        self.host_config = dict(host_config) if host_config else None

    def to_dict(self) -> dict:
        return {**super().to_dict(), "image": self.image, "ports": list(self.ports), "host_config": self.host_config}


def _check_port(port) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigurationError(f"a port must be a whole number from 1 to 65535, got {port!r}")
    return port
