"""Notebooks for the notebook-as-flow tests, copied to a temporary folder per test.

The notebooks themselves are real files under ``files/``, so a reader can open
them in JupyterLab and see exactly what the tests run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_flows.engine.events import RunListener

FILES = Path(__file__).parent / "files"


@pytest.fixture
def notebook(tmp_path):
    """``notebook("params.ipynb")``: a fresh copy of a test notebook, in a folder of this test's own."""
    folder = tmp_path / "work"
    folder.mkdir()

    def copy(name: str) -> Path:
        target = folder / name
        shutil.copyfile(FILES / name, target)
        return target

    return copy


class LogCollector(RunListener):
    """Keeps every log line a flow run emits, as the backend and widgets would receive them."""

    def __init__(self):
        self.entries = []

    def log(self, entry) -> None:
        self.entries.append(entry)

    def messages(self, level: str | None = None) -> list[str]:
        return [e.message for e in self.entries if level is None or e.level_name == level]


@pytest.fixture
def logs() -> LogCollector:
    return LogCollector()
