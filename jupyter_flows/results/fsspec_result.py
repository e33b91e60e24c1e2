"""``FSSpecResult``: results on any file system fsspec can reach by URL.

Object stores (``s3://``, ``gs://``, ``az://`` with their fsspec packages),
SFTP, FTP, WebDAV, HTTP, or ``file://`` on another mount: one class, the URL
picks the file system.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ResultError
from .base import Result
from .packs import is_packed


class FSSpecResult(Result):
    """Results under ``url`` (``"s3://bucket/results"``, ``"file:///mnt/shared/results"``).

    ``storage_options`` go to the file system (credentials, endpoints), as in
    ``fsspec.open``. Keep secrets out of them when the flow is registered: most
    file systems also read their credentials from the environment.

    >>> FSSpecResult("s3://my-bucket/results", location="{flow_name}/{task_name}.pkl")  # doctest: +SKIP
    """

    def __init__(self, url: str, location: str | None = None, serializer=None, **storage_options: Any):
        super().__init__(location=location, serializer=serializer)
        if not isinstance(url, str) or not url.strip():
            raise ResultError(f"FSSpecResult needs a URL such as 's3://bucket/results' or "
                              f"'file:///mnt/results', got {url!r}")
        import fsspec  # here: importing it costs every process that only imports jupyter_flows

        try:
            self._fs, self._root = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as exc:
            raise ResultError(f"cannot open result URL {url!r}: {exc}") from None
        self.url = url
        self.storage_options = storage_options

    def _path(self, location: str) -> str:
        return f"{self._root.rstrip('/')}/{location}"

    def write_bytes(self, location: str, data: bytes) -> None:
        path = self._path(location)
        try:
            self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            self._fs.pipe_file(path, data)
        except OSError as exc:
            raise ResultError(f"cannot write the result to {self.describe(location)}: {exc}") from None

    def read_bytes(self, location: str) -> bytes:
        return self._fs.cat_file(self._path(location))

    def exists(self, location: str) -> bool:
        if is_packed(location):
            return not isinstance(self.read_many([location])[0], ResultError)
        return self._fs.isfile(self._path(location))

    def describe(self, location: str) -> str:
        return f"{self.url.rstrip('/')}/{location}"

    def __getstate__(self) -> dict:
        # the file system object is rebuilt from the URL where the result is unpickled
        return {"url": self.url, "location": self.location, "serializer": self.serializer,
                "storage_options": self.storage_options}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["url"], state["location"], state["serializer"], **state["storage_options"])

    def to_dict(self) -> dict[str, Any]:
        return {"type": "FSSpecResult", "url": self.url, "location": self.location}
