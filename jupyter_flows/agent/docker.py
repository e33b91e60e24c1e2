"""The Docker agent: the local agent's loop, with one container per flow run.

It claims the runs whose run config is ``DockerRun`` (and ``UniversalRun``
when asked), and starts each as ``python3 -m jupyter_flows.agent.execute
RUN_ID`` in a container of the run config's image (else the image of the
flow's Docker storage, else the agent's ``image``). The container's environment is the image's, then the
agent's ``--env`` values, then the run config's ``env``. The run inside
reports to the agent's backend: an SQLite file through a mount of its
directory, PostgreSQL through its URL (on the host's network when the server
is on this host). Flows kept in files on this host (Local, Script, Notebook
storage) have their directory mounted read-only at the same path.

One thread per container copies its output to the run's ``process.log`` and
the agent's log, then records its exit code; the loop reads that code like a
process's. Cancelling stops the container; a finished container is removed,
and so are ended containers that agents of the same backend left when they
died (each sweep).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from .. import config
from ..exceptions import ConfigurationError, ContainerError
from ..storage.docker import connect
from ..storage.local import slugify
from .local import LocalAgent, _Child
from .notes import note_in_run_log, record_infrastructure

log = logging.getLogger("jupyter_flows.agent")

#: Docker labels put on every container the agent starts, to find them again.
RUN_LABEL = "io.jupyter-flows.flow-run-id"
AGENT_LABEL = "io.jupyter-flows.agent-id"
#: A hash of the backend's URL: agents of other backends on the same daemon leave the container alone.
BACKEND_LABEL = "io.jupyter-flows.backend"
_FILE_STORAGES = ("Local", "Script", "Notebook")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "")


class ContainerProcess:
    """A flow run's container, seen the way the agent loop sees a process (``poll``, ``wait``)."""

    __slots__ = ("container", "returncode", "failure", "_thread")

    def __init__(self, container, log_path: Path, run_name: str):
        self.container = container
        self.returncode: int | None = None
        #: Why the agent lost the container, when that is how it ended.
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._follow, args=(log_path, run_name), daemon=True,
                                        name=f"container-{container.short_id}")
        self._thread.start()

    def _follow(self, log_path: Path, run_name: str) -> None:
        import docker
        import requests

        try:
            with open(log_path, "ab") as out:
                for line in self.container.logs(stream=True, follow=True):
                    out.write(line)
                    out.flush()
                    log.info("[%s] %s", run_name, line.decode(errors="replace").rstrip())
            self.returncode = self.container.wait()["StatusCode"]
        except (docker.errors.DockerException, requests.exceptions.ConnectionError) as exc:  # removed, or no daemon
            log.warning("lost track of container %s of %s: %s", self.container.short_id, run_name, exc)
            self.failure = f"lost track of container {self.container.name}: {exc}"
            self.returncode = -1

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int | None:
        self._thread.join()
        return self.returncode


