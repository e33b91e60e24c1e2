"""Plans a flow run as dask-style task graphs and hands them to the executor.

The whole run is planned up front as one graph whenever it can be. Only a
task mapped over a value nobody has computed yet (a parameter, a task result,
a flattened list) needs that value to know how many children it has: the
runner then executes what it has planned so far (a "wave"), reads the value
and goes on planning. A flow with no such mapping runs in one wave, so the
executor sees the whole graph and can run everything that is ready in parallel.

Keys are ``"<run prefix>/<task slug>"`` for a task and ``(that, i)`` for
child ``i`` of a mapped task; node values are ``(run_task, spec, *upstream)``
where each upstream argument is a key, a finished :class:`TaskRun`, or a list
of those (a mapped task's children, passed whole to a reducer).
"""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from typing import Any, Iterable

import cloudpickle

from ..core.parameter import Parameter
from ..core.task import Constant
from ..exceptions import ConfigurationError, NotPicklableError, ParameterError
from ..executors.base import check_executor
from ..results.packs import flush_packs
from .collector import EVERY, FrozenRecords
from .context import context
from .events import RunListener
from .logging import LogEntry, flow_logger, print_entry
from .restarts import checkpoint_results, kept_from_records, kept_from_state
from .signals import ENDRUN
from .state import Cached, Cancelled, Failed, Mapped, Pending, Resume, Running, Scheduled, State, Success
from .state_handlers import call_state_handlers
from .task_runner import ELEMENT, LIST, WHOLE, Element, TaskRun, TaskRunSpec, run_task, value_run
from .triggers import all_successful


class _MappedRef:
    """Where a mapped task's children are: their keys, in map index order."""

    __slots__ = ("keys",)

    def __init__(self, keys: list):
        self.keys = keys


