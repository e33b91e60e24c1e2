"""A throwaway PostgreSQL server for the backend tests, started from Debian's postgresql binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresServer:
    """``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port, trust auth."""

    def __init__(self):
        self.bin = _bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's initdb was not found (apt-get install -y postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="jupyter-flows-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data = self.root / "data"

    def start(self) -> "PostgresServer":
        subprocess.run(_as_server_user([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                                        "-U", "postgres", "--no-sync"]),
                       check=True, capture_output=True)
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off"
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                                        "-l", str(self.root / "server.log"), "-w", "start"]),
                       check=True, capture_output=True)
        return self

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                        "-w", "stop"]), capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"jf_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def postgres_server():
    """One server for the test module that imports this fixture, stopped at its end whatever happened."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgresql_backend(jupyter_flows_home, postgres_server, monkeypatch):
    """A backend on a fresh database; ``JUPYTER_FLOWS_BACKEND_URL`` points every process of the test at it.

    A test module imports it under the name its tests ask for (``backend``, ``pg_backend``).
    """
    from jupyter_flows.backend import Backend

    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", postgres_server.new_database())
    backend = Backend()
    yield backend
    backend.close()
