"""The local agent under load: many one-task runs created at once, through one agent.

    python -m benchmarks.agent_load                        # 1,000 runs, the agent's default concurrency
    python -m benchmarks.agent_load --runs 200 --concurrency 8 --warm 0
    python -m benchmarks.agent_load --json benchmarks/results/agent_load.json

A fresh embedded backend in a temporary home, one real ``jupyter-flows agent
local start`` process at the default poll interval. All runs are created
first (one transaction each), then the agent works through them. Measured:

- throughput: runs finished per second, from the first run's creation to the
  last run's end;
- created -> Running per run (the wait in the queue plus the process start),
  p50 and p95, from each run's state history, and where a run's time goes
  (claimed -> Running: its process started and the flow loaded; Running ->
  end: the flow ran and was recorded);
- the agent process's resident memory, sampled every second while it works
  (start, peak, end, and every tenth of the way): the agent must not grow
  with the number of runs it has seen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import jupyter_flows
from jupyter_flows import Flow, task

from .agent_pickup import backend_url

ROOT = Path(__file__).resolve().parent.parent
FINISHED = ("Success", "Failed", "Cancelled")


@task
def ping():
    jupyter_flows.context.get("logger").info("pong")


def ping_flow() -> Flow:
    with Flow("bench-load-ping") as flow:
        ping()
    return flow


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (Linux), ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds in a thread, as ``(seconds since start, MB)``."""

    def __init__(self, pid: int, interval: float = 1.0):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append((round(time.monotonic() - self._start, 1), round(value, 1)))
            if self._stop.wait(self.interval):
                return


def percentiles(values: list[float]) -> dict:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[18], "max": max(values)}


def wait_for_all(backend, flow_id: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(backend.list_flow_runs(flow_id=flow_id, state=FINISHED, limit=None)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not all {count} runs finished within {timeout} s")
        time.sleep(0.5)


def phase(finals: list[dict], start: str, end: str) -> dict:
    """Percentiles of the seconds from state ``start`` to ``end`` (``created``/``end_time``: the run's own)."""
    def at(run: dict, name: str) -> float:
        if name in ("created", "end_time"):
            return run[name]
        return next(s["timestamp"] for s in run["states"] if s["state"] == name)

    return percentiles([at(r, end) - at(r, start) for r in finals
                        if all(n in ("created", "end_time") or any(s["state"] == n for s in r["states"])
                               for n in (start, end))])


def run_load(home: Path, runs: int, concurrency: int | None, timeout: float, warm: int = 1) -> dict:
    from jupyter_flows.agent.background import local_agent_process
    from jupyter_flows.backend import Backend

    backend = Backend()
    backend.create_project("bench")
    flow_id = ping_flow().register(project_name="bench")
    started = time.monotonic()
    run_ids = [backend.create_flow_run(flow_id=flow_id)["id"] for _ in range(runs)]
    creating_s = time.monotonic() - started
    options = (["--import-path", str(ROOT), "--warm", str(warm)]
               + (["--concurrency", str(concurrency)] if concurrency else []))
    with local_agent_process(*options, log_path=home / "agent.log") as agent, RssSampler(agent.pid) as rss:
        wait_for_all(backend, flow_id, runs, timeout)
    finals = [backend.get_flow_run(run_id) for run_id in run_ids]
    url = backend.url
    backend.close()
    states = {state: sum(1 for r in finals if r["state"] == state) for state in FINISHED}
    failures = sorted({r["state_message"] for r in finals if r["state"] != "Success"}, key=str)[:5]
    span = max(r["end_time"] for r in finals) - min(r["created"] for r in finals)
    memory = [mb for _, mb in rss.samples]
    return {
        "backend": url.split(":", 1)[0], "runs": runs, "concurrency": concurrency, "warm": warm, "final_states": states, "failures": failures, "creating_s": creating_s,
        "runs_per_s": runs / span, "span_s": span, "created_to_running_s": phase(finals, "created", "Running"),
        "claimed_to_running_s": phase(finals, "Submitted", "Running"),
        "running_to_end_s": phase(finals, "Running", "end_time"),
        "agent_rss_mb": {"start": memory[0], "peak": max(memory), "end": memory[-1]} if memory else None,
        "agent_rss_samples": rss.samples,
    }


def report(results: dict) -> None:
    running = results["created_to_running_s"]
    for message in results["failures"]:
        print(f"  a run that did not succeed: {message}")
    rss = results["agent_rss_mb"]
    print(f"{results['runs']:,} one-task runs created at once ({results['creating_s']:.1f} s to create), "
          f"one agent ({results['backend']}), concurrency {results['concurrency'] or 'default'}, "
          f"--warm {results['warm']}: "
          f"{results['final_states']}")
    print(f"  throughput {results['runs_per_s']:.1f} runs/s ({results['span_s']:.0f} s from first creation "
          f"to last end)")
    print(f"  created -> Running p50 {running['p50']:.1f} s, p95 {running['p95']:.1f} s, max {running['max']:.1f} s")
    for label, key in (("claimed -> Running", "claimed_to_running_s"), ("Running -> end", "running_to_end_s")):
        p = results[key]
        print(f"  {label} p50 {p['p50']:.3f} s, p95 {p['p95']:.3f} s, max {p['max']:.3f} s")
    if rss:
        print(f"  agent RSS start {rss['start']:.0f} MB, peak {rss['peak']:.0f} MB, end {rss['end']:.0f} MB")
        samples = results["agent_rss_samples"]
        tenth = [samples[round(i * (len(samples) - 1) / 10)] for i in range(11)]
        print("  agent RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {mb:.0f}" for t, mb in tenth))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000, help="how many runs to create at once")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="the agent's --concurrency (0: the agent's default)")
    parser.add_argument("--warm", type=int, default=1, help="the agent's --warm (0: a process started per run)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--postgresql", action="store_true",
                        help="a PostgreSQL backend (a throwaway server, as the tests start one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jupyter-flows-bench-") as home, backend_url(args.postgresql):
        os.environ["JUPYTER_FLOWS_HOME"] = home
        results = run_load(Path(home), args.runs, args.concurrency or None, args.timeout, args.warm)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
