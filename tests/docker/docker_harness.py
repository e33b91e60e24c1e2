"""A throwaway Docker daemon and a cached Debian python base image, for the Docker tests and benchmark.

The daemon keeps its images under a cache directory (``JUPYTER_FLOWS_TEST_CACHE``,
default ``/var/cache/jupyter-flows-tests``) so the base image, built once with
debootstrap from the Debian mirror apt already uses, survives between test
sessions; its sockets and runtime state go to a fresh temporary directory.
A file lock keeps two sessions from sharing the data root at once. Stopping
removes every container it still has, then the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker

#: The Debian python image every test builds on (python3 and venv, nothing else).
BASE_IMAGE = "jupyter-flows-test-base:bookworm"
#: Built from it by the fixtures with Docker storage: this jupyter-flows, and that plus papermill and ipykernel.
RUNTIME_IMAGE = "jupyter-flows-test-runtime:latest"
NOTEBOOK_IMAGE = "jupyter-flows-test-notebook:latest"
BARE_IMAGE = "jupyter-flows-test-bare:bookworm"
SUITE = "bookworm"


def cache_dir() -> Path:
    return Path(os.environ.get("JUPYTER_FLOWS_TEST_CACHE", "/var/cache/jupyter-flows-tests")) / "docker"


class DockerDaemon:
    """One ``dockerd`` with its own data root, exec root and socket."""

    def __init__(self):
        self.cache = cache_dir()
        self.exec_root = Path(tempfile.mkdtemp(prefix="jfd-", dir="/tmp"))  # unix socket paths must be short
        self.socket = self.exec_root / "docker.sock"
        self.base_url = f"unix://{self.socket}"
        self.log_path = self.exec_root / "dockerd.log"
        self.process: subprocess.Popen | None = None
        self._lock = None

    def start(self, timeout: float = 60) -> docker.DockerClient:
        for tool in ("dockerd", "debootstrap"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not installed; tests/run.sh installs docker.io and debootstrap")
        (self.cache / "data").mkdir(parents=True, exist_ok=True)
        self._lock = open(self.cache / "lock", "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                ["dockerd", "--data-root", str(self.cache / "data"), "--exec-root", str(self.exec_root),
                 "-H", self.base_url, "--pidfile", str(self.exec_root / "docker.pid")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.process.returncode}: "
                                   f"{self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(docker.errors.DockerException):
                return docker.DockerClient(base_url=self.base_url)  # it asks the daemon's API version
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not answer in {timeout}s: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def remove_containers(self) -> None:
        client = docker.DockerClient(base_url=self.base_url)
        for container in client.containers.list(all=True):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        client.close()

    def remove_test_images(self) -> None:
        """Images tests built for their flows go; the base and runtime images (and their layers) stay cached."""
        keep = {BASE_IMAGE, RUNTIME_IMAGE, NOTEBOOK_IMAGE, BARE_IMAGE}
        client = docker.DockerClient(base_url=self.base_url)
        for image in client.images.list():
            if image.tags and not keep & set(image.tags):
                for tag in image.tags:
                    with contextlib.suppress(docker.errors.APIError):
                        client.images.remove(tag, noprune=False)
        client.images.prune(filters={"dangling": True})
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.remove_containers()
            with contextlib.suppress(Exception):
                self.remove_test_images()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.exec_root, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()


def debian_mirror() -> str:
    """The Debian mirror apt is configured with (deb822 ``.sources`` or ``sources.list``)."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list"]
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in files:
        with contextlib.suppress(OSError):
            text = Path(path).read_text()
            for stanza in re.split(r"\n\s*\n", text):
                uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
                if uris and suites and SUITE in suites.group(1).split():
                    return uris.group(1)
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "deb" and parts[-2 if parts[1].startswith("[") else 2] == SUITE:
                    return parts[2] if parts[1].startswith("[") else parts[1]
    raise RuntimeError(f"no Debian {SUITE} mirror in apt's sources to debootstrap the base image from")


def ensure_base_image(client: docker.DockerClient, name: str = BASE_IMAGE) -> str:
    """Import the Debian python base image unless the daemon has it already (about 45 s the first time)."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(name)
        return name
    workdir = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
    try:
        rootfs = workdir / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                        SUITE, str(rootfs), debian_mirror()], check=True, stdout=subprocess.DEVNULL)
        tarball = workdir / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-c", "-f", str(tarball), "."], check=True)
        repository, tag = name.rsplit(":", 1)
        client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return name


def ensure_bare_image(client: docker.DockerClient, name: str = BARE_IMAGE) -> str:
    """The base image with its python removed, for the "base image without python" case."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(name)
        return name
    dockerfile = f"FROM {BASE_IMAGE}\nRUN rm -f /usr/bin/python3* /usr/bin/python /usr/local/bin/python*\n"
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=name, rm=True)
    return name
