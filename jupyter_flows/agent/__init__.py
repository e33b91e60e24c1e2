"""Agents connect the backend to the engine: they claim flow runs and run them.

:class:`LocalAgent` runs each claimed flow run as a process on this machine;
:func:`execute_flow_run` runs one flow run in the current process. Both are
imported on first use, so that ``python -m jupyter_flows.agent.execute`` runs
its module once.
"""

__all__ = ["LocalAgent", "execute_flow_run"]


def __getattr__(name: str):
    if name == "LocalAgent":
        from .local import LocalAgent

        return LocalAgent
    if name == "execute_flow_run":
        from .execute import execute_flow_run

        return execute_flow_run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
