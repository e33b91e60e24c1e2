"""``Docker`` storage: registering builds an image that holds the flow and what it needs to run.

The image is ``base_image`` (or the user's ``dockerfile``) plus a virtual
environment at ``/opt/jupyter-flows/venv`` with the engine's own dependencies
(pinned to this machine's versions, so the pickled flow loads there) and the
``python_dependencies``, this jupyter-flows package, the ``files`` and the
pickled flow. Everything is installed from wheels built here, so a build needs
no network inside the image. Layers are ordered from least to most likely to
change: a new flow version rebuilds only its last layer.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from .. import config
from ..exceptions import ContainerError, ImageBuildError, StorageError
from .base import Storage, register_storage
from .local import pickle_flow, slugify

log = logging.getLogger("jupyter_flows.storage.docker")

ROOT = "/opt/jupyter-flows"
#: Imported by a flow run's process (``python -m jupyter_flows.agent.execute``) before it loads the flow.
_RUN_MODULES = ("jupyter_flows.agent.execute", "jupyter_flows.backend", "jupyter_flows.storage",
                "jupyter_flows.executors")
#: Imported later, when a flow asks for them (dask executors).
_LATER_DISTRIBUTIONS = ("dask",)


@register_storage
class Docker(Storage):
    """Keep the flow inside a Docker image built at registration (and pushed to ``registry_url``).

    ``base_image``: an image with ``python3`` (3.10 or newer, with ``venv``);
    ``dockerfile``: a Dockerfile to start from instead. ``python_dependencies``:
    pip requirements installed in the image. ``files``: ``{host path: image
    path}`` copied in. The image is ``[registry_url/]image_name:image_tag``
    (defaults: the flow's name, and a hash of the flow).

    >>> flow.storage = Docker(base_image="python:3.11-slim", python_dependencies=["pandas"])
    """

    def __init__(self, base_image: str | None = None, python_dependencies: Iterable[str] | None = None,
                 files: dict | None = None, image_name: str | None = None, image_tag: str | None = None,
                 registry_url: str | None = None, dockerfile: str | os.PathLike | None = None,
                 base_url: str | None = None, labels: Iterable[str] | None = None,
                 add_default_labels: bool = True, flows: dict | None = None):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        if base_image is not None and dockerfile is not None:
            raise StorageError("give Docker storage base_image or dockerfile, not both")
        if isinstance(python_dependencies, str):
            raise StorageError(f"python_dependencies must be a list, got the string {python_dependencies!r}; "
                               f"write [{python_dependencies!r}]")
        default_image = f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim"
        self.base_image = base_image or (None if dockerfile else default_image)
        self.python_dependencies = list(python_dependencies or ())
        self.files = {os.path.abspath(os.fspath(src)): str(dst) for src, dst in (files or {}).items()}
        self.image_name = image_name
        self.image_tag = image_tag
        self.registry_url = registry_url.rstrip("/") if registry_url else None
        self.dockerfile = os.path.abspath(os.fspath(dockerfile)) if dockerfile else None
        self.base_url = base_url
        self.flows: dict[str, str] = dict(flows or {})

    @property
    def name(self) -> str:
        """The full image name the agent runs (known once a flow was added)."""
        if not self.image_name or not self.image_tag:
            raise StorageError("this Docker storage has built no image yet; register a flow with it first")
        repository = f"{self.registry_url}/{self.image_name}" if self.registry_url else self.image_name
        return f"{repository}:{self.image_tag}"

    def add_flow(self, flow) -> str:
        from ..backend.serialize import flow_hash

        for src in self.files:
            if not os.path.exists(src):
                raise StorageError(f"file {src!r} to copy into the image of flow {flow.name!r} does not exist")
        data = pickle_flow(flow)
        self.image_name = self.image_name or slugify(flow.name)
        self.image_tag = self.image_tag or flow_hash(flow)[:12]
        location = f"{ROOT}/flows/{slugify(flow.name)}.flow"
        self.flows[flow.name] = location
        with tempfile.TemporaryDirectory(prefix="jupyter-flows-image-") as context_dir:
            write_context(Path(context_dir), self, {location: data})
            client = connect(self.base_url)
            try:
                build_image(client, context_dir, self.name)
                if self.registry_url:
                    push_image(client, self.name)
            finally:
                client.close()
        return location

    def get_flow(self, location: str | None = None):
        import cloudpickle

        location = self.resolve_location(location)
        try:
            return cloudpickle.loads(Path(location).read_bytes())
        except FileNotFoundError:
            raise StorageError(f"{location!r} is not in this container: the flow lives in image "
                               f"{self.name!r}, and runs through a Docker agent") from None

    def to_dict(self) -> dict:
        return {**super().to_dict(), "base_image": self.base_image, "python_dependencies": self.python_dependencies,
                "files": dict(self.files), "image_name": self.image_name, "image_tag": self.image_tag,
                "registry_url": self.registry_url, "dockerfile": self.dockerfile, "base_url": self.base_url,
                "flows": dict(self.flows)}


def connect(base_url: str | None = None):
    """A client of the Docker daemon at ``base_url`` (default: ``DOCKER_HOST``), or a clear :class:`ContainerError`."""
    try:
        import docker
    except ImportError:
        raise ContainerError("the Docker SDK is not installed; pip install 'jupyter-flows[docker]'") from None
    try:
        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (the default)"
        raise ContainerError(
            f"cannot reach the Docker daemon at {where}: {exc}. Start the daemon, or point DOCKER_HOST "
            f"(now {os.environ.get('DOCKER_HOST') or 'unset'}) or --base-url at a running one") from None
    return client


def requirements(storage: Docker) -> list[str]:
    """What the image's venv needs: what a run imports, at this machine's versions, then the user's."""
    names = set(runtime_distributions()) | set(_LATER_DISTRIBUTIONS)
    pinned = [f"{name}=={importlib.metadata.version(name)}" for name in sorted(names, key=str.lower)]
    if config.backend_url().startswith("postgresql"):
        pinned.append(f"psycopg[binary]=={importlib.metadata.version('psycopg')}")
    return pinned + storage.python_dependencies


def runtime_distributions() -> list[str]:
    """The distributions whose modules a fresh flow run process imports (found by importing them in one)."""
    probe = ("import sys\n" + "".join(f"import {name}\n" for name in _RUN_MODULES)
             + "print(' '.join({m.partition('.')[0] for m in sys.modules}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"jupyter-flows cannot be imported here, so its image cannot be built:\n"
                              f"{_tail(result.stderr)}", step="find the run's dependencies", log=result.stderr)
    owners = importlib.metadata.packages_distributions()
    own = {"jupyter-flows", "jupyter_flows"}
    return sorted({dist for module in result.stdout.split() for dist in owners.get(module, ()) if dist not in own})


def write_context(context_dir: Path, storage: Docker, flows: dict[str, bytes]) -> None:
    """The build context: wheels, this package's source, the user's files, the pickled flows, a Dockerfile."""
    reqs = requirements(storage)
    build_wheels(reqs, context_dir / "wheels")
    package = Path(__file__).resolve().parents[1]
    shutil.copytree(package, context_dir / "src" / package.name,
                    ignore=shutil.ignore_patterns("__pycache__", "labextension", "*.pyc"))
    (context_dir / "files").mkdir()
    for index, src in enumerate(storage.files):
        target = context_dir / "files" / str(index)
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, target)
    (context_dir / "flows").mkdir()
    for location, data in flows.items():
        (context_dir / "flows" / Path(location).name).write_bytes(data)
    (context_dir / "Dockerfile").write_text(dockerfile_text(storage, reqs))


