"""KubernetesRun: a flow run as a Kubernetes Job started by a Kubernetes agent."""

from __future__ import annotations

import os
import re
from typing import Iterable

from ..exceptions import ConfigurationError
from .base import RunConfig

# Kubernetes' resource quantity syntax: a decimal number and an optional suffix
# (binary Ki..Ei, decimal m, k, M..E, or an exponent), as in "512Mi", "0.5", "250m", "1e3".
_QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?\d+)?$")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")


class KubernetesRun(RunConfig):
    """Run as a ``batch/v1`` Job of ``image`` with the given resources.

    ``cpu_request``/``cpu_limit`` and ``memory_request``/``memory_limit`` are
    Kubernetes quantities (``"500m"``, ``"2"``, ``"512Mi"``, ``"1Gi"``).
    ``job_template`` (a dict) or ``job_template_path`` (a YAML file read by
    the agent) replaces the agent's default Job; the agent fills in the image,
    env and resources of its first container.

    >>> KubernetesRun(image="python-flows:3.11", memory_limit="1Gi")
    KubernetesRun(image='python-flows:3.11', memory_limit='1Gi')
    """

    def __init__(self, image: str | None = None, env: dict | None = None, cpu_request: str | float | None = None,
                 cpu_limit: str | float | None = None, memory_request: str | None = None,
                 memory_limit: str | None = None, job_template: dict | None = None,
                 job_template_path: str | os.PathLike | None = None, service_account_name: str | None = None,
                 image_pull_policy: str | None = None, labels: Iterable[str] | None = None):
        super().__init__(env=env, labels=labels)
        if image is not None and (not isinstance(image, str) or not image.strip()):
            raise ConfigurationError(f"image must be an image name such as 'python:3.11', got {image!r}")
        if job_template is not None and job_template_path is not None:
            raise ConfigurationError("give job_template or job_template_path, not both")
        if image_pull_policy is not None and image_pull_policy not in _PULL_POLICIES:
            raise ConfigurationError(f"image_pull_policy {image_pull_policy!r} is not one of "
                                     f"{', '.join(_PULL_POLICIES)}")
        self.image = image
        self.cpu_request = check_quantity("cpu_request", cpu_request)
        self.cpu_limit = check_quantity("cpu_limit", cpu_limit)
        self.memory_request = check_quantity("memory_request", memory_request)
        self.memory_limit = check_quantity("memory_limit", memory_limit)
        self.job_template = check_job_template(job_template, "job_template") if job_template is not None else None
        self.job_template_path = os.fspath(job_template_path) if job_template_path is not None else None
        self.service_account_name = service_account_name
        self.image_pull_policy = image_pull_policy

    def to_dict(self) -> dict:
        options = ("image", "cpu_request", "cpu_limit", "memory_request", "memory_limit", "job_template",
                   "job_template_path", "service_account_name", "image_pull_policy")
        return {**super().to_dict(), **{name: getattr(self, name) for name in options}}


def check_quantity(name: str, value) -> str | None:
    """``value`` as a Kubernetes quantity string, or a :class:`ConfigurationError` naming it."""
    if value is None:
        return None
    text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _QUANTITY.match(text):
        raise ConfigurationError(f"{name} {value!r} is not a Kubernetes quantity; write e.g. '512Mi', '1Gi', "
                                 "'250m' or '2' (binary suffixes Ki Mi Gi Ti, decimal k M G T, m for milli)")
    return text


def check_job_template(template, where: str) -> dict:
    """The template if it is a ``batch/v1`` Job manifest, else a :class:`ConfigurationError` saying what it is."""
    if not isinstance(template, dict):
        raise ConfigurationError(f"{where} must be a Kubernetes Job manifest (a mapping), "
                                 f"got {type(template).__name__}")
    kind, api = template.get("kind"), template.get("apiVersion")
    if kind != "Job" or api != "batch/v1":
        raise ConfigurationError(f"{where} is a {api or '?'} {kind or 'object without a kind'}, not a batch/v1 Job; "
                                 "give a manifest with apiVersion: batch/v1 and kind: Job")
    return template
