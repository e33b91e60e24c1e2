"""Registering a notebook from the server's root directory as a flow, and running it."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from server_helpers import wait_for, write_notebook

pytestmark = pytest.mark.slow


@pytest.fixture
def greeting_notebook(jp_root_dir):
    return write_notebook(jp_root_dir / "reports" / "greet.ipynb", 'name = "World"\ntimes = 2',
                          'for _ in range(times):\n    print(f"Hello, {name}!")')


async def test_a_notebook_under_the_root_becomes_a_flow_with_the_parameters_of_its_parameters_cell(
        api, greeting_notebook, backend):
    status, flow = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb", "project": "reports"})

    assert status == 201
    assert flow["name"] == "greet" and flow["project_name"] == "reports" and flow["version"] == 1
    assert flow["storage_kind"] == "Notebook"
    assert flow["parameters"] == [{"name": "name", "default": "World", "required": False},
                                  {"name": "times", "default": 2, "required": False}]
    assert [p["name"] for p in backend.list_projects()] == ["reports"]


async def test_registering_an_unchanged_notebook_again_keeps_its_version_and_a_changed_one_adds_one(
        api, greeting_notebook):
    _, first = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb", "project": "reports",
                                                                "name": "greeter"})
    _, again = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb", "project": "reports",
                                                                "name": "greeter"})
    write_notebook(greeting_notebook, 'name = "World"\ntimes = 3', 'print(name * times)')
    _, changed = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb",
                                                                  "project": "reports", "name": "greeter"})

    assert again["id"] == first["id"] and again["version"] == 1
    assert changed["version"] == 2
    assert [v["version"] for v in changed["versions"]] == [2, 1]


async def test_a_registered_notebook_runs_on_an_agent_and_keeps_its_executed_copy(api, greeting_notebook, agent):
    _, flow = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb", "project": "reports"})
    _, run = await api("POST", "flow-runs", body={"flow_id": flow["id"], "parameters": {"name": "Arthur"}})

    async def finished():
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail if detail["finished"] else None

    detail = await wait_for(finished, timeout=120, what="the notebook flow run to finish")
    assert detail["state"] == "Success", detail["state_message"]
    assert detail["output_path"] and os.path.isfile(detail["output_path"])
    assert detail["output_notebook"] is None  # kept in the jupyter-flows home, outside the server's root
    executed = nbformat.read(detail["output_path"], as_version=4)
    printed = "".join(o.get("text", "") for cell in executed.cells for o in cell.get("outputs", []))
    assert printed.count("Hello, Arthur!") == 2


async def test_a_notebook_run_with_an_output_folder_under_the_root_can_be_opened_in_jupyterlab(
        api, jp_fetch, greeting_notebook, agent):
    _, flow = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb", "project": "reports",
                                                                "output_dir": "reports/greet-runs"})
    _, run = await api("POST", "flow-runs", body={"flow_id": flow["id"]})

    async def finished():
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail if detail["finished"] else None

    detail = await wait_for(finished, timeout=120, what="the notebook flow run to finish")
    assert detail["state"] == "Success", detail["state_message"]
    assert detail["output_notebook"] == f"reports/greet-runs/{run['id']}.ipynb"
    opened = await jp_fetch("api", "contents", *detail["output_notebook"].split("/"))
    model = json.loads(opened.body)
    assert model["type"] == "notebook"
    assert "Hello, World!" in json.dumps(model["content"]["cells"])


@pytest.mark.parametrize("output_dir,status,expected", [
    ("../runs", 403, "'output_dir' '../runs' is outside the server's root directory"),
    ("reports/greet.ipynb", 400, "'output_dir' 'reports/greet.ipynb' is a file"),
    ("", 400, "'output_dir' must be a non-empty string"),
])
async def test_an_output_folder_outside_the_root_or_not_a_folder_is_refused(api, greeting_notebook, output_dir,
                                                                           status, expected):
    answer, body = await api("POST", "notebooks", "register", body={"path": "reports/greet.ipynb",
                                                                    "project": "reports", "output_dir": output_dir})

    assert answer == status
    assert expected in body["message"]


@pytest.mark.parametrize("path,status,expected", [
    ("../outside.ipynb", 403, "is outside the server's root directory"),
    ("reports/../../outside.ipynb", 403, "is outside the server's root directory"),
    ("reports/notes.txt", 400, "must name a notebook (.ipynb)"),
    ("reports/missing.ipynb", 404, "no notebook at 'path' 'reports/missing.ipynb'"),
])
async def test_notebook_paths_that_leave_the_root_or_are_no_notebook_are_refused(
        api, greeting_notebook, jp_root_dir, path, status, expected):
    write_notebook(jp_root_dir.parent / "outside.ipynb", "x = 1", "print(x)")
    (jp_root_dir / "reports" / "notes.txt").write_text("not a notebook")

    answer, body = await api("POST", "notebooks", "register", body={"path": path, "project": "reports"})

    assert answer == status
    assert expected in body["message"]


async def test_an_absolute_notebook_path_outside_the_root_is_refused(api, jp_root_dir):
    outside = write_notebook(jp_root_dir.parent / "outside.ipynb", "x = 1", "print(x)")

    status, body = await api("POST", "notebooks", "register", body={"path": str(outside), "project": "p"})

    assert status == 403 and "outside the server's root directory" in body["message"]


async def test_a_symlink_in_the_root_pointing_outside_it_is_refused(api, jp_root_dir):
    outside = write_notebook(jp_root_dir.parent / "secret.ipynb", "x = 1", "print(x)")
    (jp_root_dir / "link.ipynb").symlink_to(outside)

    status, body = await api("POST", "notebooks", "register", body={"path": "link.ipynb", "project": "p"})

    assert status == 403 and "'link.ipynb' is outside" in body["message"]


@pytest.mark.parametrize("body,expected", [
    ({"project": "reports"}, "'path' must be a non-empty string, got null"),
    ({"path": "reports/greet.ipynb"}, "'project' must be a non-empty string, got null"),
    ({"path": "reports/greet.ipynb", "project": "  "}, "'project' must be a non-empty string, got \"  \""),
    ({"path": "reports/greet.ipynb", "project": "p", "name": 3}, "'name' must be a non-empty string, got 3"),
])
async def test_a_register_request_missing_a_field_is_a_400_naming_it(api, greeting_notebook, body, expected):
    status, answer = await api("POST", "notebooks", "register", body=body)

    assert status == 400
    assert expected in answer["message"]


async def test_a_notebook_that_is_not_valid_json_is_a_400(api, jp_root_dir):
    (jp_root_dir / "broken.ipynb").write_text("{ this is not a notebook")

    status, body = await api("POST", "notebooks", "register", raw_body=json.dumps({"path": "broken.ipynb",
                                                                                    "project": "p"}).encode())

    assert status == 400
    assert "broken.ipynb" in body["message"]
