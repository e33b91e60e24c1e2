"""``task``, ``tags``, ``as_task`` (defined in :mod:`jupyter_flows.core.task`)."""

from ..core.task import as_task, tags, task

__all__ = ["as_task", "tags", "task"]
