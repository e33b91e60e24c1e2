"""The live run widget's "Restart from failed" button, for a run in the kernel and a run of the backend."""

from __future__ import annotations

from agent_helpers import register_file, write_flow_file
from test_restart_through_the_backend import MAP_FLOW, _executions

from jupyter_flows import Flow, task
from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.jupyter.widgets.follower import follow
from jupyter_flows.jupyter.widgets.run_view import RunView


def test_restart_button_reruns_the_failed_children_of_a_run_in_the_kernel(tmp_path):
    calls = []
    marker = tmp_path / "fixed"

    @task
    def square(i):
        calls.append(i)
        if i == 4 and not marker.exists():
            raise RuntimeError("not yet")
        return i * i

    with Flow("squares") as flow:
        square.map(list(range(6)))
    view = RunView()
    assert flow.run(listeners=[view]).is_failed()
    assert view.restart_button.layout.display == ""
    marker.touch()
    calls.clear()
    view.restart_button.click()
    assert calls == [4]
    assert view.state_name == "Success" and view.progress()["square"] == (6, 6)
    assert view.restart_button.layout.display == "none"


def test_restart_button_is_hidden_after_a_run_that_succeeded():
    @task
    def one():
        return 1

    with Flow("fine") as flow:
        one()
    view = RunView()
    flow.run(listeners=[view])
    assert view.restart_button.layout.display == "none"


def test_restart_of_a_followed_backend_run_restarts_it_there_and_follows_the_new_attempt(tmp_path, backend):
    flow = register_file(backend, write_flow_file(tmp_path, MAP_FLOW.format(workdir=str(tmp_path)), "squares.py"))
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Failed"
    view = RunView()
    assert follow(run_id, view=view, backend=backend).wait(timeout=60)["state"] == "Failed"
    assert view.restart_button.layout.display == ""
    (tmp_path / "fixed").touch()
    follower = view.restart()
    assert backend.get_flow_run(run_id)["state"] == "Scheduled"
    assert execute_flow_run(run_id, backend) == "Success"
    assert follower.wait(timeout=60)["state"] == "Success"
    assert view.state_name == "Success" and view.progress()["square"] == (100, 100)
    assert sorted(_executions(tmp_path)[100:]) == ["17", "83", "total"]
