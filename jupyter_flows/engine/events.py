"""What a flow run tells the world while it runs.

The flow runner calls these methods in the process that runs the flow, from
one thread, as things happen: the backend recorder, the live widget and the
console are all listeners. Calls come once per task run, so a listener that
writes somewhere (a database, a front end) must batch or throttle itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .logging import LogEntry
    from .state import State
    from .task_runner import TaskRun


class RunListener:
    """Base class with no-op methods; override the ones you need."""

    def flow_run_started(self, flow, flow_run_id: str, parameters: dict) -> None:
        """The run begins; ``flow`` is the :class:`~jupyter_flows.Flow` being run."""

    def task_mapped(self, task_slug: str, task_name: str, n_children: int) -> None:
        """A mapped task was expanded into ``n_children`` children (for progress totals)."""

    def task_run_started(self, task_slug: str, task_name: str, map_index: int | None) -> None:
        """A task run was handed to a worker (not reported by every executor)."""

    def task_run_finished(self, run: "TaskRun") -> None:
        """A task run (a child, for mapped tasks) reached its final state; ``run.logs`` follow via ``log``."""

    def log(self, entry: "LogEntry") -> None:
        """One log line of the run (from a task or from the flow runner)."""

    def flow_run_finished(self, state: "State") -> None:
        """The run ended; ``state.result`` maps each task to its final state."""
