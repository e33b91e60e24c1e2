"""Docker storage against a real daemon: what the image holds, and builds that fail with their log."""

from __future__ import annotations

import json

import pytest
from docker_harness import BASE_IMAGE, ensure_bare_image

from jupyter_flows import Flow, task
from jupyter_flows.exceptions import ContainerError, ImageBuildError, StorageError
from jupyter_flows.storage import Docker, storage_from_dict

pytestmark = pytest.mark.slow


@task
def add_one(x):
    return x + 1


def small_flow(name: str = "small-flow") -> Flow:
    with Flow(name) as flow:
        add_one(1)
    return flow


def test_image_holds_the_flow_its_files_and_loads_it_with_the_stored_storage(docker_client, tmp_path):
    data = tmp_path / "lookup.csv"
    data.write_text("a,b\n1,2\n")
    storage = Docker(base_image=BASE_IMAGE, files={str(data): "/data/lookup.csv"}, image_tag="t1")

    location = storage.add_flow(small_flow())

    assert storage.name == "small-flow:t1"
    rebuilt = storage_from_dict(storage.to_dict())
    script = ("from jupyter_flows.storage import storage_from_dict; import json, sys; "
              f"flow = storage_from_dict(json.loads(sys.argv[1])).get_flow({location!r}); "
              "print(flow.name, flow.run().is_successful(), open('/data/lookup.csv').read().split()[1])")
    output = docker_client.containers.run(storage.name, ["python3", "-c", script, json.dumps(rebuilt.to_dict())],
                                          remove=True)
    assert output.decode().splitlines()[-1].split() == ["small-flow", "True", "1,2"]  # after the run's log


def test_registry_url_names_the_image_under_the_registry():
    storage = Docker(base_image=BASE_IMAGE, image_name="flows", image_tag="v1", registry_url="registry.example:5000/")
    assert storage.name == "registry.example:5000/flows:v1"


def test_base_image_without_python_is_a_build_error_saying_so(docker_client):
    storage = Docker(base_image=ensure_bare_image(docker_client), image_tag="nopython")

    with pytest.raises(ImageBuildError) as raised:
        storage.add_flow(small_flow())

    assert raised.value.step.startswith("Step 2/")
    assert "the base image has no python3" in str(raised.value)
    assert "the base image has no python3" in raised.value.log


def test_dependency_that_fails_to_install_is_a_build_error_with_pips_output(docker_client):
    storage = Docker(base_image=BASE_IMAGE, python_dependencies=["jupyter-flows-no-such-package==0.0.1"])

    with pytest.raises(ImageBuildError) as raised:
        storage.add_flow(small_flow())

    assert "jupyter-flows-no-such-package==0.0.1" in str(raised.value)
    assert "No matching distribution found" in str(raised.value)


def test_unreachable_daemon_is_an_error_naming_docker_host(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")

    with pytest.raises(ContainerError) as raised:
        Docker(base_image=BASE_IMAGE).add_flow(small_flow())

    assert "DOCKER_HOST" in str(raised.value)
    assert f"unix://{tmp_path}/no-daemon.sock" in str(raised.value)


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(StorageError, match="the string 'pandas'"):
        Docker(python_dependencies="pandas")
    with pytest.raises(StorageError, match="base_image or dockerfile"):
        Docker(base_image="python:3.11", dockerfile=tmp_path / "Dockerfile")
    with pytest.raises(StorageError, match="does not exist"):
        Docker(base_image=BASE_IMAGE, files={str(tmp_path / "missing.txt"): "/missing.txt"}).add_flow(small_flow())


def test_dockerfile_is_the_start_of_the_image(docker_client, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {BASE_IMAGE}\nENV TEAM=data\n")
    storage = Docker(dockerfile=dockerfile, image_tag="from-dockerfile")

    storage.add_flow(small_flow())

    output = docker_client.containers.run(storage.name, ["python3", "-c", "import os; print(os.environ['TEAM'])"],
                                          remove=True)
    assert output.decode().strip() == "data"
