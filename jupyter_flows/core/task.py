"""Tasks: the units of work a flow is made of.

A task is a description; calling it inside ``with Flow(...)`` copies it and
adds the copy to that flow with its arguments as edges, so the same task can
appear several times in one flow (or in many flows) with different inputs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import itertools
import logging
import typing
from datetime import timedelta
from typing import Any, Callable, Iterable, Iterator

from ..engine.context import context
from ..engine.state_handlers import check_state_handlers
from ..exceptions import FlowDefinitionError, TaskDefinitionError
from .edges import EdgeAnnotation, unwrap

_task_counter = itertools.count()


def _default_trigger():
    from ..engine.triggers import all_successful

    return all_successful


class Task:
    """Subclass and implement ``run()``, or decorate a function with :func:`task`.

    Options (all optional): ``name``; ``slug`` (the task's id in its flow,
    kept as given); ``max_retries`` with ``retry_delay`` (a
    :class:`~datetime.timedelta`, or seconds) to run again after a failure,
    one never without the other; ``timeout`` (seconds or a timedelta: past
    it the run ends TimedOut; on process and dask executors the task's
    process is killed, on threads it is abandoned and goes on in the
    background, see :mod:`jupyter_flows.engine.timeouts`);
    ``trigger`` (from :mod:`jupyter_flows.triggers`), deciding from the
    upstream states whether to run; ``skip_on_upstream_skip``; ``nout`` so
    that ``a, b = t()`` unpacks (read from a ``-> Tuple[int, str]`` return
    annotation when not given); ``tags`` (a set of strings; tags of an
    enclosing ``with tags(...)`` are added); ``log_stdout`` to turn ``print``
    output into log lines; ``state_handlers`` (``fn(task, old_state,
    new_state)``, called on every state change of each run, returning the
    state to use or None) and ``on_failure`` (``fn(task, state)``).

    Results (see :mod:`jupyter_flows.results`): ``checkpoint`` (True to keep
    the result where ``result`` says even in the kernel; False never to, not
    even under an agent, which otherwise does by default); ``result`` (a
    :class:`~jupyter_flows.results.Result`, default the flow's, else a
    ``LocalResult``); ``target`` (a location template: when something exists
    there the task does not run, its result is read and its state is
    ``Cached``; else it runs and writes there); ``cache_for`` (a timedelta:
    in this process, a later run within that time reuses the result) with
    ``cache_validator`` (from :mod:`jupyter_flows.engine.cache_validators`,
    default ``duration_only``).

    Tasks compare by identity (``==`` is ``is``), as in Prefect 1; operators
    build new tasks instead: ``p + 1``, ``p > 3``, ``p.is_equal(4)``.
    """

    # Class defaults, so that tasks pickled before these options existed still run.
    state_handlers: list = []
    on_failure = None
    checkpoint = None
    result = None
    target = None
    cache_for = None
    cache_validator = None

    def __init__(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        max_retries: int = 0,
        retry_delay: timedelta | float | None = None,
        timeout: float | timedelta | None = None,
        trigger: Callable | None = None,
        skip_on_upstream_skip: bool = True,
        nout: int | None = None,
        log_stdout: bool = False,
        state_handlers: Iterable[Callable] | None = None,
        on_failure: Callable | None = None,
        checkpoint: bool | None = None,
        result=None,
        target: str | None = None,
        cache_for: timedelta | None = None,
        cache_validator: Callable | None = None,
    ):
        self.name = name or type(self).__name__
        self.slug = slug
        _check_run_signature(self)
        self.tags = _tags(tags) | _context_tags()
        self.max_retries, self.retry_delay = _retries(max_retries, retry_delay, self.name)
        self.timeout = _timeout(timeout)
        self.trigger = trigger or _default_trigger()
        self.skip_on_upstream_skip = skip_on_upstream_skip
        if nout is not None and (not isinstance(nout, int) or nout < 0):
            raise TaskDefinitionError(f"nout must be a whole number >= 0, got {nout!r}")
        self.nout = _infer_nout(self.run) if nout is None else nout
        self.log_stdout = log_stdout
        self.state_handlers, self.on_failure = check_state_handlers(state_handlers, on_failure, f"task {self.name!r}")
        self.checkpoint, self.result, self.target = _result_options(checkpoint, result, target, self.name)
        self.cache_for, self.cache_validator = _cache_options(cache_for, cache_validator, self.name)
        self._id = next(_task_counter)

    def run(self) -> Any:
        """What the task does; subclasses implement it. A plain ``Task()`` does nothing.

        ``run()`` takes named arguments only (no ``*args``), since arguments
        travel as keywords; ``upstream_tasks``, ``mapped``, ``task_args`` and
        ``flow`` are reserved for calling the task.
        """

    @property
    def logger(self) -> logging.LoggerAdapter:
        """The task's logger: inside its run, lines go to the run's log; elsewhere to the console."""
        if "task_slug" in context:
            return context.logger
        from ..engine.logging import get_task_logger

        return get_task_logger({"task_name": self.name})

    def inputs(self) -> dict[str, dict]:
        """``{argument: {"type", "default", "required"}}`` read from ``run()``'s signature."""
        inputs = {}
        for name, parameter in run_signature(self).parameters.items():
            required = parameter.default is inspect.Parameter.empty
            inputs[name] = {
                "type": Any if parameter.annotation is inspect.Parameter.empty else parameter.annotation,
                "default": None if required else parameter.default,
                "required": required,
            }
        return inputs

    def outputs(self) -> Any:
        """``run()``'s return annotation (``typing.Any`` when it has none)."""
        annotation = run_signature(self).return_annotation
        return Any if annotation is inspect.Signature.empty else annotation

    # -- building flows -------------------------------------------------------------------------

    def copy(self, **overrides: Any) -> "Task":
        """A new task with the same configuration (and a fresh identity)."""
        new = copy.copy(self)
        new.tags = set(self.tags) | _context_tags()
        new._id = next(_task_counter)
        if new.slug and "slug" not in overrides:
            new.slug = f"{new.slug}-copy"  # as in Prefect 1: a slug is unique in its flow
        for key, value in overrides.items():
            if not hasattr(new, key):
                raise TypeError(f"{key!r} is not an option of task {self.name!r}")
            setattr(new, key, _CHECK_OPTION.get(key, _as_is)(value))
        return new

    def __call__(self, *args: Any, upstream_tasks: Iterable["Task"] | None = None,
                 flow=None, task_args: dict | None = None, mapped: bool = False, **kwargs: Any) -> "Task":
        """Add a copy of this task to the active flow, bound to these arguments (``mapped=True`` maps them)."""
        new = self.copy(**(task_args or {}))
        new.bind(*args, upstream_tasks=upstream_tasks, flow=flow, mapped=mapped, **kwargs)
        return new

    def map(self, *args: Any, upstream_tasks: Iterable["Task"] | None = None,
            flow=None, task_args: dict | None = None, **kwargs: Any) -> "Task":
        """Run a copy of this task once per element of its arguments.

        Arguments wrapped in :class:`unmapped` are passed whole to every child;
        :class:`flatten` joins a list of lists first. ``upstream_tasks`` are
        mapped over too (wrap one in ``unmapped`` to only wait for it). Mapped
        arguments of unequal length are zipped: the shortest decides the
        number of children.
        """
        new = self.copy(**{"nout": None, **(task_args or {})})
        new.bind(*args, upstream_tasks=upstream_tasks, flow=flow, mapped=True, **kwargs)
        return new

    def bind(self, *args: Any, upstream_tasks: Iterable["Task"] | None = None,
             flow=None, mapped: bool = False, **kwargs: Any) -> "Task":
        """Attach this task to a flow with the given arguments (used by ``__call__`` and ``map``)."""
        from .flow import Flow

        flow = flow or Flow.active()
        if flow is None:
            raise FlowDefinitionError(
                f"task {self.name!r} was called outside a flow; call it inside "
                "`with Flow('name') as flow:` or pass flow=..."
            )
        callargs = self._bind_arguments(args, kwargs)
        self.tags.update(_context_tags())
        flow.set_dependencies(self, upstream_tasks=upstream_tasks, keyword_tasks=callargs, mapped=mapped)
        return self

    def _bind_arguments(self, args: tuple, kwargs: dict) -> dict:
        signature = run_signature(self)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            accepted = ", ".join(signature.parameters) or "no arguments"
            raise TypeError(f"task {self.name!r}: {exc} (it accepts: {accepted})") from None
        callargs = {}
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                callargs.update(value)
            else:  # no *args: refused when the task was defined
                callargs[name] = value
        return callargs

    def set_dependencies(self, flow=None, upstream_tasks: Iterable[Any] | None = None,
                         downstream_tasks: Iterable[Any] | None = None,
                         keyword_tasks: dict[str, Any] | None = None, mapped: bool = False) -> "Task":
        """Wire this task in ``flow`` (default: the active flow); see :meth:`Flow.set_dependencies`."""
        from .flow import Flow

        flow = flow or Flow.active()
        if flow is None:
            raise FlowDefinitionError(
                f"no flow to wire task {self.name!r} in: pass flow=... or call this inside `with Flow(...)`"
            )
        flow.set_dependencies(self, upstream_tasks=upstream_tasks, downstream_tasks=downstream_tasks,
                              keyword_tasks=keyword_tasks, mapped=mapped)
        return self

    def set_upstream(self, task: Any, flow=None, key: str | None = None, mapped: bool = False) -> "Task":
        """Make ``task`` run before this one (and pass its result as argument ``key`` if given)."""
        if key is None:
            return self.set_dependencies(flow, upstream_tasks=[task], mapped=mapped)
        return self.set_dependencies(flow, keyword_tasks={key: task}, mapped=mapped)

    def set_downstream(self, task: "Task", flow=None, key: str | None = None, mapped: bool = False) -> "Task":
        """Make ``task`` run after this one (and receive its result as argument ``key`` if given)."""
        task.set_upstream(self, flow=flow, key=key, mapped=mapped)
        return self

    def __getitem__(self, key: Any) -> "Task":
        """``result[0]`` or ``result["key"]``: a task that picks that element at run time."""
        shown = key.name if isinstance(key, Task) else repr(key)
        return GetItem(name=f"{self.name}[{shown}]").bind(self, key)

    def __iter__(self) -> Iterator["Task"]:
        if self.nout is None:
            raise TypeError(
                f"task {self.name!r} cannot be unpacked; pass nout=N to @task, or annotate its "
                "return type as Tuple[...] (e.g. -> Tuple[int, str]), to unpack N results"
            )
        return (self[i] for i in range(self.nout))

    # -- operators: each builds a task that computes the expression at run time -----------------

    def is_equal(self, other: Any) -> "Task":
        """A task computing ``self == other`` (``==`` itself compares tasks by identity)."""
        return _operator("Equal", self, other)

    def is_not_equal(self, other: Any) -> "Task":
        """A task computing ``self != other``."""
        return _operator("NotEqual", self, other)

    def not_(self) -> "Task":
        """A task computing ``not self``."""
        return _operator("Not", self)

    # Names the issue tracker asked for, beside Prefect 1's own.
    not_equal = is_not_equal
    is_not = not_

    def or_(self, other: Any) -> "Task":
        """A task computing ``self or other`` (``|`` sets a dependency instead, as in Prefect 1)."""
        return _operator("Or", self, other)

    def __or__(self, other: Any) -> Any:
        """``a | b``: ``b`` runs after ``a`` (no data passed); returns ``b`` so that chains read left to right."""
        self.set_dependencies(downstream_tasks=[other])
        return other

    def __ror__(self, other: Any) -> "Task":
        """``x | task``: ``task`` runs after ``x``."""
        return self.set_dependencies(upstream_tasks=[other])

    def __add__(self, other: Any) -> "Task":
        return _operator("Add", self, other)

    def __radd__(self, other: Any) -> "Task":
        return _operator("Add", other, self)

    def __sub__(self, other: Any) -> "Task":
        return _operator("Sub", self, other)

    def __rsub__(self, other: Any) -> "Task":
        return _operator("Sub", other, self)

    def __mul__(self, other: Any) -> "Task":
        return _operator("Mul", self, other)

    def __rmul__(self, other: Any) -> "Task":
        return _operator("Mul", other, self)

    def __truediv__(self, other: Any) -> "Task":
        return _operator("Div", self, other)

    def __rtruediv__(self, other: Any) -> "Task":
        return _operator("Div", other, self)

    def __floordiv__(self, other: Any) -> "Task":
        return _operator("FloorDiv", self, other)

    def __rfloordiv__(self, other: Any) -> "Task":
        return _operator("FloorDiv", other, self)

    def __mod__(self, other: Any) -> "Task":
        return _operator("Mod", self, other)

    def __rmod__(self, other: Any) -> "Task":
        return _operator("Mod", other, self)

    def __pow__(self, other: Any) -> "Task":
        return _operator("Pow", self, other)

    def __rpow__(self, other: Any) -> "Task":
        return _operator("Pow", other, self)

    def __and__(self, other: Any) -> "Task":
        return _operator("And", self, other)

    def __rand__(self, other: Any) -> "Task":
        return _operator("And", other, self)

    def __xor__(self, other: Any) -> "Task":  # not in Prefect 1, where ``^`` is a TypeError
        return _operator("Xor", self, other)

    def __rxor__(self, other: Any) -> "Task":
        return _operator("Xor", other, self)

    def __gt__(self, other: Any) -> "Task":
        return _operator("GreaterThan", self, other)

    def __ge__(self, other: Any) -> "Task":
        return _operator("GreaterThanOrEqual", self, other)

    def __lt__(self, other: Any) -> "Task":
        return _operator("LessThan", self, other)

    def __le__(self, other: Any) -> "Task":
        return _operator("LessThanOrEqual", self, other)

    def __repr__(self) -> str:
        return f"<Task: {self.name}>"

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other: object) -> bool:
        return self is other


