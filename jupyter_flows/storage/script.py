"""``Script`` storage: the flow is built by a Python file, run again wherever the flow runs.

Also home of the two helpers every file- or module-based storage needs:
running a script without it registering itself again, and picking the flow
out of what it defined.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Iterable

from ..engine.context import context
from ..exceptions import StorageError
from .base import Storage, register_storage


def run_flow_script(path: str | os.PathLike, run_name: str = "__jupyter_flows_script__") -> dict:
    """Run the file at ``path`` to build its flows; return its module namespace.

    The file runs with ``__name__`` set to ``run_name`` (so an ``if __name__
    == "__main__":`` block is skipped) and with ``loading_flow`` set in the
    context, which makes a ``flow.register(...)`` line in it do nothing. A
    script that raises, or calls ``sys.exit()``, is a :class:`StorageError`
    naming it: loading a flow never ends the process that loads it.
    """
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"flow script {str(path)!r} does not exist (or is not a file)")
    try:
        with context(loading_flow=True):
            return runpy.run_path(str(path), run_name=run_name)
    except SystemExit as exc:
        raise StorageError(f"flow script {str(path)!r} called sys.exit({exc.code!r}) while building its flows; "
                           "a flow script must define flows at module level and not exit") from None
    except Exception as exc:
        raise StorageError(f"flow script {str(path)!r} failed while building its flow: "
                           f"{type(exc).__name__}: {exc}") from exc


def load_flow_script(path: str | os.PathLike, flow_name: str | None = None):
    """Run the file at ``path`` and return the flow it builds (named ``flow_name``, or its only flow)."""
    return find_flow(run_flow_script(path), flow_name, f"script {str(Path(path))!r}")


def flows_by_name(namespace: dict, where: str) -> dict:
    """The flows bound to names in ``namespace``, by flow name (a flow bound to two names counts once).

    Two different flows with one name would become two versions of one flow
    on registration, each replacing the other: that is a :class:`StorageError`.
    """
    from ..core.flow import Flow

    found: dict[str, Flow] = {}
    for value in namespace.values():
        if not isinstance(value, Flow) or found.get(value.name) is value:
            continue
        if value.name in found:
            raise StorageError(f"{where} defines two different flows named {value.name!r}; two flows share "
                               "that name, so give each flow its own name")
        found[value.name] = value
    return found


def find_flow(namespace: dict, flow_name: str | None, where: str):
    """The flow named ``flow_name`` among the values of ``namespace`` (or the only flow there)."""
    found = flows_by_name(namespace, where)
    if flow_name is not None and flow_name in found:
        return found[flow_name]
    if flow_name is None and len(found) == 1:
        return next(iter(found.values()))
    shown = ", ".join(repr(n) for n in sorted(found)) or "none"
    wanted = f"a flow named {flow_name!r}" if flow_name is not None else "exactly one flow"
    raise StorageError(f"{where} does not define {wanted}; flows it defines: {shown}")


@register_storage
class Script(Storage):
    """The flow is whatever the Python file at ``path`` builds.

    Nothing is pickled: every run executes the file again, so it must be
    readable where the flow runs (and its imports importable there).

    >>> flow.storage = Script("flows/hello.py")
    """

    def __init__(self, path: str | os.PathLike, labels: Iterable[str] | None = None,
                 add_default_labels: bool = True, flows: dict | None = None):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
            raise StorageError(f"Script storage needs the path of a .py file, got {path!r}")
        self.path = os.path.abspath(os.fspath(path))
        self.flows: dict[str, str] = dict(flows or {})

    def add_flow(self, flow) -> str:
        if not os.path.isfile(self.path):
            raise StorageError(f"flow script {self.path!r} does not exist; Script storage runs it to load "
                               f"flow {flow.name!r}")
        self.flows[flow.name] = self.path
        return self.path

    def get_flow(self, location: str | None = None):
        location = location or self.path
        return load_flow_script(location, flow_name_at(self.flows, location))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "path": self.path, "flows": dict(self.flows)}


def flow_name_at(flows: dict, location: str) -> str | None:
    """The name of the flow a storage keeps at ``location``, if exactly one is kept there."""
    names = [name for name, where in flows.items() if where == location]
    return names[0] if len(names) == 1 else None
