"""Every test gets its own jupyter-flows home and backend, so nothing leaks between tests."""

import pytest


@pytest.fixture(autouse=True)
def jupyter_flows_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("jupyter_flows_home")
    monkeypatch.setenv("JUPYTER_FLOWS_HOME", str(home))
    monkeypatch.delenv("JUPYTER_FLOWS_BACKEND_URL", raising=False)
    return home


@pytest.fixture
def backend(jupyter_flows_home):
    """The embedded backend in this test's home."""
    from jupyter_flows.backend import Backend

    backend = Backend()
    yield backend
    backend.close()
