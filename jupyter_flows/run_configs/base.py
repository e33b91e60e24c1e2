"""What every run configuration has: environment variables and labels."""

from __future__ import annotations

import inspect
import re
from typing import Iterable

from ..exceptions import ConfigurationError
from ..redaction import mask_run_config

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_env(env: dict | None) -> dict[str, str]:
    """Check environment variable names and make values strings; raise on a bad name."""
    if env is None:
        return {}
    if not isinstance(env, dict):
        # The value itself is not shown: it may hold a secret.
        raise ConfigurationError(f"env must be a dict of NAME: value, got a {type(env).__name__}")
    checked = {}
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ConfigurationError(
                f"invalid environment variable name {name!r}: use letters, digits and '_', "
                "not starting with a digit (e.g. GREETING)"
            )
        if value is None:
            raise ConfigurationError(f"environment variable {name!r} has no value (None); give a string")
        checked[name] = str(value)
    return checked


def validate_labels(labels: Iterable[str] | None) -> list[str]:
    if labels is None:
        return []
    if isinstance(labels, str):
        raise ConfigurationError(f"labels must be a list of strings, got the string {labels!r}; write [{labels!r}]")
    checked = []
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ConfigurationError(f"a label must be a non-empty string, got {label!r}")
        checked.append(label.strip())
    return sorted(set(checked))


class RunConfig:
    """Base of run configurations: ``env`` for the flow run's process, ``labels`` to pick agents."""

    def __new__(cls, *args, **options):
        # Checked before __init__, so that a misspelt option is a ConfigurationError naming the
        # accepted ones rather than Python's bare TypeError.
        parameters = inspect.signature(cls.__init__).parameters
        accepted = [name for name, p in parameters.items() if name != "self" and p.kind is not p.VAR_KEYWORD]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        unknown = sorted(set(options) - set(accepted))
        if unknown and not takes_any:
            raise ConfigurationError(f"{cls.__name__} has no option {', '.join(map(repr, unknown))}; "
                                     f"its options are: {', '.join(accepted)}")
        return super().__new__(cls)

    def __init__(self, env: dict | None = None, labels: Iterable[str] | None = None):
        self.env = validate_env(env)
        self.labels = validate_labels(labels)

    def to_dict(self) -> dict:
        """JSON form stored by the backend."""
        return {"type": type(self).__name__, "env": dict(self.env), "labels": list(self.labels)}

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        shown = mask_run_config(self.to_dict())  # a repr ends up in logs and outputs: no secrets in it
        options = ", ".join(f"{k}={v!r}" for k, v in shown.items() if k != "type" and v)
        return f"{type(self).__name__}({options})"


def run_config_from_dict(data: dict | None) -> RunConfig:
    """Rebuild a run config from :meth:`RunConfig.to_dict` (``None`` gives ``UniversalRun``)."""
    from .docker import DockerRun
    from .kubernetes import KubernetesRun
    from .local import LocalRun
    from .universal import UniversalRun

    kinds = {cls.__name__: cls for cls in (UniversalRun, LocalRun, DockerRun, KubernetesRun)}
    if not data:
        return UniversalRun()
    options = dict(data)
    kind = options.pop("type", None)
    if kind not in kinds:
        raise ConfigurationError(f"unknown run config type {kind!r}; known: {', '.join(kinds)}")
    return kinds[kind](**options)
