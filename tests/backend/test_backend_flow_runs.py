"""Flow runs: scheduling with checked parameters, states and their history, heartbeats, listing."""

from __future__ import annotations

import time

import pytest

from jupyter_flows.exceptions import ConfigurationError, FlowArchivedError, NotFoundError, ParameterError
from jupyter_flows.run_configs import LocalRun

from backend_helpers import register_plain_flow


@pytest.fixture
def flow(backend):
    return register_plain_flow(backend, labels=["vm"], storage={"type": "Local", "labels": ["vm"]})


def test_a_new_flow_run_is_scheduled_with_its_given_parameters(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"}, run_name="first")
    assert run["state"] == "Scheduled" and run["name"] == "first"
    assert run["parameters"] == {"greeting": "Hi"}
    assert run["flow_name"] == "plain" and run["project_name"] == "tutorial" and run["flow_version"] == 1
    assert [s["state"] for s in run["states"]] == ["Scheduled"]
    assert run["labels"] == ["vm"]
    assert backend.get_flow_run(run["id"]) == run


def test_runs_get_a_readable_name_when_none_is_given(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    assert run["name"] == f"plain-{run['id'][:8]}"


def test_a_parameter_the_flow_does_not_declare_is_refused_with_the_declared_ones(backend, flow):
    with pytest.raises(ParameterError, match="flow 'plain' has no parameter named 'peeple'; its parameters are: "
                                             "greeting, people"):
        backend.create_flow_run(flow["id"], parameters={"greeting": "Hi", "peeple": ["Ford"]})
    assert backend.list_flow_runs() == []


def test_a_missing_required_parameter_is_refused(backend, flow):
    with pytest.raises(ParameterError, match="needs a value for required parameter"):
        backend.create_flow_run(flow["id"], parameters={"people": ["Ford"]})


def test_a_parameter_value_that_json_cannot_hold_is_refused(backend, flow):
    with pytest.raises(ParameterError, match="parameter 'greeting' of flow 'plain' must be JSON-able"):
        backend.create_flow_run(flow["id"], parameters={"greeting": object()})


def test_a_run_of_the_latest_version_by_version_group(backend, flow):
    newer = register_plain_flow(backend, content_hash="changed")
    run = backend.create_flow_run(version_group_id=flow["version_group_id"], parameters={"greeting": "Hi"})
    assert run["flow_id"] == newer["id"]


def test_an_archived_version_cannot_be_run_and_the_error_names_the_current_one(backend, flow):
    newer = register_plain_flow(backend, content_hash="changed")
    with pytest.raises(FlowArchivedError, match=rf"version 1 .* is archived; run the current version 2 \(id {newer['id']}\)"):
        backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})


def test_unknown_flow_or_group_or_neither_is_an_error(backend, flow):
    with pytest.raises(NotFoundError, match="no flow with id 'missing'"):
        backend.create_flow_run("missing")
    with pytest.raises(NotFoundError, match="no flow with version group id 'missing'"):
        backend.create_flow_run(version_group_id="missing")
    with pytest.raises(ValueError, match="needs flow_id or version_group_id"):
        backend.create_flow_run()


def test_a_run_config_override_is_stored_and_sets_the_run_labels(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"},
                                  run_config=LocalRun(env={"GREETING": "Howdy"}, labels=["gpu"]))
    assert run["run_config"]["env"] == {"GREETING": "Howdy"}
    assert run["labels"] == ["gpu", "vm"]
    explicit = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"}, labels=["only-this"])
    assert explicit["labels"] == ["only-this"]


def test_a_bad_run_config_override_is_refused_naming_the_problem(backend, flow):
    with pytest.raises(ConfigurationError, match="unknown run config type 'NomadRun'"):
        backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"}, run_config={"type": "NomadRun"})
    with pytest.raises(ConfigurationError, match="invalid environment variable name '1X'"):
        backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"},
                                run_config={"type": "LocalRun", "env": {"1X": "y"}})


