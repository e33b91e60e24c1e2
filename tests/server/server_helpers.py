"""Helpers of the server tests: waiting on the server's loop, the tutorial flow, notebooks on disk."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nbformat


async def wait_for(predicate, timeout: float = 60, interval: float = 0.1, what: str = "condition"):
    """Await ``predicate()`` until it returns something truthy; fail naming ``what`` after ``timeout`` s.

    Sleeps with ``asyncio.sleep``: the server under test runs on this event loop.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def hello_flow(greeting: str = "Hello"):
    """The tutorial's hello-flow, built fresh (its tasks live in an importable module, so agents load it)."""
    from jupyter_flows import Flow, Parameter
    from jupyter_flows.examples import hello_flow as example
    from jupyter_flows.executors import LocalDaskExecutor
    from jupyter_flows.run_configs import LocalRun

    with Flow("hello-flow") as flow:
        people = Parameter("people", default=example.PEOPLE)
        example.say_hello.map(people)
    flow.run_config = LocalRun(env={"GREETING": greeting})
    flow.executor = LocalDaskExecutor()
    return flow


def register_hello_flow(project: str = "tutorial", greeting: str = "Hello") -> str:
    """Register hello-flow in ``project`` (created if needed); returns the flow id."""
    from jupyter_flows.backend import Client

    Client().create_project(project)
    return hello_flow(greeting).register(project_name=project)


def write_notebook(path: Path, parameters: str, body: str) -> Path:
    """A notebook with a cell tagged ``parameters`` and one cell of code."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
