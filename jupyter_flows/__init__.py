"""jupyter-flows: a Jupyter-native workflow orchestrator.

Write tasks and flows in notebook cells, configure where and how they run,
run them here or register them for an agent, and watch them live.
"""

import sys

from . import executors
from .core import Flow, Parameter, Task, flatten, mapped, tags, task, unmapped
from .engine import logging as _logging  # noqa: F401  (configures the console handler)
from .engine import signals, triggers
from .engine.context import context
from .engine.state import State

# `import jupyter_flows.triggers` / `.signals`, as Prefect 1 users write it: the same module objects
# as the engine's, so there is one set of triggers and signal classes.
sys.modules[f"{__name__}.triggers"] = triggers
sys.modules[f"{__name__}.signals"] = signals

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext jupyter_flows``: the ``%flow`` and ``%%flow`` magics."""
    from .jupyter.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict]:
    from .jupyter.server.app import JupyterFlows  # imports jupyter_server: only when it asks

    return [{"module": "jupyter_flows.jupyter.server", "app": JupyterFlows}]


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": "labextension", "dest": "jupyter-flows"}]


_LAZY_SUBMODULES = ("backend", "run_configs", "storage")


def __getattr__(name: str):
    """``jupyter_flows.storage``, ``.run_configs`` and ``.backend`` without importing them up front.

    The backend pulls in SQLAlchemy and storage the notebook machinery; a task
    worker that only runs tasks never needs either.
    """
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Flow", "Parameter", "State", "Task", "backend", "context", "executors", "flatten", "mapped",
    "run_configs", "signals", "storage", "tags", "task", "triggers", "unmapped",
]
