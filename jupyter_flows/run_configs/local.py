"""LocalRun: a flow run as a local process of a local agent."""

from __future__ import annotations

import os
from typing import Iterable

from ..exceptions import ConfigurationError
from ..redaction import mask_env
from .base import RunConfig


class LocalRun(RunConfig):
    """Run as a subprocess of a local agent, with extra ``env`` and an optional ``working_dir``.

    ``env`` is added on top of the agent's environment and its ``--env``
    values, and wins over both.

    >>> LocalRun(env={"GREETING": "Hello"}, working_dir="/tmp")
    LocalRun(env={'GREETING': 'Hello'}, labels=[], working_dir='/tmp')
    """

    def __init__(self, env: dict | None = None, working_dir: str | os.PathLike | None = None,
                 labels: Iterable[str] | None = None):
        super().__init__(env=env, labels=labels)
        if working_dir is not None and not isinstance(working_dir, (str, os.PathLike)):
            raise ConfigurationError(f"working_dir must be a path, got {working_dir!r}")
        self.working_dir = os.fspath(working_dir) if working_dir is not None else None

    def to_dict(self) -> dict:
        return {**super().to_dict(), "working_dir": self.working_dir}

    def __repr__(self) -> str:
        return (f"LocalRun(env={mask_env(self.env)!r}, labels={self.labels!r}"
                + (f", working_dir={self.working_dir!r})" if self.working_dir else ")"))
