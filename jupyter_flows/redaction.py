"""One rule for values that must not be shown: secret-looking environment variables.

Run configs carry environment variables, and some of them are credentials
(``API_TOKEN``, ``DB_PASSWORD``). Everything that shows a run config or an
environment (CLI tables and JSON, the REST API, widgets, logs) masks the values
of such names with this module, so that the rule lives in one place.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

SECRET_NAME = re.compile(
    r"TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|KEY|CREDENTIAL|PRIVATE|AUTH",
    re.IGNORECASE,
)
MASK = "********"


def looks_secret(name: str | None) -> bool:
    """Names like ``API_TOKEN``, ``DB_PASSWORD`` or ``AWS_SECRET_ACCESS_KEY`` hold secrets."""
    return bool(SECRET_NAME.search(name or ""))


def mask_env(env: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``env`` whose secret-looking values read ``********``."""
    if env is None:
        return None
    return {name: (MASK if looks_secret(name) else value) for name, value in env.items()}


def mask_run_config(run_config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a stored run config dict with its ``env`` masked."""
    if run_config is None:
        return None
    masked = dict(run_config)
    if isinstance(masked.get("env"), Mapping):
        masked["env"] = mask_env(masked["env"])
    return masked
