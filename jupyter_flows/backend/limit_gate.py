"""The task runner's side of concurrency limits: wait for a slot, hold it while the task runs.

Only runs recorded by a backend (an agent's runs, ``run --execute``) are
limited: the agent puts a :class:`TaskLimitGate` in the run's context, and the
task runner asks it only for tasks that have tags. A run in a kernel without
a backend has no gate and is never limited, so ``flow.run()`` stays as fast
and as offline as before.

The gate keeps the set of limited tags and reads it again at most every
:data:`REFRESH_S` seconds, so a task whose tags are not limited costs a set
intersection, not a query. It crosses to process and dask workers as the
backend's URL, the run id and its copy of the limited tags with the time it
was read (wall clock, the same on the worker's machine to within a second or
so), so a worker reads them again only once the copy is stale.
"""

from __future__ import annotations

import time

#: Seconds a run trusts its copy of the limited tags.
REFRESH_S = 10.0
#: Seconds between attempts to take a slot, and between writes of the waiting message.
POLL_S = 0.25


class TaskLimitGate:
    """Takes and releases concurrency slots for the task runs of one backed flow run."""

    __slots__ = ("backend", "flow_run_id", "_limits", "_read_at")

    def __init__(self, backend, flow_run_id: str, limits: dict | None = None, read_at: float = float("-inf")):
        self.backend = backend
        self.flow_run_id = flow_run_id
        self._limits: dict[str, int] = limits or {}
        self._read_at = read_at

    def __getstate__(self):
        return (self.backend, self.flow_run_id, self._limits, self._read_at)

    def __setstate__(self, state) -> None:
        self.__init__(*state)

    def limited(self, tags) -> list[str]:
        """The tags among ``tags`` that have a limit (the copy read at most REFRESH_S ago)."""
        now = time.time()
        if now - self._read_at > REFRESH_S:
            self._limits = self.backend.limited_tags()
            self._read_at = now
        return [tag for tag in tags if tag in self._limits] if self._limits else []

    def acquire(self, tags: list[str], task_slug: str, task_name: str, map_index: int | None) -> None:
        """Wait until this task run holds a slot of every tag in ``tags``; its state says why it waits."""
        said = None
        while True:
            blocking = self.backend.acquire_task_slots(self.flow_run_id, tags, task_slug, map_index)
            if blocking is None:
                return
            message = (f"waiting for concurrency limit {blocking['tag']!r}: {blocking['in_use']} of "
                       f"{blocking['limit']} slot(s) in use")
            if message != said:
                self.backend.write_task_runs(self.flow_run_id, [{
                    "task_slug": task_slug, "task_name": task_name, "map_index": map_index,
                    "state": "Pending", "message": message}])
                said = message
            time.sleep(POLL_S)

    def release(self, task_slug: str, map_index: int | None) -> None:
        self.backend.release_task_slots(self.flow_run_id, task_slug, map_index)
