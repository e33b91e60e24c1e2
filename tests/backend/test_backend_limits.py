"""Concurrency limits: tag limits on task runs, label limits on flow runs, taken atomically and freed.

The PostgreSQL module runs these tests again against a real server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from jupyter_flows.backend.limit_gate import TaskLimitGate
from jupyter_flows.exceptions import ConcurrencyLimitError, NotFoundError

from backend_helpers import register_plain_flow


def _live_run(backend, flow, labels=None):
    run = backend.create_flow_run(flow["id"], parameters={"greeting": "hi"}, labels=labels)
    backend.set_flow_run_state(run["id"], "Running")
    return run


@pytest.fixture
def plain(backend):
    return register_plain_flow(backend)


def test_a_limit_is_set_read_changed_listed_and_deleted(backend):
    assert backend.set_concurrency_limit("db", 2) == {**backend.get_concurrency_limit("db"), "limit": 2}
    backend.set_concurrency_limit("db", 3)
    backend.set_concurrency_limit("prod", 1, kind="label")
    assert [(x["kind"], x["name"], x["limit"], x["in_use"]) for x in backend.list_concurrency_limits()] == [
        ("label", "prod", 1, 0), ("tag", "db", 3, 0)]
    backend.delete_concurrency_limit("db")
    with pytest.raises(NotFoundError, match="no concurrency limit on tag 'db'"):
        backend.get_concurrency_limit("db")
    assert backend.limited_tags() == {}


@pytest.mark.parametrize("bad", [-1, 2.5, "two", True, None, "-3"])
def test_a_negative_or_non_integer_limit_is_refused_naming_the_value(backend, bad):
    with pytest.raises(ConcurrencyLimitError, match=r"whole number >= 0.*got " + repr(bad).replace(".", r"\.")):
        backend.set_concurrency_limit("db", bad)
    assert backend.list_concurrency_limits() == []


def test_an_empty_tag_or_unknown_kind_is_refused(backend):
    with pytest.raises(ConcurrencyLimitError, match="needs a tag name"):
        backend.set_concurrency_limit("  ", 1)
    with pytest.raises(ConcurrencyLimitError, match="unknown concurrency limit kind 'host'; known: tag, label"):
        backend.set_concurrency_limit("db", 1, kind="host")


def test_deleting_an_unknown_limit_says_so(backend):
    with pytest.raises(NotFoundError, match="no concurrency limit on tag 'gpu'"):
        backend.delete_concurrency_limit("gpu")


def test_a_full_limit_blocks_the_next_task_run_until_a_slot_is_released(backend, plain):
    backend.set_concurrency_limit("db", 1)
    first, second = _live_run(backend, plain), _live_run(backend, plain)
    assert backend.acquire_task_slots(first["id"], ["db", "untagged"], "load-1", None) is None
    assert backend.acquire_task_slots(first["id"], ["db"], "load-1", None) is None  # again: still one slot
    assert backend.acquire_task_slots(second["id"], ["db"], "load-1", 0) == {"tag": "db", "limit": 1, "in_use": 1}
    assert backend.get_concurrency_limit("db")["in_use"] == 1
    backend.release_task_slots(first["id"], "load-1", None)
    assert backend.acquire_task_slots(second["id"], ["db"], "load-1", 0) is None


def test_a_task_run_takes_every_limited_tag_or_none(backend, plain):
    backend.set_concurrency_limit("db", 1)
    backend.set_concurrency_limit("gpu", 1)
    first, second = _live_run(backend, plain), _live_run(backend, plain)
    assert backend.acquire_task_slots(first["id"], ["gpu"], "train-1", None) is None
    assert backend.acquire_task_slots(second["id"], ["db", "gpu"], "both-1", None)["tag"] == "gpu"
    assert backend.get_concurrency_limit("db")["in_use"] == 0  # no half-taken slots


def test_a_finished_run_holds_no_slots(backend, plain):
    backend.set_concurrency_limit("db", 1)
    first, second = _live_run(backend, plain), _live_run(backend, plain)
    assert backend.acquire_task_slots(first["id"], ["db"], "load-1", None) is None
    backend.set_flow_run_state(first["id"], "Failed", "crashed without releasing")
    assert backend.acquire_task_slots(second["id"], ["db"], "load-1", None) is None


def test_the_lost_run_sweep_frees_the_slots_of_a_lost_run(backend, plain):
    backend.set_concurrency_limit("db", 2)
    lost = _live_run(backend, plain)
    backend.acquire_task_slots(lost["id"], ["db"], "load-1", 0)
    backend.acquire_task_slots(lost["id"], ["db"], "load-1", 1)
    time.sleep(0.3)
    assert [run["id"] for run in backend.fail_stale_runs(0.1)] == [lost["id"]]
    with backend._read("count slots") as conn:
        from sqlalchemy import func, select
        from jupyter_flows.backend.schema import limit_slots
        assert conn.execute(select(func.count()).select_from(limit_slots)).scalar_one() == 0


def test_a_label_limit_keeps_the_claim_to_that_many_live_runs(backend, plain):
    backend.set_concurrency_limit("prod", 1, kind="label")
    first = backend.create_flow_run(plain["id"], parameters={"greeting": "hi"}, labels=["prod"])
    second = backend.create_flow_run(plain["id"], parameters={"greeting": "hi"}, labels=["prod"])
    other = backend.create_flow_run(plain["id"], parameters={"greeting": "hi"}, labels=["dev"])
    offered = ["prod", "dev"]
    assert backend.claim_flow_run("agent-a", offered)["id"] == first["id"]
    assert backend.claim_flow_run("agent-b", offered)["id"] == other["id"]  # the prod run waits
    assert backend.claim_flow_run("agent-b", offered) is None
    assert backend.get_concurrency_limit("prod", kind="label")["in_use"] == 1
    backend.set_flow_run_state(first["id"], "Success")
    assert backend.claim_flow_run("agent-b", offered)["id"] == second["id"]


def test_a_waiting_task_run_says_which_limit_it_waits_for(backend, plain):
    backend.set_concurrency_limit("db", 1)
    holder, waiter = _live_run(backend, plain), _live_run(backend, plain)
    backend.acquire_task_slots(holder["id"], ["db"], "load-1", None)
    gate = TaskLimitGate(backend, waiter["id"])
    tags = gate.limited({"db", "fast"})
    assert tags == ["db"]
    thread = threading.Thread(target=gate.acquire, args=(tags, "query-1", "query", None), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not backend.get_task_runs(waiter["id"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    (waiting,) = backend.get_task_runs(waiter["id"])
    assert (waiting["state"], waiting["message"]) == (
        "Pending", "waiting for concurrency limit 'db': 1 of 1 slot(s) in use")
    backend.release_task_slots(holder["id"], "load-1", None)
    thread.join(20)
    assert not thread.is_alive()
    assert backend.get_concurrency_limit("db")["in_use"] == 1


def _postgresql_only(backend):
    if backend.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes slots in its write transaction: BEGIN IMMEDIATE already queues the writers")


def test_on_postgresql_taking_and_releasing_a_slot_are_one_statement_each_without_a_transaction(backend, plain):
    from sqlalchemy import event

    _postgresql_only(backend)
    backend.set_concurrency_limit("db", 1)
    run_id = _live_run(backend, plain)["id"]
    sent: list[str] = []

    def listener(conn, cursor, statement, *rest):
        sent.append(statement.split()[0].upper())

    event.listen(backend.engine, "before_cursor_execute", listener)
    try:
        assert backend.acquire_task_slots(run_id, ["db"], "load-1", None) is None
        backend.release_task_slots(run_id, "load-1", None)
    finally:
        event.remove(backend.engine, "before_cursor_execute", listener)
    assert sent == ["SELECT", "DELETE"]  # the function call, then the release; no BEGIN or COMMIT between
    assert backend.get_concurrency_limit("db")["in_use"] == 0


def test_a_postgresql_backend_made_before_the_slot_function_gets_it_when_opened(backend, plain):
    from jupyter_flows.backend import Backend, schema

    _postgresql_only(backend)
    with backend.engine.begin() as conn:  # the backend as version 7 left it
        conn.exec_driver_sql("DROP FUNCTION jupyter_flows_take_slots")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version >= 8")
    backend.close()
    reopened = Backend(backend.url)
    assert reopened.schema_version() == schema.LATEST_VERSION
    reopened.set_concurrency_limit("db", 1)
    holder, waiter = _live_run(reopened, plain), _live_run(reopened, plain)
    assert reopened.acquire_task_slots(holder["id"], ["db"], "load-1", None) is None
    assert reopened.acquire_task_slots(waiter["id"], ["db"], "load-1", None) == {"tag": "db", "limit": 1, "in_use": 1}
    reopened.close()


FLOW_FILE = """
    import time
    from jupyter_flows import Flow, task
    from jupyter_flows.executors import LocalDaskExecutor
    from jupyter_flows.storage import Script

    @task(tags=["db"])
    def query(i):
        time.sleep(0.3)
        return i

    @task
    def fast(i):
        return i

    with Flow("limited", executor=LocalDaskExecutor(scheduler="{scheduler}", num_workers=4),
              storage=Script(__file__)) as flow:
        query.map(list(range(4)))
        fast.map(list(range(4)))