def dockerfile_text(storage: Docker, reqs: list[str]) -> str:
    start = Path(storage.dockerfile).read_text() if storage.dockerfile else f"FROM {storage.base_image}\n"
    quoted = " ".join(f"'{req}'" for req in reqs)
    lines = [
        start.rstrip("\n"),
        "RUN command -v python3 >/dev/null || { echo 'the base image has no python3: start from an image with "
        "python 3.10 or newer and its venv module' >&2; exit 1; }",
        "COPY wheels /tmp/jupyter-flows-wheels",
        f"RUN python3 -m venv {ROOT}/venv && {ROOT}/venv/bin/pip install --no-cache-dir --disable-pip-version-check "
        f"--no-index --find-links /tmp/jupyter-flows-wheels {quoted} && rm -rf /tmp/jupyter-flows-wheels",
        f"ENV PATH={ROOT}/venv/bin:$PATH PYTHONPATH={ROOT}/src PYTHONUNBUFFERED=1",
        f"COPY src {ROOT}/src",
    ]
    lines += [f"COPY files/{index} {dst}" for index, dst in enumerate(storage.files.values())]
    lines.append(f"COPY flows {ROOT}/flows")
    return "\n".join(lines) + "\n"


def build_wheels(reqs: list[str], target: Path) -> None:
    """Wheels of ``reqs`` and their dependencies into ``target``, from the wheel cache when it has them all."""
    cache = config.wheel_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "-q", "-w", str(target),
            "--find-links", str(cache), *reqs]
    if subprocess.run(base + ["--no-index"], capture_output=True, text=True).returncode == 0:
        return
    result = subprocess.run(base, capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"the image's Python dependencies could not be built ({', '.join(reqs)}):\n"
                              f"{_tail(result.stderr or result.stdout)}", step="pip wheel", log=result.stderr)
    for wheel in target.glob("*.whl"):
        shutil.copy2(wheel, cache / wheel.name)


def build_image(client, context_dir: str, tag: str) -> None:
    """Build, logging each step as it goes; a failure is an :class:`ImageBuildError` with the failing step's log."""
    step, step_log = None, []
    for chunk in _build_stream(client, context_dir, tag):
        text = chunk.get("stream", "")
        if text.startswith("Step "):
            step, step_log = text.strip(), []
            log.info("%s: %s", tag, step)
        elif text.strip():
            step_log.append(text.rstrip("\n"))
            log.debug("%s: %s", tag, text.rstrip())
        if "error" in chunk:
            output = "\n".join(step_log[-40:])
            raise ImageBuildError(f"building image {tag!r} failed at {step or 'the start'}: {chunk['error'].strip()}"
                                  + (f"\n{output}" if output else ""), step=step, log=output)
    log.info("built image %s", tag)


def _build_stream(client, context_dir: str, tag: str) -> Iterator[dict]:
    import docker

    try:
        yield from client.api.build(path=context_dir, tag=tag, rm=True, forcerm=True, decode=True)
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"building image {tag!r} failed: {exc.explanation or exc}") from None


def push_image(client, name: str) -> None:
    repository, tag = name.rsplit(":", 1)
    log.info("pushing %s", name)
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise StorageError(f"pushing image {name!r} failed: {chunk['error']}")


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
