"""Describes a flow: tasks, the edges between them, parameters and the flow itself."""

from .edges import Edge, flatten, unmapped
from .flow import Flow
from .parameter import Parameter
from .task import Task, task

__all__ = ["Edge", "Flow", "Parameter", "Task", "flatten", "task", "unmapped"]
