"""``LocalResult``: results as files in a directory of this machine (or a shared file system mounted here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import config
from ..exceptions import ResultError
from .base import Result
from .packs import is_packed


class LocalResult(Result):
    """Files under ``dir`` (default ``$JUPYTER_FLOWS_HOME/results``, or ``JUPYTER_FLOWS_RESULTS_DIR``).

    >>> @task(checkpoint=True, result=LocalResult("/data/results", location="{task_name}/{map_index}.pkl"))
    ... def fetch(i): ...

    A file is written in place; a reader that meets a half-written one (its
    writer crashed) finds it corrupt, and a restart or a target then runs the
    task again. The children of a mapped task without a ``location`` of their
    own share pack files (see :mod:`jupyter_flows.results.packs`).
    """

    def __init__(self, dir: str | os.PathLike | None = None, location: str | None = None, serializer=None):
        super().__init__(location=location, serializer=serializer)
        self._dir = None if dir is None else os.path.expanduser(os.fspath(dir))
        self._made: set[str] = set()  # directories this process already created: no mkdir per result
        self._root: str | None = None  # the default dir, resolved at first use

    @property
    def dir(self) -> Path:
        """The root directory; the default follows ``JUPYTER_FLOWS_HOME`` as it is when first used."""
        return Path(self._dir or self._root or config.results_dir())

    def path(self, location: str) -> str:
        root = self._dir or self._root
        if root is None:  # read the environment once, not per result (os.environ is slow to ask)
            root = self._root = str(config.results_dir())
        return f"{root}/{location}"

    def write_bytes(self, location: str, data: bytes) -> None:
        path = self.path(location)
        try:
            self._make_parent(path)
            with open(path, "wb") as file:
                file.write(data)
        except OSError as exc:
            raise self._unwritable(path, exc) from None

    def write_pack(self, location: str, data: bytes) -> None:
        """A pack appears whole or not at all: written under a temporary name, then renamed."""
        path = self.path(location)
        temporary = f"{path}.tmp"
        try:
            self._make_parent(path)
            with open(temporary, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except OSError as exc:
            raise self._unwritable(path, exc) from None

    def check_writable(self, directory: str) -> bool:
        path = self.path(directory)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise self._unwritable(path, exc) from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise self._unwritable(path, PermissionError(13, "Permission denied"))
        self._made.add(path)
        return True

    def _make_parent(self, path: str) -> None:
        parent = path.rsplit("/", 1)[0]
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    @staticmethod
    def _unwritable(path: str, exc: OSError) -> ResultError:
        return ResultError(f"cannot write the result to {path}: {exc.strerror or exc}; make the result "
                           "directory writable or give the result another dir")

    def read_bytes(self, location: str) -> bytes:
        with open(self.path(location), "rb") as file:
            return file.read()

    def exists(self, location: str) -> bool:
        if is_packed(location):
            return not isinstance(self.read_many([location])[0], ResultError)
        return os.path.isfile(self.path(location))

    def describe(self, location: str) -> str:
        return self.path(location)

    def __getstate__(self) -> dict:
        # another process has created nothing yet, and resolves the default dir in its own environment
        return {**self.__dict__, "_made": set(), "_root": None}

    def to_dict(self) -> dict[str, Any]:
        return {"type": "LocalResult", "dir": self._dir, "location": self.location}

