"""Flows and records shared by the backend tests."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.backend import Backend, schema
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


@task
def noop():
    pass


def migrate_a_backend_made_before(backend: Backend, version: int, undo: list[str]) -> tuple[str, dict]:
    """A flow and a run made, the schema set back by the ``undo`` statements, then migration ``version`` applied.

    The backend is closed; returns the flow's id and the old run, for the test to read back through a new
    ``Backend``.
    """
    backend.create_project("p")
    flow_id = Flow("old", tasks=[noop]).register(project_name="p")
    old_run = backend.create_flow_run(flow_id=flow_id)
    with backend.engine.begin() as conn:  # back to what the backend had before the migration
        for statement in undo:
            conn.execute(text(statement))
    migration = dict((v, apply) for v, _, apply in schema.MIGRATIONS)[version]
    with backend.engine.begin() as conn:
        migration(conn)
    backend.close()
    return flow_id, old_run
