"""The configuration form's container run configs: DockerRun (image, env) and KubernetesRun (image, resources)."""

from __future__ import annotations

from jupyter_flows import Flow, task
from jupyter_flows.jupyter.widgets.config_form import ConfigForm
from jupyter_flows.run_configs import DockerRun, KubernetesRun, UniversalRun


@task
def noop():
    return None


def a_flow(run_config=None) -> Flow:
    with Flow("container-flow", run_config=run_config) as flow:
        noop()
    return flow


def shown(widget) -> bool:
    return widget.layout.display != "none"


def test_choosing_docker_run_with_an_image_sets_the_flows_run_config():
    flow = a_flow()
    form = ConfigForm(flow)

    form.run_config_kind.value = "DockerRun"
    form.image.value = "flows:1"
    form.env_editor.set_env({"GREETING": "Hello"})
    form.labels.value = ["docker"]

    assert shown(form.image) and not shown(form.resources_box) and not shown(form.working_dir)
    assert flow.run_config == DockerRun(image="flows:1", env={"GREETING": "Hello"}, labels=["docker"])


def test_choosing_kubernetes_run_sets_image_and_resources():
    flow = a_flow()
    form = ConfigForm(flow)

    form.run_config_kind.value = "KubernetesRun"
    form.image.value = "flows:1"
    form.resources["cpu_request"].value = "250m"
    form.resources["memory_limit"].value = "1Gi"

    assert shown(form.image) and shown(form.resources_box)
    assert flow.run_config == KubernetesRun(image="flows:1", cpu_request="250m", memory_limit="1Gi")


def test_invalid_memory_is_shown_in_the_form_and_the_flow_keeps_its_last_valid_run_config():
    flow = a_flow(KubernetesRun(image="flows:1", memory_limit="1Gi"))
    form = ConfigForm(flow)

    form.resources["memory_limit"].value = "1 GB"

    assert "is not a Kubernetes quantity" in form.run_config_error.value
    assert flow.run_config == KubernetesRun(image="flows:1", memory_limit="1Gi")


def test_options_the_form_does_not_show_are_kept():
    flow = a_flow(DockerRun(image="flows:1", ports=[8787], host_config={"mem_limit": "1g"}))
    form = ConfigForm(flow)
    assert form.image.value == "flows:1"

    form.image.value = "flows:2"

    assert flow.run_config == DockerRun(image="flows:2", ports=[8787], host_config={"mem_limit": "1g"})
    form.run_config_kind.value = "UniversalRun"
    assert flow.run_config == UniversalRun()
