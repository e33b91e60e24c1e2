"""``jupyter-flows demo``: the tutorial's hello-flow from registration to parallel greetings.

On the configured backend (the embedded SQLite one by default) it creates the
"tutorial" project, registers :mod:`jupyter_flows.examples.hello_flow`,
starts a local agent in a subprocess, creates a flow run, follows it to its
end printing its logs, shows when each greeting ran (they overlap: the flow
uses ``LocalDaskExecutor``), and stops the agent.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from . import config
from .agent.background import local_agent_process

PROJECT = "tutorial"


def run_demo(people: list[str] | None = None, console: Console | None = None) -> bool:
    """Run the demo; True when the flow run succeeded."""
    from .backend import Backend
    from .cli import follow_flow_run
    from .examples.hello_flow import flow

    console = console or Console()
    backend = Backend()
    console.print(f"Backend: {backend.url}", highlight=False)
    backend.create_project(PROJECT, description="The hello-flow tutorial")
    flow_id = flow.register(project_name=PROJECT)
    registered = backend.get_flow(flow_id)
    console.print(f"Registered flow {registered['name']!r} version {registered['version']} "
                  f"in project {PROJECT!r} (id {registered['id']})", highlight=False)
    console.print(f"  run config {flow.run_config!r}, executor {flow.executor!r}", highlight=False)
    log_path = config.home() / "demo-agent.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with local_agent_process(log_path=log_path) as agent:
        console.print(f"Started a local agent (process {agent.pid}, its log: {log_path})", highlight=False)
        parameters = {"people": people} if people else {}
        flow_run = backend.create_flow_run(flow_id=registered["id"], parameters=parameters)
        console.print(f"Created flow run {flow_run['name']!r} (id {flow_run['id']})", highlight=False)
        created = time.time()
        final = follow_flow_run(backend, flow_run["id"], console=console)
        elapsed = (final.get("end_time") or time.time()) - created
        console.print("Stopping the agent", highlight=False)
    if final["state"] != "Success":
        return False
    _show_overlap(backend.get_task_runs(flow_run["id"]), elapsed, console)
    return True


def _show_overlap(task_runs: list[dict], elapsed: float, console: Console) -> None:
    """When each greeting ran, relative to the first; overlapping bars mean parallel runs."""
    greetings = sorted((t for t in task_runs if t["map_index"] >= 0 and t.get("start_time")),
                       key=lambda t: (t["start_time"], t["map_index"]))
    if not greetings:
        return
    origin = greetings[0]["start_time"]
    span = max(t["end_time"] for t in greetings) - origin
    scale = 40 / span if span > 0 else 0
    table = Table("Task run", "Start", "End", "Timeline", title="When each greeting ran")
    for t in greetings:
        start, end = t["start_time"] - origin, t["end_time"] - origin
        bar = " " * int(start * scale) + "#" * max(1, int((end - start) * scale))
        table.add_row(f"{t['task_name']}[{t['map_index']}]", f"{start:.2f}s", f"{end:.2f}s", bar)
    console.print(table)
    busy = sum(t["end_time"] - t["start_time"] for t in greetings)
    overlapped = any(later["start_time"] < earlier["end_time"]
                     for earlier, later in zip(greetings, greetings[1:]))
    verdict = "overlapped (ran in parallel)" if overlapped else "did not overlap"
    console.print(f"{len(greetings)} greetings took {busy:.1f}s of work in {span:.1f}s: they {verdict}. "
                  f"Run created to finished: {elapsed:.1f}s.", highlight=False)