"""


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_a_limit_of_one_on_tag_db_runs_no_two_db_task_runs_at_once_across_processes(backend, tmp_path, scheduler):
    script = tmp_path / "limited.py"
    script.write_text(textwrap.dedent(FLOW_FILE).replace("{scheduler}", scheduler))
    backend.create_project("tests")
    namespace: dict = {}
    exec(compile(script.read_text(), str(script), "exec"), {"__file__": str(script)}, namespace)
    flow_id = namespace["flow"].register("tests")
    backend.set_concurrency_limit("db", 1)
    run_ids = [backend.create_flow_run(flow_id)["id"] for _ in range(2)]
    env = {**os.environ, "JUPYTER_FLOWS_BACKEND_URL": backend.url}
    processes = [subprocess.Popen([sys.executable, "-m", "jupyter_flows.agent.execute", run_id], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for run_id in run_ids]
    for process in processes:
        output = process.communicate(timeout=120)[0].decode()
        assert process.returncode == 0, output
    spans = sorted((t["start_time"], t["end_time"]) for run_id in run_ids for t in backend.get_task_runs(run_id)
                   if t["task_name"] == "query" and t["map_index"] >= 0)
    assert len(spans) == 8
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    assert backend.get_concurrency_limit("db")["in_use"] == 0


def test_a_gate_shipped_to_a_worker_keeps_its_fresh_copy_of_the_limited_tags(backend, plain):
    import pickle

    backend.set_concurrency_limit("db", 1)
    gate = TaskLimitGate(backend, _live_run(backend, plain)["id"])
    assert gate.limited({"db"}) == ["db"]
    backend.delete_concurrency_limit("db")
    shipped = pickle.loads(pickle.dumps(gate))
    assert shipped.limited({"db"}) == ["db"]  # no query: the copy is fresh
    shipped._read_at -= 60  # once stale, it reads them again
    assert shipped.limited({"db"}) == []


def _take_and_hold(url: str, run_id: str, worker: int, times: int, hold_s: float, spans) -> None:
    """In its own process: take a slot of "db" ``times`` times, each held ``hold_s``; report when it held one."""
    from jupyter_flows.backend import Backend

    backend = Backend(url)
    for i in range(times):
        while backend.acquire_task_slots(run_id, ["db"], f"worker-{worker}", i) is not None:
            time.sleep(0.001)
        began = time.monotonic()  # one clock for every process of this machine
        time.sleep(hold_s)
        spans.put((began, time.monotonic()))
        backend.release_task_slots(run_id, f"worker-{worker}", i)


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = held = 0
    for _, change in events:  # at equal times an end (-1) sorts first: a slot handed over is not an overlap
        held += change
        most = max(most, held)
    return most


def test_task_runs_racing_from_four_processes_for_a_limit_of_two_hold_at_most_two_slots_at_once(backend, plain):
    import multiprocessing

    backend.set_concurrency_limit("db", 2)
    run_id = _live_run(backend, plain)["id"]
    context = multiprocessing.get_context("spawn")
    spans = context.Queue()
    workers = [context.Process(target=_take_and_hold, args=(backend.url, run_id, w, 15, 0.02, spans))
               for w in range(4)]
    for worker in workers:
        worker.start()
    held = [spans.get(timeout=120) for _ in range(4 * 15)]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert _most_at_once(held) == 2  # never three, and the two slots were used at once
    assert backend.get_concurrency_limit("db")["in_use"] == 0
