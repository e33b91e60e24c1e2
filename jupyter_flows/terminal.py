"""What the CLI prints for people (tables, log lines, messages), made safe for a terminal.

Flow names, run names, task names and log messages are written by whoever
registers or runs a flow. Printed raw, an ANSI escape in one of them restyles
or clears the user's terminal, and a newline or carriage return inside one log
message forges lines that look like the CLI's own. Every human-readable line
the CLI prints goes through :func:`safe` (or :func:`cell` for rich tables),
which shows control characters as visible escapes (``\\x1b``, ``\\n``) and
keeps rich from reading ``[...]`` in user text as markup. JSON output does not
go through here: ``json.dumps`` already escapes control characters.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
from typing import Any, Iterable, Iterator

from rich.console import Console
from rich.table import Table
from rich.text import Text

# C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators (some terminals
# and pagers break lines on them).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: Any) -> str:
    """``value`` as one line of plain text: control characters shown as escapes, ``None`` as ``""``.

    >>> safe("done\\x1b[2J\\nINFO forged")
    'done\\\\x1b[2J\\\\nINFO forged'
    """
    text = "" if value is None else str(value)
    return _CONTROL.sub(_visible, text)


def cell(value: Any, style: str = "") -> Text:
    """A rich ``Text`` of :func:`safe` ``(value)``: for table cells, never read as markup."""
    return Text(safe(value), style=style)


def local_time(value: float | None) -> str:
    """POSIX seconds as this machine's local time, to the second, for tables."""
    if value is None:
        return ""
    return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def console(stderr: bool = False) -> Console:
    """A rich console; when output goes to a pipe or file, wide enough not to fold lines."""
    shown = Console(stderr=stderr)
    if not shown.is_terminal:
        shown = Console(stderr=stderr, width=max(shown.width, 200))
    return shown


def print_table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """Print a table whose cells are escaped text (a ``Text`` passes as is, e.g. a styled state)."""
    table = Table(*columns, title=cell(title))
    for row in rows:
        table.add_row(*(value if isinstance(value, Text) else cell(value) for value in row))
    console().print(table)


def log_parts(entry: dict, clock_format: str = "%H:%M:%S") -> tuple[str, str, str, str]:
    """A log entry's clock, level, task (``name[map index]``) and message, each escaped."""
    task = entry.get("task_name") or ""
    if task and entry.get("map_index") not in (None, -1):
        task = f"{task}[{entry['map_index']}]"
    clock = datetime.datetime.fromtimestamp(entry["timestamp"]).strftime(clock_format)
    return clock, safe(entry["level"]), safe(task), safe(entry["message"])


def log_line(entry: dict, clock_format: str = "%H:%M:%S") -> Text:
    """One log entry as one styled terminal line: a newline or escape in the message is shown, not obeyed."""
    clock, level, task, message = log_parts(entry, clock_format)
    line = Text(f"[{clock}] ", style="dim")
    line.append(f"{level:<7} ", style="red" if level in ("ERROR", "CRITICAL") else "")
    if task:
        line.append(f"{task} | ", style="bold")
    line.append(message)
    return line


def log_text(entry: dict, clock_format: str = "%H:%M:%S") -> str:
    """:func:`log_line` without styles, for a pipe or a file (many times faster to print)."""
    clock, level, task, message = log_parts(entry, clock_format)
    return f"[{clock}] {level:<7} {task + ' | ' if task else ''}{message}"


class EscapingFormatter(logging.Formatter):
    """Formats a record with ``inner`` after escaping its message and the names put in front of it.

    For log records printed by the CLI (``run --execute``, the agent): a flow
    or task name or a message written by a flow cannot restyle the terminal
    or start a line of its own. A traceback keeps its lines.
    """

    def __init__(self, inner: logging.Formatter | None = None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        shown = logging.makeLogRecord(record.__dict__)
        shown.msg, shown.args = safe(record.getMessage()), None
        for name in ("prefix", "flow_name", "task_name"):
            if isinstance(getattr(shown, name, None), str):
                setattr(shown, name, safe(getattr(shown, name)))
        return self.inner.format(shown)


@contextlib.contextmanager
def escaped_log_output(logger: logging.Logger) -> Iterator[None]:
    """While inside, every handler of ``logger`` escapes what it prints (see :class:`EscapingFormatter`)."""
    saved = [(handler, handler.formatter) for handler in logger.handlers]
    for handler, formatter in saved:
        handler.setFormatter(EscapingFormatter(formatter))
    try:
        yield
    finally:
        for handler, formatter in saved:
            handler.setFormatter(formatter)
