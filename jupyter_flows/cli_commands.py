"""CLI commands about one flow run or one flow: its logs, its task runs, deleting it, archiving a flow.

Registered on the groups of :mod:`jupyter_flows.cli` (``get logs``, ``get
task-runs``, ``delete flow-run``, ``archive flow``); errors they raise become
one-line messages there. Like every command, they only call the backend and
format what it returns.
"""

from __future__ import annotations

import collections
import itertools
import os
import sys
from typing import Iterator

import click

from . import cli_json
from .exceptions import ConfigurationError
from .terminal import cell, console, local_time, log_line, log_text, print_table, safe

#: Log lines read from the backend per query: a run's log never sits in memory whole.
LOG_PAGE_SIZE = 1000
_FULL_CLOCK = "%Y-%m-%d %H:%M:%S"


def _backend():
    from .backend import Backend

    return Backend()


def iter_logs(backend, flow_run_id: str, page_size: int = LOG_PAGE_SIZE) -> Iterator[dict]:
    """Every log entry of a run in order, read ``page_size`` at a time."""
    after = None
    while True:
        page = backend.get_logs(flow_run_id, after=after, limit=page_size)
        yield from page
        if len(page) < page_size:
            return
        after = page[-1]["id"]


def _selected(entries: Iterator[dict], limit: int | None, tail: int | None) -> Iterator[dict]:
    if limit is not None and tail is not None:
        raise ConfigurationError(f"give --limit ({limit}) or --tail ({tail}), not both")
    if limit is not None:
        return itertools.islice(entries, limit)
    if tail is not None:
        return iter(collections.deque(entries, maxlen=tail))
    return entries


@click.command("logs")
@click.argument("flow_run_id")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Only the first N lines.")
@click.option("--tail", type=click.IntRange(min=1), default=None, metavar="N", help="Only the last N lines.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of lines.")
def get_logs(flow_run_id: str, limit: int | None, tail: int | None, as_json: bool) -> None:
    """Show the log of flow run FLOW_RUN_ID, streamed page by page (a title line only on a terminal)."""
    backend = _backend()
    run = backend.get_flow_run(flow_run_id)
    entries = _selected(iter_logs(backend, flow_run_id), limit, tail)
    try:
        if as_json:
            cli_json.echo_records(entries, one_per_line=True)
        else:
            _print_log_lines(run, entries)
    except BrokenPipeError:
        # The reader (`| head`) has gone: stop quietly, and keep Python from reporting it at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _print_log_lines(run: dict, entries: Iterator[dict]) -> None:
    shown = console()
    if not shown.is_terminal:
        out = click.get_text_stream("stdout")
        for entry in entries:
            out.write(log_text(entry, _FULL_CLOCK) + "\n")
        out.flush()
        return
    shown.print(cell(f"Logs of flow run {run['name']!r} ({run['state']})", style="bold"))
    for entry in entries:
        shown.print(log_line(entry, _FULL_CLOCK), soft_wrap=True, highlight=False)


@click.command("task-runs")
@click.argument("flow_run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def get_task_runs(flow_run_id: str, as_json: bool) -> None:
    """List the task runs of flow run FLOW_RUN_ID with their states, times and attempts."""
    backend = _backend()
    run = backend.get_flow_run(flow_run_id)
    task_runs = backend.get_task_runs(flow_run_id)
    if as_json:
        cli_json.echo_records(task_runs)
        return
    print_table(f"Task runs of flow run {run['name']!r} ({run['state']})",
                ("Task", "State", "Start", "End", "Duration", "Attempts", "Message"),
                ((_task_label(t), t["state"], local_time(t["start_time"]), local_time(t["end_time"]),
                  _duration(t["start_time"], t["end_time"]), t["attempts"], t["message"]) for t in task_runs))


def _task_label(task_run: dict) -> str:
    if task_run.get("map_index") not in (None, -1):
        return f"{task_run['task_name']}[{task_run['map_index']}]"
    return task_run["task_name"]


def _duration(start: float | None, end: float | None) -> str:
    return f"{end - start:.3f} s" if start is not None and end is not None else ""


@click.group("delete")
def delete() -> None:
    """Delete a flow run with its history, task runs and logs."""


@delete.command("flow-run")
@click.argument("flow_run_id")
def delete_flow_run(flow_run_id: str) -> None:
    """Delete flow run FLOW_RUN_ID; a run that is Submitted or Running must be cancelled first."""
    backend = _backend()
    run = backend.get_flow_run(flow_run_id)
    backend.delete_flow_run(flow_run_id, refuse_live=True)
    click.echo(f"Deleted flow run {safe(repr(run['name']))} ({run['id']}, {run['state']}) with its task runs "
               "and logs.")


@click.group("archive")
def archive() -> None:
    """Archive a flow: it is no longer listed or run; its past runs stay."""


@archive.command("flow")
@click.argument("name")
@click.option("--project", default=None, help="Project of the flow (needed when names clash).")
@click.option("--version", type=click.IntRange(min=1), default=None,
              help="Only this version (every version by default).")
def archive_flow(name: str, project: str | None, version: int | None) -> None:
    """Archive flow NAME (all its versions, or --version N): new runs of it are refused."""
    backend = _backend()
    flow = backend.get_flow_by_name(name, project_name=project, version=version)
    archived = backend.archive_flow(flow["id"], all_versions=version is None)
    which = f"version {flow['version']}" if version is not None else "every version"
    click.echo(f"Archived {which} of flow {safe(repr(flow['name']))} in project "
               f"{safe(repr(flow['project_name']))} ({archived} newly archived).")
