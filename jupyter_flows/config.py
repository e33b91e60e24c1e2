"""The one home of jupyter-flows configuration.

Every setting is read from a ``JUPYTER_FLOWS_*`` environment variable when it
is asked for (not at import), so that tests, agents and notebooks can point a
process at another home or backend by setting the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path.home() / ".jupyter_flows"


def home() -> Path:
    """Directory for the embedded backend, stored flows and run outputs."""
    return Path(os.environ.get("JUPYTER_FLOWS_HOME", DEFAULT_HOME)).expanduser()


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


def log_level() -> str:
    """Level of the console log handler (``JUPYTER_FLOWS_LOG_LEVEL``, INFO by default)."""
    return os.environ.get("JUPYTER_FLOWS_LOG_LEVEL", "INFO").upper()


def agent_poll_interval() -> float:
    """Seconds between an agent's polls of the backend for new flow runs."""
    return float(os.environ.get("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.2"))


def heartbeat_interval() -> float:
    """Seconds between heartbeats of a running flow run; a run silent for two is dead."""
    return float(os.environ.get("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "5"))
