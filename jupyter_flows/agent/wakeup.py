"""Waking an idle agent as soon as a run it may claim is created, instead of at its next poll.

Run creation announces itself (``backend/runs.py``, :func:`announce_runnable`):
on PostgreSQL with ``NOTIFY``, which a listening connection here receives; on
SQLite by setting the time of a wake-up file beside the database, which a
thread here checks with one ``stat`` every :data:`SQLITE_CHECK_S` seconds (a
system call, no database access: an idle agent stays near 0% CPU). The
agent still polls at its interval, for what is not announced (runs whose
scheduled time came, agents that went away); a wake-up only makes the next
poll come early.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy.engine import make_url

from ..backend.runs import RUNS_CHANNEL, wakeup_file

log = logging.getLogger("jupyter_flows.agent")

#: Seconds between two checks of the SQLite wake-up file.
SQLITE_CHECK_S = 0.025
#: Seconds a PostgreSQL listener waits for a notification before checking whether it should stop.
_LISTEN_SLICE_S = 0.5
#: Seconds before a lost PostgreSQL listening connection is opened again.
_RECONNECT_S = 2.0


class Wakeup:
    """What an agent waits on between polls: the poll interval, or less when a run was announced.

    >>> wakeup = Wakeup(backend.url).start()  # doctest: +SKIP
    >>> wakeup.wait(5.0)  # returns early when a run is created, or when wake() is called  # doctest: +SKIP
    """

    def __init__(self, url: str):
        self.url = url
        self._ring = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Wakeup":
        target = self._watch_target()
        if target is not None:
            self._thread = threading.Thread(target=target, name="agent-wakeup", daemon=True)
            self._thread.start()
        return self

    @property
    def watching(self) -> bool:
        """Whether new runs end :meth:`wait` early (``False`` for an in-memory database)."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; ``True`` when woken early (a run was announced, or :meth:`wake`)."""
        woken = self._ring.wait(timeout)
        self._ring.clear()
        return woken

    def wake(self) -> None:
        """End the current :meth:`wait` now (the agent is stopping, or has more to do)."""
        self._ring.set()

    def close(self) -> None:
        self._closed.set()
        self._ring.set()
        if self._thread is not None:
            self._thread.join(timeout=_LISTEN_SLICE_S * 4)

    def _watch_target(self):
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "postgresql":
            return self._listen
        path = wakeup_file(parsed.database) if parsed.get_backend_name() == "sqlite" else None
        if path is None:
            return None  # an in-memory database has no other writers to wait for
        return lambda: self._watch_file(path)

    def _watch_file(self, path: str) -> None:
        last = _stamp(path)
        while not self._closed.wait(SQLITE_CHECK_S):
            stamp = _stamp(path)
            if stamp != last:
                last = stamp
                self._ring.set()

    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                connection = _listening_connection(self.url)
            except Exception as exc:  # no server right now: the agent's poll reports it; try again later
                log.debug("could not listen for new flow runs: %s", exc)
                self._closed.wait(_RECONNECT_S)
                continue
            try:
                while not self._closed.is_set():
                    for _ in connection.notifies(timeout=_LISTEN_SLICE_S, stop_after=1):
                        self._ring.set()
            except Exception as exc:
                log.debug("lost the connection listening for new flow runs: %s", exc)
            finally:
                connection.close()


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _listening_connection(url: str):
    """A psycopg connection (autocommit) that listens on :data:`RUNS_CHANNEL`."""
    import psycopg

    parsed = make_url(url).set(drivername="postgresql")
    connection = psycopg.connect(parsed.render_as_string(hide_password=False), autocommit=True)
    connection.execute(f"LISTEN {RUNS_CHANNEL}")
    return connection
