"""The agent a Jupyter server manages: started with it, restarted with backoff, stopped with it, one per home.

Real servers (pytest-jupyter, and ``jupyter server`` processes for two on one
home), real agent processes, the real backend.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from jupyter_flows.agent.background import local_agent_process
from jupyter_flows.exceptions import ConfigurationError
from jupyter_flows.jupyter.server.managed_agent import ManagedAgent
from server_helpers import hello_flow, register_hello_flow, wait_for, write_notebook

pytestmark = pytest.mark.slow

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/flows"


def _config(**settings):
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flows": True}}, "JupyterFlows": settings}


@pytest.fixture
def jp_server_config():
    return _config(agent="auto")  # the default a user gets; tests that need another say so


def configured(**settings):
    """This test's server runs with ``c.JupyterFlows.<name> = <value>`` for each setting."""
    return pytest.mark.parametrize("jp_server_config", [_config(**settings)], ids=["config"])


def _extension(jp_serverapp):
    return next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_flows"]))


async def _managed_live_agent(api):
    async def found():
        _, body = await api("GET", "agents")
        return [a for a in body["agents"] if a["live"] and a["managed"]]

    [agent] = await wait_for(found, what="the managed agent to register")
    return agent


async def _run_to_the_end(api, flow_id: str, timeout: float = 90) -> dict:
    _, run = await api("POST", "flow-runs", body={"flow_id": flow_id})

    async def ended():
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail if detail["finished"] else None

    return await wait_for(ended, timeout=timeout, what=f"run {run['id']} to end")


@pytest.fixture
def user_agent(jupyter_flows_home, backend, tmp_path):
    """An agent a user started, live before the server starts."""
    env = {**os.environ, "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.1"}
    with local_agent_process(log_path=tmp_path / "user-agent.log", env=env) as process:
        deadline = time.monotonic() + 30
        while not backend.list_agents(live_only=True):
            assert time.monotonic() < deadline, "the user's agent did not register"
            time.sleep(0.1)
        yield process


async def test_a_run_started_from_the_lab_is_run_by_the_agent_the_server_started(api):
    agent = await _managed_live_agent(api)

    run = await _run_to_the_end(api, register_hello_flow())

    assert run["state"] == "Success"
    assert run["agent_id"] == agent["id"]


async def test_the_server_starts_no_agent_while_a_user_agent_serves_the_backend(user_agent, api, jp_serverapp):
    await asyncio.sleep(3)  # a few turns of the manager

    _, body = await api("GET", "agents")

    assert [(a["live"], a["managed"]) for a in body["agents"]] == [(True, False)]
    assert body["managed_agent"]["running"] is False
    assert (await _run_to_the_end(api, register_hello_flow()))["state"] == "Success"


@configured(agent="off")
async def test_with_the_managed_agent_off_the_start_button_starts_one_and_its_log_is_readable(api):
    _, run = await api("POST", "flow-runs", body={"flow_id": register_hello_flow()})
    _, before = await api("GET", "agents")
    assert run["waiting_reason"] == "no agent is running"
    assert before["agents"] == [] and before["managed_agent"]["can_start"] is True

    status, _ = await api("POST", "agents", "start")
    agent = await _managed_live_agent(api)
    _, log = await api("GET", "agents", agent["id"], "log")

    assert status == 202
    assert agent["id"] in log["log"]  # the agent's own start line
    assert (await api("GET", "agents", "someone-else", "log"))[0] == 404


@configured(agent="always", agent_labels=["reports"], agent_env={"GREETING": "Howdy", "API_TOKEN": "s3cret"})
async def test_the_managed_agent_has_the_labels_and_env_set_in_the_server_config(api, jp_serverapp, backend):
    agent = await _managed_live_agent(api)
    process = _extension(jp_serverapp).managed_agent.process
    flow_id = _hello_flow_without_greeting()

    run = await _run_to_the_end(api, flow_id)

    assert "reports" in agent["labels"]
    assert run["state"] == "Success"
    assert any("Howdy, Arthur!" in line["message"] for line in backend.get_logs(run["id"]))
    assert "s3cret" not in " ".join(psutil.Process(process.pid).cmdline())  # not shown to `ps`


def _hello_flow_without_greeting() -> str:
    """hello-flow whose run config sets no GREETING: the agent's environment gives it."""
    from jupyter_flows.backend import Client
    from jupyter_flows.run_configs import LocalRun

    flow = hello_flow()
    flow.run_config = LocalRun()
    Client().create_project("tutorial")
    return flow.register(project_name="tutorial")


def test_a_managed_agent_mode_that_does_not_exist_is_refused_naming_the_modes(backend):
    with pytest.raises(ConfigurationError, match=r"'sometimes' is not a mode; use one of auto, always, off"):
        ManagedAgent(backend, mode="sometimes")


