"""``POST flow-runs`` with a ``run_config`` override (the Lab's Run dialog), its refusals, and the run's
infrastructure in the reads."""

from __future__ import annotations

import pytest
from server_helpers import register_hello_flow, wait_for

pytestmark = pytest.mark.slow


async def test_a_run_started_with_a_docker_run_keeps_that_run_config_and_masks_its_secrets(api, backend):
    flow_id = register_hello_flow()
    override = {"type": "DockerRun", "image": "python:3.12-slim", "env": {"GREETING": "Hi", "API_TOKEN": "s3cret"}}

    status, run = await api("POST", "flow-runs", body={"flow_id": flow_id, "run_config": override})

    assert status == 201
    assert run["run_config"]["type"] == "DockerRun" and run["run_config"]["image"] == "python:3.12-slim"
    assert run["run_config"]["env"]["GREETING"] == "Hi"
    assert run["run_config"]["env"]["API_TOKEN"] != "s3cret"  # answers mask secret-looking values
    stored = backend.get_flow_run(run["id"])["run_config"]
    assert stored["env"] == {"GREETING": "Hi", "API_TOKEN": "s3cret"}  # the agent gets the real value
    assert backend.get_flow(flow_id)["run_config"]["type"] == "LocalRun"  # the flow itself is unchanged


async def test_a_run_started_with_a_kubernetes_run_keeps_its_cpu_and_memory(api, backend):
    flow_id = register_hello_flow()
    override = {"type": "KubernetesRun", "image": "python:3.12-slim", "cpu_request": "0.5", "cpu_limit": "2",
                "memory_request": "512Mi", "memory_limit": "1Gi"}

    status, run = await api("POST", "flow-runs", body={"flow_id": flow_id, "run_config": override})

    assert status == 201
    _, detail = await api("GET", "flow-runs", run["id"])
    assert {k: detail["run_config"][k] for k in override} == override


async def test_a_run_started_without_an_override_uses_the_flows_run_config(api, backend):
    flow_id = register_hello_flow()

    status, run = await api("POST", "flow-runs", body={"flow_id": flow_id, "run_config": None})

    assert status == 201 and run["run_config"] is None
    assert backend.get_flow_run(run["id"])["run_config"] is None


@pytest.mark.parametrize("override,named", [
    ({"type": "KubernetesRun", "memory_limit": "12XB"}, ["memory_limit", "12XB"]),
    ({"type": "KubernetesRun", "cpu_request": "lots"}, ["cpu_request", "lots"]),
    ({"type": "DockerRun", "image": 3}, ["image", "3"]),
    ({"type": "DockerRun", "env": ["A=1"]}, ["env"]),
    ({"type": "DockerRun", "imgae": "python"}, ["imgae", "image"]),
    ({"type": "PodmanRun"}, ["PodmanRun", "DockerRun", "KubernetesRun"]),
    ("DockerRun", ["'run_config'", "JSON object"]),
])
async def test_a_bad_run_config_override_is_refused_naming_the_bad_field_and_starts_nothing(
        api, backend, override, named):
    flow_id = register_hello_flow()

    status, body = await api("POST", "flow-runs", body={"flow_id": flow_id, "run_config": override})

    assert status == 400
    for word in named:
        assert word in body["message"]
    assert backend.list_flow_runs() == []


async def test_a_local_run_override_sets_the_env_of_the_run_on_an_agent(api, agent):
    flow_id = register_hello_flow(greeting="Hello")

    status, run = await api("POST", "flow-runs", body={
        "flow_id": flow_id, "parameters": {"people": ["Zaphod"]},
        "run_config": {"type": "LocalRun", "env": {"GREETING": "Howdy"}}})
    assert status == 201

    async def finished():
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail if detail["finished"] else None

    assert (await wait_for(finished, timeout=90, what="the run to finish"))["state"] == "Success"
    _, page = await api("GET", "flow-runs", run["id"], "logs")
    assert "Howdy, Zaphod!" in [line["message"] for line in page["logs"]]


async def test_the_container_an_agent_recorded_is_in_the_run_and_the_listing(api, backend):
    run = backend.create_flow_run(register_hello_flow())
    _, before = await api("GET", "flow-runs", run["id"])
    assert before["infrastructure"] is None

    backend.set_flow_run_infrastructure(run["id"], "container jupyter-flows-hello-1234abcd")

    _, detail = await api("GET", "flow-runs", run["id"])
    _, page = await api("GET", "flow-runs")
    assert detail["infrastructure"] == "container jupyter-flows-hello-1234abcd"
    assert [r["infrastructure"] for r in page["flow_runs"]] == ["container jupyter-flows-hello-1234abcd"]
