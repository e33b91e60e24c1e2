"""``FunctionTask``: what ``@task`` makes of a function (see :mod:`jupyter_flows.core.task`)."""

from ...core.task import FunctionTask

__all__ = ["FunctionTask"]
