"""What a child flow run keeps of its final task results for its parent (see :mod:`.child_runs`).

Only runs started by ``create_flow_run`` (they have a parent) keep results:
the recorder calls :func:`result_rows` once, as the run ends, on the final
state's ``{task: state}``. A successful task's result is cloudpickled under
``(slug, -1)``; a mapped task's list too, and each child's under its map index.
Results that do not pickle, or pickle to more than :data:`MAX_RESULT_BYTES`,
and results of tasks that keep none (``Secret``), are left out; asking for
them says which results the run kept.
"""

from __future__ import annotations

import logging

from ..exceptions import ResultError
from ..results.serializers import PickleSerializer

log = logging.getLogger("jupyter_flows.flow_run")

_PICKLER = PickleSerializer()

#: A result bigger than this is not kept (the backend is not a data store; checkpointed results will be).
MAX_RESULT_BYTES = 10 * 1024 * 1024


def result_rows(task_states: dict, slugs: dict) -> list[tuple[str, int, bytes]]:
    """``(slug, map index, pickled result)`` of each successful task that keeps its result.

    ``slugs`` is the flow's ``{task: slug}`` (``flow.slugs``).
    """
    rows = []
    for task, state in (task_states or {}).items():
        if not getattr(task, "keeps_result", True) or not state.is_successful() or task not in slugs:
            continue
        slug = slugs[task]
        _add(rows, slug, -1, state.result)
        for index, child in enumerate(getattr(state, "map_states", None) or ()):
            if child.is_successful():
                _add(rows, slug, index, child.result)
    return rows


def _add(rows: list, slug: str, index: int, value) -> None:
    try:
        data = _PICKLER.serialize(value)  # cloudpickle's bytes; plain values without its per-call set-up
    except ResultError as exc:  # a value that does not pickle is only not kept
        log.debug("result of %s[%s] is not kept for the parent run: %s", slug, index, exc)
        return
    if len(data) <= MAX_RESULT_BYTES:
        rows.append((slug, index, data))
