"""Fixtures for the backend tests: a backend in the test's own home, with the tutorial project."""

from __future__ import annotations

import pytest

from jupyter_flows.backend import Backend


@pytest.fixture
def backend(jupyter_flows_home):
    backend = Backend()
    yield backend
    backend.close()


@pytest.fixture
def tutorial(backend):
    """The "tutorial" project exists."""
    return backend.create_project("tutorial")