class FunctionTask(Task):
    """A task whose ``run()`` is a plain function (what ``@task`` makes)."""

    def __init__(self, fn: Callable, name: str | None = None, **kwargs: Any):
        if not callable(fn):
            raise TypeError(f"@task needs a function, got {fn!r}")
        self.run = fn
        functools.update_wrapper(self, fn, updated=())
        super().__init__(name=name or getattr(fn, "__name__", None), **kwargs)


class Constant(Task):
    """A literal value that must be an edge (mapped over, flattened, or an ordering-only upstream task).

    Plain literal arguments are not tasks: they are kept in ``flow.constants``.
    """

    def __init__(self, value: Any, name: str | None = None):
        self.value = value
        super().__init__(name=name or _short_repr(value))

    def run(self) -> Any:
        return self.value


class GetItem(Task):
    """Picks ``task_result[key]`` (what indexing a task builds)."""

    def run(self, task_result: Any, key: Any) -> Any:
        return task_result[key]


def task(fn: Callable | None = None, **task_options: Any):
    """Make a task from a function: ``@task`` or ``@task(name=..., max_retries=...)``."""
    if fn is None:
        return lambda f: FunctionTask(f, **task_options)
    return FunctionTask(fn, **task_options)


@contextlib.contextmanager
def tags(*names: str) -> Iterator[None]:
    """Tag every task created or called inside the block (on top of enclosing ``tags`` blocks).

    >>> with Flow("etl"):
    ...     with tags("db"):
    ...         rows = load()   # rows.tags == {"db"}
    """
    if any(not isinstance(name, str) for name in names):
        raise TaskDefinitionError(f"tags(...) takes tag names (strings), got {names!r}")
    with context(tags=_context_tags() | set(names)):
        yield


