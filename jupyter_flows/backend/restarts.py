"""Restarting a flow run that failed or was cancelled: the same run, scheduled again.

The run keeps its id, parameters, task runs and history; it goes back to
Scheduled, so that an agent claims it as it would a new run (with the run's
labels, and the run config and environment of the process it starts). The
flow runner of that process reads the recorded task runs and keeps those that
succeeded (see :mod:`jupyter_flows.engine.restarts`).

Resuming a run paused for approval is a restart too: its Paused task runs are
recorded as Resume (the approval, as Prefect 1 records it), and the process
of the restart gives those tasks ``Resume()`` so that ``manual_only`` lets
them run.
"""

from __future__ import annotations

import time

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..exceptions import NotFoundError, RestartError
from .runs import PAUSED_STATE, flow_run
from .schema import flow_run_states, flow_runs, task_runs

#: The states a run may be restarted from.
RESTARTABLE_STATES = ("Failed", "Cancelled")


def restart_flow_run(conn: Connection, run_id: str) -> dict:
    """Schedule a failed or cancelled run again; a running, succeeded or unknown one is refused, saying why."""
    state = conn.execute(select(flow_runs.c.state).where(flow_runs.c.id == run_id)).scalar()
    if state is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    _check_restartable(run_id, state)
    restarts = conn.execute(select(func.count()).where(
        flow_run_states.c.flow_run_id == run_id, flow_run_states.c.message.like("Restarted%"))).scalar()
    message = f"Restarted from its failed task runs (attempt {restarts + 2})"
    # compare-and-set: of two restarts at once (or a restart racing a late state), one wins
    moved = conn.execute(update(flow_runs).where(flow_runs.c.id == run_id,
                                                 flow_runs.c.state.in_(RESTARTABLE_STATES))
                         .values(state="Scheduled", state_message=message, agent_id=None, heartbeat=None,
                                 end_time=None)).rowcount
    if not moved:
        _check_restartable(run_id, conn.execute(select(flow_runs.c.state).where(flow_runs.c.id == run_id)).scalar())
    conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state="Scheduled", message=message,
                                                timestamp=time.time()))
    return flow_run(conn, run_id)


def resume_flow_run(conn: Connection, run_id: str) -> dict:
    """Approve the paused tasks of a Paused run and schedule it again; a run in another state is refused."""
    state = conn.execute(select(flow_runs.c.state).where(flow_runs.c.id == run_id)).scalar()
    if state is None:
        raise NotFoundError(f"no flow run with id {run_id!r}")
    _check_resumable(run_id, state)
    paused = conn.execute(select(task_runs.c.task_name).distinct().where(
        task_runs.c.flow_run_id == run_id, task_runs.c.state == "Paused")).scalars().all()
    message = f"Resumed: {', '.join(sorted(paused)) or 'no paused task'} approved"
    # compare-and-set, as a restart: of two resumes (or a resume and a cancel) at once, one wins
    moved = conn.execute(update(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.state == PAUSED_STATE)
                         .values(state="Scheduled", state_message=message, agent_id=None, heartbeat=None,
                                 end_time=None)).rowcount
    if not moved:
        _check_resumable(run_id, conn.execute(select(flow_runs.c.state).where(flow_runs.c.id == run_id)).scalar())
    conn.execute(update(task_runs).where(task_runs.c.flow_run_id == run_id, task_runs.c.state == "Paused")
                 .values(state="Resume", message="Approved"))
    conn.execute(insert(flow_run_states).values(flow_run_id=run_id, state="Scheduled", message=message,
                                                timestamp=time.time()))
    return flow_run(conn, run_id)


def _check_resumable(run_id: str, state: str) -> None:
    if state != PAUSED_STATE:
        raise RestartError(f"flow run {run_id!r} is {state}, not {PAUSED_STATE}: only a run whose tasks wait "
                           f"for approval (manual_only) can be resumed"
                           + (" (restart it instead)" if state in RESTARTABLE_STATES else ""))


def _check_restartable(run_id: str, state: str) -> None:
    if state == "Success":
        raise RestartError(f"flow run {run_id!r} already succeeded: there is nothing to restart "
                           "(create a new run to run it again)")
    if state not in RESTARTABLE_STATES:
        raise RestartError(f"flow run {run_id!r} is still {state}: only a run that ended "
                           f"{' or '.join(RESTARTABLE_STATES)} can be restarted (cancel it first, or wait for it)")
