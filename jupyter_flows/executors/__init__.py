"""How the tasks of a flow run execute: serially, in a local pool, or on a dask cluster."""

from .base import Executor, executor_from_dict
from .dask import DaskExecutor, LocalDaskExecutor
from .local import LocalExecutor

__all__ = ["DaskExecutor", "Executor", "LocalDaskExecutor", "LocalExecutor", "executor_from_dict"]
