"""The run template when its backend goes away: it keeps trying, less and less often, instead of forking in a loop."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import psycopg

from jupyter_flows.agent.template import template_command
from jupyter_flows.backend import Backend


class TemplateOutput:
    """The lines a template process writes for its agent, read in a thread, with the time each came."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process) -> None:
        for line in process.stdout:
            self.lines.append((time.monotonic(), line.decode().strip()))

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, line in self.lines:
                if line.startswith(prefix):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"the template never said {prefix!r}; it said {self.lines}")


def test_a_template_whose_database_is_gone_replaces_its_waiting_process_less_and_less_often(
        postgres_server, monkeypatch, tmp_path):
    url = postgres_server.new_database()
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", url)
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(tmp_path))
    Backend().close()  # creates the tables
    template = subprocess.Popen(template_command(1), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    try:
        output = TemplateOutput(template)
        ready = int(output.wait_for("ready ").split()[1])
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        os.kill(ready, signal.SIGKILL)  # its replacement cannot connect, nor the one after...
        output.wait_for(f"exited {ready} -9")
        time.sleep(4)
        assert template.poll() is None  # the template itself carries on
        failed = [line for _, line in output.lines if line.startswith("exited ") and line.endswith(" 1")]
        assert 2 <= len(failed) <= 5, failed  # after 0, 0.5, 1.5 and 3.5 s: not hundreds
    finally:
        template.stdin.close()
        template.wait(timeout=30)
    assert b"replacing it in" in template.stderr.read()
