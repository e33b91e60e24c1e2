"""Values typed on a command line or a magic line: ``k=v`` pairs and executor specs.

The CLI and the ``%flow`` magics read the same ``--param``, ``--env`` and
``--executor`` values, so they are parsed here, once, the same way for both.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from .exceptions import ConfigurationError, ExecutorError, ParameterError

EXECUTOR_KINDS = ("local", "threads", "processes", "dask")


def split_assignment(text: str, what: str = "value") -> tuple[str, str]:
    """``"name=value"`` -> ``("name", "value")``; the value may itself contain ``=``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigurationError(f"{what} {text!r} must look like NAME=VALUE")
    return name.strip(), value


def parse_value(text: str) -> Any:
    """A parameter value: JSON when it is valid JSON (``[4,5]``, ``3``, ``true``), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(items: Iterable[str] | None) -> dict[str, Any]:
    """``["n=[4,5]", "name=Arthur"]`` -> ``{"n": [4, 5], "name": "Arthur"}``."""
    params: dict[str, Any] = {}
    for item in items or ():
        try:
            name, value = split_assignment(item, "parameter")
        except ConfigurationError as exc:
            raise ParameterError(str(exc)) from None
        params[name] = parse_value(value)
    return params


def parse_env(items: Iterable[str] | None) -> dict[str, str]:
    """``["GREETING=Hello"]`` -> ``{"GREETING": "Hello"}``, names checked like a run config's env."""
    from .run_configs import validate_env

    env = dict(split_assignment(item, "environment variable") for item in items or ())
    return validate_env(env)


def executor_from_spec(spec: str | None, workers: int | None = None):
    """An executor from a short spec: ``local``, ``threads``, ``processes``, ``dask`` or ``dask:ADDRESS``.

    ``workers`` is the pool size for ``threads``/``processes`` and the number
    of workers of the temporary cluster for ``dask``. ``None`` gives ``None``
    (keep the flow's own executor).

    >>> executor_from_spec("threads", workers=4)
    LocalDaskExecutor(scheduler='threads', num_workers=4)
    """
    from .executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

    if spec is None:
        return None
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ExecutorError(f"the number of workers must be a whole number >= 1, got {workers!r}")
    kind, _, address = spec.strip().partition(":")
    if kind == "local" and not address:
        return LocalExecutor()
    if kind in ("threads", "processes") and not address:
        return LocalDaskExecutor(scheduler=kind, num_workers=workers)
    if kind == "dask":
        if address:
            return DaskExecutor(address=address)
        return DaskExecutor(cluster_kwargs={"n_workers": workers} if workers else None)
    raise ExecutorError(
        f"unknown executor {spec!r}; use one of local, threads, processes, dask or dask:ADDRESS "
        "(e.g. dask:tcp://127.0.0.1:8786)"
    )
