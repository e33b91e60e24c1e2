"""Flows: a graph of tasks with its configuration (storage, run config, executor).

``with Flow("name") as flow:`` makes the flow active so that calling tasks adds
them to it. ``flow.run()`` runs it here; ``flow.register()`` hands it to the
backend so an agent can run it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Iterable

from ..exceptions import FlowDefinitionError
from .edges import Edge
from .parameter import Parameter
from .task import Task

_active = threading.local()


class Flow:
    """A named graph of tasks.

    ``executor`` (default :class:`~jupyter_flows.executors.LocalExecutor`) says
    how tasks run, ``run_config`` (default ``UniversalRun``) where a run
    executes when an agent picks it up, and ``storage`` (default ``Local``)
    where the registered flow is kept. ``schedule`` (a
    :class:`~jupyter_flows.schedules.Schedule`) says when it runs by itself.
    """

    def __init__(self, name: str, tasks: Iterable[Task] | None = None, edges: Iterable[Edge] | None = None,
                 executor=None, run_config=None, storage=None, reference_tasks: Iterable[Task] | None = None,
                 schedule=None):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a flow needs a non-empty name, got {name!r}")
        self.name = name
        self.tasks: set[Task] = set()
        self.edges: set[Edge] = set()
        self.constants: dict[Task, dict[str, Any]] = {}
        self.slugs: dict[Task, str] = {}
        self._slug_counts: dict[str, int] = {}
        self._sorted: tuple[Task, ...] | None = None
        self.executor = executor
        self.run_config = run_config
        self._storage = None
        self._reference_tasks: set[Task] = set(reference_tasks or ())
        self.storage = storage
        self.schedule = schedule
        for t in tasks or ():
            self.add_task(t)
        for e in edges or ():
            self.add_edge(e.upstream_task, e.downstream_task, key=e.key, mapped=e.mapped, flattened=e.flattened)

    @property
    def storage(self):
        return self._storage

    @storage.setter
    def storage(self, storage) -> None:
        """Set where the registered flow is kept.

        A storage that *is* the flow's definition (a notebook) fills the flow
        in through its ``attach(flow)`` method: its parameters and the task
        that runs it.
        """
        self._storage = storage
        if storage is not None and hasattr(storage, "attach"):
            storage.attach(self)

    # -- the active flow ------------------------------------------------------------------------

    @staticmethod
    def active() -> "Flow | None":
        stack = getattr(_active, "stack", None)
        return stack[-1] if stack else None

    def __enter__(self) -> "Flow":
        if not hasattr(_active, "stack"):
            _active.stack = []
        _active.stack.append(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _active.stack.pop()

    # -- building ------------------------------------------------------------------------------

    def add_task(self, task: Task) -> Task:
        if not isinstance(task, Task):
            raise TypeError(f"flows hold tasks; got {task!r} of type {type(task).__name__}")
        if task in self.tasks:
            return task
        if isinstance(task, Parameter):
            clash = next((t for t in self.parameters() if t.name == task.name), None)
            if clash is not None:
                raise FlowDefinitionError(f"flow {self.name!r} already has a parameter named {task.name!r}")
        self.tasks.add(task)
        self.slugs[task] = task.slug or self._new_slug(task)
        self._invalidate()
        return task

    def _new_slug(self, task: Task) -> str:
        taken = set(self.slugs.values())
        while True:
            self._slug_counts[task.name] = self._slug_counts.get(task.name, 0) + 1
            slug = f"{task.name}-{self._slug_counts[task.name]}"
            if slug not in taken:
                return slug

    def add_edge(self, upstream_task: Task, downstream_task: Task, key: str | None = None,
                 mapped: bool = False, flattened: bool = False) -> Edge:
        """Make ``downstream_task`` depend on ``upstream_task`` (as argument ``key`` if given)."""
        if key is not None:
            clash = next((e for e in self.edges if e.downstream_task is downstream_task and e.key == key), None)
            if clash is not None:
                raise FlowDefinitionError(
                    f"task {downstream_task.name!r} already receives argument {key!r} from {clash.upstream_task.name!r}"
                )
        self.add_task(upstream_task)
        self.add_task(downstream_task)
        edge = Edge(upstream_task, downstream_task, key=key, mapped=mapped, flattened=flattened)
        self.edges.add(edge)
        self._invalidate()
        return edge

    def set_dependencies(self, task: Task, upstream_tasks: Iterable[Task] | None = None,
                         downstream_tasks: Iterable[Task] | None = None,
                         keyword_tasks: dict[str, Any] | None = None, mapped: bool = False) -> None:
        """Prefect-style explicit wiring; non-task keyword values become constants."""
        self.add_task(task)
        for upstream in upstream_tasks or ():
            self.add_edge(upstream, task, mapped=mapped)
        for downstream in downstream_tasks or ():
            self.add_edge(task, downstream, mapped=mapped)
        for key, value in (keyword_tasks or {}).items():
            if isinstance(value, Task):
                self.add_edge(value, task, key=key, mapped=mapped)
            else:
                self.constants.setdefault(task, {})[key] = value

    def set_reference_tasks(self, tasks: Iterable[Task]) -> None:
        """The tasks whose states decide the flow run's state (terminal tasks by default)."""
        tasks = set(tasks)
        unknown = tasks - self.tasks
        if unknown:
            raise FlowDefinitionError(f"reference tasks must be in the flow; not in it: {sorted(t.name for t in unknown)}")
        self._reference_tasks = tasks

    def _invalidate(self) -> None:
        self._sorted = None

    # -- reading -------------------------------------------------------------------------------

    def parameters(self) -> set[Parameter]:
        return {t for t in self.tasks if isinstance(t, Parameter)}

    def get_tasks(self, name: str | None = None, slug: str | None = None) -> list[Task]:
        return [t for t in self.tasks
                if (name is None or t.name == name) and (slug is None or self.slugs[t] == slug)]

    def upstream_edges(self) -> dict[Task, list[Edge]]:
        edges: dict[Task, list[Edge]] = {t: [] for t in self.tasks}
        for e in sorted(self.edges, key=_edge_order):
            edges[e.downstream_task].append(e)
        return edges

    def downstream_edges(self) -> dict[Task, list[Edge]]:
        edges: dict[Task, list[Edge]] = {t: [] for t in self.tasks}
        for e in self.edges:
            edges[e.upstream_task].append(e)
        return edges

    def root_tasks(self) -> set[Task]:
        return {t for t, edges in self.upstream_edges().items() if not edges}

    def terminal_tasks(self) -> set[Task]:
        return {t for t, edges in self.downstream_edges().items() if not edges}

    def reference_tasks(self) -> set[Task]:
        return set(self._reference_tasks) or self.terminal_tasks()

    def sorted_tasks(self) -> tuple[Task, ...]:
        """Tasks in an order where every task comes after its upstream tasks.

        Ties are broken by the order tasks were created, so runs are repeatable.
        """
        if self._sorted is not None:
            return self._sorted
        upstream_count = {t: 0 for t in self.tasks}
        downstream: dict[Task, list[Task]] = defaultdict(list)
        for e in self.edges:
            upstream_count[e.downstream_task] += 1
            downstream[e.upstream_task].append(e.downstream_task)
        import heapq

        ready = [(t._id, t) for t, n in upstream_count.items() if n == 0]
        heapq.heapify(ready)
        order: list[Task] = []
        while ready:
            _, t = heapq.heappop(ready)
            order.append(t)
            for d in downstream[t]:
                upstream_count[d] -= 1
                if upstream_count[d] == 0:
                    heapq.heappush(ready, (d._id, d))
        if len(order) != len(self.tasks):
            cycle = sorted(t.name for t, n in upstream_count.items() if n > 0)
            raise FlowDefinitionError(f"flow {self.name!r} has a cycle among tasks: {', '.join(cycle)}")
        self._sorted = tuple(order)
        return self._sorted

    def validate(self) -> None:
        """Raise :class:`FlowDefinitionError` if the flow cannot run (a cycle, a stray edge)."""
        for e in self.edges:
            if e.upstream_task not in self.tasks or e.downstream_task not in self.tasks:
                raise FlowDefinitionError(f"edge {e!r} refers to a task that is not in flow {self.name!r}")
        self.sorted_tasks()
        unknown = self._reference_tasks - self.tasks
        if unknown:
            raise FlowDefinitionError(f"reference tasks not in the flow: {sorted(t.name for t in unknown)}")

    def copy(self) -> "Flow":
        new = Flow(self.name, executor=self.executor, run_config=self.run_config, schedule=self.schedule)
        new._storage = self._storage
        new.tasks = set(self.tasks)
        new.edges = set(self.edges)
        new.constants = {t: dict(c) for t, c in self.constants.items()}
        new.slugs = dict(self.slugs)
        new._slug_counts = dict(self._slug_counts)
        new._reference_tasks = set(self._reference_tasks)
        return new

    def __repr__(self) -> str:
        return f"<Flow: name={self.name!r}, tasks={len(self.tasks)}>"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_sorted": None}

    # -- running -------------------------------------------------------------------------------

    def run(self, parameters: dict | None = None, executor=None, listeners: Iterable | None = None,
            flow_run_id: str | None = None, run_on_schedule: bool = True, max_scheduled_runs: int | None = None,
            **parameter_values: Any):
        """Run the flow in this process and return its final state.

        Parameters come as ``parameters={...}`` or as keywords; a name the flow
        does not declare is an error that lists the names it does. ``executor``
        overrides ``flow.executor`` for this run. ``listeners`` receive task
        states and log lines as they happen (see :mod:`jupyter_flows.engine.events`).

        A flow with a ``schedule`` runs at each of its times until interrupted
        (``max_scheduled_runs`` stops it sooner); ``run_on_schedule=False`` runs
        it once, now. See :mod:`jupyter_flows.schedules.runner`.
        """
        from ..engine.flow_runner import FlowRunner

        values = {**(parameters or {}), **parameter_values}

        def run_once(run_values: dict, run_id: str | None = None):
            runner = FlowRunner(self, executor=executor or self.executor, listeners=listeners)
            return runner.run(parameters=run_values, flow_run_id=run_id)

        if run_on_schedule and self.schedule is not None:
            from ..schedules.runner import run_on_schedule as loop

            # each scheduled run gets its own id
            return loop(self, self.schedule, run_once, values, max_scheduled_runs=max_scheduled_runs)
        return run_once(values, flow_run_id)

    def register(self, project_name: str | None = None, labels: Iterable[str] | None = None,
                 idempotency_key: str | None = None, build: bool = True) -> str | None:
        """Store the flow and record it in the backend under ``project_name``; returns the flow id.

        An unchanged flow keeps its version (and id); a changed one becomes a
        new version. See :func:`jupyter_flows.backend.register`.
        """
        from ..backend.register import register

        return register(self, project_name=project_name, labels=labels, idempotency_key=idempotency_key,
                        build=build)

    # -- in a notebook -------------------------------------------------------------------------

    def configure(self, **kwargs: Any):
        """A form to set this flow's executor, run config and parameters, and to run, register or submit it.

        Show it as a cell's last expression; ``project_name=`` preselects a
        project. See :class:`jupyter_flows.jupyter.widgets.config_form.ConfigForm`.
        """
        from ..jupyter.widgets.config_form import ConfigForm

        return ConfigForm(self, **kwargs)

    def visualize(self, flow_state=None, filename: str | None = None):
        """Draw the flow's graph, coloured by task state when given a finished run's state.

        See :func:`jupyter_flows.jupyter.visualize.visualize`.
        """
        from ..jupyter.visualize import visualize

        return visualize(self, flow_state=flow_state, filename=filename)


def _edge_order(edge: Edge) -> tuple:
    """Argument edges by name, then ordering-only edges by creation: runs are repeatable."""
    return (edge.key is None, edge.key or "", edge.upstream_task._id)
