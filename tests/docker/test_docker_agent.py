"""The Docker agent against a real Docker daemon: runs in containers, env layers, cancel, crashes, cleanup."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from agent_helpers import log_messages, register_file, run_cli, wait_for, wait_for_state, write_flow_file
from docker_harness import BASE_IMAGE, RUNTIME_IMAGE

from jupyter_flows.agent.docker import RUN_LABEL

pytestmark = pytest.mark.slow

HELLO_FLOW = f'''
import os

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.executors import LocalDaskExecutor
from jupyter_flows.run_configs import DockerRun
from jupyter_flows.storage import Docker


@task
def say_hello(name):
    greeting = os.environ.get("GREETING")
    in_container = os.path.exists("/.dockerenv")
    jupyter_flows.context.get("logger").info(f"{{greeting}}, {{name}}! (in a container: {{in_container}})")


with Flow("hello-flow") as flow:
    people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
    say_hello.map(people)

flow.run_config = DockerRun(env={{"GREETING": "Hello"}})
flow.storage = Docker(base_image="{BASE_IMAGE}")
flow.executor = LocalDaskExecutor()
'''

ENV_FLOW = f'''
import os

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.run_configs import DockerRun


@task
def show_env():
    for name in ("FROM_AGENT", "OVERRIDDEN", "PYTHONUNBUFFERED"):
        jupyter_flows.context.get("logger").info(f"{{name}}={{os.environ.get(name)}}")


with Flow("env-flow") as flow:
    show_env()

flow.run_config = DockerRun(image="{RUNTIME_IMAGE}", env={{"OVERRIDDEN": "by the run config"}})
'''

SLOW_FLOW = f'''
import time

from jupyter_flows import Flow, task
from jupyter_flows.run_configs import DockerRun


@task
def wait():
    print("waiting", flush=True)
    time.sleep(120)


with Flow("slow-flow") as flow:
    wait()

flow.run_config = DockerRun(image="{RUNTIME_IMAGE}")
'''


def containers_of(client, run_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})


def test_hello_flow_in_docker_storage_greets_from_a_container_and_leaves_no_container(
        tmp_path, backend, docker_client, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, HELLO_FLOW, "hello_flow.py"), "tutorial")
    assert flow["storage"]["type"] == "Docker"
    docker_client.images.get(f"hello-flow:{flow['storage']['image_tag']}")  # registering built it
    start_docker_agent()

    run = backend.create_flow_run(flow["id"])
    assert wait_for_state(backend, run["id"], timeout=90)["state"] == "Success"

    messages = log_messages(backend, run["id"])
    for name in ("Arthur", "Ford", "Marvin"):
        assert f"Hello, {name}! (in a container: True)" in messages
    assert any(m.startswith("agent ") and f"runs it in container jupyter-flows-{run['name']}" in m for m in messages)
    wait_for(lambda: not containers_of(docker_client, run["id"]), what="the finished container to be removed")


def test_container_env_is_the_images_then_agent_env_then_run_config_env(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, ENV_FLOW, "env_flow.py"))
    start_docker_agent("--env", "FROM_AGENT=agent", "--env", "OVERRIDDEN=agent")

    run = backend.create_flow_run(flow["id"])
    assert wait_for_state(backend, run["id"], timeout=60)["state"] == "Success"

    messages = log_messages(backend, run["id"])
    assert "FROM_AGENT=agent" in messages
    assert "OVERRIDDEN=by the run config" in messages
    assert "PYTHONUNBUFFERED=1" in messages  # set by the image


def test_local_agent_leaves_docker_runs_to_the_docker_agent(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    from jupyter_flows.agent.local import LocalAgent

    flow = register_file(backend, write_flow_file(tmp_path, ENV_FLOW, "env_flow.py"))
    run = backend.create_flow_run(flow["id"])
    LocalAgent(backend=backend).poll_once()
    assert backend.get_flow_run(run["id"])["state"] == "Scheduled"

    start_docker_agent()
    assert wait_for_state(backend, run["id"], timeout=60)["state"] == "Success"


def test_cancelling_a_run_stops_and_removes_its_container(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, SLOW_FLOW, "slow_flow.py"))
    start_docker_agent()
    run = backend.create_flow_run(flow["id"])
    wait_until_waiting(backend, run["id"])

    backend.cancel_flow_run(run["id"])

    assert wait_for_state(backend, run["id"], timeout=30)["state"] == "Cancelled"
    wait_for(lambda: not containers_of(docker_client, run["id"]), what="the cancelled container to be removed")


def test_container_killed_with_sigkill_fails_the_run_with_exit_code_137_and_its_last_output(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, SLOW_FLOW, "slow_flow.py"))
    start_docker_agent()
    run = backend.create_flow_run(flow["id"])
    wait_until_waiting(backend, run["id"])

    containers_of(docker_client, run["id"])[0].kill(signal="SIGKILL")

    failed = wait_for_state(backend, run["id"], timeout=30)
    assert failed["state"] == "Failed"
    assert "exited with code 137" in failed["state_message"]
    assert "its last output: waiting" in failed["state_message"]
    wait_for(lambda: not containers_of(docker_client, run["id"]), what="the dead container to be removed")


def test_image_that_does_not_exist_fails_the_run_naming_the_image(
        tmp_path, backend, docker_client, start_docker_agent):
    code = ENV_FLOW.replace(RUNTIME_IMAGE, "jupyter-flows-test-missing:nowhere")
    flow = register_file(backend, write_flow_file(tmp_path, code, "missing_image.py"))
    agent = start_docker_agent()
    run = backend.create_flow_run(flow["id"])

    failed = wait_for_state(backend, run["id"], timeout=60)

    assert failed["state"] == "Failed", agent.output()
    assert "image 'jupyter-flows-test-missing:nowhere' does not exist" in failed["state_message"]


def test_stopping_the_agent_stops_its_containers_and_cancels_their_runs(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, SLOW_FLOW, "slow_flow.py"))
    agent = start_docker_agent()
    run = backend.create_flow_run(flow["id"])
    wait_until_waiting(backend, run["id"])

    assert agent.stop() == 0

    assert backend.get_flow_run(run["id"])["state"] == "Cancelled"
    assert not containers_of(docker_client, run["id"])


def wait_until_waiting(backend, run_id: str) -> None:
    """Until the slow flow's task printed "waiting"; a run that ended before that fails the test with its message."""
    def started() -> bool:
        run = backend.get_flow_run(run_id)
        assert run["state"] not in ("Success", "Failed", "Cancelled"), (run["state_message"], _process_log(run_id))
        return "waiting" in _process_log(run_id)

    wait_for(started, timeout=90, what="the task to start")


