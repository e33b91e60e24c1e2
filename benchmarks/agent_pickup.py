"""What the local agent adds to a flow run: pickup latency, the parallel demo, a 10,000-task map.

    python -m benchmarks.agent_pickup            # 50 pickups, the demo, 10,000 tasks
    python -m benchmarks.agent_pickup --quick    # 10 pickups, the demo, 1,000 tasks
    python -m benchmarks.agent_pickup --map-only --repeat 5   # only the 10,000-task map rows
    python -m benchmarks.agent_pickup --json benchmarks/results/agent_pickup.json

Everything runs against a fresh embedded backend in a temporary home, with one
real ``jupyter-flows agent local start`` process at the default poll interval.

- Pickup latency: a one-task flow run is created, then the times at which it
  became Submitted (the agent claimed it) and Running (its process started
  and loaded the flow) are read from its state history; runs go one at a time,
  ``--gap`` seconds apart (the agent's warm process is ready again).
- Parallel demo: three greetings of 1 s on ``LocalDaskExecutor(num_workers=3)``,
  from run creation to Success, next to the 1 s of work done in parallel.
- Idle agent: the share of a core the agent process uses over 5 s with nothing to do.
- Large map: ``log_one.map(range(n))`` with one log line per task, through
  the agent (from creation to Success, everything recorded in the backend),
  with the agent's default checkpointing and with it off for the run
  (``JUPYTER_FLOWS_CHECKPOINTING=false`` in its run config), each next to
  ``flow.run()`` in this process (console output discarded).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.executors import LocalDaskExecutor

ROOT = Path(__file__).resolve().parent.parent


@task
def ping():
    jupyter_flows.context.get("logger").info("pong")


@task
def greet(name):
    time.sleep(1)
    jupyter_flows.context.get("logger").info(f"Hello, {name}!")


@task
def log_one(i):
    jupyter_flows.context.get("logger").info(f"task {i}")
    return i


def ping_flow() -> Flow:
    with Flow("bench-ping") as flow:
        ping()
    return flow


def demo_flow() -> Flow:
    with Flow("bench-parallel-demo") as flow:
        greet.map(["Arthur", "Ford", "Marvin"])
    flow.executor = LocalDaskExecutor(num_workers=3)
    return flow


def map_flow(n: int) -> Flow:
    with Flow(f"bench-map-{n}") as flow:
        log_one.map(list(range(n)))
    return flow


def wait_until_finished(backend, run_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = backend.get_flow_run(run_id)
        if run["state"] in ("Success", "Failed", "Cancelled"):
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"flow run {run_id} still {run['state']} after {timeout}s")
        time.sleep(0.05)


def state_time(run: dict, state: str) -> float:
    return next(s["timestamp"] for s in run["states"] if s["state"] == state)


def percentiles(values: list[float]) -> dict:
    import statistics

    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[18], "max": max(values)}


def bench_pickup(backend, flow_id: str, runs: int, gap: float) -> dict:
    submitted, running, finished = [], [], []
    for _ in range(runs):
        time.sleep(gap)  # a user's next run rarely follows the last within a second: the agent is ready again
        run = backend.create_flow_run(flow_id=flow_id)
        final = wait_until_finished(backend, run["id"])
        assert final["state"] == "Success", final
        submitted.append(state_time(final, "Submitted") - final["created"])
        running.append(state_time(final, "Running") - final["created"])
        finished.append(final["end_time"] - final["created"])
    return {"runs": runs, "created_to_submitted_s": percentiles(submitted),
            "created_to_running_s": percentiles(running), "created_to_success_s": percentiles(finished)}


def bench_demo(backend, flow_id: str) -> dict:
    run = backend.create_flow_run(flow_id=flow_id)
    final = wait_until_finished(backend, run["id"])
    assert final["state"] == "Success", final
    greetings = [t for t in backend.get_task_runs(run["id"]) if t["map_index"] >= 0]
    return {
        "created_to_success_s": final["end_time"] - final["created"],
        "running_to_success_s": final["end_time"] - final["start_time"],
        "greetings_span_s": max(t["end_time"] for t in greetings) - min(t["start_time"] for t in greetings),
        "ideal_s": 1.0,
    }


def bench_map(backend, flow: Flow, flow_id: str, n: int, checkpoint: bool = True, repeat: int = 3) -> dict:
    """The map through the agent and in memory, alternately ``repeat`` times; medians and their ratio."""
    import statistics

    agent, running, in_memory = [], [], []
    for _ in range(repeat):
        final = map_through_agent(backend, flow_id, n, checkpoint)
        agent.append(final["end_time"] - final["created"])
        running.append(final["end_time"] - final["start_time"])
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            start = time.perf_counter()
            state = flow.run()
            in_memory.append(time.perf_counter() - start)
        assert state.is_successful()
    through_agent, while_running, here = (statistics.median(v) for v in (agent, running, in_memory))
    return {
        "tasks": n,
        "checkpointing": checkpoint,
        "repeat": repeat,
        "agent_created_to_success_s": through_agent,
        "agent_running_to_success_s": while_running,
        "in_memory_flow_run_s": here,
        "ratio": through_agent / here,
        "running_ratio": while_running / here,
    }


def map_through_agent(backend, flow_id: str, n: int, checkpoint: bool) -> dict:
    from jupyter_flows.run_configs import LocalRun

    run_config = None if checkpoint else LocalRun(env={"JUPYTER_FLOWS_CHECKPOINTING": "false"})
    run = backend.create_flow_run(flow_id=flow_id, run_config=run_config)
    final = wait_until_finished(backend, run["id"])
    assert final["state"] == "Success", final
    task_logs = sum(1 for e in backend.get_logs(run["id"]) if e["task_name"] == "log_one")
    assert task_logs == n, f"expected {n} task log lines, found {task_logs}"
    return final


def idle_cpu(pid: int, seconds: float = 5.0) -> float:
    """Share of one core the process ``pid`` used over ``seconds`` (from /proc, Linux)."""
    def used() -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = used()
    time.sleep(seconds)
    return (used() - before) / seconds


def run_all(home: Path, pickups: int, n: int, warm: int = 1, gap: float = 1.0, map_only: bool = False,
            repeat: int = 3) -> dict:
    """Register the three flows in a fresh backend under ``home`` and measure them through one agent.

    ``map_only`` measures only the large map (``repeat`` times each way), not pickup, demo or idle CPU.
    """
    from jupyter_flows.backend import Backend
    from jupyter_flows.agent.background import local_agent_process

    backend = Backend()
    backend.create_project("bench")
    big = map_flow(n)
    ids = {name: flow.register(project_name="bench") for name, flow in
           (("ping", ping_flow()), ("demo", demo_flow()), ("map", big))}
    results: dict = {"poll_interval_s": float(os.environ.get("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.2")),
                     "warm": warm, "gap_s": gap, "backend": backend.url.split(":", 1)[0]}
    with local_agent_process("--import-path", str(ROOT), "--warm", str(warm), log_path=home / "agent.log") as agent:
        while not backend.list_agents():  # registered: its imports are done
            time.sleep(0.1)
        time.sleep(2)  # first polls done, warm processes ready
        if not map_only:
            results["idle_agent_cpu"] = idle_cpu(agent.pid)
            results["pickup"] = bench_pickup(backend, ids["ping"], pickups, gap)
            results["parallel_demo"] = bench_demo(backend, ids["demo"])
        results["large_map"] = bench_map(backend, big, ids["map"], n, repeat=repeat)
        results["large_map_no_checkpoints"] = bench_map(backend, big, ids["map"], n, checkpoint=False, repeat=repeat)
    results["load_average"] = os.getloadavg()
    backend.close()
    return results


def main(argv: list[str] | None = None) -> dict:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 pickups and 1,000 tasks")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--warm", type=int, default=1, help="the agent's --warm (0: every run starts cold)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between one pickup's end and the next run")
    parser.add_argument("--map-only", action="store_true", help="only the large map, through the agent and in memory")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the large map each way (the median is reported)")
    parser.add_argument("--postgresql", action="store_true",
                        help="a PostgreSQL backend (a throwaway server, as the tests start one)")
    args = parser.parse_args(argv)
    pickups, n = (10, 1_000) if args.quick else (50, 10_000)

    with tempfile.TemporaryDirectory(prefix="jupyter-flows-bench-") as home, backend_url(args.postgresql):
        os.environ["JUPYTER_FLOWS_HOME"] = home
        results = run_all(Path(home), pickups, n, args.warm, args.gap, args.map_only, args.repeat)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


@contextlib.contextmanager
def backend_url(postgresql: bool):
    """JUPYTER_FLOWS_BACKEND_URL unset (the home's SQLite file), or a new database of a throwaway PostgreSQL."""
    os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)
    if not postgresql:
        yield
        return
    sys.path.insert(0, str(ROOT / "tests" / "backend"))
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    try:
        os.environ["JUPYTER_FLOWS_BACKEND_URL"] = server.new_database()
        yield
    finally:
        os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)
        server.stop()


