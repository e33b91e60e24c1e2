"""The Run dialog's run configuration and the run's container in a real JupyterLab (headless chromium).

No agent runs here: the runs stay Scheduled, which is enough to see what
they were created with; a container name is recorded the way the Docker agent
records it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from test_lab_panel import flow_item, open_flows_panel, open_lab, open_run_id, run_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def greeter_flow_id(lab_home):
    """The tutorial's hello-flow (a LocalRun) in project "containers" of the lab's backend."""
    from jupyter_flows.backend import Client
    from jupyter_flows.examples.hello_flow import flow

    Client().create_project("containers")
    return flow.register(project_name="containers")


def open_run_dialog(page: Page, lab) -> None:
    open_lab(page, lab)
    open_flows_panel(page)
    flow_item(page, "containers", "hello-flow").get_by_test_id("run-flow-button").click()
    expect(page.get_by_test_id("run-config-kind")).to_have_value("registered")


def accept(page: Page) -> None:
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()


def test_a_run_started_with_a_docker_run_from_the_dialog_is_created_with_its_image_and_env(
        page, lab, greeter_flow_id):
    from jupyter_flows.backend import Backend

    open_run_dialog(page, lab)
    page.get_by_test_id("run-config-kind").select_option("DockerRun")
    page.get_by_test_id("run-config-image").fill("python:3.12-slim")
    page.get_by_test_id("run-config-env-add").click()
    page.get_by_test_id("run-config-env-value").fill("Hi")
    accept(page)
    expect(page.get_by_test_id("run-config-error")).to_contain_text("Environment variable 1 needs a name")
    page.get_by_test_id("run-config-env-name").fill("GREETING")
    accept(page)

    run_id = open_run_id(page)
    expect(run_view(page, run_id).get_by_test_id("run-config-kind")).to_have_text("DockerRun (python:3.12-slim)")
    run_config = Backend().get_flow_run(run_id)["run_config"]
    assert (run_config["type"], run_config["image"], run_config["env"]) == (
        "DockerRun", "python:3.12-slim", {"GREETING": "Hi"})


def test_a_kubernetes_run_with_a_bad_memory_is_refused_naming_it_and_starts_nothing(page, lab, greeter_flow_id):
    from jupyter_flows.backend import Backend

    runs_before = len(Backend().list_flow_runs(flow_id=greeter_flow_id))
    open_run_dialog(page, lab)
    page.get_by_test_id("run-config-kind").select_option("KubernetesRun")
    page.get_by_test_id("run-config-cpu-request").fill("500m")
    page.get_by_test_id("run-config-memory-limit").fill("12XB")
    accept(page)

    expect(page.locator(".jp-Dialog")).to_contain_text("memory_limit '12XB' is not a Kubernetes quantity")
    assert len(Backend().list_flow_runs(flow_id=greeter_flow_id)) == runs_before


def test_the_container_of_a_run_shows_in_its_panel_row_and_its_view(page, lab, greeter_flow_id):
    from jupyter_flows.backend import Backend

    backend = Backend()
    run = backend.create_flow_run(greeter_flow_id)
    backend.set_flow_run_infrastructure(run["id"], "container jupyter-flows-hello-flow-1234abcd")
    open_lab(page, lab)
    open_flows_panel(page)

    row = flow_item(page, "containers", "hello-flow").locator(f'[data-run-id="{run["id"]}"]')
    expect(row.get_by_test_id("run-infrastructure")).to_have_text("container jupyter-flows-hello-flow-1234abcd")
    row.locator("button").click()
    expect(run_view(page, run["id"]).get_by_test_id("run-infrastructure")).to_have_text(
        "container jupyter-flows-hello-flow-1234abcd")
