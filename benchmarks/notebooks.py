"""Notebooks as flows next to plain papermill, and mapped notebooks serial vs parallel, in one run.

    python -m benchmarks.notebooks               # about two minutes on 2 cores
    python -m benchmarks.notebooks --repeat 3    # fewer rounds

Part 1 runs one small parameterised notebook (notebooks/analysis.ipynb) the
same number of times in four ways, interleaved so that load on the machine
hits all of them alike, and prints the median wall-clock of each:
``papermill.execute_notebook`` alone; the notebook as a flow with
``flow.run()`` here; the registered flow run by ``execute_flow_run`` here
(what an agent's run process does); and the registered flow run by a real
``jupyter-flows agent local start`` process (claim, hand the run to a process
forked from the agent's run template, whose kernel is already started, run,
record). Every way but the agent's starts its kernel after the run was asked for.

Part 2 maps ``ExecuteNotebook`` over 8 parameter sets, once with
``LocalExecutor`` (one notebook after another) and once with
``LocalDaskExecutor(num_workers=2)``, for two notebooks: analysis.ipynb (all
CPU: the kernel's start-up dominates) and a notebook that waits 1 s (as one
querying a database would).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = ROOT / "notebooks" / "analysis.ipynb"
WAITS = ROOT / "tests" / "notebooks" / "files" / "sleeps.ipynb"


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def plain_papermill(notebook: Path, out: Path) -> None:
    import papermill

    papermill.execute_notebook(str(notebook), str(out), parameters={"n": 50}, progress_bar=False)


def as_flow_here(flow) -> None:
    state = flow.run(n=50)
    assert state.is_successful(), state


def through_execute_flow_run(backend, flow_id: str) -> None:
    from jupyter_flows.agent.execute import execute_flow_run

    # Created Submitted, as `run --execute` does, so that the agent running meanwhile leaves it alone.
    run = backend.create_flow_run(flow_id=flow_id, parameters={"n": 50}, state="Submitted")
    assert execute_flow_run(run["id"], backend=backend) == "Success"


def through_agent_process(backend, flow_id: str) -> None:
    run = backend.create_flow_run(flow_id=flow_id, parameters={"n": 50})
    while backend.get_flow_run(run["id"])["state"] not in ("Success", "Failed", "Cancelled"):
        time.sleep(0.02)
    final = backend.get_flow_run(run["id"])
    assert final["state"] == "Success", final


def part_one(work: Path, repeat: int) -> None:
    from jupyter_flows import Flow
    from jupyter_flows.backend import Backend
    from jupyter_flows.storage import Notebook

    notebook = work / "analysis.ipynb"
    shutil.copyfile(ANALYSIS, notebook)
    flow = Flow("analysis", storage=Notebook(notebook))
    backend = Backend()
    backend.create_project("bench")
    flow_id = flow.register(project_name="bench")
    agent = subprocess.Popen([sys.executable, "-m", "jupyter_flows.cli", "agent", "local", "start"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.05"})
    ways = {
        "papermill.execute_notebook": lambda: plain_papermill(notebook, work / "plain.ipynb"),
        "flow.run() here": lambda: as_flow_here(flow),
        "execute_flow_run (agent's run process, here)": lambda: through_execute_flow_run(backend, flow_id),
        "agent process (forked process, warm kernel)": lambda: through_agent_process(backend, flow_id),
    }
    try:
        for fn in ways.values():  # warm up: first kernel start, imports, the agent's own start
            fn()
        times = {name: [] for name in ways}
        for _ in range(repeat):
            for name, fn in ways.items():
                times[name].append(timed(fn))
    finally:
        agent.send_signal(signal.SIGINT)
        agent.wait(timeout=30)
    base = statistics.median(times["papermill.execute_notebook"])
    print(f"\nOne small notebook, median of {repeat} runs (one kernel per run)")
    print(f"  {'way':<48} {'seconds':>8} {'vs papermill':>13}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<48} {median:8.3f} {100 * (median / base - 1):+12.1f}%")


def mapped(notebook: Path, executor, parameter_sets: list[dict]) -> float:
    from jupyter_flows import Flow
    from jupyter_flows.tasks import ExecuteNotebook

    with Flow("sweep", executor=executor) as flow:
        ExecuteNotebook(path=notebook).map(parameters=parameter_sets)
    started = time.perf_counter()
    state = flow.run()
    elapsed = time.perf_counter() - started
    assert state.is_successful(), state
    return elapsed


def part_two(work: Path, repeat: int) -> None:
    from jupyter_flows.executors import LocalDaskExecutor, LocalExecutor

    cases = {
        "analysis.ipynb (CPU only)": (ANALYSIS, [{"n": 10 + i} for i in range(8)]),
        "waits 1 s (I/O-bound)": (WAITS, [{"seconds": 1.0, "tag": f"t{i}"} for i in range(8)]),
    }
    print(f"\nExecuteNotebook mapped over 8 parameter sets, median of {max(1, repeat // 2)} runs, "
          f"{os.cpu_count()} cores")
    print(f"  {'notebook':<28} {'serial s':>9} {'2 threads s':>12} {'ratio':>7}")
    for name, (source, parameter_sets) in cases.items():
        notebook = work / source.name
        shutil.copyfile(source, notebook)
        serial, parallel = [], []
        for _ in range(max(1, repeat // 2)):
            serial.append(mapped(notebook, LocalExecutor(), parameter_sets))
            parallel.append(mapped(notebook, LocalDaskExecutor(num_workers=2), parameter_sets))
        s, p = statistics.median(serial), statistics.median(parallel)
        print(f"  {name:<28} {s:9.2f} {p:12.2f} {p / s:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds per measurement (default 5)")
    parser.add_argument("--part", choices=("1", "2", "all"), default="all", help="run only part 1 or 2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jupyter-flows-bench-") as tmp:
        work = Path(tmp)
        os.environ["JUPYTER_FLOWS_HOME"] = str(work / "home")
        os.environ["JUPYTER_FLOWS_LOG_LEVEL"] = "WARNING"
        os.chdir(work)
        if args.part in ("1", "all"):
            part_one(work, args.repeat)
        if args.part in ("2", "all"):
            part_two(work, args.repeat)


if __name__ == "__main__":
    main()
