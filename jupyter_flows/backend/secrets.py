"""Secrets in the backend: names and encrypted values (Fernet tokens), never a key or a plain value.

Functions over a connection, called by :class:`Backend` inside its
transactions. Encryption and decryption happen in :mod:`jupyter_flows.secrets`,
with a key kept outside the database, so a copy of the database alone reveals
no secret.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from .schema import secrets


def set_token(conn: Connection, name: str, token: str) -> None:
    """Store ``token`` as the value of secret ``name`` (replacing the old one)."""
    now = time.time()
    if conn.execute(update(secrets).where(secrets.c.name == name).values(value=token, updated=now)).rowcount == 0:
        conn.execute(insert(secrets).values(name=name, value=token, updated=now))


def get_token(conn: Connection, name: str) -> str | None:
    return conn.execute(select(secrets.c.value).where(secrets.c.name == name)).scalar()


def delete_secret(conn: Connection, name: str) -> bool:
    return conn.execute(delete(secrets).where(secrets.c.name == name)).rowcount > 0


def list_secrets(conn: Connection) -> list[dict]:
    """``[{"name", "updated"}]`` by name: what a user may be shown."""
    rows = conn.execute(select(secrets.c.name, secrets.c.updated).order_by(secrets.c.name)).mappings()
    return [dict(row) for row in rows]
