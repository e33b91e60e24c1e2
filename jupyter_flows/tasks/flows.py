"""Flows of flows: tasks that start registered flows as child runs, wait for them and read their results.

Prefect 1.x names and arguments::

    from jupyter_flows.tasks.flows import create_flow_run, get_task_run_result, wait_for_flow_run

    with Flow("parent") as flow:
        child = create_flow_run(flow_name="child", project_name="etl", parameters={"day": "2026-11-30"})
        done = wait_for_flow_run(child, raise_final_state=True)
        total = get_task_run_result(child, "total", upstream_tasks=[done])

The child run is created through the backend (an agent runs it) and records
its parent run, so the Lab's run view can link them; mapping
``create_flow_run`` over parameter sets fans out to many child runs. A child
run keeps the results of its successful tasks as it ends (only child runs do:
see :mod:`jupyter_flows.backend.task_results`), which is what
``get_task_run_result`` reads. Flows that start each other in a cycle stop at
:data:`MAX_DEPTH` generations of runs.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

import cloudpickle

from ..backend import Backend
from ..backend.client import FlowRunView
from ..backend.liveness import settled
from ..config import heartbeat_interval
from ..core.task import task
from ..engine.context import context
from ..engine.signals import FAIL
from ..exceptions import FlowRunDepthError, NotFoundError

#: How many generations of runs may start each other (a parent, its child, ...) before a child is refused.
MAX_DEPTH = 10
FINISHED = ("Success", "Failed", "Cancelled")

__all__ = ["create_flow_run", "wait_for_flow_run", "get_task_run_result", "MAX_DEPTH"]


def _parent_run(backend: Backend) -> str | None:
    """The recorded run this task belongs to, or None (a run nobody records has no place for children)."""
    parent = context.get("flow_run_id")
    if parent is None:
        return None
    try:
        backend.get_flow_run(parent)
    except NotFoundError:
        return None
    depth = backend.flow_run_depth(parent, MAX_DEPTH)
    if depth + 1 >= MAX_DEPTH:
        raise FlowRunDepthError(f"flow run {parent} is {depth + 1} runs deep (a parent run's child's child...); "
                                f"a child of it would pass the limit of {MAX_DEPTH}: do flows start each other "
                                "in a cycle?")
    return parent


def _wait_until_ended(backend: Backend, flow_run_id: str, poll_interval: float, each_poll=None) -> dict:
    """Poll run ``flow_run_id`` until it ends; a run gone silent is settled (failed as lost) on the way."""
    last_check = time.monotonic()
    run = backend.get_flow_run(flow_run_id)
    while True:
        if each_poll is not None:
            each_poll(run)
        if run["state"] in FINISHED:
            return run
        time.sleep(poll_interval)
        run = backend.get_flow_run(flow_run_id)
        if time.monotonic() - last_check > heartbeat_interval():
            run, last_check = settled(backend, run), time.monotonic()


@task
def create_flow_run(flow_id: str | None = None, flow_name: str | None = None, project_name: str | None = None,
                    parameters: dict | None = None, labels: Iterable[str] | None = None,
                    run_name: str | None = None) -> str:
    """Schedule a run of a registered flow (``flow_id``, or the latest version of ``flow_name``); return its id.

    ``project_name`` is needed when two projects have a flow of that name.
    ``parameters`` are checked against the child flow's; ``labels`` replace
    its labels for this run (which agent takes it).
    """
    if (flow_id is None) == (flow_name is None):
        raise ValueError(f"create_flow_run needs one of flow_id or flow_name; got flow_id={flow_id!r}, "
                         f"flow_name={flow_name!r}")
    backend = Backend()
    flow = backend.get_flow(flow_id) if flow_id else backend.get_flow_by_name(flow_name, project_name)
    run = backend.create_flow_run(flow_id=flow["id"], parameters=parameters, labels=labels, run_name=run_name,
                                  parent_flow_run_id=_parent_run(backend))
    context.get("logger").info("Created flow run %r (%s) of flow %r", run["name"], run["id"], flow["name"])
    return run["id"]


@task
def wait_for_flow_run(flow_run_id: str, stream_logs: bool = False, raise_final_state: bool = False,
                      poll_interval: float = 0.5) -> FlowRunView:
    """Wait for run ``flow_run_id`` to end; return its :class:`FlowRunView`.

    ``stream_logs`` repeats the child's log lines in this task's log as they
    come. ``raise_final_state`` makes this task fail when the child run did
    not succeed. A child whose process and agent went silent is failed as
    lost, so this never waits on a run nobody runs any more.
    """
    backend = Backend()
    logger = context.get("logger")
    last_log = None

    def repeat_logs(run: dict) -> None:
        nonlocal last_log
        for line in backend.get_logs(flow_run_id, after=last_log):
            last_log = line["id"]
            logger.info("%s: %s", run["name"], line["message"])

    run = _wait_until_ended(backend, flow_run_id, poll_interval, repeat_logs if stream_logs else None)
    logger.info("Flow run %r (%s) ended %s", run["name"], flow_run_id, run["state"])
    if raise_final_state and run["state"] != "Success":
        raise FAIL(f"child flow run {run['name']!r} ({flow_run_id}) ended {run['state']}: {run['state_message']}")
    return FlowRunView.from_flow_run_id(flow_run_id, backend)


@task
def get_task_run_result(flow_run_id: str, task_slug: str, map_index: int = -1, poll_time: float = 0.5) -> Any:
    """The result of task ``task_slug`` (child ``map_index`` of a mapped one) in child run ``flow_run_id``.

    Waits for the run to end first. Only a run started by ``create_flow_run``
    keeps results, and only of tasks that succeeded with a result that pickles.
    """
    backend = Backend()
    _wait_until_ended(backend, flow_run_id, poll_time)
    return cloudpickle.loads(backend.get_task_result(flow_run_id, task_slug, map_index))
