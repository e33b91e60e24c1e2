"""A Scheduled run says why no agent takes it, wherever it is shown: the backend, ``get flow-runs``, the widget.

Agents' records are written as agents write them (``register_agent``), and a
run in flight is one an agent claimed (``claim_flow_run``).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from click.testing import CliRunner

from jupyter_flows.cli import cli
from backend_helpers import register_plain_flow


def _run(backend, labels=(), **options):
    flow = register_plain_flow(backend)
    return backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"}, labels=list(labels), **options)


def test_a_run_for_later_waits_for_its_scheduled_time_even_with_an_agent_live(backend):
    backend.register_agent("agent-1", "host-a", [])
    later = time.time() + 3600

    run = _run(backend, scheduled_start_time=later)

    when = datetime.fromtimestamp(later, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert backend.waiting_reason(run) == f"waiting for its scheduled time, {when}"


def test_a_run_whose_label_limit_is_full_waits_for_a_concurrency_slot(backend):
    backend.register_agent("agent-1", "host-a", ["gpu"])
    backend.set_concurrency_limit("gpu", 1, kind="label")
    first = _run(backend, labels=["gpu"])
    assert backend.claim_flow_run("agent-1", ["gpu"])["id"] == first["id"]

    second = _run(backend, labels=["gpu"])

    assert backend.waiting_reason(second) == ("waiting for a concurrency slot: label gpu allows 1 run(s) at once, "
                                              "1 in flight")


def test_a_page_of_runs_gets_each_its_own_reason(backend):
    backend.register_agent("agent-1", "host-a", ["host-a"])
    free, needs_gpu = _run(backend, labels=["host-a"]), _run(backend, labels=["host-b"])
    later = _run(backend, scheduled_start_time=time.time() + 60)
    cancelled = backend.cancel_flow_run(_run(backend)["id"])

    reasons = backend.waiting_reasons([free, needs_gpu, later, cancelled])

    assert reasons[free["id"]] is None
    assert reasons[needs_gpu["id"]] == "no live agent has the labels it needs: host-b"
    assert reasons[later["id"]].startswith("waiting for its scheduled time, ")
    assert cancelled["id"] not in reasons


def test_get_flow_runs_shows_why_a_run_waits_in_its_table_and_json(backend):
    run = _run(backend)
    runner = CliRunner()

    table = runner.invoke(cli, ["get", "flow-runs"], catch_exceptions=False).stdout
    [row] = json.loads(runner.invoke(cli, ["get", "flow-runs", "--json"], catch_exceptions=False).stdout)

    assert row["id"] == run["id"] and row["waiting_reason"] == "no agent is running"
    assert "Waiting" in table and "no agent is running" in table


def test_the_run_widget_says_no_agent_is_running_and_then_which_label_is_missing(backend):
    from jupyter_flows.jupyter.widgets.follower import RunFollower

    run = _run(backend, labels=["gpu"])
    follower = RunFollower(run["id"], backend=backend)
    assert follower._poll_once() is False
    assert follower.view.state_message == "waiting for an agent: no agent is running"

    backend.register_agent("agent-1", "host-a", ["host-a"])
    follower._next_reason = 0.0  # the next poll asks again (it does every few seconds)
    follower._poll_once()

    assert follower.view.state_message == "waiting for an agent: no live agent has the labels it needs: gpu"


def test_a_missing_host_label_from_local_storage_is_named_as_coming_from_it(backend):
    backend.register_agent("agent-1", "host-a", ["host-a"])
    # as Client.register records a flow whose Local storage is on host-b: the storage's labels are the flow's
    flow = register_plain_flow(backend, storage={"type": "Local", "labels": ["host-b"], "add_default_labels": True},
                               labels=["host-b"])
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})

    assert run["labels"] == ["host-b"]
    assert backend.waiting_reason(run) == "no live agent has the labels it needs: host-b (from its Local storage)"
