"""Cache validators: whether a task with ``cache_for`` may reuse an earlier result instead of running.

A validator is called as ``validator(state, inputs, parameters)`` with a
:class:`~jupyter_flows.engine.state.Cached` state of an earlier run of the task
(its ``cache_expiration``, ``cached_inputs`` and ``cached_parameters``), the
inputs of this run and the flow run's parameters; it returns True to reuse the
state's result. The names and meanings are Prefect 1's.

>>> @task(cache_for=timedelta(hours=1), cache_validator=all_inputs)
... def fetch(day): ...
"""

from __future__ import annotations

import datetime
from typing import Any

from .state import Cached


def _fresh(state: Cached) -> bool:
    expiration = state.cache_expiration
    return expiration is not None and expiration > datetime.datetime.now(datetime.timezone.utc)


def never_use(state: Cached, inputs: dict | None, parameters: dict | None) -> bool:
    """Never reuse: the task always runs."""
    return False


def duration_only(state: Cached, inputs: dict | None, parameters: dict | None) -> bool:
    """Reuse while the cache has not expired, whatever the inputs and parameters (the default)."""
    return _fresh(state)


def all_inputs(state: Cached, inputs: dict | None, parameters: dict | None) -> bool:
    """Reuse while fresh and only when every input equals the one the cached run had."""
    return _fresh(state) and _equal(state.cached_inputs, inputs)


def all_parameters(state: Cached, inputs: dict | None, parameters: dict | None) -> bool:
    """Reuse while fresh and only when the flow run's parameters equal the cached run's."""
    return _fresh(state) and _equal(state.cached_parameters, parameters)


def _equal(cached: Any, current: Any) -> bool:
    try:
        return bool((cached or {}) == (current or {}))
    except Exception:  # noqa: BLE001 - == that raises or is ambiguous (arrays): not the same, run the task
        return False
