"""The one home of jupyter-flows configuration.

Every setting is read from a ``JUPYTER_FLOWS_*`` environment variable when it
is asked for (not at import), so that tests, agents and notebooks can point a
process at another home or backend by setting the variable. A value is checked
as it is read: a bad one is a :class:`~jupyter_flows.exceptions.ConfigurationError`
naming the variable, its value and what it accepts, never a busy loop or a
bare ``float()`` error. :func:`check` reads them all at once, for processes
(an agent, a flow run's process) that should refuse to start with a bad one.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping

from .exceptions import ConfigurationError

DEFAULT_HOME = Path.home() / ".jupyter_flows"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _seconds(name: str, default: str, environ: Mapping[str, str] | None = None) -> float:
    """A duration setting: a finite number of seconds > 0 (0 or less would make its loop spin)."""
    raw = (os.environ if environ is None else environ).get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{name}={raw!r} is not a valid number of seconds; "
                                 "use a number > 0, such as 0.5 or 5")
    return value


def home(environ: Mapping[str, str] | None = None) -> Path:
    """Directory for the embedded backend, stored flows and run outputs."""
    raw = (os.environ if environ is None else environ).get("JUPYTER_FLOWS_HOME")
    if raw is None:
        return DEFAULT_HOME
    if not raw.strip():
        raise ConfigurationError(f"JUPYTER_FLOWS_HOME={raw!r} is empty; set it to a directory path or unset it "
                                 f"(default {DEFAULT_HOME})")
    return Path(raw).expanduser()


def backend_url() -> str:
    """SQLAlchemy URL of the backend; an SQLite file under :func:`home` by default."""
    url = os.environ.get("JUPYTER_FLOWS_BACKEND_URL")
    if url:
        return url
    return f"sqlite:///{home() / 'backend.db'}"


def flows_dir() -> Path:
    """Where ``Local`` storage keeps pickled flows and notebook storage keeps notebooks."""
    return home() / "flows"


def runs_dir() -> Path:
    """Where per-run artefacts (executed notebooks) are kept."""
    return home() / "runs"


def results_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``LocalResult`` writes by default (``JUPYTER_FLOWS_RESULTS_DIR``, else ``<home>/results``)."""
    raw = (os.environ if environ is None else environ).get("JUPYTER_FLOWS_RESULTS_DIR")
    if raw is not None and raw.strip():
        return Path(raw).expanduser()
    return home(environ) / "results"


def agent_checkpointing(environ: Mapping[str, str] | None = None) -> bool:
    """Whether runs through an agent checkpoint task results (``JUPYTER_FLOWS_CHECKPOINTING``, default on)."""
    raw = (os.environ if environ is None else environ).get("JUPYTER_FLOWS_CHECKPOINTING", "true")
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no"):
        raise ConfigurationError(f"JUPYTER_FLOWS_CHECKPOINTING={raw!r} is not a yes/no value; "
                                 "use true or false")
    return value in ("1", "true", "yes")


def log_level(environ: Mapping[str, str] | None = None) -> str:
    """Level of the console log handler (``JUPYTER_FLOWS_LOG_LEVEL``, INFO by default)."""
    raw = (os.environ if environ is None else environ).get("JUPYTER_FLOWS_LOG_LEVEL", "INFO")
    level = raw.strip().upper()
    if level == "WARN":  # what logging.warn() and many tools call it
        level = "WARNING"
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"JUPYTER_FLOWS_LOG_LEVEL={raw!r} is not a log level; "
                                 f"use one of: {', '.join(LOG_LEVELS)}")
    return level


def agent_poll_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between an agent's polls of the backend for new flow runs."""
    return _seconds("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.2", environ)


def heartbeat_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between heartbeats of a running flow run; a run silent for two is dead."""
    return _seconds("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "5", environ)


def scheduler_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between a scheduler's passes (each creates the runs of the next hour ahead of time)."""
    return _seconds("JUPYTER_FLOWS_SCHEDULER_INTERVAL", "5", environ)


def server_scheduler(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the Jupyter server extension runs a scheduler too (``JUPYTER_FLOWS_SERVER_SCHEDULER=1``).

    Off by default: every local agent runs one already.
    """
    raw = (os.environ if environ is None else environ).get("JUPYTER_FLOWS_SERVER_SCHEDULER", "0")
    if raw.strip().lower() not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ConfigurationError(f"JUPYTER_FLOWS_SERVER_SCHEDULER={raw!r} is not a yes or no; use 1 or 0")
    return raw.strip().lower() in ("1", "true", "yes")


def check(environ: Mapping[str, str] | None = None) -> None:
    """Read every setting of ``environ`` (this process's environment by default); raise the first bad one.

    An agent calls it before it claims anything, a flow run's process before
    it starts the run, and an agent on the environment it is about to give a
    run, so that a typo fails fast with its name instead of deep in a loop.
    """
    for read in (home, log_level, agent_poll_interval, heartbeat_interval, scheduler_interval, server_scheduler):
        read(environ)


def server_url() -> str | None:
    """The Jupyter server users open (``JUPYTER_FLOWS_SERVER_URL``), so notifications can link to a run."""
    return os.environ.get("JUPYTER_FLOWS_SERVER_URL") or None


def wheel_cache_dir() -> Path:
    """Where Docker storage keeps the wheels it built for images, so later builds need no index."""
    raw = os.environ.get("JUPYTER_FLOWS_WHEEL_CACHE")
    if raw:
        return Path(raw).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jupyter-flows" / "wheels"
