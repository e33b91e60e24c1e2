"""A real Jupyter server (pytest-jupyter) with the jupyter_flows extension, its backend in the test's home.

``agent`` starts a real local agent process on the same home, so that flow
runs created through the API are claimed and executed; it is stopped (and
the runs it started with it) when the test ends.
"""

from __future__ import annotations

import json
import os

import pytest

# The pytest-jupyter server fixtures (and its hooks that run ``async def`` tests), for this directory
# only: `pytest_plugins` would load them for the whole session, which pytest refuses outside the
# top-level conftest, and their autouse event loop would clash with the browser tests' Playwright.
from pytest_jupyter.jupyter_server import *  # noqa: F401,F403

from jupyter_flows.agent.background import local_agent_process


@pytest.fixture
def jp_server_config():
    # No managed agent unless a test asks for one: these tests start the agents they need.
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flows": True}}, "JupyterFlows": {"agent": "off"}}


@pytest.fixture
def api(jp_fetch):
    """``await api("GET", "flow-runs", params=...)`` -> (status, JSON body); errors answer too, not raise."""
    from tornado.httpclient import HTTPClientError

    async def call(method: str, *path: str, body=None, raw_body: bytes | None = None, params=None, headers=None):
        kwargs = {"method": method, "params": params, "headers": headers}
        if method == "POST":
            kwargs["body"] = raw_body if raw_body is not None else json.dumps(body if body is not None else {})
        try:
            response = await jp_fetch("jupyter-flows", "api", *path, **kwargs)
        except HTTPClientError as exc:
            response = exc.response
            if response is None:
                raise
        return response.code, json.loads(response.body or b"null")

    return call


@pytest.fixture
def agent(jupyter_flows_home, tmp_path):
    """A local agent process polling this test's backend."""
    env = {**os.environ, "JUPYTER_FLOWS_HOME": str(jupyter_flows_home), "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.1"}
    with local_agent_process(log_path=tmp_path / "agent.log", env=env) as process:
        yield process
