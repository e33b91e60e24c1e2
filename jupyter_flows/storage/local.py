"""``Local`` storage, the default: the flow is cloudpickled to a file on this machine.

Files go to ``<directory>/<slug of the flow name>/<content hash>.flow``
(``directory`` defaults to ``config.flows_dir()``). The name is slugified so
that no flow name can point a path outside the directory, and the hash makes
re-registering an unchanged flow rewrite the same file. Since the file exists
only here, the storage carries this host's name as a label and only an agent
on this host (with that label) runs the flow.
"""

from __future__ import annotations

import inspect
import os
import re
import socket
from pathlib import Path
from typing import Iterable

import cloudpickle

from .. import config
from ..exceptions import NotPicklableError, StorageError
from .base import Storage, register_storage, write_atomically
from .script import flow_name_at, load_flow_script


@register_storage
class Local(Storage):
    """Keep the flow as a file on this machine (pickled, or as the script that builds it).

    ``directory``: where pickled flows go (default ``config.flows_dir()``).
    ``stored_as_script=True`` with ``path``: no pickling, the ``.py`` file at
    ``path`` is run to build the flow. ``labels`` are added to the flow's;
    the host name is added too unless ``add_default_labels=False``.

    >>> flow.storage = Local()                                          # pickled
    >>> flow.storage = Local(stored_as_script=True, path="hello.py")    # the script
    """

    def __init__(self, directory: str | os.PathLike | None = None, stored_as_script: bool = False,
                 path: str | os.PathLike | None = None, labels: Iterable[str] | None = None,
                 add_default_labels: bool = True, flows: dict | None = None):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        if stored_as_script and not path:
            raise StorageError("Local(stored_as_script=True) needs path=... of the .py file that builds the flow")
        self.directory = os.path.abspath(os.fspath(directory)) if directory is not None else None
        self.stored_as_script = bool(stored_as_script)
        self.path = os.path.abspath(os.fspath(path)) if path is not None else None
        self.flows: dict[str, str] = dict(flows or {})
        if add_default_labels:
            host = socket.gethostname()
            if host not in self.labels:
                self.labels.append(host)

    @classmethod
    def from_dict(cls, data: dict) -> "Local":
        """Rebuild exactly what was stored: the labels already hold the host that wrote the file."""
        options = dict(data)
        add_default_labels = options.pop("add_default_labels", True)
        storage = cls(**options, add_default_labels=False)
        storage.add_default_labels = add_default_labels
        return storage

    def add_flow(self, flow) -> str:
        if self.stored_as_script:
            if not os.path.isfile(self.path):
                raise StorageError(f"flow script {self.path!r} does not exist; Local(stored_as_script=True) "
                                   f"runs it to load flow {flow.name!r}")
            self.flows[flow.name] = self.path
            return self.path
        from ..backend.serialize import flow_hash

        data = pickle_flow(flow)
        directory = Path(self.directory or config.flows_dir())
        target = directory / slugify(flow.name) / f"{flow_hash(flow)}.flow"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, data)
        except OSError as exc:
            raise StorageError(f"cannot write flow {flow.name!r} to {str(target)!r}: {exc}") from exc
        self.flows[flow.name] = str(target)
        return str(target)

    def get_flow(self, location: str | None = None):
        location = self.resolve_location(location)
        if self.stored_as_script:
            return load_flow_script(location, flow_name_at(self.flows, location))
        try:
            data = Path(location).read_bytes()
        except FileNotFoundError:
            name = flow_name_at(self.flows, location)
            raise StorageError(
                f"the stored file of flow {name or '?'!r} is missing: {location!r} was written when the flow "
                "was registered and has since been deleted or moved; register the flow again"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot read stored flow {location!r}: {exc}") from exc
        try:
            return cloudpickle.loads(data)
        except Exception as exc:
            raise StorageError(
                f"stored flow {location!r} cannot be unpickled here ({type(exc).__name__}: {exc}); "
                "modules it needs must be importable and Python/cloudpickle versions the same as at registration"
            ) from exc

    def to_dict(self) -> dict:
        return {**super().to_dict(), "directory": self.directory, "stored_as_script": self.stored_as_script,
                "path": self.path, "flows": dict(self.flows)}


def slugify(name: str) -> str:
    """A safe single path component for ``name``: lower case letters, digits, '-', '_' and '.'."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.")
    return slug[:100] or "flow"


def pickle_flow(flow) -> bytes:
    """cloudpickle the flow, or raise :class:`NotPicklableError` naming what cannot be pickled."""
    try:
        return cloudpickle.dumps(flow)
    except Exception as exc:
        culprit = _find_unpicklable(flow)
        raise NotPicklableError(
            f"flow {flow.name!r} cannot be pickled for Local storage"
            + (f": {culprit}" if culprit else "")
            + f" ({type(exc).__name__}: {exc}). Keep open files, locks, connections and the like out of "
            "tasks (create them inside the task), or use Local(stored_as_script=True, path=...) / Script(...)"
        ) from exc


def _find_unpicklable(flow) -> str | None:
    for task in flow.sorted_tasks():
        if _picklable(task):
            continue
        fn = getattr(task, "run", None)
        if inspect.isfunction(fn):
            refs = inspect.getclosurevars(fn)
            for scope, values in (("global", refs.globals), ("closure variable", refs.nonlocals)):
                for key, value in values.items():
                    if not _picklable(value):
                        return f"task {task.name!r} uses {scope} {key!r} = {_short(value)}"
        for key, value in sorted(vars(task).items()):
            if not key.startswith("__") and not _picklable(value):
                return f"task {task.name!r} holds attribute {key!r} = {_short(value)}"
        return f"task {task.name!r}"
    for task, constants in flow.constants.items():
        for key, value in constants.items():
            if not _picklable(value):
                return f"task {task.name!r} is given argument {key!r} = {_short(value)}"
    for what in ("run_config", "executor"):
        if not _picklable(getattr(flow, what)):
            return f"the flow's {what} {_short(getattr(flow, what))}"
    return None


def _picklable(value) -> bool:
    try:
        cloudpickle.dumps(value)
    except Exception:
        return False
    return True


def _short(value) -> str:
    text = repr(value)
    return f"{text[:60]}... ({type(value).__name__})" if len(text) > 60 else f"{text} ({type(value).__name__})"
