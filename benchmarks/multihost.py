"""Agents on two hosts against one: the same runs, and the cost of a concurrency limit check on PostgreSQL.

    sudo python -m benchmarks.multihost                          # 40 runs, 2 s each, 4 at once per agent
    sudo python -m benchmarks.multihost --runs 20 --seconds 1 --json benchmarks/results/multihost.json

Uses the test lab (``tests/multihost/hosts.py``: network namespaces on a
private bridge, PostgreSQL and git daemon on the bridge; needs root). A
flow in Git storage is registered once; then ``--runs`` runs go through one
agent on one host, and the same number through one agent on each of two
hosts. Measured: wall time from creating the runs to the last run's end, for
each. Then, on the same PostgreSQL: the time of taking and releasing a slot
of a tag limit (what a limited task run adds), median and p95 of 300,
interleaved with as many of the same check sent as statements in a transaction
and as many bare one-row transactions (``benchmarks/limits.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from benchmarks import limits as limit_check

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "multihost"))

FLOW = """
    import time
    from jupyter_flows import Flow, Parameter, task
    from jupyter_flows.storage import Git

    @task
    def work(seconds):
        time.sleep(seconds)

    with Flow("bench", storage=Git({repo!r}, "bench.py")) as flow:
        work(Parameter("seconds", default=1.0))
"""
AGENT_ENV = {"JUPYTER_FLOWS_AGENT_POLL_INTERVAL": "0.1"}


def _register(lab, backend) -> str:
    served = lab.root / "git"
    served.mkdir()
    work = lab.root / "work"
    work.mkdir()
    repo = f"{lab.serve_git(served)}/bench.git"
    (work / "bench.py").write_text(textwrap.dedent(FLOW.format(repo=repo)))
    for args, cwd in ((["init", "-q", "--bare", "-b", "main", "bench.git"], served),
                      (["init", "-q", "-b", "main"], work),
                      (["add", "bench.py"], work),
                      (["-c", "user.email=b@example.com", "-c", "user.name=B", "commit", "-q", "-m", "bench"], work),
                      (["push", "-q", str(served / "bench.git"), "HEAD:main"], work)):
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)
    namespace: dict = {}
    exec(compile((work / "bench.py").read_text(), "bench.py", "exec"), namespace)
    backend.create_project("bench")
    return namespace["flow"].register("bench")


def _timed_runs(backend, flow_id: str, hosts, runs: int, seconds: float, concurrency: int) -> float:
    for host in hosts:
        host.start_agent("--concurrency", str(concurrency), **AGENT_ENV)
    while len(backend.list_agents(live_only=True)) < len(hosts):
        time.sleep(0.1)
    started = time.time()
    ids = [backend.create_flow_run(flow_id, parameters={"seconds": seconds})["id"] for _ in range(runs)]
    while True:
        states = backend.flow_run_states(ids)
        if all(state in ("Success", "Failed", "Cancelled") for state in states.values()):
            break
        time.sleep(0.2)
    failed = [state for state in states.values() if state != "Success"]
    if failed:
        raise SystemExit(f"{len(failed)} runs did not succeed")
    ended = max(backend.get_flow_run(run_id)["end_time"] for run_id in ids)
    for host in hosts:
        host.kill()
    for agent in backend.list_agents(live_only=True):
        backend.agent_stopped(agent["id"])
    return ended - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    from hosts import Lab

    from jupyter_flows.backend import Backend

    lab = Lab(n_hosts=3)
    try:
        os.environ["JUPYTER_FLOWS_BACKEND_URL"] = lab.local_backend_url  # registering from here
        os.environ["JUPYTER_FLOWS_HOME"] = str(lab.root / "registering")
        backend = Backend(lab.local_backend_url)
        flow_id = _register(lab, backend)
        one = _timed_runs(backend, flow_id, lab.hosts[:1], args.runs, args.seconds, args.concurrency)
        two = _timed_runs(backend, flow_id, lab.hosts[1:], args.runs, args.seconds, args.concurrency)
        result = {"runs": args.runs, "seconds_per_run": args.seconds, "concurrency_per_agent": args.concurrency,
                  "one_host_s": round(one, 2), "two_hosts_s": round(two, 2), "ratio": round(two / one, 2),
                  "limit_check": limit_check.measure(lab.local_backend_url, samples=300, contenders=0)}
        backend.close()
    finally:
        lab.close()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