def report(results: dict) -> None:
    print(f"Agent benchmarks ({results['backend']}, poll interval {results['poll_interval_s']} s, "
          f"--warm {results['warm']}, {results['gap_s']} s between pickups)")
    if "pickup" in results:
        report_pickup(results)
    for big in (results["large_map"], results["large_map_no_checkpoints"]):
        print(f"{big['tasks']:,}-task map with a log line each, checkpointing {'on' if big['checkpointing'] else 'off'}:"
              f" median of {big['repeat']}, through the agent {big['agent_created_to_success_s']:.2f} s "
              f"(Running -> Success {big['agent_running_to_success_s']:.2f} s), in-memory flow.run() "
              f"{big['in_memory_flow_run_s']:.2f} s: {big['ratio']:.2f}x from creation (target <= 1.5x), "
              f"{big['running_ratio']:.2f}x while running")
    print("load average at the end: " + ", ".join(f"{load:.2f}" for load in results["load_average"]))
    sys.stdout.flush()


def report_pickup(results: dict) -> None:
    pickup = results["pickup"]
    print(f"idle agent: {results['idle_agent_cpu']:.2%} of a core (target <= 1%)")
    print(f"pickup over {pickup['runs']} runs, seconds from creation:")
    for label, key in (("claimed (Submitted)", "created_to_submitted_s"), ("running", "created_to_running_s"),
                       ("finished (Success)", "created_to_success_s")):
        p = pickup[key]
        print(f"  {label:<20} p50 {p['p50']:.3f}  p95 {p['p95']:.3f}  max {p['max']:.3f}")
    demo = results["parallel_demo"]
    print(f"parallel demo (3 x 1 s, 3 threads): created -> Success {demo['created_to_success_s']:.2f} s, "
          f"Running -> Success {demo['running_to_success_s']:.2f} s, greetings span "
          f"{demo['greetings_span_s']:.2f} s (ideal {demo['ideal_s']:.0f} s)")


if __name__ == "__main__":
    main()
