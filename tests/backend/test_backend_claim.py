"""Claiming: an agent takes one Scheduled run it has the labels for, and no two agents take the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from jupyter_flows.backend import Backend

from backend_helpers import register_plain_flow


def test_claim_takes_the_oldest_scheduled_run_and_submits_it(backend):
    flow = register_plain_flow(backend)
    first = backend.create_flow_run(flow["id"], parameters={"greeting": "1"})
    second = backend.create_flow_run(flow["id"], parameters={"greeting": "2"})
    claimed = backend.claim_flow_run("agent-1", [])
    assert claimed["id"] == first["id"]
    assert claimed["state"] == "Submitted" and claimed["agent_id"] == "agent-1"
    assert claimed["heartbeat"] is not None
    assert [s["state"] for s in claimed["states"]] == ["Scheduled", "Submitted"]
    assert backend.claim_flow_run("agent-1", [])["id"] == second["id"]
    assert backend.claim_flow_run("agent-1", []) is None


def test_an_agent_claims_only_runs_whose_labels_it_has(backend):
    flow = register_plain_flow(backend)
    gpu = backend.create_flow_run(flow["id"], parameters={"greeting": "1"}, labels=["gpu", "vm"])
    plain = backend.create_flow_run(flow["id"], parameters={"greeting": "2"}, labels=[])
    assert backend.claim_flow_run("cpu-agent", ["vm"])["id"] == plain["id"]
    assert backend.claim_flow_run("cpu-agent", ["vm"]) is None
    assert backend.claim_flow_run("gpu-agent", ["gpu", "vm", "extra"])["id"] == gpu["id"]


def test_claim_looks_past_many_runs_it_cannot_take(backend):
    flow = register_plain_flow(backend)
    for i in range(250):
        backend.create_flow_run(flow["id"], parameters={"greeting": str(i)}, labels=["elsewhere"])
    mine = backend.create_flow_run(flow["id"], parameters={"greeting": "mine"}, labels=["here"])
    assert backend.claim_flow_run("agent", ["here"])["id"] == mine["id"]
    assert backend.claim_flow_run("agent", ["here"]) is None


def test_cancelled_or_running_runs_are_not_claimed(backend):
    flow = register_plain_flow(backend)
    cancelled = backend.create_flow_run(flow["id"], parameters={"greeting": "1"})
    backend.cancel_flow_run(cancelled["id"])
    running = backend.create_flow_run(flow["id"], parameters={"greeting": "2"})
    backend.set_flow_run_state(running["id"], "Running")
    assert backend.claim_flow_run("agent", []) is None


_CLAIMER = """
import json, sys, time
from jupyter_flows.backend import Backend
backend = Backend()
backend.list_projects()
print("ready", flush=True)
sys.stdin.readline()  # both agents start claiming at once
claimed = []
while True:
    run = backend.claim_flow_run(sys.argv[1], ["vm"])
    if run is None:
        break
    claimed.append(run["id"])
    time.sleep(0.005)  # as an agent does between claims (it launches the run)
print(json.dumps(claimed))
"""


def test_two_agent_processes_never_claim_the_same_run(backend):
    flow = register_plain_flow(backend)
    ids = {backend.create_flow_run(flow["id"], parameters={"greeting": str(i)}, labels=["vm"])["id"]
           for i in range(100)}
    agents = [subprocess.Popen([sys.executable, "-c", _CLAIMER, f"agent-{n}"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
              for n in (1, 2)]
    for agent in agents:
        assert agent.stdout.readline().strip() == "ready"
    for agent in agents:
        agent.stdin.write("go\n")
        agent.stdin.flush()
    outputs = [agent.communicate(timeout=180) for agent in agents]
    assert [agent.returncode for agent in agents] == [0, 0], [err for _, err in outputs]
    first, second = (json.loads(out) for out, _ in outputs)
    assert first and second, "both agents should have claimed runs while competing"
    assert not set(first) & set(second), "a run was claimed twice"
    assert len(first) + len(second) == 100 and set(first) | set(second) == ids
    runs = Backend().list_flow_runs(limit=None)
    assert {r["state"] for r in runs} == {"Submitted"}
    owners = {r["id"]: r["agent_id"] for r in runs}
    assert all(owners[i] == "agent-1" for i in first) and all(owners[i] == "agent-2" for i in second)
    for run in runs:
        history = Backend().get_flow_run(run["id"])["states"]
        assert [s["state"] for s in history] == ["Scheduled", "Submitted"]
