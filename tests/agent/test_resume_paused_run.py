"""A run paused for approval (``manual_only``) through a real agent, resumed from the CLI, the Client, the run
widget and ``%flow resume``."""

from __future__ import annotations

import pytest
from agent_helpers import register_file, run_cli, wait_for, wait_for_state, write_flow_file
from IPython.core.error import UsageError

from jupyter_flows.backend import Client
from jupyter_flows.exceptions import NotFoundError, RestartError
from jupyter_flows.jupyter.widgets.follower import follow
from jupyter_flows.jupyter.widgets.run_view import RunView

#: a -> approve (manual_only) -> b; every execution leaves a line in executions.log.
APPROVAL_FLOW = '''
from pathlib import Path

from jupyter_flows import Flow, task, triggers

WORKDIR = Path({workdir!r})


def note(what):
    with open(WORKDIR / "executions.log", "a") as log:
        log.write(f"{{what}}\\n")


@task
def a():
    note("a")
    return 20


@task(trigger=triggers.manual_only)
def approve(value):
    note("approve")
    return value + 1


@task
def b(value):
    note("b")
    return value * 2


with Flow("approval") as flow:
    b(approve(a()))
'''

RESTING = ("Success", "Failed", "Cancelled", "Paused")


def _executions(tmp_path) -> list[str]:
    path = tmp_path / "executions.log"
    return path.read_text().split() if path.exists() else []


def _paused_run(backend, tmp_path, start_agent) -> str:
    """A run of the approval flow that an agent ran until it paused."""
    flow = register_file(backend, write_flow_file(tmp_path, APPROVAL_FLOW.format(workdir=str(tmp_path)),
                                                  "approval.py"))
    start_agent()
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert wait_for_state(backend, run_id, states=RESTING, timeout=120)["state"] == "Paused"
    return run_id


def _task_states(backend, run_id) -> dict:
    return {t["task_name"]: t["state"] for t in backend.get_task_runs(run_id)}


def test_a_manual_only_task_leaves_the_run_paused_waiting_for_approval(tmp_path, backend, start_agent):
    run_id = _paused_run(backend, tmp_path, start_agent)
    run = backend.get_flow_run(run_id)
    assert "Waiting for approval of 'approve'" in run["state_message"]
    assert {"a": "Success", "approve": "Paused"}.items() <= _task_states(backend, run_id).items()
    assert _executions(tmp_path) == ["a"]
    assert run["end_time"] is None  # not finished: it waits for a person


def test_jupyter_flows_resume_runs_the_approved_task_and_what_follows_without_running_a_again(
        tmp_path, backend, start_agent):
    run_id = _paused_run(backend, tmp_path, start_agent)

    resumed = run_cli("resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert "is Scheduled" in resumed.stdout
    run = wait_for_state(backend, run_id, states=("Success", "Failed", "Cancelled"), timeout=120)

    assert run["state"] == "Success", run["states"]
    assert _executions(tmp_path) == ["a", "approve", "b"]  # a kept its checkpointed result
    assert _task_states(backend, run_id) == {"a": "Success", "approve": "Success", "b": "Success"}
    history = [state["state"] for state in run["states"]]
    assert history[history.index("Paused"):] == ["Paused", "Scheduled", "Submitted", "Running", "Success"]
    assert any(s["message"] == "Resumed: approve approved" for s in run["states"])


def test_client_resume_is_refused_for_a_run_that_is_not_paused(tmp_path, backend, start_agent):
    run_id = _paused_run(backend, tmp_path, start_agent)
    client = Client(backend=backend)
    assert client.resume_flow_run(run_id).is_scheduled()
    run = wait_for_state(backend, run_id, states=("Success", "Failed", "Cancelled"), timeout=120)
    assert run["state"] == "Success", run["states"]

    with pytest.raises(RestartError, match=r"is Success, not Paused: only a run whose tasks wait for approval"):
        client.resume_flow_run(run_id)
    refused = run_cli("resume", run_id)
    assert refused.returncode != 0
    assert "is Success, not Paused" in refused.stderr
    with pytest.raises(NotFoundError, match="no flow run with id 'nope'"):
        client.resume_flow_run("nope")


def test_the_run_widget_offers_approve_and_resume_for_a_paused_run_and_follows_it_to_the_end(
        tmp_path, backend, start_agent):
    run_id = _paused_run(backend, tmp_path, start_agent)
    view = RunView()
    assert follow(run_id, view=view, backend=backend).wait(timeout=60)["state"] == "Paused"
    assert view.state_name == "Paused" and view.resume_button.layout.display == ""
    assert view.restart_button.layout.display == "none"

    view.resume_button.click()
    assert view.resume_button.layout.display == "none"
    wait_for_state(backend, run_id, states=("Success", "Failed", "Cancelled"), timeout=120)
    wait_for(lambda: view.state_name == "Success", timeout=30, what="the view to show Success")
    assert _executions(tmp_path) == ["a", "approve", "b"]
    assert view.resume_button.layout.display == "none"


def test_flow_resume_magic_approves_a_paused_run_and_follows_it(ip, tmp_path, backend, start_agent):
    run_id = _paused_run(backend, tmp_path, start_agent)
    assert ip.run_line_magic("flow", f"resume {run_id}") == run_id
    magics = ip.magics_manager.registry["FlowMagics"]
    assert magics.last_follower.wait(timeout=120)["state"] == "Success"
    assert _executions(tmp_path) == ["a", "approve", "b"]
    with pytest.raises(UsageError, match="is Success, not Paused"):
        ip.run_line_magic("flow", f"resume {run_id}")
