"""``flow.register()``: store a flow and record it in the backend as a new version (or the same one).

Registration fills in the defaults a user leaves out (``Local`` storage,
``UniversalRun``, ``LocalExecutor``), checks the project before writing
anything, stores the flow (pickles it, for ``Local``), and hands the
serialized parts to :meth:`Backend.register_flow`, which decides whether this
is a new version.
"""

from __future__ import annotations

from typing import Iterable

from ..engine.context import context
from ..exceptions import StorageError
from ..run_configs.base import validate_labels
from . import serialize
from .backend import Backend


def register(flow, project_name: str | None = None, labels: Iterable[str] | None = None,
             idempotency_key: str | None = None, build: bool = True, backend: Backend | None = None) -> str | None:
    """Register ``flow`` under ``project_name``; return its flow id (a new one when the flow changed).

    ``labels`` are added to those of the run config and the storage; an agent
    runs the flow only if it has all of them. ``build=False`` uses a storage
    that already holds the flow (a script path, or a flow built earlier).
    While a storage is loading a flow from a script that registers itself,
    this does nothing and returns ``None``.
    """
    if context.get("loading_flow"):
        return None
    from ..executors import LocalExecutor
    from ..run_configs import UniversalRun
    from ..storage import Local

    backend = backend or Backend()
    flow.validate()
    schedule = getattr(flow, "schedule", None)
    if schedule is not None:  # a clock naming a parameter the flow lacks fails before anything is stored
        schedule.check_parameters(flow.name, (p.name for p in flow.parameters()))
    backend.get_project(project_name)  # an unknown project fails here, before anything is stored
    extra_labels = validate_labels(labels)
    if flow.storage is None:
        flow.storage = Local()
    if flow.run_config is None:
        flow.run_config = UniversalRun()
    if flow.executor is None:
        flow.executor = LocalExecutor()
    storage = flow.storage
    storage_labels = validate_labels(storage.labels)  # an empty one would make runs no agent can claim
    code_hash = serialize.flow_hash(flow)
    if build:
        location = storage.add_flow(flow)
    else:
        location = (getattr(storage, "flows", None) or {}).get(flow.name)
        if location is None:
            raise StorageError(
                f"register(build=False) needs a storage that already holds flow {flow.name!r}; "
                f"{storage!r} does not. Register with build=True (the default)."
            )
    storage_dict = storage.to_dict()
    run_config_dict = flow.run_config.to_dict()
    executor_dict = flow.executor.to_dict()
    all_labels = sorted(set(flow.run_config.labels) | set(storage_labels) | set(extra_labels))
    registered = backend.register_flow(
        project_name,
        flow.name,
        storage=storage_dict,
        location=location,
        run_config=run_config_dict,
        executor=executor_dict,
        parameters=serialize.parameters_to_json(flow),
        graph=serialize.graph_to_json(flow),
        labels=all_labels,
        content_hash=serialize.registration_hash(code_hash, storage=storage_dict, run_config=run_config_dict,
                                                 executor=executor_dict, labels=all_labels,
                                                 schedule=schedule.to_dict() if schedule is not None else None),
        idempotency_key=idempotency_key,
        schedule=schedule.to_dict() if schedule is not None else None,
    )
    _store_notifications(backend, registered["id"], flow.notifications)
    return registered["id"]


def _store_notifications(backend: Backend, flow_id: str, notifiers) -> None:
    """Add the flow's notifiers to its stored notifications, each once (registering again adds nothing)."""
    if not notifiers:
        return
    stored = [(n["kind"], n["options"], n["on_states"]) for n in backend.get_notifications(flow_id)]
    for notifier in notifiers:
        wanted = notifier.to_dict()
        key = (wanted["kind"], wanted["options"], wanted["on_states"])
        if key not in stored:
            backend.add_notification(flow_id, *key)
            stored.append(key)
