"""A line an agent adds to a run's log: where the run runs (its container, its Job).

The run's log is what the CLI, the widgets and the Lab panel show, so that is
where a user looks for the container or Job to inspect.
"""

from __future__ import annotations

import logging
import time

from ..exceptions import BackendError

log = logging.getLogger("jupyter_flows.agent")


def note_in_run_log(backend, run_id: str, message: str) -> None:
    """Add ``message`` to the run's log; a backend that is briefly busy costs the note, not the run."""
    try:
        backend.write_logs(run_id, [{"level": "INFO", "timestamp": time.time(), "message": message}])
    except BackendError as exc:
        log.warning("could not add to the log of flow run %s: %s", run_id, exc)


def record_infrastructure(backend, run_id: str, infrastructure: str) -> None:
    """Record the run's container or Job on the run (a column the CLI and the Lab read, not a log line)."""
    try:
        backend.set_flow_run_infrastructure(run_id, infrastructure)
    except BackendError as exc:
        log.warning("could not record the infrastructure of flow run %s: %s", run_id, exc)
