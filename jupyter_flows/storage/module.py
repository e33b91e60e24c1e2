"""``Module`` storage: the flow is an attribute of an importable Python module."""

from __future__ import annotations

import importlib
import re
from typing import Iterable

from ..exceptions import StorageError
from .base import Storage, register_storage
from .script import find_flow, flow_name_at

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@register_storage
class Module(Storage):
    """Load the flow by importing ``module`` (e.g. ``"mypackage.flows"``) where the flow runs.

    The flow is the module attribute whose flow name matches, or the only
    flow in the module. Nothing is written at registration; the module must
    be importable by the agent's flow runs (installed, or on ``PYTHONPATH``).

    >>> flow.storage = Module("mypackage.flows")
    """

    def __init__(self, module: str, labels: Iterable[str] | None = None, add_default_labels: bool = True,
                 flows: dict | None = None):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        if not isinstance(module, str) or not _MODULE_NAME.match(module):
            raise StorageError(f"Module storage needs a dotted module name like 'mypackage.flows', got {module!r}")
        self.module = module
        self.flows: dict[str, str] = dict(flows or {})

    def add_flow(self, flow) -> str:
        # The module is not imported here: it is often the very module registering the flow.
        self.flows[flow.name] = self.module
        return self.module

    def get_flow(self, location: str | None = None):
        location = location or self.module
        try:
            module = importlib.import_module(location)
        except Exception as exc:
            raise StorageError(
                f"cannot import module {location!r} holding the flow ({type(exc).__name__}: {exc}); "
                "it must be installed or on PYTHONPATH where the flow runs"
            ) from exc
        return find_flow(vars(module), flow_name_at(self.flows, location), f"module {location!r}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "module": self.module, "flows": dict(self.flows)}
