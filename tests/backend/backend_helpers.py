"""Flows and records shared by the backend tests."""

from __future__ import annotations

import os
import subprocess
import sys

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.backend import Backend
from jupyter_flows.run_configs import LocalRun


def build_hello_flow() -> Flow:
    """The reference user story's flow, with ``prefect`` renamed to ``jupyter_flows``."""

    @task
    def say_hello(name):
        greeting = os.environ.get("GREETING")
        logger = jupyter_flows.context.get("logger")
        logger.info(f"{greeting}, {name}!")

    with Flow("hello-flow") as flow:
        people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
        say_hello.map(people)

    flow.run_config = LocalRun(env={"GREETING": "Hello"})
    return flow


def register_plain_flow(backend: Backend, name: str = "plain", project: str = "tutorial", **overrides) -> dict:
    """A flow recorded straight through ``Backend.register_flow`` (no storage involved)."""
    options = {
        "storage": None, "run_config": None, "executor": None,
        "parameters": [{"name": "people", "default": ["Arthur"], "required": False},
                       {"name": "greeting", "default": None, "required": True}],
        "graph": {"tasks": [], "edges": []}, "labels": [], "content_hash": "hash-1",
    }
    options.update(overrides)
    backend.create_project(project)
    return backend.register_flow(project, name, **options)


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with this environment (JUPYTER_FLOWS_HOME included)."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())
