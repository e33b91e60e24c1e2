"""The labextension's TypeScript unit tests (vitest), run through ``jlpm test`` so one pytest run covers them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def test_labextension_unit_tests_pass():
    jlpm = shutil.which("jlpm")
    if jlpm is None:
        pytest.fail("jlpm (from jupyterlab) is not on PATH; install the test dependencies: pip install -e '.[test]'")
    if not (LABEXTENSION / "node_modules").is_dir():
        subprocess.run([jlpm, "install"], cwd=LABEXTENSION, check=True, capture_output=True, text=True)
    result = subprocess.run([jlpm, "test"], cwd=LABEXTENSION, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"jlpm test failed:\n{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout and " failed" not in result.stdout
