"""The Kubernetes agent: the local agent's loop, with one ``batch/v1`` Job per flow run.

It claims ``KubernetesRun`` runs and creates a Job whose one container runs
``python3 -m jupyter_flows.agent.execute RUN_ID`` in the run config's image
(else the flow's Docker storage image, else the agent's ``--image``). A
thread follows the Job's pod: it copies the pod's log to the run's
``process.log`` and the agent's log, then records the container's exit code.
Cancelling deletes the Job (its pod gets SIGTERM, then SIGKILL after the grace
period); a finished Job is deleted too.

The run inside reports to the agent's backend by its URL, so the backend must
be a database server the cluster reaches (PostgreSQL), not an SQLite file.
:func:`job_manifest` is a pure function of the run, so the Job can be
reviewed (``jupyter-flows agent kubernetes manifest RUN_ID``) and checked
against the Kubernetes API schema without a cluster.
"""

from __future__ import annotations

import copy
import logging
import re
import signal
import threading
import time
from pathlib import Path
from typing import Mapping

from .. import config
from ..exceptions import ConfigurationError, ContainerError
from ..run_configs import run_config_from_dict
from ..run_configs.kubernetes import KubernetesRun, check_job_template
from .local import LocalAgent, _Child
from .notes import note_in_run_log, record_infrastructure

log = logging.getLogger("jupyter_flows.agent")

RUN_LABEL = "jupyter-flows.io/flow-run-id"
#: Why a pod's container waits that means it will never start by itself.
_STUCK_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                            "CreateContainerError"})
#: Seconds the pod of a cancelled run gets to record ``Cancelled`` before it is killed.
TERMINATION_GRACE_S = 30


