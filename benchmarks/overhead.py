"""Per-task overhead of jupyter-flows next to plain dask, on the same schedulers, in one run.

    python -m benchmarks.overhead            # the full table (about two minutes on 2 cores)
    python -m benchmarks.overhead --quick    # smaller sizes, for a smoke check

Each row runs one workload twice, once as a jupyter-flows flow and once as the
same graph in plain dask (or a plain loop), and prints the wall-clock per task
in microseconds and the peak Python memory allocated while it ran
(tracemalloc, measured in a second pass so tracing does not skew the timings).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import dask
import dask.threaded

from jupyter_flows import Flow, task
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


def noop(x):
    return x


def nap(x):
    time.sleep(1)
    return x


noop_task = task(noop, name="noop")
nap_task = task(nap, name="nap")


def mapped_flow(n: int) -> Flow:
    with Flow(f"map-{n}") as flow:
        noop_task.map(list(range(n)))
    return flow


def chain_flow(n: int) -> Flow:
    with Flow(f"chain-{n}") as flow:
        value = noop_task(0)
        for _ in range(n - 1):
            value = noop_task(value)
    return flow


def demo_flow() -> Flow:
    with Flow("parallel-demo") as flow:
        nap_task.map(["Arthur", "Ford", "Marvin"])
    return flow


def plain_map(n: int, scheduler: str, **kwargs) -> Callable[[], object]:
    return lambda: dask.compute(*[dask.delayed(noop)(i) for i in range(n)], scheduler=scheduler, **kwargs)


def raw_graph_map(n: int, get: Callable, **kwargs) -> Callable[[], object]:
    """The scheduler alone: a ready-made graph dict, no dask.delayed objects to build or merge."""
    def run():
        graph = {("noop", i): (noop, i) for i in range(n)}
        return get(graph, list(graph), **kwargs)
    return run


def plain_chain(n: int, scheduler: str) -> Callable[[], object]:
    def run():
        value = dask.delayed(noop)(0)
        for _ in range(n - 1):
            value = dask.delayed(noop)(value)
        return value.compute(scheduler=scheduler)
    return run


def plain_loop_map(n: int) -> Callable[[], object]:
    return lambda: [noop(i) for i in range(n)]


def flow_runner(flow: Flow, executor) -> Callable[[], object]:
    def run():
        state = flow.run(executor=executor)
        assert state.is_successful(), state
        return state
    return run


def measure(fn: Callable[[], object], memory: bool) -> tuple[float, float | None]:
    gc.collect()
    started = time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    peak = None
    if memory:
        gc.collect()
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return wall, peak


def rows(quick: bool):
    """(workload, n, jupyter-flows callable, peer name, peer callable, memory?)"""
    sizes_local = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    sizes_pool = [1_000] if quick else [1_000, 10_000]
    for n in sizes_local:
        # tracemalloc slows a 100,000-task run of plain dask to minutes: memory up to 10,000
        yield ("map, LocalExecutor", n, flow_runner(mapped_flow(n), LocalExecutor()),
               "dask sync", plain_map(n, "sync"), n <= 10_000)
    for n in sizes_pool:
        yield ("map, LocalDaskExecutor threads", n, flow_runner(mapped_flow(n), LocalDaskExecutor(num_workers=2)),
               "dask threads", plain_map(n, "threads", num_workers=2), True)
    for n in sizes_pool:
        yield ("map, LocalDaskExecutor threads", n, flow_runner(mapped_flow(n), LocalDaskExecutor(num_workers=2)),
               "dask.threaded.get, raw graph", raw_graph_map(n, dask.threaded.get, num_workers=2), False)
    for n in sizes_pool:
        yield ("map, LocalDaskExecutor processes", n,
               flow_runner(mapped_flow(n), LocalDaskExecutor("processes", num_workers=2)),
               "dask processes, chunksize=1", plain_map(n, "processes", num_workers=2, chunksize=1), False)
    yield ("chain, LocalExecutor", 1_000, flow_runner(chain_flow(1_000), LocalExecutor()),
           "dask sync", plain_chain(1_000, "sync"), True)
    yield ("chain, LocalDaskExecutor threads", 1_000, flow_runner(chain_flow(1_000), LocalDaskExecutor()),
           "dask threads", plain_chain(1_000, "threads"), True)


def distributed_rows(n: int):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def plain():
            futures = client.map(noop, range(n), pure=False)
            client.gather(futures)

        ours = flow_runner(mapped_flow(n), DaskExecutor(address=cluster.scheduler_address))
        yield ("map, DaskExecutor (LocalCluster 2x1)", n, ours, "distributed client.map", plain, False)


def demo_rows():
    ideal = 1.0
    executors = {
        "LocalDaskExecutor threads, 3 workers": LocalDaskExecutor(num_workers=3),
        "LocalDaskExecutor processes, 3 workers": LocalDaskExecutor("processes", num_workers=3),
        "DaskExecutor temporary LocalCluster 3x1": DaskExecutor(cluster_kwargs={"n_workers": 3,
                                                                                "threads_per_worker": 1}),
    }
    flow = demo_flow()
    for name, executor in executors.items():
        flow_runner(flow, executor)()  # warm: imports, forkserver
        wall, _ = measure(flow_runner(flow, executor), memory=False)
        yield name, wall, ideal
    wall, _ = measure(flow_runner(flow, LocalExecutor()), memory=False)
    yield "LocalExecutor (serial, ideal 3 s)", wall, 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke check")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

    import logging

    logging.getLogger("jupyter_flows.flow_run").setLevel(logging.WARNING)
    results = []
    print(f"cores: {os.cpu_count()}  dask {dask.__version__}")
    print("| workload | tasks | jupyter-flows µs/task | peer | peer µs/task | ratio | jupyter-flows peak MB | peer peak MB |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    all_rows = itertools.chain(rows(args.quick), distributed_rows(1_000))  # lazy: the cluster lives in its generator
    for name, n, ours, peer_name, peer, memory in all_rows:
        if n <= 10_000:  # warm-up: imports and pools, for both sides
            peer()
            ours()
        our_wall, our_peak = measure(ours, memory)
        peer_wall, peer_peak = measure(peer, memory)
        row = {
            "workload": name, "tasks": n, "ours_us": our_wall / n * 1e6, "peer": peer_name,
            "peer_us": peer_wall / n * 1e6, "ratio": our_wall / peer_wall,
            "ours_peak_mb": our_peak, "peer_peak_mb": peer_peak,
        }
        results.append(row)
        mem = (f"{our_peak:.1f}", f"{peer_peak:.1f}") if memory else ("-", "-")
        print(f"| {name} | {n:,} | {row['ours_us']:.0f} | {peer_name} | {row['peer_us']:.0f} | "
              f"{row['ratio']:.2f} | {mem[0]} | {mem[1]} |", flush=True)

    print()
    print("| parallel demo (3 tasks sleeping 1 s) | wall s | ideal s | over ideal s |")
    print("|---|---:|---:|---:|")
    for name, wall, ideal in demo_rows():
        results.append({"workload": f"demo: {name}", "wall_s": wall, "ideal_s": ideal})
        print(f"| {name} | {wall:.2f} | {ideal:.0f} | {wall - ideal:+.2f} |", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
