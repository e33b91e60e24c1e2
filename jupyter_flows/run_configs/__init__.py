"""Run configurations: where and how an agent executes a flow run."""

from .base import RunConfig, run_config_from_dict, validate_env
from .docker import DockerRun
from .kubernetes import KubernetesRun
from .local import LocalRun
from .universal import UniversalRun

__all__ = ["DockerRun", "KubernetesRun", "LocalRun", "RunConfig", "UniversalRun", "run_config_from_dict", "validate_env"]
