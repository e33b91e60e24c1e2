"""``Constant``: a literal value as a task (see :mod:`jupyter_flows.core.task`)."""

from ...core.task import Constant

__all__ = ["Constant"]