def as_task(value: Any, flow=None) -> Task:
    """``value`` as a task: a task stays itself, a literal becomes a :class:`Constant`.

    A list, tuple, set or dict holding tasks becomes a collection task
    (:mod:`jupyter_flows.core.collections`) bound in ``flow`` (default: the
    active one) whose result is the collection of their results.
    """
    if isinstance(value, EdgeAnnotation):
        value = value.value
    if isinstance(value, Task):
        return value
    if is_constant(value):
        return Constant(value)
    from .collections import collect

    return collect(value, flow)


def is_constant(value: Any) -> bool:
    """True unless ``value`` is a task, an annotation, or a collection holding one (at any depth)."""
    if isinstance(value, (Task, EdgeAnnotation)):
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(map(is_constant, value))
    if isinstance(value, dict):
        return all(map(is_constant, value.values()))
    return True


def add_argument(flow, task: Task, key: str, value: Any, mapped: bool) -> None:
    """Bind ``value`` to argument ``key`` of ``task``: a constant, or an edge from the task that computes it."""
    value, edge_mapped, flattened = unwrap(value, mapped)
    if not (edge_mapped or flattened) and is_constant(value):
        flow.constants.setdefault(task, {})[key] = value
    else:
        flow.add_edge(as_task(value, flow), task, key=key, mapped=edge_mapped, flattened=flattened)


