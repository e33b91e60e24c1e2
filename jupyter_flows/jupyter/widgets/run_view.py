"""The live run widget: flow state, a progress bar per task, counts, elapsed time, logs, summary.

:class:`RunView` is a :class:`~jupyter_flows.engine.events.RunListener`, so
``flow.run(listeners=[view])`` drives it directly in the kernel; the backend
follower (:mod:`.follower`) feeds the same view from a registered run's rows.

A listener is called once per task run (10,000 times for a 10,000-child
map), but the front end only needs a few pictures a second. So the listener
methods only update counters under a lock; the widgets are redrawn at most
every ``interval`` seconds (from the listener call that finds the last
redraw old enough, or from a small ticker thread while nothing calls), and
once more at the end.

The view is not itself a ``VBox`` subclass because ``Widget.log`` is the
widget's logger, which the listener's ``log(entry)`` method would shadow;
``view.widget`` is the VBox, and displaying the view displays it.
"""

from __future__ import annotations

import collections
import html
import logging
import re
import threading
import time
from typing import Iterable

import ipywidgets as widgets

from ...engine.events import RunListener
from ...engine.state import STATE_CLASSES, State

REFRESH_INTERVAL = 0.25
ELAPSED_REFRESH = 1.0  # while nothing happens, the elapsed time still moves once a second
MAX_LOG_LINES = 100
MAX_FAILURES_SHOWN = 20
# The backend's row for a mapped task's parent says how many children it has.
_MAPPED_MESSAGE = re.compile(r"Mapped (\d+) children")


def state_color(name: str | None) -> str:
    cls = STATE_CLASSES.get(name or "")
    return cls.color if cls is not None else State.color


def state_badge(name: str) -> str:
    return (f'<span style="background:{state_color(name)};color:white;border-radius:4px;'
            f'padding:1px 6px;font-weight:600">{html.escape(name)}</span>')


class _TaskProgress:
    """Counters of one task of the run (all its children, when mapped)."""

    __slots__ = ("slug", "name", "total", "done", "failed", "mapped", "state", "bar", "label")

    def __init__(self, slug: str, name: str):
        self.slug = slug
        self.name = name
        self.total = 1
        self.done = 0
        self.failed = 0
        self.mapped = False
        self.state: str | None = None
        self.bar: widgets.IntProgress | None = None
        self.label: widgets.HTML | None = None


