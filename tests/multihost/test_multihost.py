"""Agents on two hosts sharing one PostgreSQL backend and a git repository (see hosts.py for the lab).

Flows are registered once, from the test's own namespace, with ``Git``
storage; agents on both hosts run them. Counts come from the backend: which
agent ran each run, how often each was submitted, when each task run ran.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_flows import Flow, task
from jupyter_flows.backend import Backend
from jupyter_flows.storage import Local

pytestmark = pytest.mark.slow

FLOW = """
    import socket
    import time

    from jupyter_flows import Flow, Parameter, task, unmapped
    from jupyter_flows.storage import Git

    @task
    def where(seconds):
        time.sleep(seconds)
        return socket.gethostname()

    @task(tags=["db"])
    def query(i, seconds):
        time.sleep(seconds)
        return i

    with Flow("shared", storage=Git({repo!r}, "shared.py")) as flow:
        seconds = Parameter("seconds", default=0.2)
        where(seconds)
        query.map([0, 1], unmapped(seconds))
"""
AGENT_ENV = {"JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.1", "JUPYTER_FLOWS_HEARTBEAT_INTERVAL": "1"}
FINAL = ("Success", "Failed", "Cancelled")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def shared(lab, tmp_path, monkeypatch):
    """``(backend, flow_id)``: the flow pushed to the lab's git daemon and registered once, from here."""
    served = lab.root / "git"
    served.mkdir()
    _git("init", "-q", "--bare", "-b", "main", "flows.git", cwd=served)
    repo = f"{lab.serve_git(served)}/flows.git"
    work = tmp_path / "work"
    work.mkdir()
    (work / "shared.py").write_text(textwrap.dedent(FLOW.format(repo=repo)))
    _git("init", "-q", "-b", "main", cwd=work)
    _git("-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "init", cwd=work)
    _git("add", "shared.py", cwd=work)
    _git("-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "-m", "flow", cwd=work)
    _git("push", "-q", str(served / "flows.git"), "HEAD:main", cwd=work)
    monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", lab.local_backend_url)
    backend = Backend(lab.local_backend_url)
    backend.create_project("lab")
    namespace: dict = {}
    exec(compile((work / "shared.py").read_text(), str(work / "shared.py"), "exec"), namespace)
    yield backend, namespace["flow"].register("lab")
    backend.close()


def _wait_final(backend: Backend, run_ids: list[str], timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        runs = [backend.get_flow_run(run_id) for run_id in run_ids]
        if all(run["state"] in FINAL for run in runs):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"runs not finished: {[(r['name'], r['state']) for r in runs]}")
        time.sleep(0.2)


def _hosts_of(backend: Backend, runs: list[dict]) -> list[str]:
    agents = {agent["id"]: agent["host"] for agent in backend.list_agents()}
    return [agents[run["agent_id"]] for run in runs]


def test_runs_registered_once_run_on_both_hosts_each_exactly_once(lab, shared):
    backend, flow_id = shared
    for host in lab.hosts:
        host.start_agent("--concurrency", "2", **AGENT_ENV)
    run_ids = [backend.create_flow_run(flow_id, parameters={"seconds": 0.5})["id"] for _ in range(12)]
    runs = _wait_final(backend, run_ids)
    assert [run["state"] for run in runs] == ["Success"] * 12, [run["state_message"] for run in runs]
    assert set(_hosts_of(backend, runs)) == {"jf-host-a", "jf-host-b"}
    for run in runs:
        assert [state["state"] for state in run["states"]].count("Submitted") == 1
        assert sorted(t["task_name"] for t in backend.get_task_runs(run["id"])).count("where") == 1
    listed = lab.hosts[0].run(str(Path(sys.executable).parent / "jupyter-flows"), "get", "agents", "--json")
    agents = json.loads(listed.stdout)
    assert sorted((a["host"], a["live"]) for a in agents) == [("jf-host-a", True), ("jf-host-b", True)]
    assert all(a["host"] in a["labels"] for a in agents)


def test_a_flow_in_local_storage_keeps_its_host_label_and_says_it_waits_for_that_host(lab, shared):
    backend, _ = shared
    for host in lab.hosts:
        host.start_agent(**AGENT_ENV)

    @task
    def hello():
        return "hi"

    with Flow("here-only", storage=Local()) as flow:
        hello()
    run = backend.create_flow_run(flow.register("lab"))
    assert socket.gethostname() in run["labels"]
    deadline = time.monotonic() + 30
    while len(backend.list_agents(live_only=True)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert backend.waiting_reason(backend.get_flow_run(run["id"])) == (
        f"no live agent has the labels it needs: {socket.gethostname()} (from its Local storage)")


def test_a_killed_host_leaves_its_run_failed_as_lost_and_the_other_host_goes_on(lab, shared):
    backend, flow_id = shared
    for host in lab.hosts:
        host.start_agent("--concurrency", "1", **AGENT_ENV)
    run_ids = [backend.create_flow_run(flow_id, parameters={"seconds": 6})["id"] for _ in range(2)]
    deadline = time.monotonic() + 60
    while True:
        runs = [backend.get_flow_run(run_id) for run_id in run_ids]
        if all(run["state"] == "Running" for run in runs):
            break
        assert time.monotonic() < deadline, [run["state"] for run in runs]
        time.sleep(0.1)
    hosts = _hosts_of(backend, runs)
    assert sorted(hosts) == ["jf-host-a", "jf-host-b"]
    lab.hosts[0].kill()
    final = {run["id"]: run for run in _wait_final(backend, run_ids)}
    lost = final[run_ids[hosts.index("jf-host-a")]]
    survivor = final[run_ids[hosts.index("jf-host-b")]]
    assert lost["state"] == "Failed" and lost["state_message"].startswith("lost: no heartbeat since")
    assert survivor["state"] == "Success"


def test_a_limit_of_one_on_tag_db_runs_no_two_db_task_runs_at_once_across_hosts(lab, shared):
    backend, flow_id = shared
    backend.set_concurrency_limit("db", 1)
    for host in lab.hosts:
        host.start_agent("--concurrency", "2", **AGENT_ENV)
    run_ids = [backend.create_flow_run(flow_id, parameters={"seconds": 0.3})["id"] for _ in range(4)]
    runs = _wait_final(backend, run_ids)
    assert [run["state"] for run in runs] == ["Success"] * 4
    assert set(_hosts_of(backend, runs)) == {"jf-host-a", "jf-host-b"}
    spans = sorted((t["start_time"], t["end_time"]) for run_id in run_ids for t in backend.get_task_runs(run_id)
                   if t["task_name"] == "query" and t["map_index"] >= 0)
    assert len(spans) == 8
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    assert backend.get_concurrency_limit("db")["in_use"] == 0
