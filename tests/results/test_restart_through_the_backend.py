"""Restarting a failed flow run through the backend: a real agent process, real checkpoints on disk."""

from __future__ import annotations

import pytest
from agent_helpers import register_file, run_cli, wait_for_state, write_flow_file

from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.backend import Client
from jupyter_flows.exceptions import NotFoundError, RestartError
from jupyter_flows.results import LocalResult

#: 100 children, two of which fail until a file exists; every execution leaves a line in executions.log.
MAP_FLOW = '''
from pathlib import Path

from jupyter_flows import Flow, task

WORKDIR = Path({workdir!r})


def note(what):
    with open(WORKDIR / "executions.log", "a") as log:
        log.write(f"{{what}}\\n")


@task
def square(i):
    note(i)
    if i in (17, 83) and not (WORKDIR / "fixed").exists():
        raise RuntimeError(f"child {{i}} needs the fix")
    return i * i


@task
def total(values):
    note("total")
    return sum(values)


with Flow("squares") as flow:
    total(square.map(list(range(100))))
'''


def _executions(tmp_path) -> list[str]:
    path = tmp_path / "executions.log"
    return path.read_text().split() if path.exists() else []


def _registered(backend, tmp_path) -> dict:
    return register_file(backend, write_flow_file(tmp_path, MAP_FLOW.format(workdir=str(tmp_path)), "squares.py"))


def test_restart_through_an_agent_reruns_exactly_the_failed_children_and_the_reduce(tmp_path, backend, start_agent):
    flow = _registered(backend, tmp_path)
    start_agent()
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert wait_for_state(backend, run_id, timeout=120)["state"] == "Failed"
    assert len(_executions(tmp_path)) == 100  # the reduce did not run: two of its inputs failed

    (tmp_path / "fixed").touch()
    restarted = run_cli("restart", run_id)
    assert restarted.returncode == 0, restarted.stderr
    assert "is Scheduled" in restarted.stdout
    run = wait_for_state(backend, run_id, states=("Success", "Failed", "Cancelled"), timeout=120)

    assert run["state"] == "Success", run["states"]
    assert sorted(_executions(tmp_path)[100:]) == ["17", "83", "total"]
    history = [state["state"] for state in run["states"]]
    first_end = history.index("Failed")
    assert history.count("Running") == 2 and history[-1] == "Success"
    assert history[first_end + 1:] == ["Scheduled", "Submitted", "Running", "Success"]  # the second attempt
    assert any("Restarted from its failed task runs (attempt 2)" in (s["message"] or "") for s in run["states"])
    reduce = next(t for t in backend.get_task_runs(run_id) if t["task_name"] == "total")
    assert reduce["state"] == "Success"
    assert LocalResult().read(reduce["result_location"]) == sum(i * i for i in range(100))


def test_a_deleted_pack_makes_its_children_rerun_and_the_log_says_why(tmp_path, backend):
    flow = _registered(backend, tmp_path)
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Failed"
    children = [t for t in backend.get_task_runs(run_id) if t["task_name"] == "square" and t["map_index"] >= 0]
    pack = next(t for t in children if t["map_index"] == 5)["result_location"].rsplit("#", 1)[0]
    in_pack = [str(t["map_index"]) for t in children if (t["result_location"] or "").startswith(f"{pack}#")]
    (LocalResult().dir / pack).unlink()
    (tmp_path / "fixed").touch()

    Client(backend=backend).restart_flow_run(run_id)
    assert execute_flow_run(run_id, backend) == "Success"
    assert sorted(_executions(tmp_path)[100:]) == sorted([*in_pack, "17", "83", "total"])
    logs = [entry["message"] for entry in backend.get_logs(run_id)]
    assert any("Task 'square[5]' runs again: no result at" in line and "(deleted?)" in line for line in logs)


def test_restarting_a_run_that_succeeded_is_refused_saying_so(tmp_path, backend):
    flow = _registered(backend, tmp_path)
    (tmp_path / "fixed").touch()
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Success"
    with pytest.raises(RestartError, match=f"flow run '{run_id}' already succeeded: there is nothing to restart"):
        backend.restart_flow_run(run_id)
    refused = run_cli("restart", run_id)
    assert refused.returncode != 0 and "already succeeded" in refused.stderr


def test_restarting_a_run_that_is_still_running_is_refused(tmp_path, backend):
    flow = _registered(backend, tmp_path)
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    with pytest.raises(RestartError, match="is still Scheduled: only a run that ended Failed or Cancelled"):
        backend.restart_flow_run(run_id)
    backend.set_flow_run_state(run_id, "Running", "started by a test")
    with pytest.raises(RestartError, match="is still Running"):
        Client(backend=backend).restart_flow_run(run_id)
    assert backend.get_flow_run(run_id)["state"] == "Running"


def test_restarting_an_unknown_run_names_the_id(backend):
    with pytest.raises(NotFoundError, match="no flow run with id 'no-such-run'"):
        backend.restart_flow_run("no-such-run")
    refused = run_cli("restart", "no-such-run")
    assert refused.returncode != 0 and "no flow run with id 'no-such-run'" in refused.stderr
