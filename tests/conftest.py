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


@pytest.fixture
def ip():
    """IPython's test shell with the jupyter-flows magics loaded, its namespace reset before and after."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_flows")
    yield shell
    shell.reset(new_session=False)
