"""A flow as the backend stores it: its parameters, its graph, and a content hash for versioning.

The content hash decides whether registering a flow again makes a new
version. It must be the same in every process for the same flow definition,
so it is not a hash of the cloudpickled flow (pickles hold set orders that
change with the interpreter's hash seed, and memory addresses); it hashes a
canonical JSON description instead: the graph (slugs, names, edges), each
task's options and attributes, the constants bound to it, and its code. The
code is the task function's source text when Python can find it (files and
notebook cells), else a fingerprint of its compiled code object. Helper
functions a task calls are not part of its code: change one and register with
an ``idempotency_key`` of your own, or change the task too.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import types
from typing import Any

from ..core.parameter import Parameter
from ..core.task import Constant, FunctionTask, Task

# Task attributes described by the graph or the code, or internal to the engine.
_NOT_OPTIONS = {"run", "slug", "trigger", "tags", "retry_delay", "name"}


def parameters_to_json(flow) -> list[dict]:
    """``[{"name", "default", "required"}]`` sorted by name; a default that is not JSON-able becomes its repr."""
    return [
        {"name": p.name, "default": jsonable(p.default), "required": bool(p.required)}
        for p in sorted(flow.parameters(), key=lambda p: p.name)
    ]


def graph_to_json(flow) -> dict:
    """``{"tasks": [{"slug", "name", "mapped", "kind"}], "edges": [...]}``, tasks in run order."""
    mapped = {e.downstream_task for e in flow.edges if e.mapped}
    tasks = [
        {"slug": flow.slugs[t], "name": t.name, "mapped": t in mapped, "kind": task_kind(t)}
        for t in flow.sorted_tasks()
    ]
    return {"tasks": tasks, "edges": _edges(flow)}


def task_kind(task: Task) -> str:
    """``"parameter"``, ``"constant"`` or ``"task"``: how a front end draws the node."""
    if isinstance(task, Parameter):
        return "parameter"
    if isinstance(task, Constant):
        return "constant"
    return "task"


def flow_hash(flow) -> str:
    """SHA-256 of the flow's definition; equal for an unchanged flow in any process."""
    description = {
        "name": flow.name,
        "tasks": [_task_description(flow, t) for t in sorted(flow.tasks, key=lambda t: flow.slugs[t])],
        "edges": _edges(flow),
        "reference_tasks": sorted(flow.slugs[t] for t in flow._reference_tasks),
    }
    return _sha256(description)


def registration_hash(flow_code_hash: str, *, storage: dict | None, run_config: dict | None,
                      executor: dict | None, labels: list[str], schedule: dict | None = None) -> str:
    """The content hash of a registration: the flow's hash plus how and where it runs.

    A changed run config (say a new ``env`` value) is a new version too, since
    agents read the run config of the version they run. So is a changed
    schedule, as in Prefect 1 (a flow without one hashes as it always did).
    """
    storage = {k: v for k, v in (storage or {}).items() if k != "flows"}
    parts = {"flow": flow_code_hash, "storage": storage, "run_config": run_config,
             "executor": executor, "labels": sorted(labels)}
    if schedule is not None:
        parts["schedule"] = schedule
    return _sha256(parts)


def jsonable(value: Any) -> Any:
    """``value`` if JSON can hold it unchanged, else its repr."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _edges(flow) -> list[dict]:
    slugs = flow.slugs
    edges = [
        {"upstream": slugs[e.upstream_task], "downstream": slugs[e.downstream_task], "key": e.key,
         "mapped": e.mapped, "flattened": e.flattened}
        for e in flow.edges
    ]
    return sorted(edges, key=lambda e: (e["upstream"], e["downstream"], e["key"] or ""))


def _task_description(flow, task: Task) -> dict:
    options = {
        key: _stable(value) for key, value in sorted(vars(task).items())
        if not key.startswith("_") and key not in _NOT_OPTIONS
    }
    return {
        "slug": flow.slugs[task],
        "name": task.name,
        "class": f"{type(task).__module__}.{type(task).__qualname__}",
        "tags": sorted(map(str, task.tags)),
        "retry_delay": task.retry_delay.total_seconds() if task.retry_delay else 0.0,
        "trigger": _callable_name(task.trigger),
        "options": options,
        "constants": {k: _stable(v) for k, v in sorted((flow.constants.get(task) or {}).items())},
        "code": _task_code(task),
    }


def _task_code(task: Task) -> str:
    if isinstance(task, FunctionTask):
        return _function_code(task.run)
    cls = type(task)
    if cls.__module__.split(".")[0] == "jupyter_flows":
        return ""  # a built-in task: identified by its class name and attributes
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return _function_code(cls.run)


def _function_code(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return _code_fingerprint(code) if code is not None else _callable_name(fn)


def _code_fingerprint(code: types.CodeType) -> str:
    """Bytecode, names and constants of a code object (and of nested ones); no addresses."""
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_varnames), repr(code.co_freevars)]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_code_fingerprint(const))
        elif isinstance(const, frozenset):
            parts.append(repr(sorted(map(repr, const))))
        else:
            parts.append(repr(const))
    return "|".join(parts)


def _callable_name(fn) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


def _stable(value: Any) -> Any:
    """A form of ``value`` that is the same in every process (JSON, else a canonical text)."""
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical_text(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(value) and hasattr(value, "__code__"):
        return _function_code(value)
    return _canonical_text(value)


def _canonical_text(value: Any) -> str:
    text = repr(value)
    if " at 0x" in text:  # a default object repr: only its type is stable
        return f"<{type(value).__module__}.{type(value).__qualname__}>"
    return text


def _sha256(description: dict) -> str:
    data = json.dumps(description, sort_keys=True, default=_canonical_text, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()
