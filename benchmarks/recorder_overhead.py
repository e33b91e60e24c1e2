"""What recording a run in the backend costs: a 10,000-child map, one log line per child.

    python -m benchmarks.recorder_overhead             # 10,000 children, best of 3
    python -m benchmarks.recorder_overhead --children 2000 --repeat 1

Runs the same flow with ``flow.run()`` and with ``flow.run(listeners=[BackendRecorder()])``
against a fresh SQLite backend in a temporary home, alternating the two, and
prints the best wall-clock time of each, their ratio, and the CPU time of the
whole process (the recorder writes from a second thread). The console handler
is set to WARNING so that printing 10,000 lines does not dominate both.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    os.environ["JUPYTER_FLOWS_HOME"] = tempfile.mkdtemp(prefix="jf-recorder-bench-")
    os.environ["JUPYTER_FLOWS_LOG_LEVEL"] = "WARNING"
    os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)

    import jupyter_flows
    from jupyter_flows import Flow, Parameter, task
    from jupyter_flows.backend import Backend, BackendRecorder

    @task
    def child(i):
        jupyter_flows.context.get("logger").info(f"child {i}")
        return i

    with Flow("recorder-bench") as flow:
        child.map(Parameter("items", default=list(range(options.children))))
    backend = Backend()
    backend.create_project("bench")
    flow.register(project_name="bench")

    plain, recorded, plain_cpu, recorded_cpu = [], [], [], []
    for _ in range(options.repeat):
        started, cpu = time.perf_counter(), time.process_time()
        assert flow.run().is_successful()
        plain.append(time.perf_counter() - started)
        plain_cpu.append(time.process_time() - cpu)
        recorder = BackendRecorder(backend)
        started, cpu = time.perf_counter(), time.process_time()
        assert flow.run(listeners=[recorder]).is_successful()
        recorded.append(time.perf_counter() - started)
        recorded_cpu.append(time.process_time() - cpu)
        assert len(backend.get_task_runs(recorder.flow_run_id)) == options.children + 2
        assert len(backend.get_logs(recorder.flow_run_id)) == options.children + 2
    best_plain, best_recorded = min(plain), min(recorded)
    print(f"{options.children} children, best of {options.repeat}")
    print(f"                                 wall      cpu")
    print(f"flow.run()                      {best_plain:7.3f} s {min(plain_cpu):7.3f} s")
    print(f"flow.run(BackendRecorder)       {best_recorded:7.3f} s {min(recorded_cpu):7.3f} s")
    print(f"ratio                           {best_recorded / best_plain:7.2f}x {min(recorded_cpu) / min(plain_cpu):7.2f}x")


if __name__ == "__main__":
    main()
