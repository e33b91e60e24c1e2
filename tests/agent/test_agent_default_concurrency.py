"""An agent given no --concurrency runs 8 flow runs per CPU core at once; a burst of runs waits in the backend."""

from __future__ import annotations

import os

from jupyter_flows.agent.local import LocalAgent, default_concurrency

from agent_helpers import register_file, wait_for, wait_for_state, write_flow_file

#: Waits until the file ``release`` exists, so the test decides when the runs may end.
WAITING_FLOW = '''
import os
import time

from jupyter_flows import Flow, Parameter, task


@task
def wait_for_release(release):
    while not os.path.exists(release):
        time.sleep(0.05)


with Flow("waiting-flow") as flow:
    wait_for_release(Parameter("release"))
'''


def test_an_agent_without_a_concurrency_runs_eight_per_core(backend):
    assert default_concurrency() == 8 * os.cpu_count()
    assert LocalAgent(backend, concurrency=None).concurrency == default_concurrency()
    assert LocalAgent(backend, concurrency=3).concurrency == 3


def test_a_burst_of_runs_beyond_the_default_waits_scheduled_until_a_slot_frees(backend, start_agent, tmp_path):
    flow = register_file(backend, write_flow_file(tmp_path, WAITING_FLOW, "waiting_flow.py"))
    limit = default_concurrency()
    release = tmp_path / "release"
    runs = [backend.create_flow_run(flow["id"], parameters={"release": str(release)}) for _ in range(limit + 2)]
    start_agent("--warm", "1")

    def states() -> list[str]:
        return [backend.get_flow_run(run["id"])["state"] for run in runs]

    wait_for(lambda: states().count("Running") == limit, timeout=120, what=f"{limit} runs Running")
    # the agent holds its limit and goes on polling (20 polls a second here) for a few beats: the rest stay
    seen = wait_for(lambda: (a := backend.list_agents()[0])["runs_in_flight"] == limit and a["last_seen"],
                    timeout=30, what="the agent reporting its runs")
    wait_for(lambda: backend.list_agents()[0]["last_seen"] >= seen + 1.0, timeout=30, what="a second of beats")
    assert sorted(states()) == ["Running"] * limit + ["Scheduled"] * 2
    release.touch()
    finals = [wait_for_state(backend, run["id"], timeout=120) for run in runs]
    assert [final["state"] for final in finals] == ["Success"] * (limit + 2)
