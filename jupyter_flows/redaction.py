"""One rule for values that must not be shown: secret-looking env names, and the values of secrets.

Run configs carry environment variables, and some of them are credentials
(``API_TOKEN``, ``DB_PASSWORD``). Everything that shows a run config or an
environment (CLI tables and JSON, the REST API, widgets, logs) masks the values
of such names with this module, so that the rule lives in one place.

Secrets fetched with :func:`jupyter_flows.secrets.get` (and the ``Secret``
task) are remembered by this process (:func:`remember_secret`): from then on
the run's log handlers (task capture and console) and the recorder's task and
flow state messages replace them with ``********`` wherever they appear. Until
the first secret is fetched, nothing on the logging path changes.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Mapping

SECRET_NAME = re.compile(
    r"TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|KEY|CREDENTIAL|PRIVATE|AUTH",
    re.IGNORECASE,
)
MASK = "********"

#: Shorter values are not masked: a one-letter "secret" would blank out every word holding the letter.
MIN_MASKED_LENGTH = 4

#: The secret values this process fetched, as one alternation, longest first (None: none yet).
#: Process-wide on purpose: a secret fetched by one task must be masked in every log line after it.
_secret_pattern: re.Pattern | None = None
_secret_values: set[str] = set()
_remembering = threading.Lock()


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


def remember_secret(value: Any) -> None:
    """Mask ``value`` (a secret's value) in every log line and state message of this process from now on."""
    global _secret_pattern
    if not isinstance(value, str) or len(value) < MIN_MASKED_LENGTH or value in _secret_values:
        return
    with _remembering:
        first = not _secret_values
        _secret_values.add(value)
        ordered = sorted(_secret_values, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(map(re.escape, ordered)))
    if first:
        _mask_run_log_handlers()


def has_secrets() -> bool:
    """True once this process fetched a secret: callers on a hot path test this before masking."""
    return _secret_pattern is not None


def mask_secrets(text: Any) -> Any:
    """``text`` with every secret value this process fetched replaced by ``********`` (non-strings as they are)."""
    pattern = _secret_pattern
    if pattern is None or not isinstance(text, str):
        return text
    return pattern.sub(MASK, text)


class SecretMaskingFilter(logging.Filter):
    """Rewrites a record's message (and its traceback text) with the secrets masked, before a handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secret_pattern is None:
            return True
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


_FILTER = SecretMaskingFilter()


def _mask_run_log_handlers() -> None:
    """Put the masking filter on the handlers of the task and flow-run loggers (once per handler)."""
    from .engine.logging import RUN_LOGGER_NAME, TASK_LOGGER_NAME

    for name in (TASK_LOGGER_NAME, RUN_LOGGER_NAME):
        for handler in logging.getLogger(name).handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
