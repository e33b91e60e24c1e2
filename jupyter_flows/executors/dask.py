"""Executors backed by dask: a local thread or process pool, or a dask.distributed cluster."""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable, Iterator

from ..exceptions import ExecutorError
from .base import Executor

SCHEDULERS = ("threads", "processes", "synchronous")
#: How long DaskExecutor lets finished task runs gather into one batch while others still run.
GATHER_EVERY_S = 0.05
# Other names dask and Prefect 1 accept for the same schedulers.
_SCHEDULER_ALIASES = {"sync": "synchronous", "single-threaded": "synchronous", "threading": "threads",
                      "multiprocessing": "processes"}


class LocalDaskExecutor(Executor):
    """Run tasks in parallel in a local pool with dask's local scheduler.

    ``scheduler="threads"`` (default) suits tasks that wait (I/O, sleep,
    subprocesses, numpy releasing the GIL); ``"processes"`` suits pure-Python
    CPU work, at the price of pickling every task and result;
    ``"synchronous"`` (or ``"sync"``) runs dask's scheduler in the calling
    thread, one task at a time, for debugging. ``num_workers`` defaults to the
    number of CPU cores. The pool lives for one flow run.
    """

    def __init__(self, scheduler: str = "threads", num_workers: int | None = None):
        scheduler = _SCHEDULER_ALIASES.get(scheduler, scheduler) if isinstance(scheduler, str) else scheduler
        if scheduler not in SCHEDULERS:
            raise ExecutorError(
                f"unknown LocalDaskExecutor scheduler {scheduler!r}; choose one of: {', '.join(SCHEDULERS)} "
                f"(or {', '.join(_SCHEDULER_ALIASES)})"
            )
        if num_workers is not None and (not isinstance(num_workers, int) or num_workers < 1):
            raise ExecutorError(f"num_workers must be a whole number >= 1 or None, got {num_workers!r}")
        self.scheduler = scheduler
        self.num_workers = num_workers
        self._pool = None

    @property
    def needs_pickling(self) -> bool:  # type: ignore[override]
        return self.scheduler == "processes"

    @contextlib.contextmanager
    def start(self) -> Iterator[None]:
        if self.scheduler == "synchronous":
            yield
            return
        workers = self.num_workers or os.cpu_count() or 1
        if self.scheduler == "threads":
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="jupyter-flows")
        else:
            # Workers fork from a server started once per process: hand them today's environment.
            self._pool = ProcessPoolExecutor(workers, mp_context=_process_context(),
                                             initializer=_use_environment, initargs=(dict(os.environ),))
        interrupted = False
        try:
            yield
        except BaseException:
            interrupted = True
            raise
        finally:
            self._pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
            self._pool = None

    def run_graph(self, graph: dict, on_start: Callable, on_done: Callable) -> None:
        import dask
        import dask.multiprocessing
        import dask.threaded

        keys = list(graph)
        reported: set = set()

        def posttask(key, result, dsk, state, worker_id):
            reported.add(key)
            on_done(key, result)

        # dask's (start, start_state, pretask, posttask, finish) tuple, passed per call rather than
        # registered globally, so that concurrent flow runs don't hear each other.
        pretask = None if on_start is None else (lambda key, dsk, state: on_start(key))
        callbacks = [(None, None, pretask, posttask, None)]
        workers = self.num_workers or os.cpu_count() or 1
        if self.scheduler == "synchronous":
            results = dask.get(graph, keys, callbacks=callbacks)
        elif self.scheduler == "threads":
            results = dask.threaded.get(graph, keys, num_workers=workers, pool=self._pool, callbacks=callbacks)
        else:
            # chunksize=1: one task run per message, so that long tasks spread over all workers
            # (dask's default batches six ready tasks onto one worker).
            results = dask.multiprocessing.get(graph, keys, num_workers=workers, pool=self._pool,
                                               optimize_graph=False, chunksize=1, callbacks=callbacks)
        for key, result in zip(keys, results):
            if key not in reported:
                on_done(key, result)

    def to_dict(self) -> dict:
        return {"type": "LocalDaskExecutor", "scheduler": self.scheduler, "num_workers": self.num_workers}


def _use_environment(environment: dict) -> None:
    """Run in each new worker process: take the flow run's environment variables."""
    os.environ.clear()
    os.environ.update(environment)