def _operator(name: str, *operands: Any) -> Task:
    from . import operators

    return getattr(operators, name)().bind(*operands)


def run_signature(task: Task) -> inspect.Signature:
    """``task.run``'s signature without ``self``, read once per class or decorated function.

    Binding a flow reads it for every call and every keyed edge, so it is cached.
    """
    if isinstance(task, FunctionTask):  # run is the decorated function, set on the instance
        try:
            return _function_signature(task.run)
        except TypeError:  # an unhashable callable
            return inspect.signature(task.run)
    return _class_signature(type(task))


@functools.lru_cache(maxsize=1024)
def _function_signature(fn: Callable) -> inspect.Signature:
    return inspect.signature(fn)


@functools.lru_cache(maxsize=None)
def _class_signature(cls: type) -> inspect.Signature:
    signature = inspect.signature(cls.run)
    return signature.replace(parameters=list(signature.parameters.values())[1:])  # drop self


_RESERVED_ARGUMENTS = ("upstream_tasks", "mapped", "task_args", "flow")


def _check_run_signature(task: Task) -> None:
    """Reject, when the task is defined, a ``run()`` that calling the task could never fill."""
    try:
        signature = run_signature(task)
    except (TypeError, ValueError) as exc:
        raise TaskDefinitionError(
            f"task {task.name!r}: cannot read the signature of {task.run!r} ({exc}); wrap it in a plain function"
        ) from None
    kinds = {p.kind for p in signature.parameters.values()}
    if inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.POSITIONAL_ONLY in kinds:
        raise TaskDefinitionError(
            f"task {task.name!r}: run{signature} takes *args or positional-only arguments; arguments travel "
            "by name, so take named arguments (or **kwargs) instead"
        )
    reserved = [name for name in _RESERVED_ARGUMENTS if name in signature.parameters]
    if reserved:
        raise TaskDefinitionError(
            f"task {task.name!r}: run() may not have arguments named {', '.join(reserved)}; "
            f"{', '.join(_RESERVED_ARGUMENTS)} are reserved for calling the task"
        )


