"""Checkpoints, targets and restarts of runs in this process (no backend)."""

from __future__ import annotations

import threading

import pytest

from jupyter_flows import Flow, task
from jupyter_flows.engine.state import Cached, Failed, Success
from jupyter_flows.exceptions import ConfigurationError
from jupyter_flows.results import FSSpecResult, LocalResult


def _map_flow(fail_until, calls, n=100, failing=(17, 83)):
    """A map of ``n`` children where ``failing`` children fail until ``fail_until`` exists, then a reduce."""

    @task
    def square(i):
        calls.append(i)
        if i in failing and not fail_until.exists():
            raise RuntimeError(f"child {i} needs {fail_until.name}")
        return i * i

    @task
    def total(values):
        calls.append("total")
        return sum(values)

    with Flow("squares") as flow:
        result = total(square.map(list(range(n))))
    return flow, result


def test_restart_from_a_failed_state_reruns_only_the_failed_children_and_the_reduce(tmp_path):
    calls = []
    marker = tmp_path / "fixed"
    flow, total = _map_flow(marker, calls)
    first = flow.run()
    assert first.is_failed() and len(calls) == 100
    marker.touch()
    calls.clear()
    second = flow.run(restart_from=first)
    assert second.is_successful()
    assert sorted(calls, key=str) == [17, 83, "total"]
    assert second.result[total].result == sum(i * i for i in range(100))


def test_restart_from_a_state_that_is_not_one_is_refused(tmp_path):
    flow, _ = _map_flow(tmp_path / "x", [], n=2)
    with pytest.raises(ConfigurationError, match=r"restart_from takes the final state .* got \{'a': 1\}"):
        flow.run(restart_from={"a": 1})


def test_a_target_skips_the_task_on_the_second_run_and_the_log_says_cached(tmp_path, caplog):
    runs = []

    @task(target="{task_name}-{today}.pkl", result=LocalResult(tmp_path))
    def extract():
        runs.append(1)
        return {"rows": 3}

    with Flow("targets") as flow:
        extracted = extract()
    first = flow.run()
    second = flow.run()
    assert len(runs) == 1
    assert type(first.result[extracted]) is Success
    assert type(second.result[extracted]) is Cached and second.result[extracted].is_successful()
    assert second.result[extracted].result == {"rows": 3}
    assert any("Cached" in record.getMessage() and "extract" in record.getMessage() for record in caplog.records)


def test_a_corrupt_target_is_logged_and_the_task_runs_again(tmp_path, caplog):
    runs = []

    @task(target="out.pkl", result=LocalResult(tmp_path))
    def extract():
        runs.append(1)
        return 5

    with Flow("targets") as flow:
        extracted = extract()
    (tmp_path / "out.pkl").write_bytes(b"garbage")
    state = flow.run()
    assert runs == [1] and state.result[extracted].result == 5
    assert any("is corrupt" in r.getMessage() and "the task runs" in r.getMessage() for r in caplog.records)
    assert LocalResult(tmp_path).read("out.pkl") == 5


def test_checkpoint_true_writes_each_childs_result_where_the_flow_result_says(tmp_path):
    @task(checkpoint=True)
    def double(i):
        return 2 * i

    with Flow("kept", result=LocalResult(tmp_path, location="{flow_name}/{task_name}/{map_index}.pkl")) as flow:
        double.map([1, 2, 3])
    assert flow.run().is_successful()
    assert sorted(p.name for p in (tmp_path / "kept" / "double").iterdir()) == ["0.pkl", "1.pkl", "2.pkl"]
    assert LocalResult(tmp_path).read("kept/double/2.pkl") == 6


def test_runs_in_the_kernel_keep_results_in_memory_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_RESULTS_DIR", str(tmp_path))

    @task
    def one():
        return 1

    with Flow("memory") as flow:
        one()
    assert flow.run().is_successful()
    assert list(tmp_path.iterdir()) == []
    assert flow.run(checkpoint=True).is_successful()
    assert len(list(tmp_path.rglob("*.pkl"))) == 1


def test_checkpoint_false_wins_over_a_run_that_checkpoints(tmp_path):
    @task(checkpoint=False)
    def secret():
        return "not on disk"

    with Flow("private", result=LocalResult(tmp_path)) as flow:
        secret()
    assert flow.run(checkpoint=True).is_successful()
    assert list(tmp_path.rglob("*.pkl")) == []


def test_an_unpicklable_result_fails_its_task_naming_it_and_nothing_else_is_lost(tmp_path):
    @task
    def lock():
        return threading.Lock()

    @task
    def fine():
        return "kept"

    with Flow("unpicklable", result=LocalResult(tmp_path)) as flow:
        bad = lock()
        good = fine()
    state = flow.run(checkpoint=True)
    assert type(state.result[bad]) is Failed
    assert "'lock' ran, but its result could not be checkpointed" in state.result[bad].message
    assert "of type lock cannot be pickled" in state.result[bad].message
    assert state.result[good].is_successful() and state.result[good].result == "kept"
    assert len(list(tmp_path.rglob("*.pkl"))) == 1


def test_a_target_on_a_second_file_system_through_fsspec(tmp_path):
    runs = []
    elsewhere = tmp_path / "other-mount"

    @task(target="{flow_name}/{task_name}.pkl", result=FSSpecResult(f"file://{elsewhere}"))
    def fetch():
        runs.append(1)
        return [1, 2]

    with Flow("remote") as flow:
        fetched = fetch()
    flow.run()
    state = flow.run()
    assert runs == [1] and (elsewhere / "remote" / "fetch.pkl").is_file()
    assert type(state.result[fetched]) is Cached and state.result[fetched].result == [1, 2]
