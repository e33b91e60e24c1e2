"""Running the installed ``jupyter-flows`` script of this interpreter, as a user would."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = str(Path(sys.executable).parent / "jupyter-flows")


def jf(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``jupyter-flows ARGS`` with output to pipes; the test's home comes through the environment."""
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=timeout)


def jf_on_terminal(*args: str, timeout: float = 120) -> bytes:
    """Run ``jupyter-flows ARGS`` with stdout and stderr on a pseudo-terminal; return the bytes it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([SCRIPT, *args], stdout=terminal, stderr=terminal, stdin=subprocess.DEVNULL,
                               env={**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"})
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    process.wait(timeout=timeout)
    return b"".join(chunks)


def write_flow_file(folder: Path, code: str, name: str = "flows.py") -> str:
    path = folder / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def assert_one_line_error(result: subprocess.CompletedProcess, exit_code: int, *fragments: str) -> None:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