def _tags(tags: Any) -> set:
    if isinstance(tags, str):
        raise TaskDefinitionError(f"tags must be a set of strings, not the string {tags!r}: use tags={{{tags!r}}}")
    return set(tags or ())


def _context_tags() -> set:
    """Tags of the enclosing ``with tags(...)`` or ``with context(tags=...)`` block."""
    return set(context.get("tags") or ())


def _as_timedelta(value: Any) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    raise TaskDefinitionError(f"retry_delay must be a timedelta (or seconds >= 0), got {value!r}")


def _retries(max_retries: Any, retry_delay: Any, name: str) -> tuple[int, timedelta | None]:
    """``max_retries`` and ``retry_delay`` checked together: one is never given without the other."""
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise TaskDefinitionError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
    retry_delay = _as_timedelta(retry_delay)
    if max_retries and retry_delay is None:
        raise TaskDefinitionError(
            f"task {name!r}: max_retries={max_retries} needs a retry_delay, e.g. retry_delay=timedelta(seconds=10)"
        )
    if retry_delay is not None and not max_retries:
        raise TaskDefinitionError(
            f"task {name!r}: retry_delay={retry_delay!r} needs max_retries > 0 (the number of retries)"
        )
    return max_retries, retry_delay


def _timeout(value: Any) -> float | None:
    """Seconds: the engine waits this long; a timedelta is accepted as in Prefect 1."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
        return value
    raise TaskDefinitionError(f"timeout must be a number of seconds > 0 or a timedelta, got {value!r}")


def _result_options(checkpoint: Any, result: Any, target: Any, name: str) -> tuple:
    """``checkpoint``, ``result`` and ``target`` checked, with errors that name the task and the value."""
    from ..results import Result
    from ..results.base import check_template

    if checkpoint not in (None, True, False):
        raise TaskDefinitionError(f"task {name!r}: checkpoint must be True, False or None, got {checkpoint!r}")
    if result is not None and not isinstance(result, Result):
        raise TaskDefinitionError(f"task {name!r}: result must be a Result such as LocalResult() or "
                                  f"FSSpecResult(url), got {result!r}")
    if target is not None:
        check_template(target)
    return checkpoint, result, target


def _cache_options(cache_for: Any, cache_validator: Any, name: str) -> tuple:
    if cache_for is not None and not (isinstance(cache_for, timedelta) and cache_for.total_seconds() > 0):
        raise TaskDefinitionError(f"task {name!r}: cache_for must be a positive timedelta, got {cache_for!r}")
    if cache_validator is not None and not callable(cache_validator):
        raise TaskDefinitionError(f"task {name!r}: cache_validator must be one of jupyter_flows.engine."
                                  f"cache_validators (all_inputs, all_parameters, duration_only), got {cache_validator!r}")
    return cache_for, cache_validator


def _infer_nout(run: Callable) -> int | None:
    """The length of a fixed ``-> Tuple[int, str]`` (or ``tuple[...]``) return annotation, else None."""
    if "return" not in getattr(run, "__annotations__", ()):
        return None
    try:
        annotation = typing.get_type_hints(run).get("return")
    except Exception:  # an annotation naming something not importable here: nothing to infer
        return None
    if typing.get_origin(annotation) is not tuple:
        return None
    args = typing.get_args(annotation)
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        return None  # a bare or variable-length tuple
    return 0 if args == ((),) else len(args)


def _as_is(value: Any) -> Any:
    return value


# Task options that ``copy(**overrides)`` checks (and converts) as ``__init__`` does.
_CHECK_OPTION = {"retry_delay": _as_timedelta, "timeout": _timeout, "tags": _tags}


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