@configured(agent="always", agent_restart_delay=0.2)
async def test_a_managed_agent_that_dies_is_started_again_and_the_panel_says_it_was(api, jp_serverapp):
    first = await _managed_live_agent(api)
    _extension(jp_serverapp).managed_agent.process.send_signal(signal.SIGKILL)  # as the OOM killer would

    async def replaced():
        _, body = await api("GET", "agents")
        return [a for a in body["agents"] if a["live"] and a["managed"] and a["id"] != first["id"]] and body

    body = await wait_for(replaced, what="a new managed agent")
    status = body["managed_agent"]

    assert status["running"] is True and status["crashes"] == 1 and status["agent_id"] != first["id"]
    assert f"agent {first['id']} exited with code -9" in status["problem"]


@pytest.fixture
def agents_cannot_start(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "never")  # every agent stops at once, naming it


@configured(agent="always", agent_restart_delay=0.4)
async def test_a_managed_agent_that_keeps_crashing_backs_off_and_says_why(agents_cannot_start, jupyter_flows_home,
                                                                          api):
    async def crashed_twice():
        _, body = await api("GET", "agents")
        return body["managed_agent"] if body["managed_agent"]["crashes"] >= 2 else None

    status = await wait_for(crashed_twice, timeout=30, what="two crashes")
    await asyncio.sleep(4)
    starts = len(list((jupyter_flows_home / "managed-agents").glob("*.log")))

    assert status["running"] is False and status["restart_in"] is not None
    assert "exited with code" in status["problem"] and "JUPYTER_FLOWS_AGENT_POLL_INTERVAL" in status["problem"]
    # 0.4, 0.8, 1.6, 3.2 s apart: a handful of starts, not a spin
    assert 3 <= starts <= 6


@pytest.fixture
def unreachable_backend(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", UNREACHABLE)


async def test_a_server_with_an_unreachable_backend_says_so_and_stays_usable(unreachable_backend, api, jp_fetch,
                                                                            jp_serverapp):
    status, body = await api("GET", "agents")
    contents = await jp_fetch("api", "contents")
    managed = _extension(jp_serverapp).managed_agent

    assert status == 500 and UNREACHABLE in body["message"]
    assert contents.code == 200
    await asyncio.sleep(2.5)
    assert managed.process is None and "could not reach the backend" in managed.status()["problem"]


async def test_stopping_the_server_stops_its_agent_and_cancels_the_run_in_flight(api, jp_serverapp, jp_root_dir,
                                                                                backend):
    write_notebook(jp_root_dir / "slow.ipynb", "seconds = 120", "import time\ntime.sleep(seconds)")
    _, flow = await api("POST", "notebooks", "register", body={"path": "slow.ipynb", "project": "reports"})
    agent = await _managed_live_agent(api)
    _, run = await api("POST", "flow-runs", body={"flow_id": flow["id"]})
    await wait_for(lambda: _state_is(api, run["id"], "Running"), what="the run to start")
    extension = _extension(jp_serverapp)
    process = extension.managed_agent.process

    await extension.stop_extension()

    assert process.poll() is not None
    assert backend.get_flow_run(run["id"])["state"] == "Cancelled"
    assert [a["live"] for a in backend.list_agents() if a["id"] == agent["id"]] == [False]


async def _state_is(api, run_id: str, state: str) -> bool:
    _, detail = await api("GET", "flow-runs", run_id)
    return detail["state"] == state


def test_two_servers_on_one_home_start_one_agent_between_them(backend):
    managers = [ManagedAgent(backend, mode="auto", check_interval=0.2) for _ in range(2)]
    for manager in managers:
        manager.start_watching()
    try:
        deadline = time.monotonic() + 30
        while not backend.list_agents(live_only=True):
            assert time.monotonic() < deadline, "no managed agent registered"
            time.sleep(0.1)
        time.sleep(3)  # many turns of both managers

        running = [m for m in managers if m.process is not None and m.process.poll() is None]
        assert len(running) == 1
        assert len(backend.list_agents(live_only=True)) == 1
    finally:
        for manager in managers:
            manager.stop()
    assert backend.list_agents(live_only=True) == []


def _jupyter_server(root, log_path) -> tuple[subprocess.Popen, str]:
    """A real ``jupyter server`` on a free port, its output in ``log_path``; with its status URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
                                    f"--port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=t",
                                    f"--ServerApp.root_dir={root}"], stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}/api/status?token=t"


def _wait_answering(process: subprocess.Popen, status_url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(status_url, timeout=2)
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "a jupyter server did not start"
            time.sleep(0.3)


def test_two_jupyter_servers_on_one_home_run_one_agent_and_none_once_both_stopped(backend, tmp_path):
    servers = []
    try:
        for name in ("first", "second"):  # started together, as two users opening Lab at once would
            servers.append(_jupyter_server(tmp_path, tmp_path / f"{name}.log"))
        for process, status_url in servers:
            _wait_answering(process, status_url)
        deadline = time.monotonic() + 30
        while not backend.list_agents(live_only=True):
            assert time.monotonic() < deadline, "no managed agent registered"
            time.sleep(0.2)
        time.sleep(5)  # both servers' managers have looked again, twice

        [agent] = backend.list_agents(live_only=True)
        assert agent["managed_by"].startswith("jupyter-server ")
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            process.wait(60)
    assert backend.list_agents(live_only=True) == []
