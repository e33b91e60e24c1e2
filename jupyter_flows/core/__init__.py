"""Describes a flow: tasks, the edges between them, parameters and the flow itself."""

from .edges import Edge, flatten, mapped, unmapped
from .flow import Flow
from .parameter import DateTimeParameter, Parameter
from .task import Task, as_task, tags, task

__all__ = [
    "DateTimeParameter", "Edge", "Flow", "Parameter", "Task", "as_task", "flatten", "mapped", "tags", "task",
    "unmapped",
]
