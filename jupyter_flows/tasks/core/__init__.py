"""The building-block tasks, where Prefect 1 users look for them (``prefect.tasks.core``).

They are defined in :mod:`jupyter_flows.core`; these modules only name them.
"""

from .collections import Dict, List, Set, Tuple
from .constants import Constant
from .function import FunctionTask

__all__ = ["Constant", "Dict", "FunctionTask", "List", "Set", "Tuple"]
