"""The database's clock, as one SQL expression: seconds since the epoch, like every timestamp column.

Heartbeats and the stale-run sweep compare times written by different
processes, possibly on different hosts. Each side reading its own clock lets
a skewed or slow host fail runs that are alive, so every liveness time is
written and compared with the database server's clock (``clock_timestamp()``
on PostgreSQL, which moves within a transaction; ``julianday('now')`` on
SQLite, whose clock is the host's).
"""

from __future__ import annotations

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class db_now(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """``now`` by the database's clock, in seconds since the epoch (a float)."""

    type = Float()
    name = "db_now"
    inherit_cache = True


@compiles(db_now)
def _sqlite_now(element, compiler, **kw) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(db_now, "postgresql")
def _postgresql_now(element, compiler, **kw) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"
