"""The Docker agent records the container of a run on the run: the Client, the CLI and the REST API read it."""

from __future__ import annotations

import json

import pytest
from agent_helpers import register_file, run_cli, wait_for, wait_for_state, write_flow_file
from docker_harness import RUNTIME_IMAGE

from jupyter_flows.agent.docker import RUN_LABEL
from jupyter_flows.backend import FlowRunView

pytestmark = pytest.mark.slow

WAITING_FLOW = f'''
import time

from jupyter_flows import Flow, task
from jupyter_flows.run_configs import DockerRun


@task
def wait():
    time.sleep(120)


with Flow("waiting-flow") as flow:
    wait()

flow.run_config = DockerRun(image="{RUNTIME_IMAGE}")
'''


def test_the_container_running_a_run_is_recorded_on_the_run(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, WAITING_FLOW, "waiting_flow.py"))
    run = backend.create_flow_run(flow["id"])
    assert run["infrastructure"] is None  # nothing runs it yet
    start_docker_agent()

    wait_for_state(backend, run["id"], states=("Running",), timeout=60)
    recorded = wait_for(lambda: backend.get_flow_run(run["id"])["infrastructure"], what="the container's name")
    running = docker_client.containers.list(filters={"label": f"{RUN_LABEL}={run['id']}"})
    assert [f"container {c.name}" for c in running] == [recorded]
    assert FlowRunView.from_flow_run_id(run["id"], backend=backend).infrastructure == recorded

    listed = run_cli("get", "flow-runs", "--flow-id", flow["id"], "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["infrastructure"] for r in json.loads(listed.stdout)] == [recorded]

    backend.cancel_flow_run(run["id"])
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run['id']}"}),
             what="the cancelled container to be removed")
    assert backend.get_flow_run(run["id"])["infrastructure"] == recorded  # kept: where the run ran
