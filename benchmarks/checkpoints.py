"""What checkpointing and restarting cost: a 10,000-child map run as an agent's process runs it.

    python -m benchmarks.checkpoints                  # 10,000 children, best of 3
    python -m benchmarks.checkpoints --children 2000 --repeat 1
    python -m benchmarks.checkpoints --task-ms 1      # children that each work for 1 ms

Each run is a registered flow run executed by ``execute_flow_run`` (what the
agent's subprocess does: the backend recorder, a real SQLite backend in a
temporary home), once with ``JUPYTER_FLOWS_CHECKPOINTING=false`` and once with
it on (a pickle file per child under ``$JUPYTER_FLOWS_HOME/results``),
alternating. Then one child of a checkpointed run fails, and the run is
restarted: the restart reads the 9,999 kept results back from their
checkpoints and runs the one child and the reduce. Prints the best wall-clock
time of each and the ratios the issue asks about (checkpointing <= 1.30 of the
plain run, the restart <= 0.10 of the original run).
"""

from __future__ import annotations

import argparse
import os
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


def _timed_run(backend, flow_id: str, checkpointing: bool) -> tuple[float, str]:
    from jupyter_flows.agent.execute import execute_flow_run

    os.environ["JUPYTER_FLOWS_CHECKPOINTING"] = "true" if checkpointing else "false"
    run_id = backend.create_flow_run(flow_id=flow_id)["id"]
    start = time.perf_counter()
    state = execute_flow_run(run_id, backend)
    return time.perf_counter() - start, f"{run_id} {state}"


def _timed_restart(backend, flow_id: str, fail: Path) -> tuple[float, float]:
    """(original run s, restart s) of a checkpointed run whose one child failed."""
    from jupyter_flows.agent.execute import execute_flow_run

    fail.touch()
    original, outcome = _timed_run(backend, flow_id, checkpointing=True)
    run_id, state = outcome.split()
    assert state == "Failed", outcome
    fail.unlink()
    start = time.perf_counter()
    backend.restart_flow_run(run_id)
    assert execute_flow_run(run_id, backend) == "Success"
    return original, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--task-ms", type=float, default=0, help="work per child in ms (default: none)")
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="jf-checkpoint-bench-"))
    os.environ["JUPYTER_FLOWS_HOME"] = str(home)
    os.environ["JUPYTER_FLOWS_LOG_LEVEL"] = "WARNING"
    os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)

    from jupyter_flows.backend import Backend

    fail = home / "fail"
    source = home / "bench_flow.py"
    source.write_text(textwrap.dedent(FLOW.format(fail=str(fail), children=options.children,
                                                      failing=options.children // 2, task_ms=options.task_ms)))
    backend = Backend()
    backend.create_project("bench")
    flow_id = _register(source)

    plain, checkpointed, originals, restarts = [], [], [], []
    for _ in range(options.repeat):
        plain.append(_timed_run(backend, flow_id, checkpointing=False)[0])
        checkpointed.append(_timed_run(backend, flow_id, checkpointing=True)[0])
        original, restart = _timed_restart(backend, flow_id, fail)
        originals.append(original)
        restarts.append(restart)
    n = options.children
    work = f", {options.task_ms:g} ms per child" if options.task_ms else ", children doing nothing"
    print(f"| {n:,}-child map through execute_flow_run{work} (best of {options.repeat}) | s | µs/child | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| checkpointing off | {min(plain):.2f} | {min(plain) / n * 1e6:.0f} | 1.00 |")
    print(f"| checkpointing on (a pickle per child) | {min(checkpointed):.2f} | "
          f"{min(checkpointed) / n * 1e6:.0f} | {min(checkpointed) / min(plain):.2f} |")
    print(f"| restart after one child failed ({n - 1:,} results read back) | {min(restarts):.2f} | "
          f"{min(restarts) / n * 1e6:.0f} | {min(restarts) / min(originals):.2f} of the original run |")


def _register(source: Path) -> str:
    import runpy

    flow = runpy.run_path(str(source))["flow"]
    return flow.register(project_name="bench")


if __name__ == "__main__":
    main()
