"""A notebook run reports its output notebook only when that notebook was written."""

from __future__ import annotations

import os

import pytest

from jupyter_flows import Flow
from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.storage import Notebook

pytestmark = pytest.mark.slow  # starts a real kernel


@pytest.fixture
def project(backend):
    backend.create_project("tutorial")
    return "tutorial"


def test_a_run_that_fails_before_its_kernel_starts_reports_no_output_notebook(notebook, backend, project, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    storage = Notebook(notebook("params.ipynb"), output_dir=str(blocker / "outputs"))
    flow_id = Flow("analysis", storage=storage).register(project_name=project)
    run = backend.create_flow_run(flow_id=flow_id, parameters={"name": "Zaphod"})

    assert execute_flow_run(run["id"], backend=backend) == "Failed"

    task_run = next(t for t in backend.get_task_runs(run["id"]) if t["task_name"] == "params.ipynb")
    assert "NotADirectoryError" in task_run["message"]
    assert backend.get_flow_run(run["id"])["output_path"] is None
    assert not os.path.exists(storage.output_path(run["id"]))


def test_a_run_whose_notebook_ran_reports_the_written_output_notebook(notebook, backend, project):
    flow_id = Flow("analysis", storage=Notebook(notebook("params.ipynb"))).register(project_name=project)
    run = backend.create_flow_run(flow_id=flow_id, parameters={"name": "Zaphod"})

    assert execute_flow_run(run["id"], backend=backend) == "Success"

    output_path = backend.get_flow_run(run["id"])["output_path"]
    assert output_path and os.path.isfile(output_path)
