"""``%flow run NAME --restart`` and ``%flow restart RUN_ID`` in a real IPython shell."""

from __future__ import annotations

import pytest
from agent_helpers import register_file, write_flow_file
from IPython.core.error import UsageError
from test_restart_through_the_backend import MAP_FLOW, _executions

from jupyter_flows.agent.execute import execute_flow_run

CELL = '''
from pathlib import Path
calls = []

@task
def square(i):
    calls.append(i)
    if i in (2, 7) and not Path({marker!r}).exists():
        raise RuntimeError("not yet")
    return i * i

@task
def total(values):
    calls.append("total")
    return sum(values)
'''


def test_flow_run_restart_reruns_only_what_did_not_succeed_in_its_last_run_here(ip, tmp_path):
    marker = tmp_path / "fixed"
    assert ip.run_cell("from jupyter_flows import task\n" + CELL.format(marker=str(marker))).success
    ip.run_cell_magic("flow", "squares", "result = total(square.map(list(range(10))))")
    first = ip.run_line_magic("flow", "run squares")
    assert first.is_failed() and len(ip.user_ns["calls"]) == 10
    marker.touch()
    ip.user_ns["calls"].clear()
    second = ip.run_line_magic("flow", "run squares --restart")
    assert second.is_successful()
    assert sorted(ip.user_ns["calls"], key=str) == [2, 7, "total"]
    assert second.result[ip.user_ns["result"]].result == sum(i * i for i in range(10))


def test_flow_run_restart_of_a_flow_that_has_not_run_here_says_so(ip, tmp_path):
    assert ip.run_cell("from jupyter_flows import task\n" + CELL.format(marker=str(tmp_path / "m"))).success
    ip.run_cell_magic("flow", "squares", "total(square.map([1]))")
    with pytest.raises(UsageError, match="flow 'squares' has not run in this kernel yet: run it with %flow run"):
        ip.run_line_magic("flow", "run squares --restart")


def test_flow_restart_magic_schedules_a_failed_backend_run_again_and_follows_it(ip, tmp_path, backend):
    flow = register_file(backend, write_flow_file(tmp_path, MAP_FLOW.format(workdir=str(tmp_path)), "squares.py"))
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Failed"
    (tmp_path / "fixed").touch()
    assert ip.run_line_magic("flow", f"restart {run_id}") == run_id
    assert backend.get_flow_run(run_id)["state"] == "Scheduled"
    magics = ip.magics_manager.registry["FlowMagics"]
    assert execute_flow_run(run_id, backend) == "Success"
    assert magics.last_follower.wait(timeout=60)["state"] == "Success"
    assert sorted(_executions(tmp_path)[100:]) == ["17", "83", "total"]


def test_flow_restart_magic_refuses_a_run_that_succeeded(ip, tmp_path, backend):
    flow = register_file(backend, write_flow_file(tmp_path, MAP_FLOW.format(workdir=str(tmp_path)), "squares.py"))
    (tmp_path / "fixed").touch()
    run_id = backend.create_flow_run(flow_id=flow["id"])["id"]
    assert execute_flow_run(run_id, backend) == "Success"
    with pytest.raises(UsageError, match="RestartError: .* already succeeded: there is nothing to restart"):
        ip.run_line_magic("flow", f"restart {run_id}")
