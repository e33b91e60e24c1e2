"""Schedules at scale: one scheduler pass over 1,000 flows, and two agents keeping a 2-second schedule.

    python -m benchmarks.schedules                  # SQLite and PostgreSQL (a throwaway server)
    python -m benchmarks.schedules --no-postgresql  # SQLite only
    python -m benchmarks.schedules --json benchmarks/results/schedules.json

Part 1, on each backend: 1,000 flows each with a one-minute ``IntervalSchedule``.
Three passes of ``Backend.create_scheduled_runs`` are timed: the first (it
creates each flow's next hour, 60,000 runs), a steady-state pass one minute on
(simulated by rolling each schedule back a minute: it creates the 1,000 runs
that came due), and a pass with nothing to do (every schedule is covered).

Part 2, on SQLite: a one-task flow on a 2-second schedule and two real
``jupyter-flows agent local start`` processes, each with its scheduler, for
``--seconds`` (60). Counted afterwards: runs per scheduled time (duplicates),
scheduled times in the window without a run that started (missed), and the
start lag from the scheduled time to Running (which includes starting the run's
Python process) and to Submitted (the claim).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, update

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.agent.background import local_agent_process
from jupyter_flows.backend import Backend, schema
from jupyter_flows.schedules import IntervalSchedule

ROOT = Path(__file__).resolve().parent.parent
FLOWS = 1000


@task
def ping():
    jupyter_flows.context.get("logger").info("pong")


def register_many(backend: Backend, n: int) -> None:
    schedule = IntervalSchedule(interval=timedelta(minutes=1)).to_dict()
    backend.create_project("bench")
    for i in range(n):
        backend.register_flow("bench", f"flow-{i:04d}", storage=None, run_config=None, executor=None,
                              parameters=[], graph=None, labels=[], content_hash="h", schedule=schedule)


def roll_back_one_minute(backend: Backend) -> None:
    """As if a minute passed: each schedule's last minute of runs is gone and is due to be created."""
    with backend.engine.begin() as conn:
        last = conn.execute(schema.flow_runs.select().with_only_columns(
            schema.flow_runs.c.scheduled_start_time).order_by(schema.flow_runs.c.scheduled_start_time.desc())
            .limit(1)).scalar_one()
        doomed = schema.flow_runs.c.scheduled_start_time > last - 60
        ids = [r[0] for r in conn.execute(schema.flow_runs.select().with_only_columns(schema.flow_runs.c.id)
                                          .where(doomed))]
        for chunk in range(0, len(ids), 500):
            conn.execute(delete(schema.flow_run_states).where(
                schema.flow_run_states.c.flow_run_id.in_(ids[chunk:chunk + 500])))
        conn.execute(delete(schema.flow_runs).where(doomed))
        conn.execute(update(schema.schedules).values(scheduled_until=schema.schedules.c.scheduled_until - 60))


def timed(call) -> tuple[float, int]:
    start = time.perf_counter()
    created = call()
    return time.perf_counter() - start, created


def bench_pass(url: str, n: int) -> dict:
    backend = Backend(url)
    register_many(backend, n)
    first_s, first_n = timed(backend.create_scheduled_runs)
    roll_back_one_minute(backend)
    steady_s, steady_n = timed(backend.create_scheduled_runs)
    idle_s, idle_n = timed(backend.create_scheduled_runs)
    backend.close()
    return {"flows": n, "first_pass_s": first_s, "first_pass_runs": first_n, "steady_pass_s": steady_s,
            "steady_pass_runs": steady_n, "idle_pass_s": idle_s, "idle_pass_runs": idle_n}


def state_time(run: dict, state: str) -> float | None:
    return next((s["timestamp"] for s in run["states"] if s["state"] == state), None)


def percentiles(values: list[float]) -> dict:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[18], "max": max(values)}


def bench_two_agents(home: Path, seconds: float) -> dict:
    backend = Backend()
    with Flow("bench-scheduled-ping", schedule=IntervalSchedule(interval=timedelta(seconds=2))) as flow:
        ping()
    backend.create_project("bench")
    flow_id = flow.register("bench")
    env = {**os.environ, "JUPYTER_FLOWS_SCHEDULER_INTERVAL": "1"}
    with local_agent_process(log_path=home / "agent-1.log", env=env), \
            local_agent_process(log_path=home / "agent-2.log", env=env):
        time.sleep(seconds)
        backend.pause_schedule(flow_id)
        window_end = time.time()
        deadline = time.monotonic() + 120
        while any(r["state"] in ("Submitted", "Running") for r in backend.list_flow_runs(limit=None)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    runs = [backend.get_flow_run(r["id"]) for r in backend.list_flow_runs(limit=None)]
    times = sorted(r["scheduled_start_time"] for r in runs)
    grid = [times[0] + 2 * k for k in range(int((window_end - times[0]) // 2) + 1)]
    started = {r["scheduled_start_time"] for r in runs if state_time(r, "Running") is not None}
    to_running = [state_time(r, "Running") - r["scheduled_start_time"] for r in runs if state_time(r, "Running")]
    to_claim = [state_time(r, "Submitted") - r["scheduled_start_time"] for r in runs if state_time(r, "Submitted")]
    return {"seconds": seconds, "runs": len(runs), "duplicates": len(times) - len(set(times)),
            "missed": sum(1 for t in grid if t not in started),
            "succeeded": sum(r["state"] == "Success" for r in runs),
            "scheduled_to_running_s": percentiles(to_running), "scheduled_to_submitted_s": percentiles(to_claim)}


def postgres_url():
    sys.path.insert(0, str(ROOT / "tests" / "backend"))
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    return server, server.new_database()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-postgresql", action="store_true", help="Skip the PostgreSQL pass benchmark.")
    parser.add_argument("--seconds", type=float, default=60, help="How long the two agents keep the schedule.")
    parser.add_argument("--json", help="Write the results to this file too.")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite_pass"] = bench_pass(f"sqlite:///{tmp}/passes.db", FLOWS)
        print("SQLite pass:", json.dumps(results["sqlite_pass"]), flush=True)
    if not args.no_postgresql:
        server, url = postgres_url()
        try:
            results["postgresql_pass"] = bench_pass(url, FLOWS)
            print("PostgreSQL pass:", json.dumps(results["postgresql_pass"]), flush=True)
        finally:
            server.stop()
    with tempfile.TemporaryDirectory() as home:
        os.environ["JUPYTER_FLOWS_HOME"] = home
        os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)
        results["two_agents"] = bench_two_agents(Path(home), args.seconds)
        print("Two agents:", json.dumps(results["two_agents"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