class FlowRunner:
    """Runs a :class:`~jupyter_flows.Flow` once; ``flow.run()`` is the usual way in."""

    def __init__(self, flow, executor=None, listeners: Iterable[RunListener] | None = None):
        from ..executors import LocalExecutor

        self.flow = flow
        self.executor = executor or LocalExecutor()
        self.listeners = list(listeners or ())

    # -- public ---------------------------------------------------------------------------------

    def run(self, parameters: dict | None = None, flow_run_id: str | None = None,
            context: dict | None = None, task_states: dict | None = None, checkpoint: bool = False,
            restart_from: State | list | None = None) -> State:
        """Run the flow once and return its final state (see :meth:`Flow.run` for the arguments).

        ``checkpoint`` is the run's default for tasks that do not say (an agent's
        runs pass True). ``restart_from`` is the final state of an earlier run of
        this flow in this process, or the task runs the backend recorded for this
        run: see :mod:`jupyter_flows.engine.restarts`.
        """
        flow = self.flow
        flow.validate()
        values = check_parameters(flow, parameters or {})
        self.flow_run_id = flow_run_id or str(uuid.uuid4())
        self._prefix = self.flow_run_id[:8]
        self._log = flow_logger(flow.name)
        self._flow_context = run_context(flow.name, self.flow_run_id, values, context)
        self._given = dict(task_states or {})
        self._refs: dict = {}
        self._done: dict = {}
        self._records, self._freeze_at = FrozenRecords(), EVERY
        self._pending: dict = {}
        self._upstream = flow.upstream_edges()
        self._mapped_tasks = {e.downstream_task for e in flow.edges if e.mapped}
        self._names = {slug: task.name for task, slug in flow.slugs.items()}
        self._results = checkpoint_results(flow, checkpoint)
        self._caching = any(task.cache_for is not None for task in flow.tasks)
        self._caches = _thread_caches() if self._caching else None
        for listener in self.listeners:
            listener.flow_run_started(flow, self.flow_run_id, values)
            # A listener that records the run may take task log lines live, in every worker.
            if getattr(listener, "log_stream", None) is not None:
                self._flow_context["log_stream"] = listener.log_stream
        self._flow_log(logging.INFO, f"Beginning flow run {self.flow_run_id[:8]} for {flow.name!r}")
        self._kept = self._restart_plan(restart_from)
        self._state = self._handled(Scheduled(), Running())
        if not self._state.is_running():  # a flow state handler failed or chose another state
            return self._finish(self._state)
        try:
            state = self._unpicklable() if self.executor.needs_pickling else None
            if state is None:
                with self.executor.start():
                    for task in flow.sorted_tasks():
                        self._plan(task)
                    self._flush()
                state = self._final_state()
        except KeyboardInterrupt:
            state = Cancelled("Flow run was interrupted by the user", result=self._task_states())
            self._finish(state)
            raise
        finally:
            self._records.release()
        return self._finish(state)

    # -- planning -------------------------------------------------------------------------------

    def _restart_plan(self, restart_from) -> dict:
        """The task runs kept from an earlier attempt (``{(slug, map index): TaskRun}``), logged."""
        if restart_from is None:
            return {}
        if isinstance(restart_from, State):
            kept = kept_from_state(self.flow, restart_from)
        elif not isinstance(restart_from, list):
            raise ConfigurationError(f"restart_from takes the final state of an earlier run of flow "
                                     f"{self.flow.name!r} (what flow.run returned), got {restart_from!r:.60}")
        else:
            kept = kept_from_records(self.flow, restart_from, self._results, self._flow_log)
        self._flow_log(logging.INFO, f"Restarting: {len(kept)} successful task run(s) kept, the others run again")
        return kept

    def _arg(self, key):
        """A finished run if the key ran in an earlier wave, else the key itself."""
        return self._done.get(key, key)

    def _upstream_arg(self, task):
        """The argument and slot kind through which ``task``'s output reaches a downstream task."""
        ref = self._refs[task]
        done = self._done  # as _arg, inline: this runs for every edge planned
        if type(ref) is _MappedRef:
            return [done.get(k, k) for k in ref.keys], LIST
        return done.get(ref, ref), WHOLE

    def _plan(self, task) -> None:
        given = self._given.get(task) if self._given else None
        if given is not None and given.is_finished():
            self._use_given(task, given)
            return
        edges = self._upstream[task]
        if task in self._mapped_tasks:
            self._plan_mapped(task, edges)
            return
        slots, args = [], []
        for e in edges:
            if e.flattened:
                arg, kind = self._flattened(e.upstream_task), WHOLE
            else:
                arg, kind = self._upstream_arg(e.upstream_task)
            slots.append((e.key, kind))
            args.append(arg)
        slug = self.flow.slugs[task]
        key = f"{self._prefix}/{slug}"
        kept = self._kept.get((slug, None)) if self._kept else None
        if kept is not None:  # succeeded in the attempt being restarted: resolved, as a parameter is
            self._refs[task] = key
            self._on_done(key, kept)
            return
        spec = TaskRunSpec(task, slug, None, tuple(slots), self.flow.constants.get(task), self._flow_context)
        self._refs[task] = key
        if not edges and isinstance(task, (Parameter, Constant)):
            # Known before anything runs: resolve here, so mapping over a parameter or a
            # literal list needs no extra wave through the executor.
            self._on_start(key)
            self._on_done(key, run_task(spec))
            return
        self._pending[key] = (run_task, spec, *args)

    def _plan_mapped(self, task, edges) -> None:
        slug = self.flow.slugs[task]
        per_edge: list[tuple] = []  # (edge, kind, shared arg or per-child list)
        lengths: list[int] | None = []
        for e in edges:
            upstream = e.upstream_task
            if not e.mapped:
                arg, kind = (self._flattened(upstream), WHOLE) if e.flattened else self._upstream_arg(upstream)
                per_edge.append((e, kind, arg, False))
                continue
            ref = self._refs[upstream]
            kind = WHOLE
            if type(ref) is _MappedRef and not e.flattened:
                children = [self._arg(k) for k in ref.keys]
            else:
                source = self._finished(upstream)
                if not all(_mappable(run.state, task) for run in _as_list(source)):
                    # Not mappable: run once, so that the trigger decides (TriggerFailed / Skipped).
                    per_edge.append((e, LIST if isinstance(source, list) else WHOLE, source, False))
                    lengths = None
                    continue
                try:
                    elements = _elements(source, e.flattened)
                except TypeError as exc:
                    self._resolve(task, slug, Failed(f"Cannot map {task.name!r} over {upstream.name!r}: {exc}"))
                    return
                children, kind = [Element(v) for v in elements], ELEMENT
            per_edge.append((e, kind, children, True))
            if lengths is not None:
                lengths.append(len(children))
        if lengths is None:
            self._plan_unmappable(task, slug, per_edge)
            return
        # Arguments of unequal length are zipped, as Prefect 1 does: the shortest decides.
        n = min(lengths, default=0)
        slots = tuple((e.key, kind) for e, kind, _, _ in per_edge)
        constants = self.flow.constants.get(task)
        name = f"{self._prefix}/{slug}"
        keys = []
        kept = self._kept
        single = per_edge[0][2] if len(per_edge) == 1 else None
        for i in range(n):
            key = (name, i)
            keys.append(key)
            if kept and (slug, i) in kept:  # a child that succeeded in the attempt being restarted
                continue
            spec = TaskRunSpec(task, slug, i, slots, constants, self._flow_context)
            if single is not None:  # the usual map over one list: no per-child argument list
                self._pending[key] = (run_task, spec, single[i])
            else:
                self._pending[key] = (run_task, spec, *[arg[i] if per_child else arg
                                                        for _, _, arg, per_child in per_edge])
        self._refs[task] = _MappedRef(keys)
        for listener in self.listeners:
            listener.task_mapped(slug, task.name, n)
        if kept:  # kept children are reported after their parent, as run children are
            for i in range(n):
                if (slug, i) in kept:
                    self._on_done(keys[i], kept[(slug, i)])
        if task.state_handlers or task.on_failure is not None:
            self._mapped_handlers(task, n)

    def _mapped_handlers(self, task, n: int) -> None:
        """A mapped task's own handlers hear Pending -> Mapped once its children are planned.

        Its state is its children's: what a handler returns here is not used.
        """
        try:
            call_state_handlers(task, Pending(), Mapped(f"Mapped {n} children"))
        except ENDRUN as signal:
            self._flow_log(logging.ERROR, f"Task {task.name!r}: {signal.state.message}")

    def _plan_unmappable(self, task, slug, per_edge) -> None:
        slots, args = [], []
        for e, kind, arg, per_child in per_edge:
            if per_child:  # a mappable edge beside the failed one: its state still counts
                slots.append((e.key, LIST))
            else:
                slots.append((e.key, kind))
            args.append(arg)
        key = f"{self._prefix}/{slug}"
        spec = TaskRunSpec(task, slug, None, tuple(slots), self.flow.constants.get(task), self._flow_context)
        self._pending[key] = (run_task, spec, *args)
        self._refs[task] = key

    def _finished(self, task):
        """The finished run(s) of ``task``, running the planned graph first if needed."""
        ref = self._refs[task]
        keys = ref.keys if type(ref) is _MappedRef else [ref]
        if any(k not in self._done for k in keys):
            self._flush()
        if type(ref) is _MappedRef:
            return [self._done[k] for k in keys]
        return self._done[ref]

    def _flattened(self, task) -> TaskRun:
        source = self._finished(task)
        runs = _as_list(source)
        failed = next((r for r in runs if not r.state.is_successful()), None)
        if failed is not None:
            return failed
        anchor = runs[0] if runs else TaskRun(self.flow.slugs[task], task.name, None, Success(result=[]))
        return value_run(_elements(source, True), anchor)

    def _use_given(self, task, state: State) -> None:
        """A task started in a finished state (``task_states``): keep it, children included."""
        slug = self.flow.slugs[task]
        if not isinstance(state, Mapped):
            self._resolve(task, slug, state)
            return
        keys = [(f"{self._prefix}/{slug}", i) for i in range(len(state.map_states))]
        for i, (key, child) in enumerate(zip(keys, state.map_states)):
            self._on_done(key, TaskRun(slug, task.name, i, child))
        self._refs[task] = _MappedRef(keys)

    def _resolve(self, task, slug: str, state: State) -> None:
        """Record an outcome decided while planning (no worker runs it)."""
        key = f"{self._prefix}/{slug}"
        now = time.time()
        run = TaskRun(slug, task.name, None, state, now, now)
        self._refs[task] = key
        self._on_done(key, run)

    # -- executing ------------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._pending:
            return
        graph, self._pending = self._pending, {}
        self._complete_specs(graph)
        if len(graph) >= EVERY:  # a large wave: its nodes live until it ends (see collector.py)
            self._freeze_at = self._records.freeze(len(self._done))
        try:
            # Nobody listens to task starts: the executor skips that call per task run.
            self.executor.run_graph(graph, self._on_start if self.listeners else None, self._on_done)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the executor itself broke (lost worker, cluster gone)
            self._flow_log(logging.ERROR, f"Executor {type(self.executor).__name__} failed: {exc!r}")
            for key, node in graph.items():
                if key not in self._done:
                    spec = node[1]
                    self._on_done(key, TaskRun(spec.task_slug, spec.task.name, spec.map_index,
                                               Failed(f"Executor failed: {type(exc).__name__}: {exc}")))

    def _complete_specs(self, graph: dict) -> None:
        """Add what only some task runs need: edges for custom triggers, the timeout mode, Resume.

        Done here, once per wave, rather than in every planning path.
        """
        kill = self.executor.needs_pickling
        given = self._given
        results = self._results
        for node in graph.values():
            spec = node[1]
            task = spec.task
            if results:
                spec.result = results.get(task)
            if task.cache_for is not None:
                spec.caches = self._caches.get((self.flow.name, spec.task_slug, spec.map_index), [])
            if task.trigger is not all_successful and spec.edges is None:
                spec.edges = tuple(self._upstream[task])
            if task.timeout:
                spec.kill_on_timeout = kill
            if given and isinstance(given.get(task), Resume):  # a paused task, let through
                spec.flow_context = {**spec.flow_context, "resume": True}

    def _unpicklable(self) -> State | None:
        """A Failed state naming the first task that cannot go to another process, if any."""
        for task in self.flow.sorted_tasks():
            error = pickling_error(task, self.executor)
            if error is not None:
                return Failed(str(error), result={task: Failed(str(error), result=error)})
        return None

    def _on_start(self, key) -> None:
        if self.listeners:
            slug, index = _split_key(key)
            name = self._names.get(slug, slug)
            for listener in self.listeners:
                listener.task_run_started(slug, name, index)

    def _on_done(self, key, run: TaskRun) -> None:
        self._done[key] = run
        if len(self._done) >= self._freeze_at:  # another batch of records kept to the end (collector.py)
            self._freeze_at = self._records.freeze(len(self._done))
        if self._caching and type(run.state) is Cached:
            self._remember(run)
        for listener in self.listeners:
            listener.task_run_finished(run)
        if run.logs:
            for entry in run.logs:
                print_entry(entry, self.flow.name)
                for listener in self.listeners:
                    listener.log(entry)

    def _remember(self, run: TaskRun) -> None:
        """Keep a task's Cached state for later runs in this thread (Prefect 1's ``context.caches``)."""
        key = (self.flow.name, run.task_slug, run.map_index)
        now = datetime.datetime.now(datetime.timezone.utc)
        kept = [state for state in self._caches.get(key, ()) if state.cache_expiration > now]  # expired go
        if run.state.cache_expiration is not None and all(state is not run.state for state in kept):
            kept.insert(0, run.state)
        self._caches[key] = kept

    # -- finishing -----------------------------------------------------------------------------

    def _task_states(self) -> dict:
        states = {}
        for task, ref in self._refs.items():
            if type(ref) is _MappedRef:
                children = [self._done[k].state for k in ref.keys if k in self._done]
                states[task] = Mapped(f"Mapped {len(ref.keys)} children", [s.result for s in children], children)
            elif ref in self._done:
                states[task] = self._done[ref].state
        return states

    def _final_state(self) -> State:
        states = self._task_states()
        reference: list[State] = []
        for task in self.flow.reference_tasks():
            state = states.get(task)
            if state is None:
                continue
            reference.extend(state.map_states if isinstance(state, Mapped) else [state])
        if any(s.is_failed() for s in reference):
            return Failed("Some reference tasks failed.", result=states)
        if not all(s.is_finished() for s in reference):
            paused = sorted(t.name for t, s in states.items() if s.is_paused())
            return Running(f"Reference tasks are not finished; paused: {', '.join(paused) or 'none'}",
                           result=states)
        return Success("All reference tasks succeeded.", result=states)

    def _handled(self, old: State, new: State) -> State:
        """The flow's state handlers applied to a change of the run's state."""
        if not self.flow.state_handlers and self.flow.on_failure is None:
            return new
        try:
            with context(**self._flow_context):  # as in Prefect 1: handlers see flow_run_id, parameters...
                return call_state_handlers(self.flow, old, new)
        except ENDRUN as signal:
            return signal.state

    def _finish(self, state: State) -> State:
        if self._results:  # checkpoints still in open packs go to disk before the run's end is recorded
            flush_packs()
        if self._state is not state:
            state = self._handled(self._state, state)
        level = logging.ERROR if state.is_failed() else logging.INFO
        self._flow_log(level, f"Flow run {state.name.upper()}: {state.message}")
        for listener in self.listeners:
            listener.flow_run_finished(state)
        return state

    def _flow_log(self, level: int, message: str) -> None:
        self._log.log(level, message)
        if self.listeners:
            entry = LogEntry(level, time.time(), message)
            for listener in self.listeners:
                listener.log(entry)


