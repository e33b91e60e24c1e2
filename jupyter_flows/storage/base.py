"""The storage interface: where a registered flow is kept and how it is loaded back."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable


class Storage:
    """Keeps flows for the backend.

    ``add_flow(flow)`` stores a flow at registration and returns its location
    (a string); ``get_flow(location)`` loads it back in the flow run's process.
    ``to_dict()`` is the JSON the backend keeps, enough for
    :func:`storage_from_dict` to rebuild the storage in another process.
    ``labels`` are added to the labels of the flow's runs (``Local`` adds the
    host name, since a file on this machine can only be read here).
    """

    def __init__(self, labels: Iterable[str] | None = None, add_default_labels: bool = True):
        self.labels = list(labels or ())
        self.add_default_labels = add_default_labels

    def add_flow(self, flow) -> str:
        raise NotImplementedError

    def get_flow(self, location: str):
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, "labels": list(self.labels),
                "add_default_labels": self.add_default_labels}

    def resolve_location(self, location: str | None) -> str:
        """``location``, or when it is None the location of the one flow this storage holds."""
        if location is not None:
            return location
        flows = getattr(self, "flows", {})
        if len(flows) != 1:
            from ..exceptions import StorageError

            raise StorageError(f"{self!r} holds {len(flows)} flows; say which with get_flow(location)")
        return next(iter(flows.values()))

    def output_path(self, flow_run_id: str) -> str | None:
        """Where a run keeps its output document (notebook storage), if anywhere."""
        return None

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type" and v)
        return f"{type(self).__name__}({options})"


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside ``target`` and rename: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_KINDS: dict[str, type[Storage]] = {}


def register_storage(cls: type[Storage]) -> type[Storage]:
    """Class decorator: make a storage class rebuildable by :func:`storage_from_dict`."""
    _KINDS[cls.__name__] = cls
    return cls


def storage_from_dict(data: dict) -> Storage:
    from .. import storage as _load_all  # noqa: F401  (registers every built-in kind)
    from ..exceptions import StorageError

    options = dict(data)
    kind = options.pop("type", None)
    if kind not in _KINDS:
        raise StorageError(f"unknown storage type {kind!r}; known: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind].from_dict(options) if hasattr(_KINDS[kind], "from_dict") else _KINDS[kind](**options)
