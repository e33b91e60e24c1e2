"""Agents connect the backend to the engine: they claim flow runs and run them.

:class:`LocalAgent` runs each claimed flow run as a process on this machine;
:func:`execute_flow_run` runs one flow run in the current process.
"""

from .execute import execute_flow_run
from .local import LocalAgent

__all__ = ["LocalAgent", "execute_flow_run"]
