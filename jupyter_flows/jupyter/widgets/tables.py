"""Tables for ``%flow list``, ``%flow runs`` and ``%flow logs``: HTML in a notebook, text in a terminal.

A :class:`Table` is displayed with ``IPython.display.display``: a notebook
front end picks its ``text/html`` form, a terminal its plain-text form
(drawn by rich).
"""

from __future__ import annotations

import datetime
import html
from typing import Any, Iterable, Sequence

from .run_view import state_color

STATE_COLUMNS = {"state"}


class Table:
    """Rows of values under column names, with an optional title and an empty-table message."""

    def __init__(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
                 empty: str = "nothing to show"):
        self.columns = list(columns)
        self.rows = [["" if value is None else str(value) for value in row] for row in rows]
        self.title = title
        self.empty = empty

    def _repr_html_(self) -> str:
        if not self.rows:
            prefix = f"<b>{html.escape(self.title)}</b>: " if self.title else ""
            return f"<div>{prefix}<i>{html.escape(self.empty)}</i></div>"
        title = f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>" if self.title else ""
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(self._cell(c, v) for c, v in zip(self.columns, row)) + "</tr>"
                       for row in self.rows)
        return f"<table class='jupyter-flows-table'>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _cell(self, column: str, value: str) -> str:
        text = html.escape(value)
        if column in STATE_COLUMNS and value:
            text = f"<span style='color:{state_color(value)};font-weight:600'>{text}</span>"
        return f"<td style='text-align:left;white-space:pre-wrap'>{text}</td>"

    def to_text(self, width: int = 120) -> str:
        from rich.console import Console
        from rich.table import Table as RichTable

        if not self.rows:
            return f"{self.title + ': ' if self.title else ''}{self.empty}"
        table = RichTable(title=self.title, title_justify="left")
        for column in self.columns:
            table.add_column(column, overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        # force_jupyter=False: inside a kernel rich would otherwise display the table itself.
        console = Console(width=width, record=True, file=_Discard(), color_system=None, force_jupyter=False)
        console.print(table)
        return "\n".join(line.rstrip() for line in console.export_text().rstrip().splitlines())

    def __repr__(self) -> str:
        return self.to_text()

    def __len__(self) -> int:
        return len(self.rows)


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: float | None, end: float | None) -> str:
    if not start or not end:
        return ""
    return f"{end - start:.1f} s"


def flows_table(flows: list[dict]) -> Table:
    rows = [(f["project_name"], f["name"], f["version"], ", ".join(f.get("labels") or []), when(f["created"]),
             f["id"]) for f in flows]
    return Table(["project", "name", "version", "labels", "registered", "id"], rows, title="Registered flows",
                 empty="no flows registered yet (%flow register NAME --project P)")


def flow_runs_table(runs: list[dict]) -> Table:
    rows = [(r["name"], r["flow_name"], r["state"], r.get("state_message") or "", when(r["created"]),
             when(r.get("scheduled_start_time")), duration(r.get("start_time"), r.get("end_time")), r["id"])
            for r in runs]
    return Table(["run", "flow", "state", "message", "created", "scheduled for", "duration", "id"], rows,
                 title="Flow runs", empty="no flow runs yet")


def logs_table(logs: list[dict], title: str | None = None) -> Table:
    def where(entry: dict) -> str:
        task = entry.get("task_name") or ""
        if task and entry.get("map_index") not in (None, -1):
            task = f"{task}[{entry['map_index']}]"
        return task

    rows = [(when(e["timestamp"]), e["level"], where(e), e["message"]) for e in logs]
    return Table(["time", "level", "task", "message"], rows, title=title, empty="no log lines")
