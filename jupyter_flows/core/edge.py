"""``from jupyter_flows.core.edge import Edge``, where Prefect 1 users look for it."""

from .edges import Edge

__all__ = ["Edge"]
