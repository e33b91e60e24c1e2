"""Pack files: the checkpoints of a mapped task's children, many to a file.

Creating a file costs more than a whole task run of a small task (0.1–3 ms
on a busy disk against ~60 µs), so a 10,000-child map that wrote one file per
child spent most of its time in the file system. When a mapped task's result
has no ``location`` of its own (and no ``target``), its children's results go
into packs instead: each process appends the serialized results of a task's
children to an open chunk in memory, and a background thread writes the chunk
as one file when it holds :data:`PACK_RECORDS` results, :data:`PACK_BYTES`
bytes, or is :data:`PACK_SECONDS` old; the flow run's end writes the open
chunks and waits for those in flight (:func:`flush_packs`). A task run waits on
the file system only when its result is the first of a pack: its directory is
made and checked then, so that one that cannot take results fails the task.
A child's recorded location is the pack plus its key:
``"flow/run/slug/pack-<pid>-<token>-<n>.jfpack#<map index>"``; any
:meth:`Result.read <jupyter_flows.results.Result.read>` understands it.

Crash safety: a pack is written under a temporary name and renamed
(``LocalResult``), and its header holds the length and CRC-32 of its body,
so a pack cut short or damaged on any file system is refused whole and never
yields a wrong value. A child whose pack was not written when its process died
is simply missing: a restart runs it again and says why.

The open chunks are per process (``_WRITERS``): each worker process of a
process pool or a dask cluster packs its own children, however often its
``Result`` object was unpickled, and writes what it holds as it exits.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from ..exceptions import ResultError

log = logging.getLogger("jupyter_flows.results")

#: A chunk is written once it holds this many results...
PACK_RECORDS = 5000
#: ...or this many bytes...
PACK_BYTES = 16 * 1024 * 1024
#: ...or is this old (seconds), so that a result is on disk soon after its task ended.
PACK_SECONDS = 0.1

#: What a pack location has between the pack's path and the child's key.
PACK_MARK = ".jfpack#"
_SUFFIX = ".jfpack"
_MAGIC = b"JFPACK2\n"
_HEADER = struct.Struct("<QI")  # length and CRC-32 of the body: a pickled list of (key, serialized result)

#: Where a mapped child's pack goes: the directory of the default location, one per task of a run.
PACK_DIRECTORY = "{flow_name}/{flow_run_id}/{task_slug}"


def is_packed(location: str) -> bool:
    """Whether ``location`` names a record in a pack rather than a file of its own."""
    return PACK_MARK in location


def split_location(location: str) -> tuple[str, str]:
    """``(pack path, key)`` of a pack location."""
    path, _, key = location.rpartition("#")
    return path, key


def encode_pack(records: list[tuple[str, bytes]]) -> bytes:
    """A pack file's bytes: a header with the body's length and CRC-32, then the body."""
    body = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
    return _MAGIC + _HEADER.pack(len(body), zlib.crc32(body)) + body


def decode_pack(data: bytes) -> dict[str, bytes] | None:
    """``{key: serialized result}`` of a pack; None for one cut short or damaged (its children rerun).

    The body is only unpickled once its length and checksum match: a pack
    that is not whole never yields a value.
    """
    start = len(_MAGIC) + _HEADER.size
    if not data.startswith(_MAGIC) or len(data) < start:
        return None
    length, checksum = _HEADER.unpack_from(data, len(_MAGIC))
    body = memoryview(data)[start:]
    if len(body) != length or zlib.crc32(body) != checksum:
        return None
    return dict(pickle.loads(body))


class _Chunk:
    """Records waiting to be written to one pack file."""

    __slots__ = ("name", "records", "size")

    def __init__(self, name: str):
        self.name = name
        self.records: list[tuple[str, bytes]] = []
        self.size = 0


class PackWriter:
    """The open chunk of one pack directory of one result, in this process.

    ``add`` returns at once with the location the record will have. A chunk
    is written off the task's path, by a thread of its own when it is full or
    by its timer thread when it is :data:`PACK_SECONDS` old; :meth:`flush`
    (the run ended) writes the open one and waits for those in flight.
    """

    def __init__(self, result, directory: str):
        self.result = result
        self.directory = directory
        self._token = uuid.uuid4().hex[:8]  # two hosts may share a pid
        self._count = 0
        self._lock = threading.Lock()
        self._written = threading.Condition(self._lock)
        self._in_flight = 0  # chunks being written by background threads
        self._chunk: _Chunk | None = None

    def add(self, key: str, data: bytes, now: bool = False) -> str:
        """Queue a record; its location. ``now`` writes its chunk at once and raises a :class:`ResultError`."""
        full = None
        with self._lock:
            chunk = self._chunk
            if chunk is None:
                chunk = self._chunk = self._open()
            chunk.records.append((key, data))
            chunk.size += len(data)
            if now or len(chunk.records) >= PACK_RECORDS or chunk.size >= PACK_BYTES:
                full, self._chunk = chunk, None
                self._in_flight += not now
        if now:
            self.result.write_pack(full.name, encode_pack(full.records))
        elif full is not None:
            threading.Thread(target=self._write, args=(full,), name="jupyter-flows-pack", daemon=True).start()
        return f"{chunk.name}#{key}"

    def flush(self, timeout: float = 60.0) -> None:
        """Write the open chunk now and wait (up to ``timeout`` s) for those being written."""
        with self._lock:
            chunk, self._chunk = self._chunk, None
            if chunk is not None:
                self._in_flight += 1
        if chunk is not None:
            self._write(chunk)
        with self._written:
            self._written.wait_for(lambda: self._in_flight == 0, timeout)

    def _open(self) -> _Chunk:
        self._count += 1
        chunk = _Chunk(f"{self.directory}/pack-{os.getpid()}-{self._token}-{self._count}{_SUFFIX}")
        timer = threading.Timer(PACK_SECONDS, self._expire, (chunk,))
        timer.daemon = True
        timer.start()
        return chunk

    def _expire(self, chunk: _Chunk) -> None:
        with self._lock:
            if self._chunk is not chunk:
                return  # already taken (full, or flushed)
            self._chunk = None
            self._in_flight += 1
        self._write(chunk)

    def _write(self, chunk: _Chunk) -> None:
        """Write a chunk taken from the writer (``_in_flight`` counts it until written)."""
        try:
            self.result.write_pack(chunk.name, encode_pack(chunk.records))
        except ResultError as exc:  # its children's results are lost: a restart runs them again
            log.warning("%d checkpoint(s) not written: %s", len(chunk.records), exc)
        finally:
            with self._written:
                self._in_flight -= 1
                self._written.notify_all()


#: ``{(flow run id, task slug): PackWriter}`` of this process (a task of a run has one result).
_WRITERS: dict[tuple[str, str], PackWriter] = {}
_WRITERS_LOCK = threading.Lock()


def pack_writer(key: tuple[str, str], result, directory: Callable[[], str]) -> tuple[PackWriter, bool]:
    """This process's writer of the children of task run ``key`` (``(flow run id, task slug)``), and whether it is new.

    ``directory`` renders the pack directory, once per writer. The caller
    checks a new writer's directory (:meth:`Result.check_writable`), or writes
    its first result at once, so that a directory that cannot be written fails
    that task, saying why.
    """
    writer = _WRITERS.get(key)
    if writer is not None:
        return writer, False
    with _WRITERS_LOCK:
        writer = _WRITERS.get(key)
        if writer is not None:
            return writer, False
        writer = _WRITERS[key] = PackWriter(result, directory())
    _flush_at_exit()
    return writer, True


def drop_writer(key: tuple[str, str]) -> None:
    """Forget a writer whose first write failed, so that the next child tries (and says why) again."""
    with _WRITERS_LOCK:
        _WRITERS.pop(key, None)


def flush_packs() -> None:
    """Write every open chunk of this process and forget the writers: a flow run ended.

    A writer another run in this process still uses is forgotten too: its
    next record opens a chunk that its timer writes.
    """
    with _WRITERS_LOCK:
        writers = list(_WRITERS.values())
        _WRITERS.clear()
    for writer in writers:
        writer.flush()


def read_packs(result, paths: Iterable[str]) -> dict[str, dict[str, bytes] | ResultError]:
    """``{pack path: its records}`` of each pack, read once; a pack that cannot be read maps to why."""
    packs: dict[str, Any] = {}
    for path in paths:
        try:
            records = decode_pack(result.read_bytes(path))
        except FileNotFoundError:
            records = ResultError(f"no result at {result.describe(path)} (deleted?)")
        except OSError as exc:
            records = ResultError(f"cannot read the result at {result.describe(path)}: {exc}")
        if records is None:
            records = ResultError(f"the pack {result.describe(path)} is cut short or damaged (its writer "
                                  "stopped while writing it?)")
        packs[path] = records
    return packs


def packed_value(result, location: str, packs: dict) -> Any:
    """The value at pack ``location``, from packs read by :func:`read_packs`; a :class:`ResultError` says why not."""
    path, _, key = location.rpartition("#")
    records = packs[path]
    if type(records) is ResultError:
        raise records
    data = records.get(key)
    if data is None:
        raise ResultError(f"no result for {key!r} in {result.describe(path)}")
    return result.deserialize(data, location)


def _exit_flush() -> None:
    try:
        flush_packs()
    except Exception as exc:  # noqa: BLE001 - at exit nothing more can be done: their children rerun
        log.warning("checkpoints not written as the process exits: %s", exc)


_exit_flush_pid: int | None = None


def _flush_at_exit() -> None:
    """Have this process write its open packs as it exits, once per process.

    Registered when the first writer is made, in the process that makes it: a
    worker forked from a server that imported this module inherits no exit
    hook (multiprocessing clears its finalizers in a new process), and its
    finalizers run where atexit handlers do not.
    """
    global _exit_flush_pid
    if _exit_flush_pid == os.getpid():
        return
    _exit_flush_pid = os.getpid()
    import atexit
    from multiprocessing import util

    atexit.register(_exit_flush)
    util.Finalize(None, _exit_flush, exitpriority=100)
