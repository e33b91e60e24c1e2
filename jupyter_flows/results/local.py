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

    Files are written to a temporary name and renamed, so a reader never sees half a result.
    """

    def __init__(self, dir: str | os.PathLike | None = None, location: str | None = None, serializer=None):
        super().__init__(location=location, serializer=serializer)
        self._dir = None if dir is None else Path(dir).expanduser()

    @property
    def dir(self) -> Path:
        """The root directory (resolved when used, so that the default follows ``JUPYTER_FLOWS_HOME``)."""
        return self._dir if self._dir is not None else config.results_dir()

    def path(self, location: str) -> Path:
        return self.dir / location

    def write_bytes(self, location: str, data: bytes) -> None:
        path = self.path(location)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except OSError as exc:
            raise ResultError(f"cannot write the result to {path}: {exc.strerror or exc}; make the result "
                              "directory writable or give the result another dir") from None

    def read_bytes(self, location: str) -> bytes:
        with open(self.path(location), "rb") as file:
            return file.read()

    def exists(self, location: str) -> bool:
        return self.path(location).is_file()

    def describe(self, location: str) -> str:
        return str(self.path(location))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "LocalResult", "dir": None if self._dir is None else str(self._dir),
                "location": self.location}
