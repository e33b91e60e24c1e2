"""Per-task overhead of jupyter-flows next to dask on the same schedulers and the same graphs.

    python -m benchmarks.overhead --quick    # smaller sizes: under 4 minutes on 2 busy cores
    python -m benchmarks.overhead            # the README's table: under 15 minutes on 2 busy cores
    python -m benchmarks.overhead --json now.json --compare before.json

Every row runs the flow and its peer alternately (5 times each, 3 with
``--quick``; short runs up to 25 times, see ``benchmarks.harness``) in this process and prints median microseconds per task with
their range, and the median of the per-pair ratios with its range. The
peers hand dask's scheduler a ready-made graph of the same shape (a map, a
chain, a wide fan-in) calling the same function, so a ratio is what
jupyter-flows adds on top of dask: task-run states, context, triggers,
retries and captured logs. ``dask.delayed`` rows show what building the same
work from delayed objects costs; its runs grow faster than linearly, so its
largest size is skipped with a note when predicted to take too long.
A memory line gives the Python memory a LocalExecutor run keeps per finished
task run (its state and record, beyond the result) and its peak per task, at
1,000,000 tasks (10,000 with ``--quick``); another how much the LocalExecutor's
cost per task grew from its smallest map to its largest (the goal: within 1.5x).
Every row runs at least 3 pairs (``harness.MIN_REPEATS``); the table stops
giving rows more time than is left of its limit (2.5 minutes with ``--quick``,
12 for the full run: the demo and memory lines after it take about a minute
more), so that both runs keep their stated times on a busy machine.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import logging
import os
import time
import tracemalloc
from typing import Callable, Iterator

import dask
import dask.multiprocessing
import dask.threaded

from benchmarks import harness
from jupyter_flows import Flow, task
from jupyter_flows.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


def noop(x):
    return x


def collect(values):
    return len(values)


def nap(x):
    time.sleep(1)
    return x


noop_task = task(noop, name="noop")
collect_task = task(collect, name="collect")
nap_task = task(nap, name="nap")


# -- the flows ---------------------------------------------------------------------------------

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


def fan_in_flow(n: int) -> Flow:
    with Flow(f"fan-in-{n}") as flow:
        collect_task(noop_task.map(list(range(n))))
    return flow


def flow_runner(flow: Flow, executor) -> Callable[[], object]:
    def run():
        state = flow.run(executor=executor)
        assert state.is_successful(), state
        return state
    return run


# -- the same graphs, handed to dask directly ---------------------------------------------------

def map_graph(n: int) -> dict:
    return {("noop", i): (noop, i) for i in range(n)}


def chain_graph(n: int) -> dict:
    graph = {("noop", 0): (noop, 0)}
    for i in range(1, n):
        graph[("noop", i)] = (noop, ("noop", i - 1))
    return graph


def fan_in_graph(n: int) -> dict:
    graph = map_graph(n)
    graph["collect"] = (collect, list(graph))
    return graph


def raw(get: Callable, make_graph: Callable[[int], dict], n: int, **kwargs) -> Callable[[], object]:
    """The scheduler alone on a ready-made graph, built inside the timing as the flow builds its own."""
    def run():
        graph = make_graph(n)
        return get(graph, list(graph), **kwargs)
    return run


def delayed_map(n: int, scheduler: str, **kwargs) -> Callable[[], object]:
    return lambda: dask.compute(*[dask.delayed(noop)(i) for i in range(n)], scheduler=scheduler, **kwargs)


SHAPES = {"map": (mapped_flow, map_graph), "chain": (chain_flow, chain_graph), "fan-in": (fan_in_flow, fan_in_graph)}


# -- the rows ----------------------------------------------------------------------------------

def local_rows(quick: bool, repeats: int) -> Iterator[harness.Row]:
    pool = LocalDaskExecutor(num_workers=2)
    processes = LocalDaskExecutor("processes", num_workers=2)
    sizes = [1_000, 10_000] if quick else [10_000, 100_000, 1_000_000]
    for n in sizes:
        yield harness.Row("map, LocalExecutor", n, flow_runner(mapped_flow(n), LocalExecutor()),
                          "dask.get (sync), same graph", raw(dask.get, map_graph, n), repeats, budget_s=90)
    for shape, sizes in (("map", [1_000, 10_000] if quick else [10_000, 100_000]),
                         ("chain", [1_000]), ("fan-in", [1_000] if quick else [10_000])):
        make_flow, make_graph = SHAPES[shape]
        for n in sizes:
            yield harness.Row(f"{shape}, LocalDaskExecutor threads (2)", n, flow_runner(make_flow(n), pool),
                              "dask.threaded.get (2), same graph",
                              raw(dask.threaded.get, make_graph, n, num_workers=2), repeats, budget_s=90)
    for n in [1_000] if quick else [1_000, 10_000, 100_000]:
        yield harness.Row("map, LocalDaskExecutor threads (2)", n, flow_runner(mapped_flow(n), pool),
                          "dask.delayed, threads (2)", delayed_map(n, "threads", num_workers=2), repeats,
                          budget_s=60)
    n = 1_000 if quick else 2_000  # a few ms per task either side: 3 pairs of 2,000 fit the budget
    yield harness.Row("map, LocalDaskExecutor processes (2)", n, flow_runner(mapped_flow(n), processes),
                      "dask.multiprocessing.get (2), chunksize=1, same graph",
                      raw(dask.multiprocessing.get, map_graph, n, num_workers=2, chunksize=1), repeats,
                      budget_s=60)


def distributed_rows(quick: bool, repeats: int) -> Iterator[harness.Row]:
    """DaskExecutor on one LocalCluster of 2 worker processes, against the same cluster's client."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        executor = DaskExecutor(address=cluster.scheduler_address)
        n = 500 if quick else 1_000
        yield harness.Row("map, DaskExecutor (LocalCluster 2x1)", n, flow_runner(mapped_flow(n), executor),
                          "client.map", lambda: client.gather(client.map(noop, range(n), pure=False)),
                          repeats, budget_s=60)
        for shape, n in (("map", n), ("chain", 100 if quick else 200), ("fan-in", n)):
            make_flow, make_graph = SHAPES[shape]
            yield harness.Row(f"{shape}, DaskExecutor (LocalCluster 2x1)", n, flow_runner(make_flow(n), executor),
                              "client.get, same graph", raw(client.get, make_graph, n), repeats, budget_s=60)


