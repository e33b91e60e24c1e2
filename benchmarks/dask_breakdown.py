"""Where a DaskExecutor run spends its CPU, next to ``client.map`` and ``client.get`` on the same cluster.

    python -m benchmarks.dask_breakdown              # 1,000 tasks, 7 interleaved rounds
    python -m benchmarks.dask_breakdown --tasks 500 --rounds 5

On a busy machine the wall time of a distributed run moves by ±50% from one
run to the next, which hides a 10% difference. CPU time moves much less, so
each row also gives the CPU microseconds per task spent in three places: the
calling thread (planning, submitting the graph, gathering and recording
results), the rest of this process (the client's event loop and the
``LocalCluster``'s scheduler, which runs in-process) and the two worker
processes (unpickling each task, running it, pickling its result). The rows
run in turn, round after round, so that load hits all of them alike; medians
over the rounds are printed with the wall time's range.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable
from statistics import median

import psutil

from benchmarks.overhead import (
    fan_in_flow,
    fan_in_graph,
    flow_runner,
    map_graph,
    mapped_flow,
    noop,
)
from jupyter_flows.executors import DaskExecutor


def cpu_seconds(processes: list) -> float:
    """User and system CPU time of ``processes`` so far."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def measure(run: Callable[[], object], me, workers: list, tasks: int) -> dict:
    """One run's wall time and CPU time per task in the calling thread, the rest of this process, the workers."""
    process, thread, worker = cpu_seconds([me]), time.thread_time(), cpu_seconds(workers)
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    thread = time.thread_time() - thread
    return {"wall": wall / tasks * 1e6, "calling thread": thread / tasks * 1e6,
            "client loop + scheduler": (cpu_seconds([me]) - process - thread) / tasks * 1e6,
            "workers": (cpu_seconds(workers) - worker) / tasks * 1e6}


def rows(client, executor: DaskExecutor, n: int) -> dict[str, Callable[[], object]]:
    def get(make_graph):
        def run():
            graph = make_graph(n)
            return client.get(graph, list(graph))
        return run

    return {
        "map, DaskExecutor": flow_runner(mapped_flow(n), executor),
        "map, client.map": lambda: client.gather(client.map(noop, range(n), pure=False)),
        "map, client.get": get(map_graph),
        "fan-in, DaskExecutor": flow_runner(fan_in_flow(n), executor),
        "fan-in, client.get": get(fan_in_graph),
    }


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("jupyter_flows.flow_run").setLevel(logging.WARNING)
    print(f"cores: {os.cpu_count()}  load average {os.getloadavg()[0]:.1f}")
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        runs = rows(client, DaskExecutor(address=cluster.scheduler_address), args.tasks)
        me = psutil.Process()
        workers = me.children(recursive=True)
        for run in runs.values():  # warm: imports, the workers' first unpickling
            run()
        samples: dict[str, list[dict]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                samples[name].append(measure(run, me, workers, args.tasks))
    print(f"\n{args.tasks:,} tasks, LocalCluster 2x1, medians of {args.rounds} rounds, "
          f"µs per task (load average now {os.getloadavg()[0]:.1f})\n")
    print("| run | wall (range) | CPU: calling thread | client loop + scheduler | workers | all CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, measured in samples.items():
        walls = sorted(m["wall"] for m in measured)
        parts = [median(m[part] for m in measured) for part in ("calling thread", "client loop + scheduler", "workers")]
        print(f"| {name} | {median(walls):.0f} ({walls[0]:.0f}–{walls[-1]:.0f}) | "
              + " | ".join(f"{p:.0f}" for p in parts) + f" | {sum(parts):.0f} |")


if __name__ == "__main__":
    main()