def test_states_move_forward_and_are_kept_in_the_history(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.set_flow_run_state(run["id"], "Submitted", "claimed")
    running = backend.set_flow_run_state(run["id"], "Running")
    assert running["start_time"] is not None and running["end_time"] is None
    done = backend.set_flow_run_state(run["id"], "Failed", "task say_hello failed")
    assert done["state"] == "Failed" and done["state_message"] == "task say_hello failed"
    assert done["end_time"] >= done["start_time"]
    assert [(s["state"], s["message"]) for s in done["states"]] == [
        ("Scheduled", None), ("Submitted", "claimed"), ("Running", None), ("Failed", "task say_hello failed")]


def test_a_finished_run_keeps_its_state(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.cancel_flow_run(run["id"])
    late = backend.set_flow_run_state(run["id"], "Success", "the process ended anyway")
    assert late["state"] == "Cancelled" and late["state_message"] == "Cancelled by user"
    assert [s["state"] for s in late["states"]] == ["Scheduled", "Cancelled"]


def test_an_unknown_state_name_is_refused_listing_the_known_ones(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    with pytest.raises(ValueError, match="unknown flow run state 'Done'; known: Scheduled, Submitted, Running"):
        backend.set_flow_run_state(run["id"], "Done")


def test_changing_an_unknown_run_is_not_found(backend, flow):
    for call in (lambda: backend.set_flow_run_state("nope", "Running"), lambda: backend.heartbeat("nope"),
                 lambda: backend.get_flow_run("nope"), lambda: backend.set_flow_run_output_path("nope", "/x"),
                 lambda: backend.write_logs("nope", [{"message": "m"}]), lambda: backend.get_logs("nope"),
                 lambda: backend.write_task_runs("nope", [{"task_slug": "t", "state": "Success"}])):
        with pytest.raises(NotFoundError, match="no flow run with id 'nope'"):
            call()


def test_heartbeat_reports_the_state_so_a_cancelled_run_can_stop(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.set_flow_run_state(run["id"], "Running")
    beat = backend.heartbeat(run["id"])
    assert beat["state"] == "Running" and beat["heartbeat"] == backend.get_flow_run(run["id"])["heartbeat"]
    backend.cancel_flow_run(run["id"])
    assert backend.heartbeat(run["id"])["state"] == "Cancelled"


def test_runs_silent_for_too_long_are_stale(backend, flow):
    quiet = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    lively = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    scheduled = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.set_flow_run_state(quiet["id"], "Running")
    backend.set_flow_run_state(lively["id"], "Running")
    time.sleep(0.3)
    backend.heartbeat(lively["id"])
    assert [r["id"] for r in backend.find_stale_runs(0.2)] == [quiet["id"]]
    assert scheduled["id"] not in [r["id"] for r in backend.find_stale_runs(0)]


def test_output_path_is_recorded(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    assert backend.set_flow_run_output_path(run["id"], "/runs/x.ipynb")["output_path"] == "/runs/x.ipynb"


def test_list_flow_runs_filters_pages_and_orders_newest_first(backend, flow):
    other = register_plain_flow(backend, "other", project="elsewhere")
    ids = [backend.create_flow_run(flow["id"], parameters={"greeting": str(i)})["id"] for i in range(5)]
    elsewhere = backend.create_flow_run(other["id"], parameters={"greeting": "x"})["id"]
    backend.set_flow_run_state(ids[0], "Running")
    assert [r["id"] for r in backend.list_flow_runs(flow_id=flow["id"])] == ids[::-1]
    assert [r["id"] for r in backend.list_flow_runs(flow_id=flow["id"], limit=2, offset=1)] == ids[::-1][1:3]
    assert [r["id"] for r in backend.list_flow_runs(state="Running")] == [ids[0]]
    assert len(backend.list_flow_runs(state=["Running", "Scheduled"])) == 6
    assert [r["id"] for r in backend.list_flow_runs(project_name="elsewhere")] == [elsewhere]
    with pytest.raises(ValueError, match=r"unknown flow run state\(s\) \['Done'\]"):
        backend.list_flow_runs(state="Done")


def test_deleting_a_run_removes_its_records(backend, flow):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "Hi"})
    backend.write_logs(run["id"], [{"message": "m"}])
    backend.write_task_runs(run["id"], [{"task_slug": "t", "state": "Success"}])
    backend.delete_flow_run(run["id"])
    with pytest.raises(NotFoundError):
        backend.get_flow_run(run["id"])
