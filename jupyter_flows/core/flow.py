"""Flows: a graph of tasks with its configuration (storage, run config, executor).

``with Flow("name") as flow:`` makes the flow active so that calling tasks adds
them to it. ``flow.run()`` runs it here; ``flow.register()`` hands it to the
backend so an agent can run it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Iterable

from ..engine.state_handlers import check_state_handlers
from ..exceptions import FlowDefinitionError
from ..executors.base import check_executor
from .edges import Edge, unwrap
from .parameter import Parameter
from .task import Constant, Task, add_argument, as_task, run_signature

_active = threading.local()


class Flow:
    """A named graph of tasks.

    ``executor`` (default :class:`~jupyter_flows.executors.LocalExecutor`) says
    how tasks run, ``run_config`` (default ``UniversalRun``) where a run
    executes when an agent picks it up, and ``storage`` (default ``Local``)
    where the registered flow is kept. ``schedule`` (a
    :class:`~jupyter_flows.schedules.Schedule`) says when it runs by itself.
    ``state_handlers`` (``fn(flow, old_state, new_state)``) are called when a
    run starts and ends, ``on_failure`` (``fn(flow, state)``) when it fails.
    ``result`` (a :class:`~jupyter_flows.results.Result`) is where its tasks
    keep their results when they checkpoint and have no ``result`` of their own.
    ``flow.notifications`` (notifiers from :mod:`jupyter_flows.notifications`)
    are stored with the flow when it is registered, and sent when a recorded
    run of it ends, wherever it runs (unlike state handlers, they need no code
    in the flow and outlive its versions).
    """

    # Class defaults, so that flows pickled before these options existed still run.
    state_handlers: list = []
    on_failure = None
    result = None
    notifications: list = []

    def __init__(self, name: str, tasks: Iterable[Task] | None = None, edges: Iterable[Edge] | None = None,
                 executor=None, run_config=None, storage=None, reference_tasks: Iterable[Task] | None = None,
                 schedule=None, state_handlers: Iterable | None = None, on_failure=None, result=None):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a flow needs a non-empty name, got {name!r}")
        self.name = name
        self.tasks: set[Task] = set()
        self.edges: set[Edge] = set()
        self.constants: dict[Task, dict[str, Any]] = {}
        self.slugs: dict[Task, str] = {}
        self._slug_counts: dict[str, int] = {}
        self._sorted: tuple[Task, ...] | None = None
        self._index: tuple[dict, dict] | None = None  # see _edge_index
        self._indexed_edges = 0
        self.executor = executor
        self.run_config = run_config
        self._storage = None
        self._reference_tasks: set[Task] = set()
        self.storage = storage
        self.schedule = schedule
        self.state_handlers, self.on_failure = check_state_handlers(state_handlers, on_failure, f"flow {name!r}")
        self.result = _check_result(result, name)
        for t in tasks or ():
            self.add_task(t)
        for e in edges or ():
            self.add_edge(e.upstream_task, e.downstream_task, key=e.key, mapped=e.mapped, flattened=e.flattened)
        if reference_tasks:
            self.set_reference_tasks(reference_tasks)

    @property
    def executor(self):
        return self.__dict__.get("_executor")

    @executor.setter
    def executor(self, executor) -> None:
        """How this flow's tasks run (None: LocalExecutor); anything else is an ExecutorError."""
        self._executor = check_executor(executor, f"flow {self.name!r}: executor")

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
        """Add ``task`` (once); its slug is the one it was given, else ``<name>-<n>``."""
        if not isinstance(task, Task):
            raise TypeError(f"flows hold tasks; got {task!r} of type {type(task).__name__}")
        if task in self.tasks:
            return task
        if isinstance(task, Parameter):
            clash = next((t for t in self.parameters() if t.name == task.name), None)
            if clash is not None:
                raise FlowDefinitionError(f"flow {self.name!r} already has a parameter named {task.name!r}")
        if task.slug and task.slug in self.slugs.values():
            raise FlowDefinitionError(
                f"flow {self.name!r} already has a task with slug {task.slug!r}; give {task.name!r} another slug"
            )
        self.tasks.add(task)
        self.slugs[task] = task.slug or self._new_slug(task)
        if self._index is not None:
            self._index[0][task], self._index[1][task] = set(), set()
        self._invalidate()
        return task

    def _new_slug(self, task: Task) -> str:
        taken = set(self.slugs.values())
        while True:
            self._slug_counts[task.name] = self._slug_counts.get(task.name, 0) + 1
            slug = f"{task.name}-{self._slug_counts[task.name]}"
            if slug not in taken:
                return slug

    def add_edge(self, upstream_task: Any, downstream_task: Any, key: str | None = None,
                 mapped: bool = False, flattened: bool = False) -> Edge:
        """Make ``downstream_task`` depend on ``upstream_task`` (as argument ``key`` if given).

        Either end may be a value (it becomes a task, see :func:`as_task`) or
        wrapped in ``mapped``/``unmapped``/``flatten``. Checked here, as Prefect 1
        does: no edge into a Parameter, no argument given twice, and ``key``
        must be an argument of the downstream task's ``run()``.
        """
        upstream_task, mapped, flattened = unwrap(upstream_task, mapped, flattened)
        downstream_task, mapped, flattened = unwrap(downstream_task, mapped, flattened)
        upstream_task, downstream_task = as_task(upstream_task, self), as_task(downstream_task, self)
        if isinstance(downstream_task, Parameter):
            raise FlowDefinitionError(
                f"parameter {downstream_task.name!r} cannot depend on {upstream_task.name!r}: parameters are root tasks"
            )
        edge = Edge(upstream_task, downstream_task, key=key, mapped=mapped, flattened=flattened)
        if key is not None:
            self._check_key(downstream_task, key, upstream_task)
            if isinstance(upstream_task, Constant) and not (mapped or flattened):
                self.add_task(downstream_task)
                self.constants.setdefault(downstream_task, {})[key] = upstream_task.value
                return edge
        self.add_task(upstream_task)
        self.add_task(downstream_task)
        self.edges.add(edge)
        index = self._index
        if index is not None and edge not in index[0].setdefault(downstream_task, set()):
            index[0][downstream_task].add(edge)
            index[1].setdefault(upstream_task, set()).add(edge)
            self._indexed_edges += 1
        self._invalidate()
        return edge

    def _check_key(self, task: Task, key: str, upstream: Task) -> None:
        if task in self.tasks:
            clash = next((e for e in self._edge_index()[0].get(task, ()) if e.key == key), None)
            if clash is not None or key in (self.constants.get(task) or ()):
                source = repr(clash.upstream_task.name) if clash is not None else "a constant"
                raise FlowDefinitionError(f"task {task.name!r} already receives argument {key!r} from {source}")
        parameters = run_signature(task).parameters
        if key not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            accepted = ", ".join(parameters) or "no arguments"
            raise FlowDefinitionError(
                f"task {task.name!r} has no argument {key!r} to receive {upstream.name!r} (it accepts: {accepted})"
            )

    def chain(self, *tasks: Any) -> list[Edge]:
        """Run ``tasks`` one after the other: an ordering edge between each neighbouring pair."""
        return [self.add_edge(up, down) for up, down in zip(tasks, tasks[1:])]

    def set_dependencies(self, task: Any, upstream_tasks: Iterable[Any] | None = None,
                         downstream_tasks: Iterable[Any] | None = None,
                         keyword_tasks: dict[str, Any] | None = None, mapped: bool = False) -> None:
        """Wire ``task`` explicitly, as calling it would.

        ``keyword_tasks`` values are arguments: tasks, literals (kept as
        constants) or collections of tasks. With ``mapped=True`` the upstream
        and keyword tasks are mapped over unless wrapped in ``unmapped``;
        ``downstream_tasks`` only run after ``task``.
        """
        task = as_task(task, self)
        self.add_task(task)
        for upstream in upstream_tasks or ():
            value, edge_mapped, flattened = unwrap(upstream, mapped)
            self.add_edge(as_task(value, self), task, mapped=edge_mapped, flattened=flattened)
        for downstream in downstream_tasks or ():
            self.add_edge(task, downstream)
        for key, value in (keyword_tasks or {}).items():
            add_argument(self, task, key, value, mapped)

    def update(self, flow: "Flow", merge_parameters: bool = False, merge_reference_tasks: bool = False) -> None:
        """Add every task, edge and constant of ``flow`` to this flow.

        ``merge_parameters=True`` replaces this flow's parameters by the other
        flow's parameters of the same name (else two of one name are an error).
        """
        if merge_parameters:
            theirs = {p.name: p for p in flow.parameters()}
            for mine in [p for p in self.parameters() if p.name in theirs]:
                self.replace(mine, theirs[mine.name])
        for task in sorted(flow.tasks, key=lambda t: t._id):  # creation order: repeatable slugs
            self.add_task(task)
        for edge in flow.edges:
            if edge not in self.edges:
                self.add_edge(edge.upstream_task, edge.downstream_task, key=edge.key, mapped=edge.mapped,
                              flattened=edge.flattened)
        for task, constants in flow.constants.items():
            self.constants.setdefault(task, {}).update(constants)
        if merge_reference_tasks:
            self.set_reference_tasks(self.reference_tasks() | flow.reference_tasks())

    def replace(self, old: Task, new: Any) -> None:
        """Put ``new`` where ``old`` is: the same edges and reference-task role (``old``'s constants go with it)."""
        self._require(old)
        new = as_task(new, self)
        affected = [e for e in self.edges if old in (e.upstream_task, e.downstream_task)]
        self.edges.difference_update(affected)
        self.tasks.discard(old)
        del self.slugs[old]
        self.constants.pop(old, None)
        self._index = None
        self.add_task(new)
        for e in affected:
            self.add_edge(new if e.upstream_task is old else e.upstream_task,
                          new if e.downstream_task is old else e.downstream_task,
                          key=e.key, mapped=e.mapped, flattened=e.flattened)
        if old in self._reference_tasks:
            self._reference_tasks = (self._reference_tasks - {old}) | {new}

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

    def get_tasks(self, name: str | None = None, slug: str | None = None, tags: Iterable[str] | None = None,
                  task_type: type | None = None) -> list[Task]:
        """The tasks matching every criterion given: name, slug, all of ``tags``, an instance of ``task_type``."""
        tags = None if tags is None else set(tags)
        return [t for t in self.tasks
                if (name is None or t.name == name) and (slug is None or self.slugs[t] == slug)
                and (tags is None or tags <= t.tags) and (task_type is None or isinstance(t, task_type))]

    def edges_to(self, task: Task) -> set[Edge]:
        """The edges into ``task`` (from its upstream tasks)."""
        self._require(task)
        return set(self._edge_index()[0].get(task, ()))

    def edges_from(self, task: Task) -> set[Edge]:
        """The edges out of ``task`` (to its downstream tasks)."""
        self._require(task)
        return set(self._edge_index()[1].get(task, ()))

    def upstream_tasks(self, task: Task) -> set[Task]:
        return {e.upstream_task for e in self.edges_to(task)}

    def downstream_tasks(self, task: Task) -> set[Task]:
        return {e.downstream_task for e in self.edges_from(task)}

    def _require(self, task: Task) -> None:
        if task not in self.tasks:
            raise FlowDefinitionError(f"task {task!r} is not in flow {self.name!r}")

    def _edge_index(self) -> tuple[dict, dict]:
        """``({task: edges into it}, {task: edges out of it})``, kept up to date by add_task/add_edge."""
        index = self._index
        if index is None or self._indexed_edges != len(self.edges):  # never built, or edges set from outside
            index = ({t: set() for t in self.tasks}, {t: set() for t in self.tasks})
            for e in self.edges:
                index[0][e.downstream_task].add(e)
                index[1][e.upstream_task].add(e)
            self._index, self._indexed_edges = index, len(self.edges)
        return index

    def upstream_edges(self) -> dict[Task, list[Edge]]:
        # From the kept edge index: every flow run asks, and a chain has as many edges as tasks.
        return {t: sorted(into, key=_edge_order) if len(into) > 1 else list(into)
                for t, into in self._edge_index()[0].items()}

    def downstream_edges(self) -> dict[Task, list[Edge]]:
        edges: dict[Task, list[Edge]] = {t: [] for t in self.tasks}
        for e in self.edges:
            edges[e.upstream_task].append(e)
        return edges

    def root_tasks(self) -> set[Task]:
        return {t for t, edges in self.upstream_edges().items() if not edges}

    def terminal_tasks(self) -> set[Task]:
        return {t for t, out in self._edge_index()[1].items() if not out}

    def reference_tasks(self) -> set[Task]:
        return set(self._reference_tasks) or self.terminal_tasks()

    def sorted_tasks(self, root_tasks: Iterable[Task] | None = None) -> tuple[Task, ...]:
        """Tasks in an order where every task comes after its upstream tasks.

        Ties are broken by the order tasks were created, so runs are repeatable.
        With ``root_tasks``, only those and the tasks downstream of them.
        """
        order = self._sorted_all()
        if not root_tasks:
            return order
        keep = set()
        todo = list(root_tasks)
        while todo:
            task = todo.pop()
            self._require(task)
            if task not in keep:
                keep.add(task)
                todo.extend(self.downstream_tasks(task))
        return tuple(t for t in order if t in keep)

    def _sorted_all(self) -> tuple[Task, ...]:
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
        new.state_handlers, new.on_failure = self.state_handlers, self.on_failure
        new.notifications = list(self.notifications)
        return new

    def __repr__(self) -> str:
        return f"<Flow: name={self.name!r}, tasks={len(self.tasks)}>"

    def __iter__(self):
        """The flow's tasks, upstream before downstream."""
        return iter(self.sorted_tasks())

    def __eq__(self, other: object) -> bool:
        """Same name, the same task objects, edges and reference tasks (Prefect 1's definition)."""
        if type(self) is not type(other):
            return NotImplemented
        return (self.name, self.tasks, self.edges, self.reference_tasks()) == (
            other.name, other.tasks, other.edges, other.reference_tasks())

    __hash__ = None  # equal flows may be told apart later by adding tasks: no stable hash

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_sorted": None, "_index": None}

    # -- running -------------------------------------------------------------------------------

    def run(self, parameters: dict | None = None, executor=None, listeners: Iterable | None = None,
            flow_run_id: str | None = None, run_on_schedule: bool = True, max_scheduled_runs: int | None = None,
            context: dict | None = None, task_states: dict | None = None, checkpoint: bool = False,
            restart_from=None, **parameter_values: Any):
        """Run the flow in this process and return its final state.

        Parameters come as ``parameters={...}`` or as keywords; a name the flow
        does not declare is an error that lists the names it does. ``executor``
        overrides ``flow.executor`` for this run. ``listeners`` receive task
        states and log lines as they happen (see :mod:`jupyter_flows.engine.events`).

        A flow with a ``schedule`` runs at each of its times until interrupted
        (``max_scheduled_runs`` stops it sooner); ``run_on_schedule=False`` runs
        it once, now, and so does a run given a ``flow_run_id`` (one run of a
        registered flow, as an agent starts it). See :mod:`jupyter_flows.schedules.runner`.

        ``context`` adds values to :data:`jupyter_flows.context` for every task
        of the run. ``task_states`` (``{task: state}``) starts tasks in given
        states: a finished state is kept (its result feeds downstream tasks),
        :class:`~jupyter_flows.engine.state.Resume` lets a paused task run. So
        ``flow.run(task_states={**state.result, approval: Resume()})`` resumes
        a run that ended with a paused task.

        ``checkpoint=True`` writes every task's result where its ``result`` says
        (tasks with ``checkpoint=False`` excepted); by default a run here keeps
        results in memory and only tasks with ``checkpoint=True`` or a
        ``target`` write theirs. ``restart_from`` (the final state of an earlier
        run of this flow) keeps the task runs that succeeded in it, results
        included, and runs the rest: of a mapped task only the children that
        did not succeed.

        >>> state = flow.run()          # two children of a map fail
        >>> state = flow.run(restart_from=state)  # only they, and what follows, run again
        """
        from ..engine.flow_runner import FlowRunner, check_run_arguments

        check_run_arguments(self, parameters, executor, context, task_states)
        values = {**(parameters or {}), **parameter_values}

        def run_once(run_values: dict, run_id: str | None = None):
            runner = FlowRunner(self, executor=executor or self.executor, listeners=listeners)
            return runner.run(parameters=run_values, flow_run_id=run_id, context=context, task_states=task_states,
                              checkpoint=checkpoint, restart_from=restart_from)

        if run_on_schedule and self.schedule is not None and flow_run_id is None:
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


def _check_result(result: Any, name: str):
    from ..results import Result

    if result is not None and not isinstance(result, Result):
        raise FlowDefinitionError(f"flow {name!r}: result must be a Result such as LocalResult() or "
                                  f"FSSpecResult(url), got {result!r}")
    return result


def _edge_order(edge: Edge) -> tuple:
    """Argument edges by name, then ordering-only edges by creation: runs are repeatable."""
    return (edge.key is None, edge.key or "", edge.upstream_task._id)
