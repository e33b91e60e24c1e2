"""DockerRun as a user writes it and as the backend stores it; which agent claims which run config."""

from __future__ import annotations

import pytest

from jupyter_flows import Flow, task
from jupyter_flows.agent.docker import parse_volume
from jupyter_flows.exceptions import ConfigurationError
from jupyter_flows.run_configs import DockerRun, LocalRun, UniversalRun, run_config_from_dict


def test_docker_run_comes_back_from_its_stored_dict():
    run_config = DockerRun(image="flows:1", env={"GREETING": "Hello"}, labels=["docker"], ports=[8787],
                           host_config={"mem_limit": "1g"})
    assert run_config_from_dict(run_config.to_dict()) == run_config


@pytest.mark.parametrize("bad", [0, 70000, "8080", True])
def test_port_that_is_not_a_port_number_is_rejected(bad):
    with pytest.raises(ConfigurationError, match=f"got {bad!r}"):
        DockerRun(ports=[bad])


def test_empty_image_and_non_dict_host_config_are_rejected():
    with pytest.raises(ConfigurationError, match="image must be an image name"):
        DockerRun(image=" ")
    with pytest.raises(ConfigurationError, match="host_config must be a dict"):
        DockerRun(host_config=["mem_limit=1g"])


@pytest.mark.parametrize("bad", ["/data", "data:relative", "/a:/b:rx", ":/b"])
def test_volume_that_is_not_src_colon_dst_is_rejected(bad):
    with pytest.raises(ConfigurationError, match=f"--volume {bad!r}"):
        parse_volume(bad)


def test_volume_source_is_made_absolute_and_read_write_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_volume("data:/data") == (str(tmp_path / "data"), "/data", "rw")
    assert parse_volume("/etc/ssl:/etc/ssl:ro") == ("/etc/ssl", "/etc/ssl", "ro")


@task
def noop():
    return None


def test_each_agent_kind_claims_only_the_run_configs_it_runs(backend):
    backend.create_project("kinds")
    runs = {}
    for run_config in (DockerRun(image="flows:1"), LocalRun(), UniversalRun()):
        with Flow(f"flow-{type(run_config).__name__}", run_config=run_config) as flow:
            noop()
        runs[type(run_config).__name__] = backend.create_flow_run(flow.register(project_name="kinds"))["id"]
    every_label = [label for run_id in runs.values() for label in backend.get_flow_run(run_id)["labels"]]

    docker_claim = backend.claim_flow_run("docker-agent", every_label, ["DockerRun"])
    local_claims = [backend.claim_flow_run("local-agent", every_label, ["UniversalRun", "LocalRun"]) for _ in range(3)]

    assert docker_claim["id"] == runs["DockerRun"]
    assert sorted(run["id"] for run in local_claims if run) == sorted([runs["LocalRun"], runs["UniversalRun"]])
