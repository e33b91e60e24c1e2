"""Fixtures for the backend tests (``backend`` itself comes from tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def tutorial(backend):
    """The "tutorial" project exists."""
    return backend.create_project("tutorial")
