"""The JSON the CLI prints: the backend's records with ISO 8601 times and secrets masked.

The backend keeps times as POSIX seconds (floats) and run configs as stored;
a script reading ``jupyter-flows get ... --json`` gets times it can parse
anywhere (``2026-11-30T10:48:57.123456+00:00``, UTC) and never the value of a
secret-looking environment variable (see :mod:`jupyter_flows.redaction`).
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Iterable, Mapping

import click

from .redaction import mask_run_config

#: Fields of projects, flows, flow runs, their states, task runs and log lines that hold times.
TIME_FIELDS = frozenset({"created", "start_time", "end_time", "heartbeat", "timestamp", "last_seen", "started",
                         "stopped", "updated", "scheduled_start_time"})


def iso_time(value: float | None) -> str | None:
    """POSIX seconds as ISO 8601 in UTC, e.g. ``2026-11-30T10:48:57.123456+00:00``."""
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc).isoformat(timespec="microseconds")


def record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One backend record as printed: times converted, run config masked, state history too.

    Only the record's own fields are converted: user data inside it (parameter
    values, a graph) is left exactly as stored, even where a key is named ``created``.
    """
    shown = dict(row)
    for name in TIME_FIELDS.intersection(shown):
        if isinstance(shown[name], (int, float)) and not isinstance(shown[name], bool):
            shown[name] = iso_time(shown[name])
    if "run_config" in shown:
        shown["run_config"] = mask_run_config(shown["run_config"])
    if isinstance(shown.get("states"), list):
        shown["states"] = [record(state) for state in shown["states"]]
    return shown


def dumps(row: Mapping[str, Any], indent: int | None = 2) -> str:
    return json.dumps(record(row), indent=indent, default=str)


def echo_records(rows: Iterable[Mapping[str, Any]], one_per_line: bool = False) -> None:
    """Print a JSON array of records, one at a time: a long listing never sits in memory whole.

    ``one_per_line`` writes each record on a line of its own, unindented: for
    long listings such as a run's log, several times faster to write and to read.
    """
    out = click.get_text_stream("stdout")  # written without click.echo's flush per call
    out.write("[")
    separator = "\n"
    for row in rows:
        text = dumps(row, indent=None) if one_per_line else dumps(row).replace("\n", "\n  ")
        out.write(f"{separator}  {text}")
        separator = ",\n"
    out.write("]\n" if separator == "\n" else "\n]\n")
    out.flush()
