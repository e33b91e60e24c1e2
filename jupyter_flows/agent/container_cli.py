"""``jupyter-flows agent docker ...`` and ``jupyter-flows agent kubernetes ...``.

Added to the ``agent`` group of :mod:`jupyter_flows.cli`; the agents and
clients are imported only when a command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator

import click

from .. import config
from ..params import parse_env


@contextlib.contextmanager
def agent_logging() -> Iterator[None]:
    """The agent's log on stderr (rich on a terminal) while it runs."""
    from rich.console import Console
    from rich.logging import RichHandler

    console = Console(stderr=True)
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("jupyter_flows.agent", "jupyter_flows.storage")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(config.log_level())
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


_env_option = click.option("--env", "-e", "env", multiple=True, metavar="KEY=VALUE",
                           help="An environment variable for every run (a run config's env wins; repeatable).")
_label_option = click.option("--label", "-l", "labels", multiple=True, help="A label of this agent (repeatable).")
_concurrency_option = click.option("--concurrency", type=click.IntRange(min=1), default=None,
                                   help="How many flow runs at once at most (8 per CPU core by default).")


@click.group("docker")
def docker_agent() -> None:
    """The Docker agent: runs each flow run in a container."""


@docker_agent.command("start")
@click.option("--base-url", default=None, help="The Docker daemon (default: DOCKER_HOST, else the local socket).")
@click.option("--network", default=None, help="The Docker network containers join.")
@click.option("--volume", "volumes", multiple=True, metavar="SRC:DST[:ro]",
              help="A host path mounted into every container (repeatable).")
@click.option("--image", default=None, help="The image of runs whose run config and storage name none.")
@click.option("--universal", is_flag=True, help="Also run UniversalRun runs (in --image).")
@click.option("--no-hostname-label", is_flag=True, help="Do not add this host's name to the agent's labels.")
@_env_option
@_label_option
@_concurrency_option
def docker_agent_start(base_url, network, volumes, image, universal, no_hostname_label, env, labels,
                       concurrency) -> None:
    """Start a Docker agent; Ctrl-C stops it and the containers it started."""
    from .docker import DockerAgent

    agent_env = parse_env(env)
    with agent_logging():
        DockerAgent(labels=labels, env=agent_env, base_url=base_url, network=network, volumes=volumes,
                    image=image, include_universal=universal, concurrency=concurrency,
                    hostname_label=not no_hostname_label).start()


@click.group("kubernetes")
def kubernetes_agent() -> None:
    """The Kubernetes agent: runs each flow run as a Kubernetes Job."""


@kubernetes_agent.command("start")
@click.option("--namespace", "-n", default="default", show_default=True, help="The namespace of the Jobs.")
@click.option("--image", default=None, help="The image of runs whose run config names none.")
@_env_option
@_label_option
@_concurrency_option
def kubernetes_agent_start(namespace, image, env, labels, concurrency) -> None:
    """Start a Kubernetes agent (it reads ~/.kube/config, KUBECONFIG, or the in-cluster account)."""
    from .kubernetes import KubernetesAgent

    agent_env = parse_env(env)
    with agent_logging():
        KubernetesAgent(labels=labels, env=agent_env, namespace=namespace, image=image,
                        concurrency=concurrency).start()


@kubernetes_agent.command("manifest")
@click.argument("flow_run_id")
@click.option("--namespace", "-n", default="default", show_default=True, help="The namespace of the Job.")
@click.option("--image", default=None, help="The image of runs whose run config names none.")
@_env_option
def kubernetes_agent_manifest(flow_run_id, namespace, image, env) -> None:
    """Print (as YAML) the Job the Kubernetes agent would create for FLOW_RUN_ID, for review."""
    import yaml

    from ..backend import Backend
    from .kubernetes import job_manifest_for_run

    manifest = job_manifest_for_run(Backend(), flow_run_id, namespace=namespace, image=image,
                                    agent_env=parse_env(env))
    click.echo(yaml.safe_dump(manifest, sort_keys=False), nl=False)