def check_parameters(flow, given: dict) -> dict:
    """The run's parameter values: ``given`` checked against the flow's parameters, defaults filled in."""
    declared = {p.name: p for p in flow.parameters()}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise ParameterError(
            f"flow {flow.name!r} has no parameter named {', '.join(map(repr, unknown))}; its parameters are: {known}"
        )
    missing = sorted(name for name, p in declared.items() if p.required and name not in given)
    if missing:
        raise ParameterError(f"flow {flow.name!r} needs a value for required parameter(s): {', '.join(missing)}")
    return {name: given.get(name, p.default) for name, p in declared.items()}


def pickling_error(task, executor) -> NotPicklableError | None:
    """Why ``task`` cannot be sent to another process, naming it; None when it can."""
    try:
        cloudpickle.dumps(task)
    except Exception as exc:
        return NotPicklableError(
            f"task {task.name!r} cannot be pickled, which {executor!r} needs to send it to "
            f"another process: {type(exc).__name__}: {exc}. Use LocalExecutor or "
            "LocalDaskExecutor(scheduler='threads'), or keep unpicklable objects "
            "(open files, locks, connections) out of the task and create them inside run()."
        )
    return None


def run_context(flow_name: str, flow_run_id: str, parameters: dict, given: dict | None) -> dict:
    """The context every task of a run sees: the caller's, ``flow.run(context=...)``, then the run's own.

    Dates are those of the run's start in UTC, as in Prefect 1; given values
    for them (a backfill's ``date``) win.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    values = {"date": now, "scheduled_start_time": now, "flow_run_name": flow_run_id,
              **_current_context(), **(given or {})}
    day = values["date"].date() if isinstance(values["date"], datetime.datetime) else now.date()
    for key, offset in (("today", 0), ("yesterday", -1), ("tomorrow", 1)):
        text = (day + datetime.timedelta(days=offset)).isoformat()
        values.setdefault(key, text)
        values.setdefault(f"{key}_nodash", text.replace("-", ""))
    values.update(flow_name=flow_name, flow_run_id=flow_run_id, parameters=parameters)
    return values


def _thread_caches() -> dict:
    """``context.caches``: Cached states of tasks with ``cache_for``, kept in the calling thread between runs."""
    return context.setdefault("caches", {})


def _current_context() -> dict:
    """The caller's context (``with context(...)``), minus what belongs to an enclosing run.

    A flow run started inside a task gets its own dates and name, not its parent's.
    """
    values = context.to_dict()
    values.pop("caches", None)  # kept by the flow runner in the caller's thread, not shipped with tasks
    inside_a_run = "flow_run_id" in values
    for key in _TASK_RUN_KEYS + (_RUN_KEYS if inside_a_run else ()):
        values.pop(key, None)
    return values


_TASK_RUN_KEYS = ("task_name", "task_full_name", "task_slug", "task_tags", "map_index", "task_run_count",
                  "task_loop_count", "task_loop_result", "resume", "log_stream")
_RUN_KEYS = ("date", "scheduled_start_time", "flow_run_name", "today", "yesterday", "tomorrow",
             "today_nodash", "yesterday_nodash", "tomorrow_nodash")


def check_run_arguments(flow, parameters, executor, context_values, task_states) -> None:
    """Clear errors for ``flow.run`` arguments of the wrong kind (before anything starts)."""
    if parameters is not None and not isinstance(parameters, dict):
        raise ParameterError(f"flow.run(parameters=...) takes a dict of name: value, got "
                             f"{type(parameters).__name__} {parameters!r:.60}")
    check_executor(executor, "flow.run(executor=...)")
    if context_values is not None and not isinstance(context_values, dict):
        raise ConfigurationError(f"flow.run(context=...) takes a dict of name: value, got "
                                 f"{type(context_values).__name__} {context_values!r:.60}")
    if task_states is None:
        return
    if not isinstance(task_states, dict):
        raise ConfigurationError(f"flow.run(task_states=...) takes a dict of task: state, got {task_states!r:.60}")
    for task, state in task_states.items():
        if task not in flow.tasks or not isinstance(state, State):
            raise ConfigurationError(f"task_states must map tasks of flow {flow.name!r} to states "
                                     f"(such as Resume()), got {task!r}: {state!r}")


def _mappable(state: State, task) -> bool:
    """Whether a mapped task maps over this upstream state, or runs once so that its checks decide.

    A skipped upstream skips the mapped task (unless ``skip_on_upstream_skip=False``: then its
    result, not a list, fails the mapping, as in Prefect 1).
    """
    return state.is_successful() and not (task.skip_on_upstream_skip and state.is_skipped())


def _as_list(source) -> list:
    return source if isinstance(source, list) else [source]


def _elements(source, flattened: bool) -> list:
    """The values a mapped edge iterates over, from finished upstream run(s)."""
    if isinstance(source, list):
        values = [r.state.result for r in source]
        if not flattened:
            return values
    else:
        values = source.state.result
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{type(values).__name__} value {values!r:.60} is not a list to map over")
    if flattened:
        # Inner lists are spliced in; anything else (a number, a string) stays one element,
        # so the flatten of an already flat list is that list.
        flat: list = []
        for inner in values:
            if isinstance(inner, (str, bytes, dict)) or not hasattr(inner, "__iter__"):
                flat.append(inner)
            else:
                flat.extend(inner)
        return flat
    return list(values)


def _split_key(key) -> tuple[str, Any]:
    if type(key) is tuple:
        return key[0].split("/", 1)[1], key[1]
    return key.split("/", 1)[1], None