class DockerAgent(LocalAgent):
    """Runs flow runs in Docker containers (see the module docstring).

    ``base_url``: the Docker daemon (default ``DOCKER_HOST``). ``network``:
    the network containers join. ``volumes``: ``"SRC:DST"`` or
    ``"SRC:DST:ro"`` mounts for every container. ``include_universal``: also
    run ``UniversalRun`` runs (in ``image``, which they then need).

    >>> DockerAgent(env={"GREETING": "Hello"}, volumes=["/data:/data:ro"]).start()  # doctest: +SKIP
    """

    run_config_types = ("DockerRun",)
    agent_kind = "docker"

    def __init__(self, backend=None, labels: Iterable[str] | None = None, env: Mapping[str, str] | None = None,
                 base_url: str | None = None, network: str | None = None, volumes: Iterable[str] = (),
                 include_universal: bool = False, image: str | None = None, **options):
        super().__init__(backend=backend, labels=labels, env=env, **options)
        if include_universal:
            self.run_config_types = ("DockerRun", "UniversalRun")
        self.binds = [parse_volume(volume) for volume in volumes]
        self.network = network
        self.image = image
        self.client = connect(base_url)
        self._backend_key = hashlib.sha256(self.backend.url.encode()).hexdigest()[:16]

    # -- the launcher hooks of the loop --------------------------------------------------------

    def _start_run(self, run: dict, run_config) -> tuple:
        import docker
        import requests

        flow = self.backend.get_flow(run["flow_id"])
        image = self._image_of(run_config, flow)
        log_path = config.runs_dir() / run["id"] / "process.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._start_container(run, run_config, flow, image, log_path)
        except (docker.errors.DockerException, requests.exceptions.ConnectionError) as exc:
            # the daemon failed or went away: this machine's trouble, not the run's, so the run is released
            raise OSError(f"the Docker daemon failed: {exc}") from None

    def _start_container(self, run: dict, run_config, flow: dict, image: str, log_path: Path) -> tuple:
        import docker

        api = self.client.api
        environment = self._environment(run_config)
        config.check(environment)  # the run's process would stop on a bad setting: say so now
        ensure_image(self.client, image)
        try:
            created = api.create_container(
                image, command=["python3", "-m", "jupyter_flows.agent.execute", run["id"]],
                environment=environment, user=f"{os.getuid()}:{os.getgid()}",
                name=f"jupyter-flows-{slugify(run.get('name') or 'run')[:40]}-{run['id'][:8]}",
                labels={RUN_LABEL: run["id"], AGENT_LABEL: self.agent_id, BACKEND_LABEL: self._backend_key},
                ports=list(getattr(run_config, "ports", None) or ()),
                host_config=self._host_config(run_config, flow))
        except docker.errors.APIError as exc:
            raise ContainerError(f"Docker could not create a container of image {image!r}: "
                                 f"{exc.explanation or exc}") from None
        container = self.client.containers.get(created["Id"])
        try:
            container.start()
        except docker.errors.APIError as exc:
            container.remove(force=True)  # created but never started: nothing to watch, nothing to keep
            raise ContainerError(f"Docker could not start a container of image {image!r}: "
                                 f"{exc.explanation or exc}") from None
        log.info("started flow run %s (%s) in container %s (%s)", run.get("name"), run["id"], container.name, image)
        record_infrastructure(self.backend, run["id"], f"container {container.name}")
        note_in_run_log(self.backend, run["id"], f"agent {self.agent_id} runs it in container {container.name} "
                                                 f"(image {image})")
        return ContainerProcess(container, log_path, run.get("name") or run["id"]), log_path

    def _sweep_lost_runs(self) -> None:
        """Also remove the ended containers of agents that are gone (they died before removing them)."""
        import docker

        super()._sweep_lost_runs()
        live = {agent["id"] for agent in self.backend.list_agents(live_only=True)} | {self.agent_id}
        try:
            ended = self.client.containers.list(all=True, filters={"label": f"{BACKEND_LABEL}={self._backend_key}",
                                                                   "status": "exited"})
            for container in ended:
                if container.labels.get(AGENT_LABEL) not in live:
                    log.info("removing container %s of flow run %s, left by agent %s", container.name,
                             container.labels.get(RUN_LABEL), container.labels.get(AGENT_LABEL))
                    container.remove(force=True)
        except docker.errors.DockerException as exc:
            log.warning("could not look for containers left behind: %s", exc)

    def _signal(self, child: _Child, signum: int) -> None:
        import docker

        try:
            child.process.container.kill(signal=int(signum))
        except docker.errors.APIError:  # not running any more
            pass

    def _settle(self, child: _Child, code: int) -> None:
        import docker

        child.stop_reason = child.stop_reason or child.process.failure
        super()._settle(child, code)
        try:
            child.process.container.remove(force=True)
        except docker.errors.APIError as exc:
            log.warning("could not remove container %s: %s", child.process.container.name, exc)

    # -- what a container gets -----------------------------------------------------------------

    def _image_of(self, run_config, flow: dict) -> str:
        storage = flow.get("storage") or {}
        image = getattr(run_config, "image", None) or self.image
        if image is None and storage.get("type") == "Docker":
            from ..storage import storage_from_dict

            image = storage_from_dict(storage).name
        if image is None:
            raise ConfigurationError(f"flow {flow['name']!r} names no image: give DockerRun(image=...), "
                                     "Docker storage, or the agent's --image")
        return image

    def _environment(self, run_config) -> dict[str, str]:
        """The image's env, then the agent's, then the run config's; the backend and intervals are the agent's."""
        env = {"JUPYTER_FLOWS_HEARTBEAT_INTERVAL": str(self.heartbeat_interval), **self.env, **run_config.env}
        env["JUPYTER_FLOWS_BACKEND_URL"] = self.backend.url
        db = sqlite_directory(self.backend.url)
        if db is not None and Path(db) == config.home().resolve():
            env["JUPYTER_FLOWS_HOME"] = db  # run outputs land in the agent's home, which is mounted
        return env

    def _host_config(self, run_config, flow: dict) -> dict:
        binds = {src: {"bind": dst, "mode": mode} for src, dst, mode in self.binds}
        db = sqlite_directory(self.backend.url)
        if db is not None:
            binds[db] = {"bind": db, "mode": "rw"}
        storage = flow.get("storage") or {}
        if storage.get("type") in _FILE_STORAGES and flow.get("location"):
            folder = os.path.dirname(os.path.abspath(flow["location"]))
            binds.setdefault(folder, {"bind": folder, "mode": "ro"})
        network = self.network or ("host" if _backend_on_this_host(self.backend.url) else None)
        user_options = dict(getattr(run_config, "host_config", None) or {})
        ports = getattr(run_config, "ports", None) or ()
        try:
            return self.client.api.create_host_config(binds=binds, network_mode=network, init=True,
                                                      port_bindings={port: None for port in ports} or None,
                                                      **user_options)
        except (TypeError, ValueError) as exc:  # docker-py's own checks of the options
            raise ConfigurationError(f"host_config {user_options!r} of the DockerRun is not a Docker host "
                                     f"config: {exc}") from None


def ensure_image(client, image: str) -> None:
    """Pull ``image`` unless the daemon has it; a :class:`ContainerError` when it exists nowhere."""
    import docker

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.pull(image)
    except docker.errors.DockerException as exc:
        raise ContainerError(f"image {image!r} does not exist on the Docker daemon and could not be pulled "
                             f"({getattr(exc, 'explanation', None) or exc}); build it, or register the flow with "
                             "Docker storage") from None


def parse_volume(text: str) -> tuple[str, str, str]:
    """``"SRC:DST[:ro|rw]"`` as ``(absolute SRC, DST, mode)``, or a :class:`ConfigurationError`."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/") or \
            (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise ConfigurationError(f"--volume {text!r} is not SRC:DST or SRC:DST:ro (DST an absolute path "
                                 "in the container)")
    return os.path.abspath(parts[0]), parts[1], parts[2] if len(parts) == 3 else "rw"


def sqlite_directory(url: str) -> str | None:
    """The directory of an SQLite backend's file (mounted into containers), None for other databases."""
    if not url.startswith("sqlite:///"):
        return None
    return os.path.dirname(os.path.abspath(url[len("sqlite:///"):]))


def _backend_on_this_host(url: str) -> bool:
    if url.startswith("sqlite"):
        return False
    try:
        return (urlsplit(url).hostname or "") in _LOCAL_HOSTS
    except ValueError:
        return False
