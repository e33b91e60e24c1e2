"""Secrets: passwords and tokens that flows use but notebooks, logs and registered flows never hold.

``jupyter_flows.secrets.get("NAME")`` looks in three places, first found wins:

1. the environment variable ``JUPYTER_FLOWS__SECRETS__NAME`` (as Prefect 1 read
   ``PREFECT__CONTEXT__SECRETS__NAME``), for a run config's or an agent's env;
2. the secrets file ``$JUPYTER_FLOWS_HOME/secrets.json`` (a JSON object of
   names to strings), refused unless only its owner may read it (mode 0600);
3. the backend, where ``jupyter-flows secret set NAME`` stores it encrypted
   (Fernet) with a key that is never in the database: ``JUPYTER_FLOWS_SECRETS_KEY``
   or the file ``$JUPYTER_FLOWS_HOME/secrets.key`` (0600, made on first use).

A value fetched is remembered by :mod:`jupyter_flows.redaction`, so the run's
logs and recorded states show ``********`` in its place. A secret that is
nowhere raises :class:`~jupyter_flows.exceptions.SecretNotFoundError`, naming
the secret and where it was looked for.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from . import config, redaction
from .exceptions import SecretError, SecretNotFoundError

ENV_PREFIX = "JUPYTER_FLOWS__SECRETS__"
KEY_ENV = "JUPYTER_FLOWS_SECRETS_KEY"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")

__all__ = ["get", "set_secret", "delete_secret", "list_secrets", "check_name"]


def check_name(name) -> str:
    """``name`` if it can name a secret (letters, digits, ``_.-``, at most 200, not starting with a digit)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SecretError(f"{name!r} is not a secret name; use letters, digits, '_', '.' or '-' "
                          "(at most 200, starting with a letter or '_'), such as SLACK_WEBHOOK_URL")
    return name


def secrets_file() -> Path:
    return config.home() / "secrets.json"


def key_file() -> Path:
    return config.home() / "secrets.key"


def get(name: str, backend=None) -> str:
    """The value of secret ``name``, from the environment, the secrets file or the backend.

    >>> from jupyter_flows import secrets
    >>> password = secrets.get("DB_PASSWORD")
    """
    check_name(name)
    value = os.environ.get(ENV_PREFIX + name)
    if value is None:
        value = _read_file().get(name)
    if value is None:
        value = _read_backend(name, backend)
    if value is None:
        raise SecretNotFoundError(name, f"secret {name!r} is not set: set the environment variable "
                                        f"{ENV_PREFIX}{name}, add it to {secrets_file()} or run "
                                        f"'jupyter-flows secret set {name}'")
    redaction.remember_secret(value)
    return value


def _read_file() -> dict:
    path = secrets_file()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"secrets file {path} may be read by others (mode {stat.filemode(mode)}); "
                          f"make it owner-only: chmod 600 {path}")
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SecretError(f"cannot read secrets file {path}: {exc}; it must be a JSON object "
                          'of names to strings, such as {"DB_PASSWORD": "..."}') from None
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise SecretError(f"secrets file {path} must be a JSON object of names to strings, "
                          'such as {"DB_PASSWORD": "..."}')
    return values


def _backend(backend):
    """The backend to read secrets from: the given one, or the configured one if it exists yet."""
    if backend is not None:
        return backend
    from .backend import Backend

    if os.environ.get("JUPYTER_FLOWS_BACKEND_URL") or (config.home() / "backend.db").exists():
        return Backend()
    return None  # no backend was ever made here: do not create one to look up a secret


def _read_backend(name: str, backend) -> str | None:
    backend = _backend(backend)
    token = backend.get_secret_token(name) if backend is not None else None
    if token is None:
        return None
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(create=False).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretError(f"secret {name!r} in the backend was encrypted with another key than "
                          f"{_key_source()}; set {KEY_ENV} to the key it was set with, "
                          "or set the secret again") from None


def _key_source() -> str:
    return KEY_ENV if os.environ.get(KEY_ENV) else str(key_file())


def _fernet(create: bool):
    """The Fernet of the secrets key; ``create`` makes the key file (0600) when there is no key yet."""
    from cryptography.fernet import Fernet

    key = os.environ.get(KEY_ENV)
    path = key_file()
    if key is None:
        if not path.exists():
            if not create:
                raise SecretError(f"no secrets key: set {KEY_ENV} or put the key in {path} "
                                  "(the one 'jupyter-flows secret set' made)")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
        key = path.read_text().strip()
    try:
        return Fernet(key.encode())
    except ValueError:
        raise SecretError(f"the secrets key in {_key_source()} is not a Fernet key "
                          "(32 url-safe base64-encoded bytes)") from None


def set_secret(name: str, value: str, backend=None) -> None:
    """Store secret ``name`` in the backend, encrypted with the secrets key (made if there is none)."""
    from .backend import Backend

    check_name(name)
    if not isinstance(value, str) or not value:
        raise SecretError(f"the value of secret {name!r} must be a non-empty string")
    token = _fernet(create=True).encrypt(value.encode()).decode()
    (backend or Backend()).set_secret_token(name, token)


def delete_secret(name: str, backend=None) -> bool:
    """Remove secret ``name`` from the backend; returns whether it was there."""
    from .backend import Backend

    return (backend or Backend()).delete_secret(check_name(name))


def list_secrets(backend=None) -> list[dict]:
    """``[{"name", "updated"}]`` of the secrets in the backend: names only, never values."""
    from .backend import Backend

    return (backend or Backend()).list_secrets()
