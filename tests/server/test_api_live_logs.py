"""The REST API serves a running task's log lines while the task runs (as the Lab panel polls them)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from server_helpers import wait_for

pytestmark = pytest.mark.slow

TICKING_FLOW = '''
import time

import jupyter_flows
from jupyter_flows import Flow, task


@task
def tick():
    logger = jupyter_flows.context.get("logger")
    for i in range(25):
        logger.info(f"tick {i}")
        time.sleep(0.2)


with Flow("ticking-flow") as flow:
    tick()
'''


def register_ticking_flow(tmp_path, backend) -> str:
    path = tmp_path / "ticking_flow.py"
    path.write_text(textwrap.dedent(TICKING_FLOW))
    backend.create_project("tests")
    result = subprocess.run([sys.executable, "-m", "jupyter_flows.cli", "register", "--project", "tests",
                             "-p", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return backend.get_flow_by_name("ticking-flow")["id"]


async def test_log_pages_show_a_running_tasks_lines_before_it_ends(api, backend, agent, tmp_path):
    flow_id = register_ticking_flow(tmp_path, backend)
    status, run = await api("POST", "flow-runs", body={"flow_id": flow_id})
    assert status == 201
    ticks: list[str] = []
    last_id = None

    async def five_ticks_while_running():
        nonlocal last_id
        params = {"after": str(last_id)} if last_id is not None else None
        _, page = await api("GET", "flow-runs", run["id"], "logs", params=params)
        ticks.extend(line["message"] for line in page["logs"] if line["message"].startswith("tick "))
        last_id = page["last_id"] if page["last_id"] is not None else last_id
        if len(ticks) < 5:
            return None
        _, detail = await api("GET", "flow-runs", run["id"])
        return detail

    detail = await wait_for(five_ticks_while_running, timeout=60, what="five tick lines through the API")

    assert detail["state"] == "Running"
    assert [t["state"] for t in detail["task_runs"] if t["task_name"] == "tick"] in ([], ["Running"])
    assert ticks[:5] == [f"tick {i}" for i in range(5)]
