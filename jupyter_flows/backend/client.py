"""The Prefect-shaped front of the backend: ``Client``, ``FlowView``, ``FlowRunView``.

These wrap :class:`~jupyter_flows.backend.Backend` dicts into objects with the
attributes Prefect 1 users know, and rebuild stored configuration into
objects (a ``State``, a ``RunConfig``, an ``Executor``, a ``Storage``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..engine.state import State, state_from_dict
from .backend import RESTING_STATES, Backend


class Client:
    """Talks to the backend at ``url`` (default: ``config.backend_url()``).

    >>> client = Client()
    >>> project_id = client.create_project("tutorial")
    >>> flow_run_id = client.create_flow_run(flow_id, parameters={"people": ["Zaphod"]})
    """

    def __init__(self, url: str | None = None, backend: Backend | None = None):
        self.backend = backend or Backend(url)

    def __repr__(self) -> str:
        return f"Client({self.backend.url!r})"

    def create_project(self, project_name: str, project_description: str | None = None) -> str:
        """Create a project (or find the existing one); returns its id."""
        return self.backend.create_project(project_name, project_description)["id"]

    def register(self, flow, project_name: str | None = None, labels: Iterable[str] | None = None,
                 idempotency_key: str | None = None, build: bool = True) -> str | None:
        """Same as ``flow.register(...)``, against this client's backend."""
        from .register import register

        return register(flow, project_name=project_name, labels=labels, idempotency_key=idempotency_key,
                        build=build, backend=self.backend)

    def create_flow_run(self, flow_id: str | None = None, version_group_id: str | None = None,
                        parameters: dict | None = None, run_config: Any = None,
                        labels: Iterable[str] | None = None, run_name: str | None = None,
                        scheduled_start_time=None) -> str:
        """Schedule a run for an agent to pick up; returns the flow run id.

        ``scheduled_start_time`` (a datetime; naive means UTC) holds the run
        back until then, as in Prefect 1; by default it may start now.
        """
        start = None
        if scheduled_start_time is not None:
            from ..schedules.zones import as_aware

            start = as_aware(scheduled_start_time, "scheduled_start_time").timestamp()
        return self.backend.create_flow_run(flow_id=flow_id, version_group_id=version_group_id,
                                            parameters=parameters, run_config=run_config, labels=labels,
                                            run_name=run_name, scheduled_start_time=start)["id"]

    def cancel_flow_run(self, flow_run_id: str) -> State:
        """Cancel a run that has not finished; returns its state afterwards."""
        return _state(self.backend.cancel_flow_run(flow_run_id))

    def restart_flow_run(self, flow_run_id: str) -> State:
        """Run a Failed or Cancelled run again, same id: what succeeded is kept, the rest reruns.

        Its agent reads the recorded task runs and loads the results of those
        that succeeded from their checkpoints. Returns the run's state (Scheduled).
        """
        return _state(self.backend.restart_flow_run(flow_run_id))

    def resume_flow_run(self, flow_run_id: str) -> State:
        """Approve a run paused for approval (``manual_only`` tasks) and run it again, same id.

        What succeeded is kept; the paused tasks run, then what follows them.
        A run that is not Paused is refused. Returns the run's state (Scheduled).
        """
        return _state(self.backend.resume_flow_run(flow_run_id))

    def get_flow_run_state(self, flow_run_id: str) -> State:
        return _state(self.backend.get_flow_run(flow_run_id))