def _process_context():
    """Workers fork from a clean server process that has imported jupyter-flows once.

    Forking the calling process itself is unsafe when it runs threads (a Jupyter
    kernel does); spawning a fresh interpreter per worker re-imports everything
    and costs about a second per run. The forkserver is started once per process.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["jupyter_flows.engine.task_runner", "dask.multiprocessing", "cloudpickle"])
    return context


class DaskExecutor(Executor):
    """Run tasks on a dask.distributed cluster.

    With ``address`` (``"tcp://host:8786"``) it connects to a running
    scheduler. Without, it starts ``cluster_class(**cluster_kwargs)`` (a
    ``distributed.LocalCluster`` by default) for the flow run and closes it
    afterwards; ``cluster_class`` may be a dotted name
    (``"distributed.LocalCluster"``), imported here. ``adapt_kwargs`` makes
    that cluster adaptive. ``client_kwargs`` go to ``distributed.Client``.
    ``debug=True`` lets a temporary ``LocalCluster`` log warnings (it is
    silent below CRITICAL otherwise). Worker processes inherit the flow run's
    environment variables.
    """

    needs_pickling = True

    def __init__(self, address: str | None = None, cluster_class: Any = None,
                 cluster_kwargs: dict | None = None, adapt_kwargs: dict | None = None,
                 client_kwargs: dict | None = None, debug: bool | None = False):
        if address is not None and (not isinstance(address, str) or "://" not in address and ":" not in address):
            raise ExecutorError(f"DaskExecutor address must look like 'tcp://host:port', got {address!r}")
        if address is not None and cluster_class is not None:
            raise ExecutorError("give DaskExecutor either an address or a cluster_class, not both")
        if debug is not None and not isinstance(debug, bool):
            raise ExecutorError(f"DaskExecutor debug must be True or False, got {debug!r}")
        self.address = address
        self.cluster_class = _cluster_class(cluster_class) if cluster_class is not None else None
        self.debug = bool(debug)
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = dict(adapt_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self._client = None

    @contextlib.contextmanager
    def start(self) -> Iterator[None]:
        from distributed import Client

        if self.address:
            try:
                client = Client(self.address, **{"timeout": "10s", **self.client_kwargs})
            except OSError as exc:
                raise ExecutorError(f"cannot reach the dask scheduler at {self.address!r}: {exc}") from exc
            with client:
                self._client = client
                try:
                    yield
                finally:
                    self._client = None
            return
        cluster = _cluster_class(self.cluster_class)(**self._cluster_options())
        with cluster:
            if self.adapt_kwargs:
                cluster.adapt(**self.adapt_kwargs)
            with Client(cluster, **self.client_kwargs) as client:
                self._client = client
                try:
                    yield
                finally:
                    self._client = None

    def run_graph(self, graph: dict, on_start: Callable, on_done: Callable) -> None:
        from distributed import as_completed

        keys = list(graph)
        futures = self._client.get(graph, keys, sync=False)
        if on_start is not None:
            for key in keys:
                on_start(key)
        # Results come back a batch of finished futures at a time. A gather is a round trip
        # through the scheduler and the workers, on the cores the tasks run on: while more are
        # running, a batch waits GATHER_EVERY_S for others to join it, so a fast map costs one
        # gather per 50 ms rather than one per task run or two, and a result is late by that much.
        finished = as_completed(futures)
        for batch in finished.batches():
            if not finished.is_empty():
                time.sleep(GATHER_EVERY_S)
                batch += finished.next_batch(block=False)
            for future, result in zip(batch, self._client.gather(batch)):
                on_done(future.key, result)
        del futures

    def to_dict(self) -> dict:
        cluster_class = self.cluster_class
        if cluster_class is not None and not isinstance(cluster_class, str):
            cluster_class = f"{cluster_class.__module__}.{cluster_class.__qualname__}"
        return {
            "type": "DaskExecutor",
            "address": self.address,
            "cluster_class": cluster_class,
            "cluster_kwargs": self.cluster_kwargs or None,
            "adapt_kwargs": self.adapt_kwargs or None,
            "client_kwargs": self.client_kwargs or None,
            "debug": self.debug or None,
        }

    def _cluster_options(self) -> dict:
        options = {"dashboard_address": None, **self.cluster_kwargs}
        if self.cluster_class is None or _is_local_cluster(self.cluster_class):
            options.setdefault("silence_logs", logging.WARNING if self.debug else logging.CRITICAL)
        return options


def _is_local_cluster(cls: Any) -> bool:
    from distributed import LocalCluster

    return isinstance(cls, type) and issubclass(cls, LocalCluster)


def _cluster_class(value: Any) -> type:
    if value is None:
        from distributed import LocalCluster

        return LocalCluster
    if isinstance(value, str):
        module, _, name = value.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ExecutorError(f"cannot import cluster_class {value!r}: {exc}; give a class or its dotted "
                                "name, such as 'distributed.LocalCluster'") from exc
    if not callable(value):
        raise ExecutorError(f"cluster_class must be a class or its dotted name, such as "
                            f"'distributed.LocalCluster', got {value!r}")
    return value