def demo_rows(repeats: int) -> Iterator[tuple[str, float, float, list]]:
    """Three tasks sleeping 1 s each: what each executor adds to wall time (median of ``repeats``)."""
    with Flow("parallel-demo") as flow:
        nap_task.map(["Arthur", "Ford", "Marvin"])
    executors = {
        "LocalDaskExecutor threads, 3 workers": (LocalDaskExecutor(num_workers=3), 1.0),
        "LocalDaskExecutor processes, 3 workers": (LocalDaskExecutor("processes", num_workers=3), 1.0),
        "DaskExecutor temporary LocalCluster 3x1": (
            DaskExecutor(cluster_kwargs={"n_workers": 3, "threads_per_worker": 1}), 1.0),
        "LocalExecutor (serial)": (LocalExecutor(), 3.0),
    }
    for name, (executor, ideal) in executors.items():
        run = flow_runner(flow, executor)
        run()  # warm: imports, forkserver
        walls = sorted(harness.timed(run) for _ in range(repeats))
        yield name, walls[len(walls) // 2], ideal, walls


def memory_per_task(n: int) -> dict:
    """Python memory a LocalExecutor run of ``n`` mapped no-ops keeps per finished task run, and its peak.

    The inputs are built before tracing starts and the results are those same
    objects, so what is counted is the run's own bookkeeping.
    """
    flow = mapped_flow(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    state = flow.run(executor=LocalExecutor())
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert state.is_successful(), state
    return {"tasks": n, "kept_bytes_per_task": (kept - before) / n, "peak_bytes_per_task": (peak - before) / n}


def linear_growth(results: list[dict]) -> float | None:
    """How much a LocalExecutor map's cost per task grew from its smallest size to its largest."""
    rows = sorted((r for r in results if r["workload"] == "map, LocalExecutor" and r["ours_us"]),
                  key=lambda r: r["tasks"])
    return rows[-1]["ours_us"] / rows[0]["ours_us"] if len(rows) > 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 3 repeats, for a smoke check")
    harness.add_arguments(parser)
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    logging.getLogger("jupyter_flows.flow_run").setLevel(logging.WARNING)
    started = time.perf_counter()
    print(f"cores: {os.cpu_count()}  dask {dask.__version__}  load average {os.getloadavg()[0]:.1f}\n")
    # chained lazily: the cluster starts once the local rows are done, and closes after its rows
    rows = itertools.chain(local_rows(args.quick, repeats), distributed_rows(args.quick, repeats))
    # The demo and memory lines after the table take about a minute; the table gets the rest.
    results = harness.run_rows(rows, time_limit_s=(2.5 if args.quick else 12) * 60)

    print("\n| parallel demo (3 tasks sleeping 1 s) | wall s, median (range) | ideal s |\n|---|---:|---:|")
    demos = []
    for name, wall, ideal, walls in demo_rows(2 if args.quick else 3):
        demos.append({"executor": name, "wall_s": wall, "wall_s_range": [walls[0], walls[-1]], "ideal_s": ideal})
        print(f"| {name} | {wall:.2f} ({walls[0]:.2f}–{walls[-1]:.2f}) | {ideal:.0f} |", flush=True)

    memory = memory_per_task(10_000 if args.quick else 1_000_000)
    print(f"\nLocalExecutor, {memory['tasks']:,} mapped no-ops: {memory['kept_bytes_per_task']:.0f} bytes kept "
          f"per finished task run, peak {memory['peak_bytes_per_task']:.0f} bytes per task")
    growth = linear_growth(results)
    if growth:
        print(f"LocalExecutor map, µs per task at the largest size over the smallest: {growth:.2f}x")
    total = time.perf_counter() - started
    print(f"\nwhole run: {total / 60:.1f} min")
    if args.json:
        harness.write_json(args.json, results, {"demo": demos, "memory": memory, "local_growth": growth,
                                                "total_s": total})
    if args.compare:
        print("\n" + "\n".join(harness.compare(args.compare, results)))


if __name__ == "__main__":
    main()
