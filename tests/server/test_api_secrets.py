"""No REST answer shows the value of a secret-looking env name of a run config (``redaction``)."""

from __future__ import annotations

import json

import pytest

from jupyter_flows.run_configs import LocalRun
from jupyter_flows.backend import Client
from server_helpers import hello_flow

pytestmark = pytest.mark.slow

SECRET = "s3cret-value-0042"


@pytest.fixture
def run_with_secrets(backend):
    """A scheduled run of a flow with a secret in its run config, the run's own (an override) carrying two."""
    flow = hello_flow()
    flow.run_config = LocalRun(env={"GREETING": "Hello", "SERVICE_KEY": SECRET})
    Client().create_project("tutorial")
    flow_id = flow.register(project_name="tutorial")
    config = LocalRun(env={"API_TOKEN": SECRET, "DB_PASSWORD": SECRET, "GREETING": "Howdy"})
    return backend.create_flow_run(flow_id, run_config=config)


async def test_a_run_config_env_is_masked_in_run_reads_and_lists(api, run_with_secrets):
    _, detail = await api("GET", "flow-runs", run_with_secrets["id"])
    _, listing = await api("GET", "flow-runs")

    [listed] = listing["flow_runs"]
    for run in (detail, listed):
        assert run["run_config"]["env"] == {"API_TOKEN": "********", "DB_PASSWORD": "********", "GREETING": "Howdy"}


async def test_no_read_or_write_answer_carries_a_secret_value(api, run_with_secrets):
    run_id = run_with_secrets["id"]
    answers = [await api("GET", "flows"), await api("GET", "flow-runs"), await api("GET", "flow-runs", run_id),
               await api("GET", "flow-runs", run_id, "logs"), await api("POST", "flow-runs", run_id, "cancel")]

    assert [status for status, _ in answers] == [200] * 5
    assert all(SECRET not in json.dumps(body) for _, body in answers)
    assert answers[-1][1]["run_config"]["env"]["GREETING"] == "Howdy"


async def test_the_backend_keeps_the_real_values_for_the_agent(api, backend, run_with_secrets):
    await api("GET", "flow-runs", run_with_secrets["id"])

    assert backend.get_flow_run(run_with_secrets["id"])["run_config"]["env"]["API_TOKEN"] == SECRET
