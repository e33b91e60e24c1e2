"""``LocalResult``: results as files in a directory of this machine (or a shared file system mounted here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import config
from ..exceptions import ResultError
from .base import Result


class LocalResult(Result):
    """Files under ``dir`` (default ``$JUPYTER_FLOWS_HOME/results``, or ``JUPYTER_FLOWS_RESULTS_DIR``).

    >>> @task(checkpoint=True, result=LocalResult("/data/results", location="{task_name}/{map_index}.pkl"))
    ... def fetch(i): ...

    A file is written in place (one ``open`` per result: a 10,000-child map
    writes 10,000 files). A reader that meets a half-written file (its writer
    crashed) finds it corrupt, and a restart or a target then runs the task again.
    """

    def __init__(self, dir: str | os.PathLike | None = None, location: str | None = None, serializer=None):
        super().__init__(location=location, serializer=serializer)
        self._dir = None if dir is None else os.path.expanduser(os.fspath(dir))
        self._made: set[str] = set()  # directories this process already created: no mkdir per result

    @property
    def dir(self) -> Path:
        """The root directory (resolved when used, so that the default follows ``JUPYTER_FLOWS_HOME``)."""
        return Path(self._dir) if self._dir is not None else config.results_dir()

    def path(self, location: str) -> str:
        return f"{self._dir if self._dir is not None else _default_dir()}/{location}"

    def write_bytes(self, location: str, data: bytes) -> None:
        path = self.path(location)
        try:
            parent = path.rsplit("/", 1)[0]
            if parent not in self._made:
                os.makedirs(parent, exist_ok=True)
                self._made.add(parent)
            with open(path, "wb") as file:
                file.write(data)
        except OSError as exc:
            raise ResultError(f"cannot write the result to {path}: {exc.strerror or exc}; make the result "
                              "directory writable or give the result another dir") from None

    def read_bytes(self, location: str) -> bytes:
        with open(self.path(location), "rb") as file:
            return file.read()

    def exists(self, location: str) -> bool:
        return os.path.isfile(self.path(location))

    def describe(self, location: str) -> str:
        return self.path(location)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_made": set()}  # another process has created nothing yet

    def to_dict(self) -> dict[str, Any]:
        return {"type": "LocalResult", "dir": self._dir, "location": self.location}


_default_dirs: dict[tuple, str] = {}


def _default_dir() -> str:
    """``config.results_dir()`` as text, remembered per value of the variables it reads (no Path per result)."""
    key = (os.environ.get("JUPYTER_FLOWS_RESULTS_DIR"), os.environ.get("JUPYTER_FLOWS_HOME"))
    root = _default_dirs.get(key)
    if root is None:
        root = _default_dirs[key] = str(config.results_dir())
    return root
