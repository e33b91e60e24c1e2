"""Tasks: the units of work a flow is made of.

A task is a description; calling it inside ``with Flow(...)`` copies it and
adds the copy to that flow with its arguments as edges, so the same task can
appear several times in one flow (or in many flows) with different inputs.
"""

from __future__ import annotations

import copy
import functools
import inspect
import itertools
from datetime import timedelta
from typing import Any, Callable, Iterable, Iterator

from ..exceptions import FlowDefinitionError
from .edges import flatten, unmapped

_task_counter = itertools.count()


def _default_trigger():
    from ..engine.triggers import all_successful

    return all_successful


class Task:
    """Subclass and implement ``run()``, or decorate a function with :func:`task`.

    Options (all optional): ``name``; ``max_retries`` with ``retry_delay`` (a
    :class:`~datetime.timedelta` or seconds) to run again after a failure;
    ``timeout`` in seconds; ``trigger`` (from :mod:`jupyter_flows.triggers`),
    deciding from the upstream states whether to run; ``skip_on_upstream_skip``;
    ``nout`` so that ``a, b = t()`` unpacks; ``tags``; ``log_stdout`` to turn
    ``print`` output into log lines.
    """

    def __init__(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        max_retries: int = 0,
        retry_delay: timedelta | float | None = None,
        timeout: float | None = None,
        trigger: Callable | None = None,
        skip_on_upstream_skip: bool = True,
        nout: int | None = None,
        log_stdout: bool = False,
    ):
        self.name = name or type(self).__name__
        self.slug = slug
        self.tags = set(tags or ())
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.retry_delay = _seconds(retry_delay, "retry_delay")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self.timeout = timeout
        self.trigger = trigger or _default_trigger()
        self.skip_on_upstream_skip = skip_on_upstream_skip
        if nout is not None and (not isinstance(nout, int) or nout < 0):
            raise ValueError(f"nout must be a whole number >= 0, got {nout!r}")
        self.nout = nout
        self.log_stdout = log_stdout
        self._id = next(_task_counter)

    def run(self, *args, **kwargs) -> Any:
        """What the task does; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement run()")

    # -- building flows -------------------------------------------------------------------------

    def copy(self, **overrides: Any) -> "Task":
        """A new task with the same configuration (and a fresh identity)."""
        new = copy.copy(self)
        new.tags = set(self.tags)
        new._id = next(_task_counter)
        new.slug = None
        for key, value in overrides.items():
            if not hasattr(new, key):
                raise TypeError(f"{key!r} is not an option of task {self.name!r}")
            setattr(new, key, _seconds(value, key) if key == "retry_delay" else value)
        return new

    def __call__(self, *args: Any, upstream_tasks: Iterable["Task"] | None = None,
                 flow=None, task_args: dict | None = None, **kwargs: Any) -> "Task":
        """Add a copy of this task to the active flow, bound to these arguments."""
        new = self.copy(**(task_args or {}))
        new.bind(*args, upstream_tasks=upstream_tasks, flow=flow, **kwargs)
        return new

    def map(self, *args: Any, upstream_tasks: Iterable["Task"] | None = None,
            flow=None, task_args: dict | None = None, **kwargs: Any) -> "Task":
        """Run a copy of this task once per element of its arguments.

        Arguments wrapped in :class:`unmapped` are passed whole to every child;
        :class:`flatten` joins a list of lists first. All mapped arguments must
        have the same length.
        """
        new = self.copy(**(task_args or {}))
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
        flow.add_task(self)
        for key, value in callargs.items():
            _add_argument(flow, self, key, value, mapped)
        for upstream in upstream_tasks or ():
            flow.add_edge(_as_task(upstream, flow), self, mapped=False)
        return self

    def _bind_arguments(self, args: tuple, kwargs: dict) -> dict:
        signature = _run_signature(type(self), self.run)
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
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                raise TypeError(f"task {self.name!r}: *args in run() are not supported; name the arguments")
            else:
                callargs[name] = value
        return callargs

    def set_upstream(self, task: "Task", key: str | None = None, mapped: bool = False, flow=None) -> None:
        from .flow import Flow

        (flow or Flow.active()).set_dependencies(self, upstream_tasks=[task] if key is None else None,
                                                  keyword_tasks={key: task} if key else None,
                                                  mapped=mapped)

    def set_downstream(self, task: "Task", key: str | None = None, mapped: bool = False, flow=None) -> None:
        task.set_upstream(self, key=key, mapped=mapped, flow=flow)

    def __getitem__(self, key: Any) -> "Task":
        """``result[0]`` or ``result["key"]``: a task that picks that element at run time."""
        return GetItem(name=f"{self.name}[{key!r}]")(self, key)

    def __iter__(self) -> Iterator["Task"]:
        if self.nout is None:
            raise TypeError(
                f"task {self.name!r} cannot be unpacked; pass nout=N to @task to unpack N results"
            )
        return (self[i] for i in range(self.nout))

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
    """A literal value that must be an edge (mapped over, or flattened)."""

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


def _add_argument(flow, task: Task, key: str, value: Any, mapped: bool) -> None:
    is_unmapped = isinstance(value, unmapped)
    if is_unmapped:
        value = value.value
    is_flat = isinstance(value, flatten)
    if is_flat:
        value = value.value
    edge_mapped = mapped and not is_unmapped
    if isinstance(value, Task) or edge_mapped or is_flat:
        flow.add_edge(_as_task(value, flow), task, key=key, mapped=edge_mapped, flattened=is_flat)
    else:
        flow.constants.setdefault(task, {})[key] = value


def _as_task(value: Any, flow) -> Task:
    if isinstance(value, Task):
        if value not in flow.tasks:
            flow.add_task(value)
        return value
    constant = Constant(value)
    flow.add_task(constant)
    return constant


@functools.lru_cache(maxsize=None)
def _cached_signature(cls: type) -> inspect.Signature:
    return inspect.signature(cls.run)


def _run_signature(cls: type, run: Callable) -> inspect.Signature:
    if cls is FunctionTask:
        return inspect.signature(run)
    signature = _cached_signature(cls)
    parameters = list(signature.parameters.values())[1:]  # drop self
    return signature.replace(parameters=parameters)


def _seconds(value: Any, what: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    raise ValueError(f"{what} must be a timedelta or a number of seconds >= 0, got {value!r}")


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
