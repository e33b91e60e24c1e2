"""What a concurrency limit adds to a limited task run on PostgreSQL: taking and releasing a tag slot.

    python -m benchmarks.limits                      # 400 samples, a throwaway PostgreSQL
    python -m benchmarks.limits --samples 1000 --contenders 2 --json benchmarks/results/limits.json

A throwaway PostgreSQL server (Debian's binaries, as the tests start it) and
one flow run in state Running. Each sample is one of three: a limit check
(take a slot of tag "db" for one task run, then release it: what the task
runner's gate does around a limited task; one call of the server-side
function, then one ``DELETE``), the same check as statements sent one by one
in a write transaction (``BEGIN``, lock, conditional insert, ``COMMIT``, then
the ``DELETE``: what PostgreSQL ran before schema migration 8, and what SQLite
runs), or the baseline, a bare one-row write transaction on the same server
(``UPDATE`` of one row and ``COMMIT``). They are interleaved in random order,
so a burst of load on this machine hits all alike: the ratio of the medians
says what the limit costs in units of the cheapest write, whatever the load,
and the absolute figures what it costs now.

``--contenders N`` starts N processes that take and release slots of the same
tag without pause, so the measured checks wait on the limit row's lock as
they would with several agents' tasks at once.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAG = "db"
#: The slots of tag ``TAG``: more than the contenders plus the measured caller, so a check never waits for a slot.
SLOTS = 16


def _percentile(sorted_ms: list[float], fraction: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(fraction * len(sorted_ms)))]


def _summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"samples": len(ms), "median_ms": round(statistics.median(ms), 3), "p95_ms": round(_percentile(ms, 0.95), 3),
            "p99_ms": round(_percentile(ms, 0.99), 3)}


def _limit_check(backend, run_id: str, index: int) -> float:
    began = time.perf_counter()
    assert backend.acquire_task_slots(run_id, [TAG], "query-1", index) is None
    backend.release_task_slots(run_id, "query-1", index)
    return (time.perf_counter() - began) * 1000


def _limit_check_in_statements(backend, run_id: str, index: int) -> float:
    from jupyter_flows.backend import limits
    from jupyter_flows.backend.connection import transaction

    began = time.perf_counter()
    with transaction(backend.engine, backend.url, "take a slot in statements", write=True) as conn:
        assert limits.acquire_slots_in_statements(conn, [TAG], run_id, "query-1", index) is None
    backend.release_task_slots(run_id, "query-1", index)
    return (time.perf_counter() - began) * 1000


def _bare_transaction(backend) -> float:
    from sqlalchemy import update

    from jupyter_flows.backend.connection import transaction
    from jupyter_flows.backend.schema import concurrency_limits

    began = time.perf_counter()
    with transaction(backend.engine, backend.url, "the baseline write", write=True) as conn:
        conn.execute(update(concurrency_limits).where(concurrency_limits.c.name == "baseline")
                     .values(updated=time.time()))
    return (time.perf_counter() - began) * 1000


def _contend(url: str, run_id: str, worker: int, stop) -> None:
    """Take and release slots of ``TAG`` until ``stop`` is set (another task runner on another host)."""
    from jupyter_flows.backend import Backend

    backend = Backend(url)
    index = 0
    while not stop.is_set():
        backend.acquire_task_slots(run_id, [TAG], f"contender-{worker}", index)
        backend.release_task_slots(run_id, f"contender-{worker}", index)
        index += 1


def _prepared_run(backend) -> str:
    from jupyter_flows.examples.hello_flow import flow

    backend.create_project("bench")
    flow_id = flow.register(project_name="bench")
    run_id = backend.create_flow_run(flow_id)["id"]
    backend.set_flow_run_state(run_id, "Running")
    backend.set_concurrency_limit(TAG, SLOTS)
    backend.set_concurrency_limit("baseline", 1)  # the row the baseline transaction writes
    return run_id


def measure(url: str, samples: int, contenders: int, seed: int = 7) -> dict:
    """Limit checks (both ways) and baseline transactions, ``samples`` of each, interleaved in a random order."""
    from jupyter_flows.backend import Backend

    backend = Backend(url)
    run_id = _prepared_run(backend)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [context.Process(target=_contend, args=(url, run_id, i, stop), daemon=True) for i in range(contenders)]
    for worker in workers:
        worker.start()
    checks = {"limit": lambda i: _limit_check(backend, run_id, i),
              "statements": lambda i: _limit_check_in_statements(backend, run_id, i),
              "baseline": lambda i: _bare_transaction(backend)}
    order = [kind for kind in checks for _ in range(samples)]
    random.Random(seed).shuffle(order)
    for i in range(20):  # warm the pool and the server's plan cache
        for check in checks.values():
            check(-1 - i)
    times: dict[str, list[float]] = {kind: [] for kind in checks}
    try:
        for i, kind in enumerate(order):
            times[kind].append(checks[kind](i))
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    limit, statements, baseline = (_summary(times[kind]) for kind in checks)
    backend.close()
    return {"limit_check": limit, "limit_check_in_statements": statements, "bare_transaction": baseline,
            "contenders": contenders, "median_ratio": round(limit["median_ms"] / baseline["median_ms"], 2),
            "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400, help="Of each kind (limit checks, baseline).")
    parser.add_argument("--contenders", type=int, default=0, help="Processes taking slots of the same tag meanwhile.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "backend"))
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    try:
        url = server.new_database()
        os.environ["JUPYTER_FLOWS_BACKEND_URL"] = url  # flow.register records here
        os.environ["JUPYTER_FLOWS_HOME"] = tempfile.mkdtemp(prefix="jupyter-flows-bench-")
        result = {"load_average_before": [round(x, 2) for x in os.getloadavg()],
                  **measure(url, args.samples, args.contenders)}
    finally:
        server.stop()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