class RunView(RunListener):
    """Watch one flow run: pass it as a listener, or let a follower feed it from the backend.

    >>> view = RunView()
    >>> state = flow.run(listeners=[view])  # doctest: +SKIP
    """

    def __init__(self, title: str | None = None, interval: float = REFRESH_INTERVAL,
                 max_log_lines: int = MAX_LOG_LINES):
        self.interval = interval
        self.title = title
        self.flow_name: str | None = None
        self.flow_run_id: str | None = None
        self.state_name = "Pending"
        self.state_message: str | None = None
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.finished = threading.Event()
        self.renders = 0
        self._tasks: dict[str, _TaskProgress] = {}
        self._counts: collections.Counter = collections.Counter()
        self._running = 0
        self._failures: list[tuple[str, int | None, str, str]] = []
        self._n_failures = 0
        self._logs: collections.deque = collections.deque(maxlen=max_log_lines)
        self._n_logs = 0
        self._lock = threading.RLock()
        self._dirty = False
        self._layout_dirty = True
        self._last_render = 0.0
        self._ticker: threading.Thread | None = None

        self.header = widgets.HTML()
        self.counts = widgets.HTML()
        self.bars = widgets.VBox()
        self.log_panel = widgets.HTML(layout=widgets.Layout(max_height="16em", overflow="auto",
                                                            border="1px solid #ddd", padding="0 4px"))
        self.summary = widgets.HTML()
        # shown when the run ends Failed or Cancelled: reruns only what did not succeed
        self.restart_button = widgets.Button(description="Restart from failed", icon="redo",
                                             layout=widgets.Layout(display="none"))
        self.restart_button.add_class("jupyter-flows-restart")
        self.restart_button.on_click(lambda _button: self.restart())
        # shown when a run of the backend rests Paused: approves its manual_only tasks, which then run
        self.resume_button = widgets.Button(description="Approve and resume", icon="play",
                                            layout=widgets.Layout(display="none"))
        self.resume_button.add_class("jupyter-flows-resume")
        self.resume_button.on_click(lambda _button: self.resume())
        self._flow = self._parameters = self._final_state = None  # a run in this kernel, to restart here
        self.widget = widgets.VBox([self.header, self.counts, self.bars, self.log_panel, self.summary,
                                    self.restart_button, self.resume_button])
        self.widget.add_class("jupyter-flows-run")
        self.log_panel.add_class("jupyter-flows-run-log")
        self.summary.add_class("jupyter-flows-run-summary")
        self._draw()

    # -- displaying --------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- RunListener ---------------------------------------------------------------------------------

    def flow_run_started(self, flow, flow_run_id: str, parameters: dict) -> None:
        self._flow, self._parameters = flow, parameters
        tasks = [(flow.slugs[t], t.name) for t in flow.sorted_tasks()]
        self.begin(flow.name, flow_run_id, tasks)

    def task_mapped(self, task_slug: str, task_name: str, n_children: int) -> None:
        with self._lock:
            progress = self._task(task_slug, task_name)
            progress.mapped = True
            progress.total = n_children
            if n_children == 0:
                progress.state = "Mapped"
            self._changed()

    def task_run_started(self, task_slug: str, task_name: str, map_index: int | None) -> None:
        with self._lock:
            self._running += 1
            progress = self._task(task_slug, task_name)
            if progress.state is None:
                progress.state = "Running"
            self._changed()

    def task_run_finished(self, run) -> None:
        state = run.state
        with self._lock:
            if self._running:
                self._running -= 1
            self._record(run.task_slug, run.task_name, run.map_index, state.name,
                         state.is_failed(), state.message)
            self._changed()

    def log(self, entry) -> None:
        with self._lock:
            self._add_log(entry.timestamp, entry.level_name, entry.task_name, entry.map_index, entry.message)
            self._changed()

    def flow_run_finished(self, state: State) -> None:
        self._final_state = state
        self.end(state.name, state.message)

    # -- feeding from elsewhere (the backend follower) -----------------------------------------------

    def begin(self, flow_name: str, flow_run_id: str | None, tasks: Iterable[tuple[str, str]] = (),
              state_name: str = "Running", start_time: float | None = None, message: str | None = None) -> None:
        """The run starts (or is first seen): name it and lay out its tasks, in order."""
        with self._lock:
            self.flow_name = flow_name
            self.flow_run_id = flow_run_id
            self.state_name = state_name
            self.state_message = message
            self.start_time = start_time or self.start_time or time.time()
            for slug, name in tasks:
                self._task(slug, name)
            self._layout_dirty = True
        self._render(force=True)
        self._start_ticker()

    def set_state(self, state_name: str, message: str | None = None) -> None:
        with self._lock:
            self.state_name = state_name
            self.state_message = message
            self._changed()

    def set_task_runs(self, task_runs: Iterable[dict]) -> None:
        """Replace the task counters with a snapshot of the backend's task run rows."""
        with self._lock:
            for progress in self._tasks.values():
                progress.done = progress.failed = 0
                progress.state = None
            self._counts.clear()
            self._failures.clear()
            self._n_failures = 0
            self._running = 0
            children: collections.Counter = collections.Counter()
            totals: dict[str, int] = {}
            for row in task_runs:
                index = row.get("map_index")
                index = None if index is None or index < 0 else index
                state = row.get("state") or "Pending"
                if index is not None:
                    children[row["task_slug"]] += 1
                if state == "Mapped" and index is None:
                    progress = self._task(row["task_slug"], row.get("task_name") or row["task_slug"])
                    progress.mapped = True
                    announced = _MAPPED_MESSAGE.match(row.get("message") or "")
                    if announced:
                        totals[row["task_slug"]] = int(announced.group(1))
                    continue
                if state in ("Running", "Pending", "Scheduled", "Submitted", "Retrying"):
                    self._running += state == "Running"
                    progress = self._task(row["task_slug"], row.get("task_name") or row["task_slug"])
                    progress.state = progress.state or state
                    continue
                cls = STATE_CLASSES.get(state)
                failed = cls is not None and issubclass(cls, STATE_CLASSES["Failed"])
                self._record(row["task_slug"], row.get("task_name") or row["task_slug"], index,
                             state, failed, row.get("message"))
            for slug in set(children) | set(totals):
                progress = self._tasks[slug]
                progress.mapped = True
                progress.total = max(totals.get(slug, 0), children[slug], progress.done)
                if progress.done >= progress.total:
                    progress.state = "Failed" if progress.failed else "Mapped"
            self._changed()

    def add_log_rows(self, rows: Iterable[dict]) -> None:
        """Append log rows as the backend returns them (``level`` a name or a number)."""
        with self._lock:
            for row in rows:
                level = row.get("level")
                if isinstance(level, int):
                    level = logging.getLevelName(level)
                self._add_log(row.get("timestamp"), level, row.get("task_name"), row.get("map_index"),
                              row.get("message", ""))
            self._changed()

    def end(self, state_name: str, message: str | None = None) -> None:
        """The run ended: draw the final picture and the summary, stop the ticker."""
        with self._lock:
            self.state_name = state_name
            self.state_message = message
            self.end_time = time.time()
            self._running = 0
        self.finished.set()
        self._render(force=True)
        restartable = state_name in ("Failed", "Cancelled") and (self._flow is not None or self.flow_run_id)
        self.restart_button.layout.display = "" if restartable else "none"
        self.resume_button.layout.display = "" if state_name == "Paused" and self.flow_run_id else "none"

    def restart(self):
        """Rerun what did not succeed and show it here (the "Restart from failed" button).

        A run in this kernel runs again here, keeping what succeeded in memory
        (returns its final state); a run of the backend is restarted there, for
        an agent to run, and followed (returns the follower).
        """
        self.restart_button.layout.display = "none"
        self._clear()
        if self._flow is not None:
            from ..run_here import run_here

            return run_here(self._flow, self._parameters, listeners=[self], restart_from=self._final_state)
        from ...backend import Client
        from .follower import follow

        Client().restart_flow_run(self.flow_run_id)
        return follow(self.flow_run_id, view=self)

    def resume(self):
        """Approve the paused tasks of the run of the backend shown here and follow it (the "Approve and resume"
        button); returns the follower."""
        from ...backend import Client
        from .follower import follow

        self.resume_button.layout.display = "none"
        Client().resume_flow_run(self.flow_run_id)
        self._clear()
        return follow(self.flow_run_id, view=self)

    def _clear(self) -> None:
        """Forget the ended attempt's counters and lines; the next attempt reports from the start."""
        with self._lock:
            self.finished.clear()
            self.start_time = self.end_time = None
            for progress in self._tasks.values():
                progress.done = progress.failed = 0
                progress.state = None
            self._counts.clear()
            self._failures.clear()
            self._n_failures = self._running = self._n_logs = 0
            self._logs.clear()
            self._changed()

    # -- counting ----------------------------------------------------------------------------------

    def _task(self, slug: str, name: str) -> _TaskProgress:
        progress = self._tasks.get(slug)
        if progress is None:
            progress = self._tasks[slug] = _TaskProgress(slug, name)
            self._layout_dirty = True
        return progress

    def _record(self, slug: str, name: str, map_index, state_name: str, failed: bool, message) -> None:
        progress = self._task(slug, name)
        progress.done += 1
        self._counts[state_name] += 1
        if failed:
            progress.failed += 1
            self._n_failures += 1
            if len(self._failures) < MAX_FAILURES_SHOWN:
                self._failures.append((name, map_index, state_name, message or ""))
        if not progress.mapped:
            progress.state = state_name
        elif progress.done >= progress.total:
            progress.state = "Failed" if progress.failed else "Mapped"

    def _add_log(self, timestamp, level, task_name, map_index, message) -> None:
        # Kept raw: only the lines still in the panel at a redraw are ever formatted.
        self._logs.append((timestamp, level or "", task_name, map_index, message))
        self._n_logs += 1

    @staticmethod
    def _format_log(timestamp, level, task_name, map_index, message) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(timestamp)) if timestamp else ""
        where = ""
        if task_name:
            where = f"{task_name}[{map_index}] | " if map_index not in (None, -1) else f"{task_name} | "
        return f"{clock} {level} {where}{message}"

    # -- drawing -----------------------------------------------------------------------------------

    def _changed(self) -> None:
        """Note a change; redraw now only if the last redraw is at least ``interval`` old."""
        self._dirty = True
        if time.monotonic() - self._last_render >= self.interval:
            self._render()

    def _start_ticker(self) -> None:
        if self._ticker is not None or self.finished.is_set():
            return
        self._ticker = threading.Thread(target=self._tick, name="jupyter-flows-run-view", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        # Redraws what listener calls left pending, and keeps the elapsed time moving
        # while a long task runs and nothing calls the listener.
        while not self.finished.wait(self.interval):
            since = time.monotonic() - self._last_render
            if since >= self.interval and (self._dirty or since >= ELAPSED_REFRESH):
                self._render(force=True)

    def _render(self, force: bool = False) -> None:
        with self._lock:
            if not (force or self._dirty):
                return
            self._dirty = False
            self._last_render = time.monotonic()
            self.renders += 1
            self._draw()

    def _draw(self) -> None:
        if self._layout_dirty:
            self._layout_bars()
        self.header.value = self._header_html()
        self.counts.value = self._counts_html()
        for progress in self._tasks.values():
            self._draw_bar(progress)
        self.log_panel.value = self._logs_html()
        self.summary.value = self._summary_html() if self.finished.is_set() else ""

    def _layout_bars(self) -> None:
        self._layout_dirty = False
        rows = []
        for progress in self._tasks.values():
            if progress.bar is None:
                progress.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="40%"))
                progress.label = widgets.HTML()
            name = widgets.HTML(f"<code>{html.escape(progress.name)}</code>",
                                layout=widgets.Layout(width="30%"))
            rows.append(widgets.HBox([name, progress.bar, progress.label]))
        self.bars.children = rows

    def _draw_bar(self, progress: _TaskProgress) -> None:
        bar = progress.bar
        total = max(progress.total, 1)
        style = "danger" if progress.failed else ("success" if progress.done >= progress.total else "info")
        label = progress.state or "Pending"
        if progress.mapped:
            label = f"{label} · {progress.done}/{progress.total}"
        with bar.hold_sync():
            bar.max = total
            bar.value = min(progress.done, total) if progress.total else total
            bar.bar_style = style
        progress.label.value = f'<span style="color:{state_color(progress.state)}">{html.escape(label)}</span>'

    def elapsed(self) -> float:
        if self.start_time is None:
            return 0.0
        return (self.end_time or time.time()) - self.start_time

    def _header_html(self) -> str:
        name = html.escape(self.title or self.flow_name or "flow run")
        run = f" run <code>{html.escape(self.flow_run_id[:8])}</code>" if self.flow_run_id else ""
        message = f" <i>{html.escape(self.state_message)}</i>" if self.state_message else ""
        return (f"<b>{name}</b>{run} {state_badge(self.state_name)} "
                f"<span>{self.elapsed():.1f} s</span>{message}")

    def _counts_html(self) -> str:
        parts = [f'<span style="color:{state_color(name)}">{html.escape(name)}</span> {n}'
                 for name, n in sorted(self._counts.items())]
        if self._running:
            parts.append(f'<span style="color:{state_color("Running")}">Running</span> {self._running}')
        return " · ".join(parts) or "<i>no task run finished yet</i>"

    def _logs_html(self) -> str:
        if not self._logs:
            return "<pre style='margin:2px 0'><i>no log lines yet</i></pre>"
        skipped = self._n_logs - len(self._logs)
        lines = [f"… {skipped} earlier lines" if skipped else ""]
        for entry in self._logs:
            level = entry[1]
            text = html.escape(self._format_log(*entry))
            if level in ("ERROR", "CRITICAL"):
                text = f'<span style="color:{state_color("Failed")}">{text}</span>'
            elif level == "WARNING":
                text = f'<span style="color:#b26a00">{text}</span>'
            lines.append(text)
        return "<pre style='margin:2px 0;white-space:pre-wrap'>" + "\n".join(l for l in lines if l) + "</pre>"

    def _summary_html(self) -> str:
        total = sum(self._counts.values())
        head = (f"Flow run {state_badge(self.state_name)} in {self.elapsed():.1f} s: "
                f"{total} task run{'s' if total != 1 else ''}")
        if not self._n_failures:
            return f"<div>{head}.</div>"
        rows = "".join(
            f"<tr><td><code>{html.escape(name)}{'' if index in (None, -1) else f'[{index}]'}</code></td>"
            f"<td>{state_badge(state)}</td><td>{html.escape(message)}</td></tr>"
            for name, index, state, message in self._failures
        )
        more = self._n_failures - len(self._failures)
        tail = f"<div>… and {more} more failed task runs</div>" if more else ""
        return (f"<div>{head}, {self._n_failures} failed:</div>"
                f"<table><tr><th>task</th><th>state</th><th>message</th></tr>{rows}</table>{tail}")

    # -- reading (tests, magics) ---------------------------------------------------------------------

    def progress(self) -> dict[str, tuple[int, int]]:
        """``{task name: (done, total)}`` as counted so far."""
        with self._lock:
            names = collections.Counter(p.name for p in self._tasks.values())
            return {(p.name if names[p.name] == 1 else p.slug): (p.done, p.total) for p in self._tasks.values()}

    def log_lines(self) -> list[str]:
        with self._lock:
            return [self._format_log(*entry) for entry in self._logs]

    def counts_by_state(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
