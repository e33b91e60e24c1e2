"""What checkpointing and restarting cost: a 10,000-child map run as an agent's process runs it.

    python -m benchmarks.checkpoints                       # 10,000 children, median of 5 rounds
    python -m benchmarks.checkpoints --children 2000 --repeat 3
    python -m benchmarks.checkpoints --task-ms 1           # children that each work for 1 ms
    python -m benchmarks.checkpoints --results-dir /dev/shm/jf-results   # results on tmpfs

Each run is a registered flow run executed by ``execute_flow_run`` (what the
agent's subprocess does: the backend recorder, a real SQLite backend in a
temporary home). In every round one child fails (its fail file exists) in two
runs of the same flow, one with ``JUPYTER_FLOWS_CHECKPOINTING=false`` and one
with it on (the children's results in pack files under the results
directory), in alternating order; then the fail file goes and the
checkpointed run is restarted: the restart reads the 9,999 kept results back
and runs the one child and the reduce. The garbage collector runs before each
timed run, so that none pays for another's garbage. Prints the median of each
time and the median of the rounds' ratios, the two the issue asks about:
checkpointing <= 1.30 of the plain run, the restart <= 0.10 of the original run.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

FLOW = '''
import time
from pathlib import Path

from jupyter_flows import Flow, Parameter, task

FAIL = Path({fail!r})


@task
def child(i):
    if {task_ms}:
        time.sleep({task_ms} / 1000)
    if i == {failing} and FAIL.exists():
        raise RuntimeError("child {failing} fails while the fail file exists")
    return i * i


@task
def total(values):
    return sum(values)


with Flow("checkpoint-bench") as flow:
    total(child.map(Parameter("items", default=list(range({children})))))
'''


def _timed_run(backend, flow_id: str, checkpointing: bool) -> tuple[float, str, str]:
    """(seconds, run id, final state) of one new run."""
    from jupyter_flows.agent.execute import execute_flow_run

    os.environ["JUPYTER_FLOWS_CHECKPOINTING"] = "true" if checkpointing else "false"
    run_id = backend.create_flow_run(flow_id=flow_id)["id"]
    gc.collect()
    start = time.perf_counter()
    state = execute_flow_run(run_id, backend)
    return time.perf_counter() - start, run_id, state


def _timed_restart(backend, run_id: str) -> float:
    """Seconds to restart ``run_id`` (the backend's restart and the run of what failed)."""
    from jupyter_flows.agent.execute import execute_flow_run

    gc.collect()
    start = time.perf_counter()
    backend.restart_flow_run(run_id)
    state = execute_flow_run(run_id, backend)
    elapsed = time.perf_counter() - start
    assert state == "Success", state
    return elapsed


def _round(backend, flow_id: str, fail: Path, plain_first: bool) -> tuple[float, float, float]:
    """(plain s, checkpointed s, restart s) of one round; both runs fail the same child."""
    fail.touch()
    times = {}
    for checkpointing in ((False, True) if plain_first else (True, False)):
        elapsed, run_id, state = _timed_run(backend, flow_id, checkpointing)
        assert state == "Failed", (run_id, state)
        times[checkpointing] = (elapsed, run_id)
    fail.unlink()
    return times[False][0], times[True][0], _timed_restart(backend, times[True][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5); medians are reported")
    parser.add_argument("--task-ms", type=float, default=0, help="work per child in ms (default: none)")
    parser.add_argument("--results-dir", help="where checkpoints go (default: under the temporary home)")
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="jf-checkpoint-bench-"))
    os.environ["JUPYTER_FLOWS_HOME"] = str(home)
    os.environ["JUPYTER_FLOWS_LOG_LEVEL"] = "ERROR"
    os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)
    if options.results_dir:
        os.environ["JUPYTER_FLOWS_RESULTS_DIR"] = options.results_dir

    from jupyter_flows.backend import Backend

    fail = home / "fail"
    source = home / "bench_flow.py"
    source.write_text(textwrap.dedent(FLOW.format(fail=str(fail), children=options.children,
                                                      failing=options.children // 2, task_ms=options.task_ms)))
    backend = Backend()
    backend.create_project("bench")
    flow_id = _register(source)
    _round(backend, flow_id, fail, True)  # warm-up: imports, the first compile of each query

    rounds = [_round(backend, flow_id, fail, plain_first=i % 2 == 0) for i in range(options.repeat)]
    backend.close()
    shutil.rmtree(home, ignore_errors=True)
    _report(rounds, options)


def _report(rounds: list[tuple[float, float, float]], options) -> None:
    plain, checkpointed, restarts = (statistics.median(column) for column in zip(*rounds))
    overhead = statistics.median(c / p for p, c, _ in rounds)
    restart = statistics.median(r / c for _, c, r in rounds)
    n = options.children
    work = f"{options.task_ms:g} ms per child" if options.task_ms else "children doing nothing"
    where = f"results in {options.results_dir}" if options.results_dir else "results under the temporary home"
    print(f"| {n:,}-child map through execute_flow_run, {work}, {where} "
          f"(median of {options.repeat} rounds) | s | µs/child | ratio (median of the rounds') |")
    print("|---|---:|---:|---:|")
    print(f"| checkpointing off | {plain:.3f} | {plain / n * 1e6:.0f} | 1.00 |")
    print(f"| checkpointing on (pack files) | {checkpointed:.3f} | {checkpointed / n * 1e6:.0f} | "
          f"{overhead:.2f} (target <= 1.30) |")
    print(f"| restart after one child failed ({n - 1:,} results read back) | {restarts:.3f} | "
          f"{restarts / n * 1e6:.0f} | {restart:.2f} of the original run (target <= 0.10) |")
    print("rounds (off, on, restart):", ", ".join(f"({p:.3f}, {c:.3f}, {r:.3f})" for p, c, r in rounds))


def _register(source: Path) -> str:
    import runpy

    flow = runpy.run_path(str(source))["flow"]
    return flow.register(project_name="bench")


if __name__ == "__main__":
    main()
