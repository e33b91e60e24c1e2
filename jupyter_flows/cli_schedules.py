"""The CLI's schedule commands: ``schedule show|pause|resume NAME`` and ``scheduler start``.

Like the rest of the CLI they call the backend and the scheduler service and
only format what they get back.
"""

from __future__ import annotations

import logging
import sys

import click

from . import config
from .terminal import local_time, print_table, safe


def _backend():
    from .backend import Backend

    return Backend()


def describe_schedule_info(info: dict | None) -> str:
    """The "Schedule" cell of ``get flows``: what it is, and whether it is paused."""
    if info is None:
        return ""
    return info["description"] + (" (paused)" if info["paused"] else "")


def _flow_and_schedule(name: str, project: str | None):
    backend = _backend()
    flow = backend.get_flow_by_name(name, project_name=project)
    return backend, flow


@click.group("schedule")
def schedule() -> None:
    """Show, pause or resume the schedule of a registered flow."""


@schedule.command("show")
@click.argument("name")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
@click.option("--next", "count", type=click.IntRange(min=1, max=100), default=5, show_default=True,
              help="How many upcoming run times to list.")
def schedule_show(name: str, project: str | None, count: int) -> None:
    """Show flow NAME's schedule and its next run times."""
    from .schedules import schedule_from_dict

    backend, flow = _flow_and_schedule(name, project)
    info = backend.get_schedule(flow["id"])
    if info is None:
        click.echo(f"Flow {safe(name)!r} has no schedule.")
        return
    state = "paused" if info["paused"] else "active"
    click.echo(f"Flow {safe(name)!r} version {flow['version']}: {safe(info['description'])} ({state}; "
               f"missed runs: {info['missed_runs']})")
    if not info["paused"]:
        times = schedule_from_dict(info["schedule"]).next(count)
        print_table("Next runs", ("Local time", "In the schedule's zone"),
                    ((local_time(t.timestamp()), t.isoformat()) for t in times))


@schedule.command("pause")
@click.argument("name")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
def schedule_pause(name: str, project: str | None) -> None:
    """Pause flow NAME's schedule; its runs that have not started are removed."""
    backend, flow = _flow_and_schedule(name, project)
    backend.pause_schedule(flow["id"])
    click.echo(f"Paused the schedule of flow {safe(name)!r}.")


@schedule.command("resume")
@click.argument("name")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
def schedule_resume(name: str, project: str | None) -> None:
    """Resume flow NAME's schedule from now on."""
    backend, flow = _flow_and_schedule(name, project)
    info = backend.resume_schedule(flow["id"])
    click.echo(f"Resumed the schedule of flow {safe(name)!r}; next run at {local_time(info['next_run'])}.")


@schedule.command("missed-runs")
@click.argument("name")
@click.argument("policy", type=click.Choice(["latest", "all"]))
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
def schedule_missed_runs(name: str, policy: str, project: str | None) -> None:
    """Which times missed while no scheduler ran flow NAME runs: the latest (default) or all."""
    backend, flow = _flow_and_schedule(name, project)
    info = backend.get_schedule(flow["id"])
    if info is None:
        from .exceptions import ScheduleError

        raise ScheduleError(f"flow {name!r} has no schedule; give it one first")
    backend.set_schedule(flow["id"], info["schedule"], missed_runs=policy)
    click.echo(f"Flow {safe(name)!r} runs {'every missed time' if policy == 'all' else 'the latest missed time'} "
               "after downtime.")


@click.group("scheduler")
def scheduler() -> None:
    """The scheduler service (each local agent runs one too, unless started with --no-scheduler)."""


@scheduler.command("start")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds between passes (default JUPYTER_FLOWS_SCHEDULER_INTERVAL, 5).")
def scheduler_start(interval: float | None) -> None:
    """Create the runs of every active schedule ahead of time, until Ctrl-C."""
    from .agent.scheduler import Scheduler

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    scheduler_log = logging.getLogger("jupyter_flows.agent.scheduler")
    scheduler_log.addHandler(handler)
    scheduler_log.setLevel(config.log_level())
    try:
        Scheduler(interval=interval).start()
    finally:
        scheduler_log.removeHandler(handler)