@dataclass
class FlowView:
    """A registered flow version, read from the backend."""

    flow_id: str
    name: str
    version: int
    version_group_id: str
    project_name: str
    archived: bool
    parameters: list[dict]
    graph: dict
    labels: list[str]
    storage: Any
    location: str | None
    run_config: Any
    executor: Any
    created: float
    raw: dict = field(repr=False)

    @classmethod
    def from_flow_id(cls, flow_id: str, backend: Backend | None = None) -> "FlowView":
        return cls._from_dict((backend or Backend()).get_flow(flow_id))

    @classmethod
    def from_flow_name(cls, flow_name: str, project_name: str | None = None, version: int | None = None,
                       backend: Backend | None = None) -> "FlowView":
        """The latest version of ``flow_name`` (in ``project_name`` when a name is in several projects)."""
        return cls._from_dict((backend or Backend()).get_flow_by_name(flow_name, project_name, version))

    @classmethod
    def _from_dict(cls, flow: dict) -> "FlowView":
        from ..executors import executor_from_dict
        from ..run_configs import run_config_from_dict
        from ..storage import storage_from_dict

        return cls(
            flow_id=flow["id"], name=flow["name"], version=flow["version"],
            version_group_id=flow["version_group_id"], project_name=flow["project_name"],
            archived=flow["archived"], parameters=flow["parameters"], graph=flow["graph"],
            labels=flow["labels"],
            storage=storage_from_dict(flow["storage"]) if flow["storage"] else None,
            location=flow["location"],
            run_config=run_config_from_dict(flow["run_config"]),
            executor=executor_from_dict(flow["executor"]),
            created=flow["created"], raw=flow,
        )

    def load_flow(self):
        """The flow itself, loaded from its storage (as an agent's flow run does)."""
        return self.storage.get_flow(self.location)


@dataclass
class TaskRunView:
    """One task run (a child of a mapped task has ``map_index >= 0``; others -1)."""

    task_slug: str
    task_name: str
    map_index: int
    state: State
    attempts: int
    start_time: float | None
    end_time: float | None


@dataclass
class FlowRunView:
    """A flow run as the backend last saw it; ``get_latest()`` reads it again."""

    flow_run_id: str
    name: str
    flow_id: str
    flow_name: str
    project_name: str
    parameters: dict
    labels: list[str]
    run_config: dict | None
    state: State
    states: list[dict]
    agent_id: str | None
    created: float
    start_time: float | None
    end_time: float | None
    output_path: str | None
    scheduled_start_time: float | None
    #: where an agent runs it: ``container <name>`` (Docker), ``Job <namespace>/<name>`` (Kubernetes)
    infrastructure: str | None
    backend: Backend = field(repr=False)
    raw: dict = field(repr=False)

    @classmethod
    def from_flow_run_id(cls, flow_run_id: str, backend: Backend | None = None) -> "FlowRunView":
        backend = backend or Backend()
        run = backend.get_flow_run(flow_run_id)
        return cls(
            flow_run_id=run["id"], name=run["name"], flow_id=run["flow_id"], flow_name=run["flow_name"],
            project_name=run["project_name"], parameters=run["parameters"], labels=run["labels"],
            run_config=run["run_config"], state=_state(run), states=run["states"], agent_id=run["agent_id"],
            created=run["created"], start_time=run["start_time"], end_time=run["end_time"],
            output_path=run["output_path"], scheduled_start_time=run.get("scheduled_start_time"),
            infrastructure=run.get("infrastructure"), backend=backend, raw=run,
        )

    def get_latest(self) -> "FlowRunView":
        return self.from_flow_run_id(self.flow_run_id, backend=self.backend)

    def get_logs(self, after: int | None = None, limit: int | None = None) -> list[dict]:
        """The run's log lines (dicts with ``id``, ``level``, ``timestamp``, ``message``, task fields)."""
        return self.backend.get_logs(self.flow_run_id, after=after, limit=limit)

    def get_all_task_runs(self) -> list[TaskRunView]:
        return [
            TaskRunView(task_slug=t["task_slug"], task_name=t["task_name"], map_index=t["map_index"],
                        state=state_from_dict({"type": t["state"], "message": t["message"]}),
                        attempts=t["attempts"], start_time=t["start_time"], end_time=t["end_time"])
            for t in self.backend.get_task_runs(self.flow_run_id)
        ]

    def wait(self, timeout: float | None = None, poll_interval: float = 0.2) -> "FlowRunView":
        """Poll until the run has finished or paused for approval; returns that view.

        Raises ``TimeoutError`` naming the run and its last state when
        ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        view = self
        while view.raw["state"] not in RESTING_STATES:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"flow run {view.name!r} ({view.flow_run_id}) did not finish within {timeout} s; "
                    f"it is {view.raw['state']}"
                    + (f": {view.raw['state_message']}" if view.raw["state_message"] else "")
                )
            time.sleep(poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - time.monotonic())))
            view = view.get_latest()
        return view


def _state(run: dict) -> State:
    return state_from_dict({"type": run["state"], "message": run["state_message"]})
