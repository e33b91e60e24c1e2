"""``List``, ``Tuple``, ``Set``, ``Dict``: collections of task results (see :mod:`jupyter_flows.core.collections`)."""

from ...core.collections import Dict, List, Set, Tuple, VarArgsTask

__all__ = ["Dict", "List", "Set", "Tuple", "VarArgsTask"]
