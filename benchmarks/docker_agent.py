"""What a container adds to a flow run: the same one-task flow through the Docker agent and the local agent.

    python -m benchmarks.docker_agent               # 10 runs each
    python -m benchmarks.docker_agent --runs 3
    python -m benchmarks.docker_agent --json benchmarks/results/docker_agent.json

Both agents poll one fresh embedded backend side by side (each claims only
its own kind of run): a ``jupyter-flows agent local start`` and a
``jupyter-flows agent docker start``. The flow is registered twice, once with
the default storage and run config, once with Docker storage (the image is
built at registration, before timing) and ``DockerRun``. Runs go one at a
time, alternating; each is timed from its creation to Success by the
backend's own timestamps. The Docker daemon is ``DOCKER_HOST`` when set, else
a throwaway one with the tests' cached Debian base image
(``tests/docker/docker_harness.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import cloudpickle

import jupyter_flows
from jupyter_flows import Flow, task
from jupyter_flows.run_configs import DockerRun
from jupyter_flows.storage import Docker

from .agent_pickup import wait_until_finished

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5


@task
def ping():
    jupyter_flows.context.get("logger").info("pong")


def ping_flow(name: str) -> Flow:
    # Pickled by value: the image holds jupyter-flows, not this benchmarks package.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with Flow(name) as flow:
        ping()
    return flow


@contextlib.contextmanager
def docker_daemon() -> Iterator[str]:
    """``DOCKER_HOST`` and the base image to build on: the user's daemon, or the tests' throwaway one."""
    if os.environ.get("DOCKER_HOST"):
        yield os.environ.get("JUPYTER_FLOWS_BENCH_BASE_IMAGE", "python:3.11-slim")
        return
    sys.path.insert(0, str(ROOT / "tests" / "docker"))
    from docker_harness import DockerDaemon, cache_dir, ensure_base_image

    daemon = DockerDaemon()
    try:
        base_image = ensure_base_image(daemon.start())
        os.environ["DOCKER_HOST"] = daemon.base_url
        os.environ.setdefault("JUPYTER_FLOWS_WHEEL_CACHE", str(cache_dir() / "wheels"))
        yield base_image
    finally:
        os.environ.pop("DOCKER_HOST", None)
        daemon.stop()


@contextlib.contextmanager
def agent_process(kind: str, log_path: Path) -> Iterator[subprocess.Popen]:
    """``jupyter-flows agent KIND start``, stopped with Ctrl-C as a user would."""
    with open(log_path, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "jupyter_flows.cli", "agent", kind, "start"],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def time_runs(backend, flow_ids: dict[str, str], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in flow_ids}
    for _ in range(runs):
        for kind, flow_id in flow_ids.items():
            final = wait_until_finished(backend, backend.create_flow_run(flow_id=flow_id)["id"], timeout=120)
            assert final["state"] == "Success", final
            times[kind].append(final["end_time"] - final["created"])
    return times


def run_all(home: Path, runs: int) -> dict:
    from jupyter_flows.backend import Backend

    backend = Backend()
    backend.create_project("bench")
    with docker_daemon() as base_image:
        local_flow = ping_flow("bench-local")
        docker_flow = ping_flow("bench-docker")
        docker_flow.storage = Docker(base_image=base_image)
        docker_flow.run_config = DockerRun()
        flow_ids = {"local": local_flow.register(project_name="bench"),
                    "docker": docker_flow.register(project_name="bench")}
        with agent_process("local", home / "local-agent.log"), agent_process("docker", home / "docker-agent.log"):
            times = time_runs(backend, flow_ids, runs)
    backend.close()
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    return {"runs": runs, "created_to_success_s": times, "median_s": medians,
            "docker_minus_local_s": medians["docker"] - medians["local"], "target_s": TARGET_S}


def report(results: dict) -> None:
    median = results["median_s"]
    print(f"One-task flow, created -> Success, median of {results['runs']} runs each:")
    print(f"  local agent  {median['local']:.3f} s")
    print(f"  docker agent {median['docker']:.3f} s  (max {max(results['created_to_success_s']['docker']):.3f} s)")
    print(f"  the container adds {results['docker_minus_local_s']:.3f} s (target <= {results['target_s']} s)")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs through each agent (default 10)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jupyter-flows-bench-") as home:
        os.environ["JUPYTER_FLOWS_HOME"] = home
        os.environ.pop("JUPYTER_FLOWS_BACKEND_URL", None)
        results = run_all(Path(home), args.runs)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
