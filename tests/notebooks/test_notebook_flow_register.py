"""Registering a notebook flow and running it the way an agent does: from the stored copy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import nbformat
import pytest

from jupyter_flows import Flow
from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.backend import Backend
from jupyter_flows.storage import Notebook

pytestmark = pytest.mark.slow  # starts real kernels (and an agent)


@pytest.fixture
def backend():
    backend = Backend()
    backend.create_project("tutorial")
    yield backend
    backend.close()


def add_cell(path, source: str) -> None:
    nb = nbformat.read(os.fspath(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(nb, os.fspath(path))


def printed(path) -> str:
    nb = nbformat.read(os.fspath(path), as_version=4)
    return "".join(o.text for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")


def test_registering_copies_the_notebook_and_an_unchanged_notebook_keeps_its_version(notebook, backend):
    path = notebook("params.ipynb")
    flow_id = Flow("analysis", storage=Notebook(path)).register(project_name="tutorial")
    stored = backend.get_flow(flow_id)

    assert stored["location"] != str(path) and os.path.isfile(stored["location"])
    assert stored["storage"]["type"] == "Notebook"
    assert sorted(p["name"] for p in stored["parameters"]) == ["alpha", "count", "label", "name"]

    nb = nbformat.read(os.fspath(path), as_version=4)  # re-running it in Jupyter changes outputs only
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="old output\n")]
    nbformat.write(nb, os.fspath(path))
    again = Flow("analysis", storage=Notebook(path)).register(project_name="tutorial")
    assert again == flow_id and backend.get_flow(again)["version"] == 1

    add_cell(path, 'print("a new cell")')
    changed = Flow("analysis", storage=Notebook(path)).register(project_name="tutorial")
    assert changed != flow_id and backend.get_flow(changed)["version"] == 2


def test_an_agent_run_executes_the_stored_copy_not_the_edited_working_copy(notebook, backend):
    path = notebook("params.ipynb")
    flow_id = Flow("analysis", storage=Notebook(path)).register(project_name="tutorial")
    add_cell(path, 'print("edited after registration")')
    run = backend.create_flow_run(flow_id=flow_id, parameters={"name": "Zaphod", "count": 2})

    assert execute_flow_run(run["id"], backend=backend) == "Success"

    recorded = backend.get_flow_run(run["id"])
    assert recorded["output_path"] == Notebook.from_dict(backend.get_flow(flow_id)["storage"]).output_path(run["id"])
    text = printed(recorded["output_path"])
    assert "hello Zaphod alpha=0.5 count=2" in text
    assert "edited after registration" not in text
    messages = [log["message"] for log in backend.get_logs(run["id"])]
    assert "cell 2/7" in messages and "hello Zaphod alpha=0.5 count=2" in messages
    task_runs = {t["task_name"]: t for t in backend.get_task_runs(run["id"])}
    assert task_runs["params.ipynb"]["state"] == "Success"


def test_a_failing_notebook_run_records_the_failing_cell_on_its_task_run(notebook, backend):
    flow_id = Flow("divide", storage=Notebook(notebook("raises.ipynb"))).register(project_name="tutorial")
    run = backend.create_flow_run(flow_id=flow_id, parameters={"divisor": 0})

    assert execute_flow_run(run["id"], backend=backend) == "Failed"

    task_run = next(t for t in backend.get_task_runs(run["id"]) if t["task_name"] == "raises.ipynb")
    assert "cell 4/5" in task_run["message"] and "ZeroDivisionError: division by zero" in task_run["message"]
    nb = nbformat.read(backend.get_flow_run(run["id"])["output_path"], as_version=4)
    assert any(o.get("ename") == "ZeroDivisionError" for c in nb.cells for o in c.get("outputs", []))


def test_cli_registers_a_notebook_and_runs_it_through_an_agent_with_watch(notebook, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.1")
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "0.5")
    cli = [sys.executable, "-m", "jupyter_flows.cli"]
    path = notebook("params.ipynb")
    subprocess.run(cli + ["create", "project", "tutorial"], check=True, capture_output=True, timeout=60)
    registered = subprocess.run(cli + ["register", "--project", "tutorial", "--notebook", str(path),
                                       "--name", "nb-analysis"], capture_output=True, text=True, timeout=60)
    assert registered.returncode == 0, registered.stderr
    assert "Registered flow 'nb-analysis' version 1" in registered.stdout

    with open(tmp_path / "agent.log", "wb") as agent_log:
        agent = subprocess.Popen(cli + ["agent", "local", "start"], stdin=subprocess.DEVNULL,
                                 stdout=agent_log, stderr=subprocess.STDOUT)
    try:
        watched = subprocess.run(cli + ["run", "--name", "nb-analysis", "--param", "name=Trillian",
                                        "--param", "alpha=0.25", "--watch"],
                                 capture_output=True, text=True, timeout=180)
    finally:
        agent.send_signal(signal.SIGINT)
        try:
            agent.wait(timeout=20)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
    assert watched.returncode == 0, watched.stdout + watched.stderr + (tmp_path / "agent.log").read_text()
    assert "hello Trillian alpha=0.25 count=3" in watched.stdout
    assert "cell 4/7" in watched.stdout
    assert "ended Success" in watched.stdout

    listed = subprocess.run(cli + ["get", "flow-runs", "--json"], capture_output=True, text=True, timeout=60)
    runs = json.loads(listed.stdout)
    assert runs[0]["output_path"].endswith("output.ipynb") and os.path.isfile(runs[0]["output_path"])
    assert "hello Trillian" in printed(runs[0]["output_path"])
