"""CLI commands for work shared between hosts: ``concurrency-limit set|get|delete`` and ``get agents``.

Hooked into :mod:`jupyter_flows.cli`; like every command they only call the
backend and format what it returns (errors become one-line messages there).
"""

from __future__ import annotations

import click

from . import cli_json
from .terminal import local_time, print_table


def _backend():
    from .backend import Backend

    return Backend()


def _kind(label: bool) -> str:
    return "label" if label else "tag"


_LABEL_OPTION = click.option("--label", "label", is_flag=True,
                             help="NAME is a flow run label: at most N flow runs with it at a time.")


@click.group("concurrency-limit")
def concurrency_limit() -> None:
    """Limit how many task runs of a tag (or flow runs of a label) run at a time, across all hosts."""


@concurrency_limit.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("limit")
@_LABEL_OPTION
def limit_set(name: str, limit: str, label: bool) -> None:
    """At most LIMIT task runs of tasks tagged NAME at a time (--label: flow runs labelled NAME)."""
    saved = _backend().set_concurrency_limit(name, limit, kind=_kind(label))
    click.echo(f"Concurrency limit of {saved['kind']} {saved['name']!r} set to {saved['limit']} "
               f"({saved['in_use']} in use now).")


@concurrency_limit.command("get")
@click.argument("name", required=False)
@_LABEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def limit_get(name: str | None, label: bool, as_json: bool) -> None:
    """Show the limit of NAME with the slots in use now (every limit without NAME)."""
    backend = _backend()
    if name is not None:
        rows = [backend.get_concurrency_limit(name, kind=_kind(label))]
    else:
        rows = backend.list_concurrency_limits(kind=_kind(label) if label else None)
    if as_json:
        cli_json.echo_records(rows)
        return
    print_table("Concurrency limits", ["Kind", "Name", "Limit", "In use", "Updated"],
                [(r["kind"], r["name"], r["limit"], r["in_use"], local_time(r["updated"])) for r in rows])


@concurrency_limit.command("delete")
@click.argument("name")
@_LABEL_OPTION
def limit_delete(name: str, label: bool) -> None:
    """Remove the limit of NAME: its task runs (or flow runs) no longer wait."""
    _backend().delete_concurrency_limit(name, kind=_kind(label))
    click.echo(f"Concurrency limit of {_kind(label)} {name!r} deleted.")


@click.command("agents")
@click.option("--all", "show_all", is_flag=True, help="Also agents that stopped or went silent.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def get_agents(show_all: bool, as_json: bool) -> None:
    """The agents polling the backend: host, labels, last seen, runs in flight."""
    rows = _backend().list_agents(live_only=not show_all)
    if as_json:
        cli_json.echo_records(rows)
        return
    print_table("Agents", ["Id", "Host", "Kind", "Labels", "Last seen", "Runs", "Live"],
                [(a["id"], a["host"], a["kind"], ", ".join(a["labels"]), local_time(a["last_seen"]),
                  a["runs_in_flight"], "yes" if a["live"] else "no") for a in rows])
