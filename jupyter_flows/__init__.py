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


def load_ipython_extension(ipython) -> None:
    """``%load_ext jupyter_flows``: the ``%flow`` and ``%%flow`` magics."""
    from .jupyter.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jupyter_flows.jupyter.server"}]


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": "labextension", "dest": "jupyter-flows"}]

__all__ = [
    "Flow", "Parameter", "State", "Task", "context", "executors", "flatten", "signals",
    "task", "triggers", "unmapped",
]
