"""jupyter-flows: a Jupyter-native workflow orchestrator.

Write tasks and flows in notebook cells, configure where and how they run,
run them here or register them for an agent, and watch them live.
"""

from . import executors
from .core import Flow, Parameter, Task, flatten, task, unmapped
from .engine import signals, triggers
from .engine.context import context
from .engine.state import State

__version__ = "0.1.0"

__all__ = [
    "Flow", "Parameter", "State", "Task", "context", "executors", "flatten", "signals",
    "task", "triggers", "unmapped",
]
