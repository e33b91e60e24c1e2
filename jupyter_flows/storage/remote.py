"""``Remote`` storage: the flow (pickled) or its notebook kept at any fsspec URL, loadable on any host.

``s3://bucket/flows``, ``gcs://...``, ``abfs://...``, ``sftp://...``, a shared
file system (``file:///mnt/shared/flows``) or anything else fsspec opens.
Registering uploads ``<url>/<flow slug>/<content hash>.flow`` (or the notebook
as ``<url>/<flow slug>/<hash>/<file name>``); a run downloads it. No host label
is added: every agent that can reach the URL runs the flow.

Credentials come from secrets, by name (``secret_options={"key": "AWS_KEY"}``
passes the value of secret ``AWS_KEY`` as fsspec's ``key`` option), so the
stored storage holds names, never values.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

import cloudpickle

from .. import config
from ..exceptions import SecretError, StorageError
from ..redaction import mask_secrets
from .base import Storage, register_storage, write_atomically
from .local import pickle_flow, slugify
from .script import flow_name_at


@register_storage
class Remote(Storage):
    """Keep flows at an fsspec URL.

    ``url``: the folder flows go to. ``notebook``: the path of a local notebook
    that is the flow (as :class:`~jupyter_flows.storage.Notebook`), uploaded at
    registration; ``notebook_options`` are that Notebook's options.
    ``storage_options``: fsspec options that are not secret (``endpoint_url``,
    ``anon``...). ``secret_options``: ``{fsspec option: secret name}``.

    >>> flow.storage = Remote("s3://team-flows/prod", secret_options={"key": "AWS_KEY", "secret": "AWS_SECRET"})
    >>> report = Flow("report", storage=Remote("file:///mnt/shared/flows", notebook="report.ipynb"))
    """

    def __init__(self, url: str, notebook: str | os.PathLike | None = None, notebook_options: dict | None = None,
                 storage_options: dict | None = None, secret_options: dict | None = None,
                 labels: Iterable[str] | None = None, add_default_labels: bool = True, flows: dict | None = None):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        if not isinstance(url, str) or not url.strip():
            raise StorageError(f"Remote storage needs the URL of a folder, got {url!r}")
        self.url = url.rstrip("/")
        self.notebook = os.path.abspath(os.fspath(notebook)) if notebook is not None else None
        self.notebook_options = dict(notebook_options or {})
        self.storage_options = dict(storage_options or {})
        self.secret_options = dict(secret_options or {})
        self.flows: dict[str, str] = dict(flows or {})
        self._notebook = None
        _filesystem_class(self.url)  # an unknown scheme or a missing fsspec plugin fails here

    def to_dict(self) -> dict:
        return {**super().to_dict(), "url": self.url, "notebook": self.notebook,
                "notebook_options": dict(self.notebook_options), "storage_options": dict(self.storage_options),
                "secret_options": dict(self.secret_options), "flows": dict(self.flows)}

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    # -- fsspec ---------------------------------------------------------------------------------

    def _options(self) -> dict:
        from .. import secrets

        options = dict(self.storage_options)
        for option, name in self.secret_options.items():
            try:
                options[option] = secrets.get(name)
            except SecretError as exc:
                raise StorageError(f"Remote storage {self.url!r} needs option {option!r}: {exc}") from None
        return options

    def _write(self, location: str, data: bytes) -> None:
        import fsspec

        try:
            with fsspec.open(location, "wb", auto_mkdir=True, **self._options()) as handle:
                handle.write(data)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"cannot upload to {location!r}: {type(exc).__name__}: {mask_secrets(exc)}") from None

    def _read(self, location: str) -> bytes:
        import fsspec

        try:
            with fsspec.open(location, "rb", **self._options()) as handle:
                return handle.read()
        except StorageError:
            raise
        except FileNotFoundError as exc:
            if isinstance(exc.__cause__, OSError) and not isinstance(exc.__cause__, FileNotFoundError):
                # fsspec's HTTP file system reports an unreachable server as a missing file
                cause = exc.__cause__
                raise StorageError(f"cannot download {location!r}: {type(cause).__name__}: "
                                   f"{mask_secrets(cause)}") from None
            raise StorageError(f"the stored flow {location!r} is missing: it was uploaded when the flow was "
                               "registered and has since been deleted or moved; register the flow again") from None
        except Exception as exc:
            raise StorageError(f"cannot download {location!r}: {type(exc).__name__}: {mask_secrets(exc)}") from None

    # -- a notebook flow ------------------------------------------------------------------------

    def attach(self, flow) -> None:
        """With ``notebook``: fill the flow in from that local notebook, as Notebook storage does."""
        if self.notebook is None:
            return
        from .notebook import Notebook

        self._notebook = Notebook(self.notebook, add_default_labels=False, **self.notebook_options)
        self._notebook.attach(flow)

    def output_path(self, flow_run_id: str) -> str | None:
        if self.notebook is None:
            return None
        from .notebook import Notebook

        return Notebook.from_dict({"path": self.notebook, **self.notebook_options}).output_path(flow_run_id)

    # -- registering and loading ----------------------------------------------------------------

    def add_flow(self, flow) -> str:
        if self.notebook is not None:
            if self._notebook is None:
                raise StorageError(f"Remote storage of notebook {self.notebook!r} was not given to a Flow; "
                                   f"write Flow(name, storage=Remote(url, notebook=...))")
            digest = self._notebook.notebook_hash[:24]
            location = f"{self.url}/{slugify(flow.name)}/{digest}/{os.path.basename(self.notebook)}"
            data = Path(self.notebook).read_bytes()
        else:
            from ..backend.serialize import flow_hash

            data = pickle_flow(flow)
            location = f"{self.url}/{slugify(flow.name)}/{flow_hash(flow)}.flow"
        self._write(location, data)
        self.flows[flow.name] = location
        return location

    def get_flow(self, location: str | None = None):
        location = self.resolve_location(location)
        data = self._read(location)
        if self.notebook is None:
            try:
                return cloudpickle.loads(data)
            except Exception as exc:
                raise StorageError(f"stored flow {location!r} cannot be unpickled here ({type(exc).__name__}: "
                                   f"{exc}); modules it needs must be importable and Python/cloudpickle versions "
                                   "the same as at registration") from exc
        return self._notebook_flow(location, data)

    def _notebook_flow(self, location: str, data: bytes):
        """The notebook downloaded to this host's cache (by content), and the flow built from it."""
        from ..core.flow import Flow
        from .notebook import Notebook

        local = (config.home() / "remote-cache" / hashlib.sha256(data).hexdigest()[:24]
                 / os.path.basename(self.notebook))
        if not local.is_file():
            local.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(local, data)
        name = flow_name_at(self.flows, location) or Path(self.notebook).stem
        return Flow(name, storage=Notebook(local, add_default_labels=False, **self.notebook_options))


def _filesystem_class(url: str):
    """fsspec's file system class for ``url``'s scheme, or a :class:`StorageError` saying what is missing."""
    import fsspec
    from fsspec.core import split_protocol

    protocol = split_protocol(url)[0] or "file"
    try:
        return fsspec.get_filesystem_class(protocol)
    except ValueError:
        known = sorted(fsspec.available_protocols())
        raise StorageError(f"fsspec does not know the URL scheme {protocol!r} of {url!r}; known schemes: "
                           f"{', '.join(known)}") from None
    except ImportError as exc:
        raise StorageError(f"URL scheme {protocol!r} of {url!r} needs a package that is not installed here: "
                           f"{exc}") from None
