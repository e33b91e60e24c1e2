"""Running a flow inside the kernel the way an agent would: with its run config's environment.

An agent starts a flow run's process with ``run_config.env`` set; a run in
the notebook's own kernel gets the same variables for the duration of the
run only, and the kernel's environment is put back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterable, Iterator

from ..engine.logging import RUN_LOGGER_NAME


@contextlib.contextmanager
def environment(env: dict[str, str] | None) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the ``with`` block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _BelowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


@contextlib.contextmanager
def quiet_console() -> Iterator[None]:
    """Print only warnings and errors of flow runs on the console for the ``with`` block.

    Used while the live run widget shows every line, so that a cell's output
    does not repeat them (10,000 of them for a 10,000-child map).
    """
    logger = logging.getLogger(RUN_LOGGER_NAME)
    quiet = _BelowWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def run_env(flow, env: dict[str, str] | None = None) -> dict[str, str]:
    """The variables an in-kernel run sets: the flow's run config env, then ``env`` on top."""
    configured = dict(flow.run_config.env) if flow.run_config is not None else {}
    return {**configured, **(env or {})}


def run_here(flow, parameters: dict | None = None, executor=None, env: dict[str, str] | None = None,
             listeners: Iterable | None = None, restart_from=None):
    """Run ``flow`` in this process with its run config's env (plus ``env``); return the final state.

    ``restart_from`` (an earlier final state of ``flow``) keeps what succeeded in it.
    """
    with environment(run_env(flow, env)):
        # "run here" is one run now, also for a flow with a schedule (the agents keep to the schedule)
        return flow.run(parameters=parameters or {}, executor=executor, listeners=listeners,
                        run_on_schedule=False, restart_from=restart_from)