def default_job() -> dict:
    """The Job a run gets when its run config gives no template."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {},
        "spec": {
            "backoffLimit": 0,  # a failed run is recorded as Failed; retrying it is the user's call
            "template": {"metadata": {}, "spec": {"restartPolicy": "Never", "containers": [{"name": "flow"}]}},
        },
    }


def job_manifest(run: dict, flow: dict, run_config: KubernetesRun, namespace: str = "default",
                 image: str | None = None, agent_env: Mapping[str, str] | None = None,
                 backend_url: str | None = None, heartbeat_interval: float | None = None) -> dict:
    """The Job that runs ``run``: the run config's template (or :func:`default_job`) filled in.

    The first container gets the image, the command, the env (the agent's,
    then the run config's, then the backend URL) and the resources; the Job
    and its pod get the run's id as a label and a name derived from it.
    """
    job = copy.deepcopy(_template(run_config))
    name = job_name(run)
    labels = {RUN_LABEL: run["id"], "app.kubernetes.io/managed-by": "jupyter-flows"}
    job["metadata"] = {**job.get("metadata", {}), "name": name, "namespace": namespace}
    job["metadata"]["labels"] = {**job["metadata"].get("labels", {}), **labels}
    pod = job.setdefault("spec", {}).setdefault("template", {})
    pod.setdefault("metadata", {})["labels"] = {**pod.get("metadata", {}).get("labels", {}), **labels}
    pod_spec = pod.setdefault("spec", {})
    pod_spec.setdefault("restartPolicy", "Never")
    if run_config.service_account_name:
        pod_spec["serviceAccountName"] = run_config.service_account_name
    containers = pod_spec.setdefault("containers", [{"name": "flow"}]) or [{"name": "flow"}]
    pod_spec["containers"] = containers
    _fill_container(containers[0], run, flow, run_config, image, agent_env, backend_url, heartbeat_interval)
    return job


def _fill_container(container: dict, run: dict, flow: dict, run_config: KubernetesRun, image: str | None,
                    agent_env, backend_url: str | None, heartbeat_interval: float | None) -> None:
    container.setdefault("name", "flow")
    container["image"] = run_image(run_config, flow, image)
    container["command"] = ["python3", "-m", "jupyter_flows.agent.execute", run["id"]]
    env = {"JUPYTER_FLOWS_HEARTBEAT_INTERVAL": str(heartbeat_interval or config.heartbeat_interval()),
           **(agent_env or {}), **run_config.env,
           "JUPYTER_FLOWS_BACKEND_URL": backend_url or config.backend_url()}
    given = [item for item in container.get("env", []) if item.get("name") not in env]
    container["env"] = given + [{"name": key, "value": value} for key, value in env.items()]
    if run_config.image_pull_policy:
        container["imagePullPolicy"] = run_config.image_pull_policy
    resources = container.setdefault("resources", {})
    for kind, cpu, memory in (("requests", run_config.cpu_request, run_config.memory_request),
                              ("limits", run_config.cpu_limit, run_config.memory_limit)):
        wanted = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value is not None}
        if wanted:
            resources[kind] = {**resources.get(kind, {}), **wanted}
    if not resources:
        del container["resources"]


def _template(run_config: KubernetesRun) -> dict:
    if run_config.job_template is not None:
        return run_config.job_template
    if run_config.job_template_path is None:
        return default_job()
    import yaml

    path = Path(run_config.job_template_path).expanduser()
    try:
        template = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"job_template_path {str(path)!r} cannot be read as YAML: {exc}") from None
    return check_job_template(template, f"job_template_path {str(path)!r}")


def run_image(run_config, flow: dict, default: str | None = None) -> str:
    """The run config's image, else the flow's Docker storage image, else ``default``."""
    storage = flow.get("storage") or {}
    image = getattr(run_config, "image", None)
    if image is None and storage.get("type") == "Docker":
        from ..storage import storage_from_dict

        image = storage_from_dict(storage).name
    image = image or default
    if image is None:
        raise ConfigurationError(f"flow {flow['name']!r} names no image: give the run config an image, "
                                 "use Docker storage, or give the agent --image")
    return image


def job_name(run: dict) -> str:
    """A DNS-1123 name for the run's Job: its flow run name, shortened, and its id's start."""
    stem = re.sub(r"[^a-z0-9-]+", "-", (run.get("name") or "run").lower()).strip("-")[:40].strip("-")
    return f"jupyter-flows-{stem or 'run'}-{run['id'][:8]}"


def job_manifest_for_run(backend, flow_run_id: str, namespace: str = "default", image: str | None = None,
                         agent_env: Mapping[str, str] | None = None) -> dict:
    """The Job the agent would create for a stored run (``agent kubernetes manifest``)."""
    run = backend.get_flow_run(flow_run_id)
    flow = backend.get_flow(run["flow_id"])
    run_config = run_config_from_dict(run.get("run_config") or flow.get("run_config"))
    if not isinstance(run_config, KubernetesRun):
        raise ConfigurationError(f"flow run {flow_run_id!r} has a {type(run_config).__name__}, not a KubernetesRun: "
                                 "the Kubernetes agent does not run it")
    return job_manifest(run, flow, run_config, namespace=namespace, image=image, agent_env=agent_env,
                        backend_url=backend.url)


class JobProcess:
    """A run's Job, seen the way the agent loop sees a process (``poll``, ``wait``)."""

    __slots__ = ("name", "namespace", "returncode", "failure", "_core", "_batch", "_thread")

    def __init__(self, name: str, namespace: str, core, batch, log_path: Path, run_name: str):
        self.name, self.namespace = name, namespace
        self._core, self._batch = core, batch
        self.returncode: int | None = None
        #: Why the run's pod never ran or was lost, when that is how it ended.
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._follow, args=(log_path, run_name), daemon=True,
                                        name=f"job-{name}")
        self._thread.start()

    def _follow(self, log_path: Path, run_name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            pod = self._wait_for_pod()
            if pod is None:
                self.returncode = -1
                return
            with open(log_path, "ab") as out:
                stream = self._core.read_namespaced_pod_log(pod, self.namespace, follow=True,
                                                            _preload_content=False)
                for line in stream.stream():
                    out.write(line)
                    out.flush()
                    log.info("[%s] %s", run_name, line.decode(errors="replace").rstrip())
            self.returncode = self._exit_code(pod)
        except ApiException as exc:  # the Job was deleted under us, or the cluster went away
            log.warning("lost track of Job %s of %s: %s", self.name, run_name, exc.reason)
            self.failure = f"lost track of Job {self.name}: {exc.reason}"
            self.returncode = -1

    def _wait_for_pod(self) -> str | None:
        """The name of the Job's pod once its container runs (or ended); None if it never will."""
        while True:
            pods = self._core.list_namespaced_pod(self.namespace, label_selector=f"job-name={self.name}").items
            for pod in pods:
                if pod.status.phase in ("Running", "Succeeded", "Failed"):
                    return pod.metadata.name
                for status in pod.status.container_statuses or ():
                    waiting = status.state.waiting
                    if waiting is not None and waiting.reason in _STUCK_REASONS:
                        self.failure = f"pod {pod.metadata.name} cannot start: {waiting.reason}: {waiting.message}"
                        return None
            time.sleep(0.5)

    def _exit_code(self, pod_name: str) -> int:
        while True:
            statuses = self._core.read_namespaced_pod(pod_name, self.namespace).status.container_statuses or []
            terminated = statuses and statuses[0].state.terminated
            if terminated:
                return terminated.exit_code
            time.sleep(0.5)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int | None:
        self._thread.join()
        return self.returncode

    def delete(self, grace: int | None = None) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.delete_namespaced_job(self.name, self.namespace, propagation_policy="Background",
                                              grace_period_seconds=grace)
        except ApiException as exc:
            if exc.status != 404:
                log.warning("could not delete Job %s: %s", self.name, exc.reason)


class KubernetesAgent(LocalAgent):
    """Runs flow runs as Kubernetes Jobs in ``namespace`` (see the module docstring).

    The cluster comes from the in-cluster service account when there is one,
    else from ``KUBECONFIG`` or ``~/.kube/config``.

    >>> KubernetesAgent(namespace="flows", env={"GREETING": "Hello"}).start()  # doctest: +SKIP
    """

    run_config_types = ("KubernetesRun",)
    agent_kind = "kubernetes"

    def __init__(self, backend=None, namespace: str = "default", image: str | None = None, **options):
        super().__init__(backend=backend, hostname_label=False, **options)
        if self.backend.url.startswith("sqlite"):
            raise ConfigurationError(f"the backend {self.backend.url!r} is an SQLite file that pods in a cluster "
                                     "cannot reach; point JUPYTER_FLOWS_BACKEND_URL at a PostgreSQL server")
        self.namespace = namespace
        self.image = image
        self.core, self.batch = _clients()

    def _start_run(self, run: dict, run_config) -> tuple:
        from kubernetes.client.exceptions import ApiException

        flow = self.backend.get_flow(run["flow_id"])
        job = job_manifest(run, flow, run_config, self.namespace, self.image, self.env, self.backend.url,
                           self.heartbeat_interval)
        try:
            self.batch.create_namespaced_job(self.namespace, job)
        except ApiException as exc:
            raise ContainerError(f"Kubernetes refused Job {job['metadata']['name']!r}: "
                                 f"{exc.reason} {exc.body}") from None
        log_path = config.runs_dir() / run["id"] / "process.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log.info("started flow run %s (%s) as Job %s", run.get("name"), run["id"], job["metadata"]["name"])
        record_infrastructure(self.backend, run["id"], f"Job {self.namespace}/{job['metadata']['name']}")
        note_in_run_log(self.backend, run["id"], f"agent {self.agent_id} runs it as Job {job['metadata']['name']} "
                                                 f"in namespace {self.namespace}")
        return JobProcess(job["metadata"]["name"], self.namespace, self.core, self.batch, log_path,
                          run.get("name") or run["id"]), log_path

    def _signal(self, child: _Child, signum: int) -> None:
        child.process.delete(grace=0 if signum == signal.SIGKILL else TERMINATION_GRACE_S)

    def _settle(self, child: _Child, code: int) -> None:
        child.stop_reason = child.stop_reason or child.process.failure
        super()._settle(child, code)
        child.process.delete()


def _clients():
    try:
        from kubernetes import client
        from kubernetes import config as kube_config
    except ImportError:
        raise ContainerError("the Kubernetes client is not installed; "
                             "pip install 'jupyter-flows[kubernetes]'") from None
    try:
        kube_config.load_incluster_config()
    except kube_config.ConfigException:
        try:
            kube_config.load_kube_config()
        except (kube_config.ConfigException, OSError) as exc:
            raise ContainerError(f"no Kubernetes cluster configured (KUBECONFIG, ~/.kube/config or in-cluster): "
                                 f"{exc}") from None
    return client.CoreV1Api(), client.BatchV1Api()
