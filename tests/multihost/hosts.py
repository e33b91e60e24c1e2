"""A small lab of "hosts" on one machine: network namespaces joined by a bridge the lab creates.

Each :class:`Host` is a network namespace with its own address on a private
``10.213.N.0/24`` (``N`` picked free when the lab starts), its own host name
(every command runs under ``unshare --uts``) and its own home directory. The
bridge's address ``10.213.N.1`` is where the shared services listen: a
PostgreSQL server and a ``git daemon``, both started here. Nothing talks to
any other address. :meth:`Lab.close` removes every namespace, link, process
and file, and runs even when a test fails.

Needs root (``ip netns``, veth, bridges) and iproute2.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "backend"))
from postgres_server import PostgresServer, _as_server_user  # noqa: E402


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _free_subnet() -> int:
    used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
    choices = [n for n in range(10, 250) if f"10.213.{n}." not in used]
    return random.choice(choices)


class BridgePostgres(PostgresServer):
    """The test PostgreSQL server, listening on the bridge address and trusting the lab's subnet only."""

    def __init__(self, address: str, subnet: str):
        super().__init__()
        self.address = address
        self.subnet = subnet

    def start(self) -> "BridgePostgres":
        subprocess.run(_as_server_user([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                                        "-U", "postgres", "--no-sync"]), check=True, capture_output=True)
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.subnet} trust\n")
        options = f"-p {self.port} -h 127.0.0.1,{self.address} -k {self.root} -c fsync=off -c max_connections=200"
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                                        "-l", str(self.root / "server.log"), "-w", "start"]),
                       check=True, capture_output=True)
        return self

    def url_for_hosts(self, local_url: str) -> str:
        return local_url.replace("@127.0.0.1:", f"@{self.address}:")


class Host:
    """One namespace: ``spawn(cmd)`` starts a process there, with this host's name, home and environment."""

    def __init__(self, lab: "Lab", index: int):
        self.lab = lab
        self.name = f"jf-host-{'ab'[index] if index < 2 else index}"
        self.netns = f"jf{lab.tag}h{index}"
        self.address = f"{lab.prefix}.{10 + index}"
        self.home = lab.root / self.name
        self.home.mkdir()
        self.processes: list[subprocess.Popen] = []
        outer, inner = f"jfv{lab.tag}{index}o", f"jfv{lab.tag}{index}i"
        _ip("netns", "add", self.netns)
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", outer, "master", lab.bridge, "up")
        _ip("link", "set", inner, "netns", self.netns)
        self._in_ns("ip", "addr", "add", f"{self.address}/24", "dev", inner)
        self._in_ns("ip", "link", "set", inner, "up")
        self._in_ns("ip", "link", "set", "lo", "up")

    def _in_ns(self, *args: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.netns, *args], check=True, capture_output=True)

    def env(self, **extra: str) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER_FLOWS")}
        env.update(HOME=str(self.home), JUPYTER_FLOWS_HOME=str(self.home / ".jupyter-flows"),
                   JUPYTER_FLOWS_BACKEND_URL=self.lab.backend_url, **extra)
        return env

    def spawn(self, *command: str, log_name: str = "process", **extra_env: str) -> subprocess.Popen:
        """Start ``command`` on this host (own process group, output to a log file in its home)."""
        wrapped = ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c",
                   f'hostname {self.name} && exec "$@"', "--", *command]
        log = open(self.home / f"{log_name}.log", "ab")
        process = subprocess.Popen(wrapped, env=self.env(**extra_env), cwd=self.home, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        wrapped = ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c",
                   f'hostname {self.name} && exec "$@"', "--", *command]
        return subprocess.run(wrapped, env=self.env(), cwd=self.home, capture_output=True, text=True,
                              timeout=timeout)

    def start_agent(self, *options: str, **extra_env: str) -> subprocess.Popen:
        script = str(Path(sys.executable).parent / "jupyter-flows")
        return self.spawn(script, "agent", "local", "start", "--no-scheduler", *options, log_name="agent",
                          **extra_env)

    def kill(self) -> None:
        """The host dies: every process in its namespace (agents and the runs they started) is killed at once."""
        pids = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with _quiet():
                os.kill(int(pid), signal.SIGKILL)
        for process in self.processes:
            with _quiet():
                process.wait(10)

    def close(self) -> None:
        self.kill()
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


class Lab:
    """The bridge, the hosts, PostgreSQL and ``git daemon`` on the bridge's address; ``close()`` undoes it all."""

    def __init__(self, n_hosts: int = 2):
        self.tag = uuid.uuid4().hex[:4]
        self.prefix = f"10.213.{_free_subnet()}"
        self.address = f"{self.prefix}.1"
        self.root = Path(tempfile.mkdtemp(prefix="jupyter-flows-lab-"))
        self.bridge = f"jfbr{self.tag}"
        self.hosts: list[Host] = []
        self.postgres: BridgePostgres | None = None
        self.git_daemon: subprocess.Popen | None = None
        self.backend_url = ""
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            self.postgres = BridgePostgres(self.address, f"{self.prefix}.0/24").start()
            self.local_backend_url = self.postgres.new_database()
            self.backend_url = self.postgres.url_for_hosts(self.local_backend_url)
            self.hosts = [Host(self, i) for i in range(n_hosts)]
        except BaseException:
            self.close()
            raise

    def serve_git(self, base: Path) -> str:
        """Serve the repositories under ``base`` with ``git daemon`` on the bridge; returns the base URL."""
        with socket.socket() as probe:
            probe.bind((self.address, 0))
            port = probe.getsockname()[1]
        self.git_daemon = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", f"--listen={self.address}",
             f"--port={port}", str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex((self.address, port)) == 0:
                    return f"git://{self.address}:{port}"
            if time.monotonic() > deadline or self.git_daemon.poll() is not None:
                raise RuntimeError("git daemon did not start")
            time.sleep(0.05)

    def close(self) -> None:
        for host in self.hosts:
            with _quiet():
                host.close()
        if self.git_daemon is not None:
            self.git_daemon.terminate()
            with _quiet():
                self.git_daemon.wait(10)
        if self.postgres is not None:
            self.postgres.stop()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class _quiet:
    """Cleanup goes on past a process or link that is already gone."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        return kind is not None and issubclass(kind, (OSError, subprocess.SubprocessError))