def _process_log(run_id: str) -> str:
    from jupyter_flows import config

    path = config.runs_dir() / run_id / "process.log"
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def postgres_backend(monkeypatch):
    """A fresh database on a throwaway PostgreSQL server, made the backend of this test and its processes."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
    from postgres_server import PostgresServer

    from jupyter_flows.backend import Backend

    server = PostgresServer().start()
    try:
        url = server.new_database()
        monkeypatch.setenv("JUPYTER_FLOWS_BACKEND_URL", url)
        backend = Backend(url)
        yield backend
        backend.close()
    finally:
        server.stop()


def test_run_in_a_container_reports_to_a_postgresql_backend_through_its_url(
        tmp_path, postgres_backend, docker_client, start_docker_agent):
    flow = register_file(postgres_backend, write_flow_file(tmp_path, HELLO_FLOW, "hello_flow.py"), "tutorial")
    start_docker_agent()

    run = postgres_backend.create_flow_run(flow["id"], parameters={"people": ["Trillian"]})

    assert wait_for_state(postgres_backend, run["id"], timeout=90)["state"] == "Success"
    assert "Hello, Trillian! (in a container: True)" in log_messages(postgres_backend, run["id"])


UNIVERSAL_FLOW = '''
from jupyter_flows import Flow, task


@task
def where():
    import os

    import jupyter_flows

    jupyter_flows.context.get("logger").info(f"in a container: {os.path.exists('/.dockerenv')}")


with Flow("universal-flow") as flow:
    where()
'''


def test_universal_runs_go_to_the_docker_agent_only_when_asked(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    from jupyter_flows.agent.docker import DockerAgent

    flow = register_file(backend, write_flow_file(tmp_path, UNIVERSAL_FLOW, "universal_flow.py"))
    run = backend.create_flow_run(flow["id"])
    DockerAgent(backend=backend).poll_once()
    assert backend.get_flow_run(run["id"])["state"] == "Scheduled"

    start_docker_agent("--universal", "--image", runtime_image)

    assert wait_for_state(backend, run["id"], timeout=60)["state"] == "Success"
    assert "in a container: True" in log_messages(backend, run["id"])


def test_host_config_docker_does_not_know_fails_the_run_naming_it(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    code = ENV_FLOW.replace('env={"OVERRIDDEN": "by the run config"}', 'host_config={"no_such_option": 1}')
    flow = register_file(backend, write_flow_file(tmp_path, code, "bad_host_config.py"))
    start_docker_agent()
    run = backend.create_flow_run(flow["id"])

    failed = wait_for_state(backend, run["id"], timeout=60)

    assert failed["state"] == "Failed"
    assert "host_config {'no_such_option': 1} of the DockerRun is not a Docker host config" in failed["state_message"]
    assert not containers_of(docker_client, run["id"])


def test_agent_start_with_an_unreachable_daemon_exits_naming_docker_host(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")

    result = run_cli("agent", "docker", "start", timeout=60)

    assert result.returncode == 1
    assert "cannot reach the Docker daemon" in result.stderr and "DOCKER_HOST" in result.stderr
    assert "Traceback" not in result.stderr


SCRIPT_FLOW = f'''
import os

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.run_configs import DockerRun
from jupyter_flows.storage import Script


@task
def where():
    jupyter_flows.context.get("logger").info(f"script run in a container: {{os.path.exists('/.dockerenv')}}")


with Flow("script-flow") as flow:
    where()

flow.storage = Script(__file__)
flow.run_config = DockerRun(image="{RUNTIME_IMAGE}")
'''


def test_flow_in_script_storage_runs_from_its_file_mounted_read_only(
        tmp_path, backend, docker_client, runtime_image, start_docker_agent):
    flow = register_file(backend, write_flow_file(tmp_path, SCRIPT_FLOW, "script_flow.py"))
    assert flow["storage"]["type"] == "Script"
    start_docker_agent()

    run = backend.create_flow_run(flow["id"])

    assert wait_for_state(backend, run["id"], timeout=60)["state"] == "Success"
    assert "script run in a container: True" in log_messages(backend, run["id"])


def test_notebook_flow_runs_in_a_container_and_writes_its_output_notebook_on_the_host(
        backend, docker_client, notebook_image, start_docker_agent):
    from jupyter_flows import Flow
    from jupyter_flows.run_configs import DockerRun
    from jupyter_flows.storage import Notebook

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "files" / "params.ipynb"
    backend.create_project("notebooks")
    flow = Flow("analysis", storage=Notebook(notebook), run_config=DockerRun(image=notebook_image))
    run = backend.create_flow_run(flow.register(project_name="notebooks"), parameters={"name": "Zaphod"})
    start_docker_agent()

    finished = wait_for_state(backend, run["id"], timeout=120)

    assert finished["state"] == "Success", finished["state_message"]
    assert Path(finished["output_path"]).is_file()
    assert "Zaphod" in Path(finished["output_path"]).read_text()


def test_ended_containers_of_an_agent_that_is_gone_are_removed(backend, docker_client, runtime_image):
    from jupyter_flows.agent.docker import AGENT_LABEL, BACKEND_LABEL, DockerAgent

    agent = DockerAgent(backend=backend)
    ours = {RUN_LABEL: "a-run-of-a-dead-agent", AGENT_LABEL: "dead-agent", BACKEND_LABEL: agent._backend_key}
    of_another_backend = {**ours, RUN_LABEL: "a-run-elsewhere", BACKEND_LABEL: "another-backend"}
    ended = [docker_client.containers.run(runtime_image, ["python3", "-c", "pass"], detach=True, labels=labels)
             for labels in (ours, of_another_backend, {"unrelated": "yes"})]
    for container in ended:
        container.wait()

    agent.poll_once()

    assert not containers_of(docker_client, "a-run-of-a-dead-agent")
    for kept in ended[1:]:  # not of this backend's agents: left alone
        assert docker_client.containers.get(kept.id).status == "exited"
