"""The Jobs the Kubernetes agent creates, checked against the Kubernetes API schema of a pinned version.

There is no cluster here: the manifests are validated with kubernetes-validate
(the API's JSON schemas, shipped in its wheel, strict: unknown fields fail).
The end-to-end test runs only when KUBECONFIG points at a reachable cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import kubernetes_validate
import pytest
import yaml

from jupyter_flows import Flow, task
from jupyter_flows.agent.kubernetes import RUN_LABEL, job_manifest, job_name
from jupyter_flows.exceptions import ConfigurationError
from jupyter_flows.run_configs import KubernetesRun, run_config_from_dict

#: The Kubernetes API version the manifests are checked against.
KUBERNETES_VERSION = "1.30.0"


def valid(manifest: dict) -> dict:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"not a valid Kubernetes {KUBERNETES_VERSION} object: {exc.message} at {list(exc.path)}")
    return manifest


def a_run(name: str = "hello-flow-1a2b3c4d") -> dict:
    return {"id": str(uuid.uuid4()), "name": name}


FLOW = {"name": "hello-flow", "storage": {"type": "Docker", "image_name": "hello-flow", "image_tag": "abc123",
                                          "registry_url": "registry.example:5000", "labels": []}}


def container_of(job: dict) -> dict:
    return job["spec"]["template"]["spec"]["containers"][0]


def test_job_of_a_run_is_a_valid_batch_v1_job_with_image_env_and_resources():
    run = a_run()
    run_config = KubernetesRun(env={"GREETING": "Hello"}, cpu_request="250m", cpu_limit=1, memory_request="256Mi",
                               memory_limit="1Gi", service_account_name="flows", image_pull_policy="IfNotPresent")

    job = valid(job_manifest(run, FLOW, run_config, namespace="flows", agent_env={"GREETING": "Hi", "TEAM": "a"},
                             backend_url="postgresql+psycopg://db.example/flows"))

    container = container_of(job)
    assert container["image"] == "registry.example:5000/hello-flow:abc123"  # the Docker storage image
    assert container["command"][-1] == run["id"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["GREETING"] == "Hello" and env["TEAM"] == "a"  # the run config wins over the agent
    assert env["JUPYTER_FLOWS_BACKEND_URL"] == "postgresql+psycopg://db.example/flows"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"},
                                      "limits": {"cpu": "1", "memory": "1Gi"}}
    assert job["metadata"]["namespace"] == "flows"
    assert job["metadata"]["labels"][RUN_LABEL] == run["id"]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "flows"


def test_job_name_is_a_dns_name_even_for_a_run_name_with_spaces_and_capitals():
    job = valid(job_manifest(a_run("My Flow: Nightly RUN / 2026" * 3), FLOW, KubernetesRun()))
    assert len(job["metadata"]["name"]) <= 63


def test_job_template_keeps_its_own_settings_and_gets_the_runs_container(tmp_path):
    template = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"labels": {"team": "data"}},
        "spec": {"activeDeadlineSeconds": 3600, "template": {"spec": {
            "nodeSelector": {"disk": "ssd"},
            "containers": [{"name": "main", "env": [{"name": "KEEP", "value": "me"}]}],
        }}},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(template))

    for run_config in (KubernetesRun(image="flows:1", job_template=template),
                       KubernetesRun(image="flows:1", job_template_path=path)):
        job = valid(job_manifest(a_run(), FLOW, run_config))
        assert job["spec"]["activeDeadlineSeconds"] == 3600
        assert job["spec"]["template"]["spec"]["nodeSelector"] == {"disk": "ssd"}
        assert job["metadata"]["labels"]["team"] == "data"
        assert container_of(job)["name"] == "main" and container_of(job)["image"] == "flows:1"
        assert {"name": "KEEP", "value": "me"} in container_of(job)["env"]


def test_job_template_that_is_not_a_job_is_rejected(tmp_path):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    with pytest.raises(ConfigurationError, match="is a apps/v1 Deployment, not a batch/v1 Job"):
        KubernetesRun(job_template=deployment)

    path = tmp_path / "pod.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
    with pytest.raises(ConfigurationError, match="is a v1 Pod, not a batch/v1 Job"):
        job_manifest(a_run(), FLOW, KubernetesRun(job_template_path=path))


@pytest.mark.parametrize("bad", ["1 GB", "lots", "512MB", "-1Gi", "1.5.2Gi"])
def test_invalid_memory_string_is_rejected_naming_it(bad):
    with pytest.raises(ConfigurationError, match=f"memory_limit {bad!r} is not a Kubernetes quantity"):
        KubernetesRun(memory_limit=bad)


def test_run_without_any_image_is_a_clear_error():
    flow = {"name": "plain", "storage": {"type": "Local"}}
    with pytest.raises(ConfigurationError, match="flow 'plain' names no image"):
        job_manifest(a_run(), flow, KubernetesRun())


def test_kubernetes_run_comes_back_from_its_stored_dict():
    run_config = KubernetesRun(image="flows:1", env={"A": "1"}, cpu_request=0.5, memory_limit="1Gi",
                               labels=["k8s"], image_pull_policy="Always")
    assert run_config_from_dict(run_config.to_dict()) == run_config


@task
def say_hello():
    return "hello"


def test_manifest_command_prints_the_job_of_a_stored_run_for_review(backend):
    with Flow("k8s-flow", run_config=KubernetesRun(image="flows:1", memory_limit="512Mi")) as flow:
        say_hello()
    backend.create_project("k8s")
    flow_id = flow.register(project_name="k8s")
    run = backend.create_flow_run(flow_id)

    result = subprocess.run([sys.executable, "-m", "jupyter_flows.cli", "agent", "kubernetes", "manifest",
                             run["id"], "--namespace", "flows", "--env", "TEAM=a"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    job = valid(yaml.safe_load(result.stdout))
    assert job["metadata"]["namespace"] == "flows"
    assert container_of(job)["resources"]["limits"]["memory"] == "512Mi"
    assert {"name": "TEAM", "value": "a"} in container_of(job)["env"]


def test_kubernetes_agent_refuses_an_sqlite_backend_that_pods_cannot_reach(backend):
    from jupyter_flows.agent.kubernetes import KubernetesAgent

    with pytest.raises(ConfigurationError, match="SQLite file that pods in a cluster cannot reach"):
        KubernetesAgent(backend=backend)


#: Read at import: the test's own fixtures unset it for every test.
_BACKEND_URL = os.environ.get("JUPYTER_FLOWS_BACKEND_URL", "")


def _cluster_reachable() -> str | None:
    """Why the end-to-end test cannot run here, or None when it can."""
    if not os.environ.get("KUBECONFIG"):
        return "KUBECONFIG is not set: no Kubernetes cluster to run a Job on"
    if not _BACKEND_URL.startswith("postgresql"):
        return "JUPYTER_FLOWS_BACKEND_URL must name a PostgreSQL server the cluster reaches"
    try:
        from kubernetes import client, config

        config.load_kube_config()
        client.VersionApi().get_code(_request_timeout=5)
    except Exception as exc:  # any failure means: no cluster to test against
        return f"the cluster of KUBECONFIG is not reachable: {exc}"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_cluster_reachable() is not None, reason=str(_cluster_reachable()))
def test_hello_flow_runs_as_a_job_on_a_real_cluster():
    """Also needs JUPYTER_FLOWS_TEST_K8S_IMAGE: an image with this jupyter-flows that the cluster can pull."""
    from jupyter_flows.agent.kubernetes import KubernetesAgent
    from jupyter_flows.backend import Backend
    from jupyter_flows.backend.register import register
    from jupyter_flows.examples.hello_flow import flow
    from jupyter_flows.storage import Module

    backend = Backend(_BACKEND_URL)
    flow.run_config = KubernetesRun(image=os.environ["JUPYTER_FLOWS_TEST_K8S_IMAGE"], env={"GREETING": "Hello"})
    flow.storage = Module("jupyter_flows.examples.hello_flow")
    backend.create_project("k8s-e2e")
    run = backend.create_flow_run(register(flow, "k8s-e2e", backend=backend))
    agent = KubernetesAgent(backend=backend, namespace=os.environ.get("JUPYTER_FLOWS_TEST_K8S_NAMESPACE", "default"))
    deadline = time.monotonic() + 300
    try:
        while backend.get_flow_run(run["id"])["state"] not in ("Success", "Failed", "Cancelled"):
            assert time.monotonic() < deadline, "the Job did not finish in 5 minutes"
            agent.poll_once()
            time.sleep(1)
    finally:
        agent.shutdown()
    assert backend.get_flow_run(run["id"])["state"] == "Success"
    assert "Hello, Arthur!" in [entry["message"] for entry in backend.get_logs(run["id"])]
    assert backend.get_flow_run(run["id"])["infrastructure"] == f"Job {agent.namespace}/{job_name(run)}"


def test_kubernetes_agent_without_a_cluster_configured_is_a_clear_error(monkeypatch, tmp_path):
    from jupyter_flows.agent.kubernetes import KubernetesAgent
    from jupyter_flows.backend import Backend
    from jupyter_flows.exceptions import ContainerError

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(ContainerError, match="no Kubernetes cluster configured"):
        KubernetesAgent(backend=Backend("postgresql+psycopg://flows@db.example/flows"), scheduler=False)
